//! The web console (server-rendered pages). Placeholder until the pages land.

use std::sync::Arc;

use axum::Router;

use crate::AppState;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
}
