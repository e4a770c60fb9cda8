//! Vendor and product names.
