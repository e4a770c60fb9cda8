//! The backend modules: `ops.rs` instantiated once per database type.

pub(crate) mod sqlite {
    type Db = sqlx::Sqlite;
    const DIALECT: crate::Dialect = crate::Dialect::Sqlite;
    include!("ops.rs");
}

pub(crate) mod postgres {
    type Db = sqlx::Postgres;
    const DIALECT: crate::Dialect = crate::Dialect::Postgres;
    include!("ops.rs");
}
