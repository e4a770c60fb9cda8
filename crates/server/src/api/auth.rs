//! `/api/v1/auth/*` (login, logout, who am I, my tokens) and `/api/v1/users` (admin).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{Extensions, StatusCode};
use pumpguard_model::time::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ErrorBody, Page, Paging};
use crate::AppState;
use crate::auth::{self, Allowed, LoginKind, Principal, Role, need};

pub(crate) fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_tokens))
        .routes(routes!(revoke_token))
        .routes(routes!(list_users, add_user))
        .routes(routes!(patch_user, remove_user))
}

/// A login.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// What the token is for (shown in the token list).
    #[serde(default)]
    pub label: Option<String>,
}

/// A bearer token, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginAnswer {
    /// Send as `Authorization: Bearer …`.
    pub token: String,
    /// The token's id, for revoking it.
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires: Timestamp,
    pub role: Role,
}

/// Logs in with a user name and password and returns a bearer token. Failures are
/// audited (`auth.login_failed`) and rate-limited per address and per user name (429).
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    security(()),
    responses(
        (status = 200, description = "Logged in", body = LoginAnswer),
        (status = 401, description = "Wrong user name or password", body = ErrorBody),
        (status = 429, description = "Too many attempts", body = ErrorBody),
    )
)]
async fn login(
    State(state): State<Arc<AppState>>,
    extensions: Extensions,
    Json(req): Json<LoginRequest>,
) -> Result<Json<LoginAnswer>, auth::AuthError> {
    let label = req.label.as_deref().unwrap_or("api");
    let issued = auth::login(
        &state,
        &req.username,
        &req.password,
        LoginKind::Api,
        auth::peer(&extensions),
        label,
    )
    .await?;
    Ok(Json(LoginAnswer {
        token: issued.secret,
        id: issued.token.id,
        expires: issued.token.expires,
        role: issued.role,
    }))
}

/// Revokes the token (or session) this request was made with.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
async fn logout(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::Read>,
) -> Result<StatusCode, ApiError> {
    auth::revoke(&state, &who.actor(), &who.token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the caller is.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub username: String,
    pub role: Role,
    /// The permissions the role has.
    pub permissions: Vec<String>,
    /// The id of the token or session in use.
    pub token: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires: Timestamp,
}

/// The caller's user name, role and permissions.
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
async fn me(who: Allowed<need::Read>) -> Json<Me> {
    let p: &Principal = &who;
    Json(Me {
        username: p.user.clone(),
        role: p.role,
        permissions: auth::Permission::ALL
            .into_iter()
            .filter(|x| p.can(*x))
            .map(|x| x.as_str().to_owned())
            .collect(),
        token: p.token_id.clone(),
        expires: p.expires,
    })
}

/// A token or session as listed (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub username: String,
    /// `api` or `session`.
    pub kind: String,
    pub label: String,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub expires: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked: Option<Timestamp>,
}

impl From<pumpguard_store::TokenRecord> for TokenInfo {
    fn from(t: pumpguard_store::TokenRecord) -> TokenInfo {
        TokenInfo {
            id: t.id,
            username: t.username,
            kind: t.kind,
            label: t.label,
            created: t.created,
            expires: t.expires,
            revoked: t.revoked,
        }
    }
}

/// Whose tokens to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokensQuery {
    /// Another user's (admin only); default the caller's own.
    pub username: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

/// The caller's tokens and sessions, newest first (an admin may ask for another user's).
#[utoipa::path(
    get,
    path = "/api/v1/auth/tokens",
    tag = "auth",
    params(TokensQuery),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "Tokens", body = Page<TokenInfo>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Another user's, and not admin", body = ErrorBody),
    )
)]
async fn list_tokens(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::Read>,
    Query(q): Query<TokensQuery>,
) -> Result<Json<Page<TokenInfo>>, ApiError> {
    let user = q.username.clone().unwrap_or_else(|| who.user.clone());
    if user != who.user && !who.can(auth::Permission::ManageUsers) {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "only an admin lists another user's tokens".into(),
        ));
    }
    let tokens = state.store.tokens(&user).await?;
    let paging = Paging {
        limit: q.limit,
        offset: q.offset,
    };
    Ok(Json(
        paging.page(tokens.into_iter().map(TokenInfo::from).collect())?,
    ))
}

