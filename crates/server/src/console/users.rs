//! Users (admin only): the console's and API's users with their roles; add one, change
//! a role, remove one. An admin cannot demote or remove themselves (someone must be
//! left to administer).

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::{Console, DoneQuery, Fail, Layout, Opt, PageResult, render, see_other, when};
use crate::AppState;
use crate::api::auth::{MIN_PASSWORD, valid_password, valid_username};
use crate::auth::{Role, need};

struct UserRow {
    name: String,
    role: String,
    created: String,
    roles: Vec<Opt>,
    me: bool,
    key: usize,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    l: Layout,
    users: Vec<UserRow>,
    roles: Vec<Opt>,
    min_password: usize,
}

fn role_options(current: &str) -> Vec<Opt> {
    Role::ALL
        .iter()
        .map(|r| Opt::new(r.as_str(), r.as_str(), r.as_str() == current))
        .collect()
}

/// GET `/users`.
pub(super) async fn page(
    State(state): State<Arc<AppState>>,
    who: Console<need::ManageUsers>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let users = state.store.users().await?;
    let page = UsersPage {
        l: Layout::new(&who, "users", "Users").done(q.done.as_deref()),
        users: users
            .iter()
            .enumerate()
            .map(|(key, u)| UserRow {
                name: u.name.clone(),
                role: u.role.clone(),
                created: when(u.created),
                roles: role_options(&u.role),
                me: u.name == who.user,
                key,
            })
            .collect(),
        roles: role_options("viewer"),
        min_password: MIN_PASSWORD,
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub(super) struct AddForm {
    username: String,
    password: String,
    role: String,
}

/// POST `/users/add`.
pub(super) async fn add(
    State(state): State<Arc<AppState>>,
    who: Console<need::ManageUsers>,
    Form(f): Form<AddForm>,
) -> PageResult {
    let name = f.username.trim();
    valid_username(name).map_err(Fail::bad)?;
    valid_password(&f.password).map_err(Fail::bad)?;
    let role =
        Role::parse(&f.role).ok_or_else(|| Fail::bad(format!("'{}' is not a role", f.role)))?;
    let password = f.password;
    let phc = tokio::task::spawn_blocking(move || crate::passwords::hash(&password))
        .await
        .map_err(|e| Fail::internal(e.to_string()))?
        .map_err(Fail::bad)?;
    state
        .store
        .user_add(&who.actor(), name, &phc, role.as_str())
        .await?;
    Ok(see_other("/users?done=user_added"))
}

#[derive(Debug, Deserialize)]
pub(super) struct RoleForm {
    username: String,
    role: String,
}

/// POST `/users/role`.
pub(super) async fn role(
    State(state): State<Arc<AppState>>,
    who: Console<need::ManageUsers>,
    Form(f): Form<RoleForm>,
) -> PageResult {
    let role =
        Role::parse(&f.role).ok_or_else(|| Fail::bad(format!("'{}' is not a role", f.role)))?;
    if f.username == who.user && role != Role::Admin {
        return Err(Fail::bad("An admin cannot take away their own admin role."));
    }
    state
        .store
        .user_set_role(&who.actor(), &f.username, role.as_str())
        .await?;
    state.auth.forget_user(&f.username);
    Ok(see_other("/users?done=role_changed"))
}

#[derive(Debug, Deserialize)]
pub(super) struct RemoveForm {
    username: String,
}

/// POST `/users/remove`.
pub(super) async fn remove(
    State(state): State<Arc<AppState>>,
    who: Console<need::ManageUsers>,
    Form(f): Form<RemoveForm>,
) -> PageResult {
    if f.username == who.user {
        return Err(Fail::bad("An admin cannot remove themselves."));
    }
    state.store.user_remove(&who.actor(), &f.username).await?;
    state.auth.forget_user(&f.username);
    Ok(see_other("/users?done=user_removed"))
}
