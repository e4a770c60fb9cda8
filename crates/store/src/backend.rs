//! The backend modules: `ops.rs` instantiated once per database type, with the bulk
//! writes that suit it (`bulk_values.rs` for SQLite, `bulk_unnest.rs` for PostgreSQL).

pub(crate) mod sqlite {
    type Db = sqlx::Sqlite;
    const DIALECT: crate::Dialect = crate::Dialect::Sqlite;
    include!("ops.rs");
    include!("bulk_values.rs");
}

pub(crate) mod postgres {
    type Db = sqlx::Postgres;
    const DIALECT: crate::Dialect = crate::Dialect::Postgres;
    include!("ops.rs");
    include!("bulk_unnest.rs");
}
