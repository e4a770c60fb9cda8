//! Signing in and out: the login form (GET and POST `/login`) and POST `/logout`.
//!
//! The login POST has no session yet, so no CSRF token: the session cookie is
//! `SameSite=Strict` and [`crate::auth::csrf_guard`] refuses a write whose `Origin` is
//! another site. After login the browser goes back to `next` when it is a path of ours.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{Extensions, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Console, Fail, Layout, render, see_other};
use crate::AppState;
use crate::auth::{self, AuthError, LoginKind, Principal};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    next: String,
    username: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct LoginQuery {
    #[serde(default)]
    next: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `next` when it is a path on this server that is worth going back to: one leading
/// slash (not `//host` nor `/\host`), no control characters, not the login itself.
pub(super) fn safe_next(next: Option<&str>) -> Option<&str> {
    let n = next?;
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && !n.contains('\\')
        && !n.chars().any(char::is_control)
        && n.len() <= 2000
        && !n.starts_with("/login")
        && !n.starts_with("/logout")
        && !n.starts_with("/static/");
    ok.then_some(n)
}

fn page(next: &str, username: &str, error: Option<String>) -> LoginPage {
    LoginPage {
        l: Layout::anonymous("Sign in"),
        next: safe_next(Some(next)).unwrap_or("").to_owned(),
        username: username.to_owned(),
        error,
    }
}

/// GET `/login`: the form, or straight on for someone already signed in.
pub(super) async fn form(
    who: Result<Principal, AuthError>,
    Query(q): Query<LoginQuery>,
) -> Response {
    if who.is_ok() {
        return see_other(safe_next(Some(&q.next)).unwrap_or("/"));
    }
    render(&page(&q.next, "", None))
}

/// POST `/login`: a console session (cookie) for a right name and password.
pub(super) async fn submit(
    State(state): State<Arc<AppState>>,
    extensions: Extensions,
    Form(f): Form<LoginForm>,
) -> Response {
    let username = f.username.trim();
    if username.is_empty() || f.password.is_empty() {
        let p = page(
            &f.next,
            username,
            Some("Enter your user name and password.".into()),
        );
        return (StatusCode::BAD_REQUEST, render(&p)).into_response();
    }
    let issued = auth::login(
        &state,
        username,
        &f.password,
        LoginKind::Session,
        auth::peer(&extensions),
        "console",
    )
    .await;
    match issued {
        Ok(issued) => {
            let mut r = see_other(safe_next(Some(&f.next)).unwrap_or("/"));
            let cookie = auth::session_cookie_header(&issued.secret, &state.auth.settings);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(AuthError::Anonymous(_)) => {
            let p = page(
                &f.next,
                username,
                Some("Wrong user name or password.".into()),
            );
            (StatusCode::UNAUTHORIZED, render(&p)).into_response()
        }
        Err(AuthError::TooMany(wait)) => {
            let minutes = wait.as_secs().div_ceil(60).max(1);
            let p = page(
                &f.next,
                username,
                Some(format!(
                    "Too many login attempts. Wait {minutes} minute{} and try again.",
                    if minutes == 1 { "" } else { "s" }
                )),
            );
            let mut r = (StatusCode::TOO_MANY_REQUESTS, render(&p)).into_response();
            if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(e) => Fail::from(e).into_response(),
    }
}

/// POST `/logout`: ends the session (audited `auth.revoke`) and clears the cookie.
pub(super) async fn logout(State(state): State<Arc<AppState>>, who: Console) -> Response {
    // Already revoked elsewhere: the cookie goes all the same.
    let _ = auth::revoke(&state, &who.actor(), &who.token_id).await;
    let mut r = see_other("/login");
    if let Ok(v) = HeaderValue::from_str(&auth::clear_cookie_header(&state.auth.settings)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
