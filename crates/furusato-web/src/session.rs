//! Session cookies and CSRF tokens.
//!
//! The cookie `furusato_session` carries 32 random bytes (base64url); the database keeps only
//! their SHA-256. Cookies are HttpOnly, SameSite=Strict, Path=/, and Secure when TLS is configured.
//! Each session has its own CSRF token, embedded in every form as `_csrf` (or sent as the
//! `X-CSRF-Token` header, or as `?_csrf=` for multipart uploads).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, request::Parts};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const COOKIE: &str = "furusato_session";

/// A fresh random token (session token or CSRF token).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The session token from the Cookie header, if any.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(axum::http::header::COOKIE) {
        let Ok(s) = value.to_str() else { continue };
        for pair in s.split(';') {
            let pair = pair.trim();
            if let Some(v) = pair.strip_prefix(COOKIE).and_then(|r| r.strip_prefix('='))
                && !v.is_empty()
            {
                return Some(v.to_string());
            }
        }
    }
    None
}

/// `Set-Cookie` value for a new session.
pub fn set_cookie(token: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie is ASCII")
}

/// `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
    ))
    .expect("cookie is ASCII")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn query_param(parts: &Parts, name: &str) -> Option<String> {
    let q = parts.uri.query()?;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Checks the CSRF token of a state-changing request. URL-encoded bodies are buffered (and put
/// back) to read the `_csrf` field; other bodies must carry the header or the query parameter.
/// Returns whether the token matched and the body to continue with.
pub async fn check_csrf(parts: &Parts, body: Body, expected: &str, max_mb: usize) -> (bool, Body) {
    if let Some(h) = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return (constant_time_eq(h.as_bytes(), expected.as_bytes()), body);
    }
    if let Some(q) = query_param(parts, "_csrf") {
        return (constant_time_eq(q.as_bytes(), expected.as_bytes()), body);
    }
    let is_form = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (false, body);
    }
    let Ok(bytes) = axum::body::to_bytes(body, max_mb * 1024 * 1024).await else {
        return (false, Body::empty());
    };
    let ok = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "_csrf")
        .is_some_and(|(_, v)| constant_time_eq(v.as_bytes(), expected.as_bytes()));
    (ok, Body::from(bytes))
}