/// Revokes one of the caller's tokens or sessions (an admin may revoke anyone's).
#[utoipa::path(
    delete,
    path = "/api/v1/auth/tokens/{id}",
    tag = "auth",
    params(("id" = String, Path, description = "The token's id")),
    security(("bearer" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Another user's, and not admin", body = ErrorBody),
        (status = 404, description = "No such token", body = ErrorBody),
    )
)]
async fn revoke_token(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::Read>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mine = state
        .store
        .tokens(&who.user)
        .await?
        .iter()
        .any(|t| t.id == id);
    if !mine && !who.can(auth::Permission::ManageUsers) {
        // Not saying whether it exists.
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "only an admin revokes another user's tokens".into(),
        ));
    }
    // Not found → 404, revoked already → 400 (ApiError from the store's error).
    auth::revoke(&state, &who.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserInfo {
    pub username: String,
    pub role: String,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
}

/// Every user.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(Paging),
    security(("bearer" = ["manage_users"]), ("session" = ["manage_users"])),
    responses(
        (status = 200, description = "Users", body = Page<UserInfo>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not admin", body = ErrorBody),
    )
)]
async fn list_users(
    State(state): State<Arc<AppState>>,
    _who: Allowed<need::ManageUsers>,
    Query(paging): Query<Paging>,
) -> Result<Json<Page<UserInfo>>, ApiError> {
    let users = state.store.users().await?;
    Ok(Json(
        paging.page(
            users
                .into_iter()
                .map(|u| UserInfo {
                    username: u.name,
                    role: u.role,
                    created: u.created,
                })
                .collect(),
        )?,
    ))
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
}

/// Checks a user name: 1–64 characters of letters, digits and `._@-`.
pub fn valid_username(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "user name '{name}': use 1–64 letters, digits, '.', '_', '@' or '-'"
        ))
    }
}

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// Checks a new password's length.
pub fn valid_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD {
        Err(format!(
            "a password needs at least {MIN_PASSWORD} characters"
        ))
    } else {
        Ok(())
    }
}

async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || crate::passwords::hash(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::bad_request)
}

/// Adds a user (audited `user.add`).
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = NewUser,
    security(("bearer" = ["manage_users"]), ("session" = ["manage_users"])),
    responses(
        (status = 201, description = "Added", body = UserInfo),
        (status = 400, description = "Bad name or password, or the user exists", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not admin", body = ErrorBody),
    )
)]
async fn add_user(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::ManageUsers>,
    Json(req): Json<NewUser>,
) -> Result<(StatusCode, Json<UserInfo>), ApiError> {
    valid_username(&req.username).map_err(ApiError::bad_request)?;
    valid_password(&req.password).map_err(ApiError::bad_request)?;
    let phc = hash(req.password).await?;
    state
        .store
        .user_add(&who.actor(), &req.username, &phc, req.role.as_str())
        .await?;
    let user = state
        .store
        .user(&req.username)
        .await?
        .ok_or_else(|| ApiError::internal("the user vanished"))?;
    Ok((
        StatusCode::CREATED,
        Json(UserInfo {
            username: user.name,
            role: user.role,
            created: user.created,
        }),
    ))
}

/// A change to a user.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserChange {
    /// A new role (audited `user.role`).
    pub role: Option<Role>,
    /// A new password (audited `user.password`; revokes the user's tokens).
    pub password: Option<String>,
}

/// Changes a user's role or password.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{username}",
    tag = "users",
    params(("username" = String, Path, description = "The user")),
    request_body = UserChange,
    security(("bearer" = ["manage_users"]), ("session" = ["manage_users"])),
    responses(
        (status = 200, description = "Changed", body = UserInfo),
        (status = 400, description = "Bad password", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn patch_user(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::ManageUsers>,
    Path(username): Path<String>,
    Json(change): Json<UserChange>,
) -> Result<Json<UserInfo>, ApiError> {
    if let Some(p) = &change.password {
        valid_password(p).map_err(ApiError::bad_request)?;
    }
    if state.store.user(&username).await?.is_none() {
        return Err(ApiError::not_found(format!("user '{username}' not found")));
    }
    if let Some(role) = change.role {
        if username == who.user && role != Role::Admin {
            return Err(ApiError::bad_request(
                "an admin cannot take away their own admin role",
            ));
        }
        state
            .store
            .user_set_role(&who.actor(), &username, role.as_str())
            .await?;
    }
    if let Some(p) = change.password {
        let phc = hash(p).await?;
        state
            .store
            .user_set_password(&who.actor(), &username, &phc)
            .await?;
    }
    state.auth.forget_user(&username);
    let user = state
        .store
        .user(&username)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user '{username}' not found")))?;
    Ok(Json(UserInfo {
        username: user.name,
        role: user.role,
        created: user.created,
    }))
}

/// Removes a user and their tokens (audited `user.remove`).
#[utoipa::path(
    delete,
    path = "/api/v1/users/{username}",
    tag = "users",
    params(("username" = String, Path, description = "The user")),
    security(("bearer" = ["manage_users"]), ("session" = ["manage_users"])),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Removing oneself", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn remove_user(
    State(state): State<Arc<AppState>>,
    who: Allowed<need::ManageUsers>,
    Path(username): Path<String>,
) -> Result<StatusCode, ApiError> {
    if username == who.user {
        return Err(ApiError::bad_request("an admin cannot remove themselves"));
    }
    state.store.user_remove(&who.actor(), &username).await?;
    state.auth.forget_user(&username);
    Ok(StatusCode::NO_CONTENT)
}
