//! What keeps other programs and web sites away from the meetings the app serves:
//! - the Host header must be this server's (127.0.0.1, [::1] or localhost with its port), so a
//!   DNS-rebinding page cannot talk to it under its own name;
//! - the printed address carries a random token; the page trades it for an HttpOnly,
//!   SameSite=Strict session cookie and every request without that cookie gets 401;
//! - a state-changing request must carry this server's Origin (CSRF);
//! - no CORS headers, ever; a Content-Security-Policy that allows only the app's own scripts
//!   and styles (no inline script), no framing, no referrer sent to any other site.

use super::{App, AppError};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// The session cookie's name.
pub const COOKIE: &str = "minutes_session";

pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
    media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The secrets of one start of the app.
pub struct Secrets {
    /// In the printed address.
    token: String,
    /// In the cookie: a different value, so the cookie never shows up in a URL or a log.
    session: String,
}

impl Secrets {
    pub fn new() -> Result<Secrets, AppError> {
        Ok(Secrets {
            token: random_hex()?,
            session: random_hex()?,
        })
    }

    pub fn token(&self) -> &str {
        &self.token
    }
}

fn random_hex() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| AppError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Compares secrets in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Every request passes here first.
pub async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let mut response = check(&app, request, next).await;
    let headers = response.headers_mut();
    // The server's own time, for the browser's developer tools and `minutes bench app`.
    let timing = format!("app;dur={:.3}", started.elapsed().as_secs_f64() * 1e3);
    if let Ok(value) = HeaderValue::from_str(&timing) {
        headers.insert("server-timing", value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        // Not `no-referrer`: under it a browser sends `Origin: null` with a form's POST, and
        // the Origin check above would refuse every form of the app's own pages.
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn check(app: &App, request: Request, next: Next) -> Response {
    let Some(host) = allowed_host(request.headers(), app.port) else {
        tracing::warn!(host = ?request.headers().get(header::HOST), "app: request for another host refused");
        return refuse(
            StatusCode::FORBIDDEN,
            "This server answers only to 127.0.0.1, [::1] or localhost with its port.",
        );
    };
    if let Some(token) = query_param(request.uri().query(), "token") {
        if !same_secret(&token, &app.secrets.token) {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "This link's token is not the one of the running app: open the address `minutes app` printed when it started.",
            );
        }
        return trade_token(app, &request);
    }
    if !has_session(request.headers(), &app.secrets.session) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "Open the address `minutes app` printed when it started: it carries this start's secret.",
        );
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        if origin != Some(&format!("http://{host}")) {
            tracing::warn!(
                ?origin,
                "app: state-changing request from another origin refused"
            );
            return refuse(
                StatusCode::FORBIDDEN,
                "A change must come from the app's own page (the Origin header does not match).",
            );
        }
    }
    next.run(request).await
}

/// The Host header when it names this server.
fn allowed_host(headers: &HeaderMap, port: u16) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    ["127.0.0.1", "[::1]", "localhost"]
        .iter()
        .any(|name| host == format!("{name}:{port}"))
        .then(|| host.to_string())
}

/// Sets the session cookie and redirects to the same address without the token, so it does
/// not stay in the address bar, the history or a bookmark.
fn trade_token(app: &App, request: &Request) -> Response {
    let rest: Vec<&str> = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("token="))
        .collect();
    // `//host/...` would be another site to a browser: only a path on this server.
    let path = request.uri().path();
    let mut clean = match path.starts_with("//") || !path.starts_with('/') {
        true => "/".to_string(),
        false => path.to_string(),
    };
    if !rest.is_empty() {
        clean = format!("{clean}?{}", rest.join("&"));
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        app.secrets.session
    );
    let mut response = Redirect::to(&clean).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn has_session(headers: &HeaderMap, session: &str) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == COOKIE && same_secret(value, session))
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn refuse(status: StatusCode, message: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}
