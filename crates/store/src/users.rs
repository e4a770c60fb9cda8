//! Console and API users, their roles, and the bearer tokens and console sessions
//! issued to them. Passwords arrive hashed (argon2id PHC strings) and token secrets as
//! their SHA-256: the store never sees either in the clear. Audited: `user.add`,
//! `user.role`, `user.password`, `user.remove` on `user:NAME`; `auth.login` (a token or
//! session issued) and `auth.revoke` on `user:NAME`. Row decoding lives here; the SQL
//! lives in `ops.rs`.

use pumpguard_model::time::{Timestamp, from_micros};
use serde::Serialize;

use crate::assets::dispatch;
use crate::backend::{postgres, sqlite};
use crate::pki::corrupt;
use crate::{Backend, Result, Store};

/// A console/API user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRecord {
    pub name: String,
    #[serde(skip_serializing)]
    pub password_hash: String,
    /// `admin`, `analyst`, `biomed` or `viewer`; the server gives the words meaning.
    pub role: String,
    pub created: Timestamp,
}

/// A bearer token or console session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// The public handle (not the secret).
    pub id: String,
    #[serde(skip_serializing)]
    pub secret_hash: String,
    pub username: String,
    /// `api` or `session`.
    pub kind: String,
    pub label: String,
    #[serde(skip_serializing)]
    pub csrf: String,
    pub created: Timestamp,
    pub expires: Timestamp,
    pub revoked: Option<Timestamp>,
}

pub(crate) type UserRow = (String, String, String, i64);
pub(crate) type TokenRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
);

/// A token row joined with its user's row.
pub(crate) type TokenUserRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    String,
    String,
    String,
    i64,
);

fn micros(table: &'static str, what: &str, v: i64) -> Result<Timestamp> {
    from_micros(v).ok_or_else(|| corrupt(table, format!("{what}: time {v}")))
}

pub(crate) fn user_of((name, password_hash, role, created): UserRow) -> Result<UserRecord> {
    Ok(UserRecord {
        created: micros("users", &name, created)?,
        name,
        password_hash,
        role,
    })
}

pub(crate) fn token_of(r: TokenRow) -> Result<TokenRecord> {
    Ok(TokenRecord {
        created: micros("user_tokens", &r.0, r.6)?,
        expires: micros("user_tokens", &r.0, r.7)?,
        revoked: r.8.map(|v| micros("user_tokens", &r.0, v)).transpose()?,
        id: r.0,
        secret_hash: r.1,
        username: r.2,
        kind: r.3,
        label: r.4,
        csrf: r.5,
    })
}

/// What the store holds, counted (for monitoring).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Assets per kind.
    pub assets: Vec<(String, i64)>,
    pub flows: i64,
    /// Packets and bytes of every flow, both directions.
    pub packets: i64,
    pub bytes: i64,
    /// Alerts per (severity, status).
    pub alerts: Vec<(String, String, i64)>,
    /// Entries in the audit trail.
    pub audit_entries: i64,
}

impl Store {
    /// Counts assets, flows, packets, alerts and audit entries.
    pub async fn counts(&self) -> Result<Counts> {
        dispatch!(self, counts())
    }

    /// Adds a user, audited `user.add`; an existing name is refused (`Invalid`).
    pub async fn user_add(
        &self,
        actor: &str,
        name: &str,
        password_hash: &str,
        role: &str,
    ) -> Result<()> {
        dispatch!(self, user_add(actor, name, password_hash, role))
    }

    /// Gives a user another role, audited `user.role` with the old and new role.
    pub async fn user_set_role(&self, actor: &str, name: &str, role: &str) -> Result<()> {
        dispatch!(self, user_set_role(actor, name, role))
    }

    /// Sets a new password hash, audited `user.password`; every token and session the
    /// user holds is revoked in the same transaction.
    pub async fn user_set_password(
        &self,
        actor: &str,
        name: &str,
        password_hash: &str,
    ) -> Result<()> {
        dispatch!(self, user_set_password(actor, name, password_hash))
    }

    /// Removes a user and their tokens, audited `user.remove`.
    pub async fn user_remove(&self, actor: &str, name: &str) -> Result<()> {
        dispatch!(self, user_remove(actor, name))
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRecord>> {
        let rows: Vec<UserRow> = dispatch!(self, users())?;
        rows.into_iter().map(user_of).collect()
    }

    /// One user by name.
    pub async fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        let row: Option<UserRow> = dispatch!(self, user(name))?;
        row.map(user_of).transpose()
    }

    /// Records a token or session issued at login, audited `auth.login` with `detail`
    /// (the client's address, say).
    pub async fn token_issue(
        &self,
        actor: &str,
        token: &TokenRecord,
        detail: serde_json::Value,
    ) -> Result<()> {
        dispatch!(self, token_issue(actor, token, detail))
    }

    /// The token whose secret hashes to `secret_hash`, with its user, if it is not
    /// revoked (expiry is the caller's to judge against its clock).
    pub async fn token_lookup(
        &self,
        secret_hash: &str,
    ) -> Result<Option<(TokenRecord, UserRecord)>> {
        let row: Option<(TokenRow, UserRow)> = dispatch!(self, token_lookup(secret_hash))?;
        row.map(|(t, u)| Ok((token_of(t)?, user_of(u)?)))
            .transpose()
    }

    /// A user's tokens and sessions, newest first (revoked ones too).
    pub async fn tokens(&self, username: &str) -> Result<Vec<TokenRecord>> {
        let rows: Vec<TokenRow> = dispatch!(self, tokens(username))?;
        rows.into_iter().map(token_of).collect()
    }

    /// Revokes a token by id, audited `auth.revoke`; returns it. Not found and already
    /// revoked are refused.
    pub async fn token_revoke(&self, actor: &str, id: &str) -> Result<TokenRecord> {
        let row: TokenRow = dispatch!(self, token_revoke(actor, id))?;
        token_of(row)
    }
}
