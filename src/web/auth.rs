//! Sessions of the review UI: a random id in a cookie, the reviewer's name and a CSRF token
//! with it, closed after `SESSION_IDLE` without use.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::SESSION_IDLE;

const COOKIE: &str = "spoor_session";

/// `n` random bytes from the OS, as hex.
pub fn random_hex(n: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| format!("random numbers: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Equality in time independent of where the inputs differ (a token compared byte by byte
/// with an early exit tells an attacker how much of it was right).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

pub fn cookie(id: &str) -> String {
    format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/")
}

/// A reviewer's session, as a request sees it.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub reviewer: String,
    pub csrf: String,
}

struct Open {
    reviewer: String,
    csrf: String,
    last_seen: Instant,
}

#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Open>>);

impl Sessions {
    pub fn open(&self, reviewer: &str) -> Result<String, String> {
        let id = random_hex(32)?;
        let csrf = random_hex(32)?;
        let mut all = self.0.lock().map_err(|_| "sessions: a request panicked")?;
        all.retain(|_, s| s.last_seen.elapsed() < SESSION_IDLE);
        all.insert(
            id.clone(),
            Open {
                reviewer: reviewer.to_string(),
                csrf,
                last_seen: Instant::now(),
            },
        );
        Ok(id)
    }

    pub fn close(&self, id: &str) {
        if let Ok(mut all) = self.0.lock() {
            all.remove(id);
        }
    }

    /// The request's session, refreshed; for a state-changing request `csrf` must be the
    /// session's token. Without a live session a page is sent to the log-in and anything
    /// else refused.
    pub fn check(&self, headers: &HeaderMap, csrf: Option<&str>) -> Result<Session, Refusal> {
        let id = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().strip_prefix(COOKIE)?.strip_prefix('='))
            .next()
            .map(str::to_string);
        let not_logged_in = Refusal::NoSession {
            action: csrf.is_some(),
        };
        let Some(id) = id else {
            return Err(not_logged_in);
        };
        let mut all = self.0.lock().map_err(|_| not_logged_in)?;
        let Some(open) = all.get_mut(&id) else {
            return Err(not_logged_in);
        };
        if open.last_seen.elapsed() >= SESSION_IDLE {
            all.remove(&id);
            return Err(not_logged_in);
        }
        if let Some(given) = csrf
            && !same(given.as_bytes(), open.csrf.as_bytes())
        {
            return Err(Refusal::Csrf);
        }
        open.last_seen = Instant::now();
        Ok(Session {
            id,
            reviewer: open.reviewer.clone(),
            csrf: open.csrf.clone(),
        })
    }
}

/// Why a request has no session to act in.
#[derive(Clone, Copy, Debug)]
pub enum Refusal {
    /// No live session: a page goes to the log-in, an action is refused.
    NoSession { action: bool },
    /// The form's CSRF token is not the session's.
    Csrf,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let refuse = |why: &str| {
            (
                StatusCode::FORBIDDEN,
                Html(super::pages::message("Refused", why)),
            )
                .into_response()
        };
        match self {
            Refusal::NoSession { action: false } => Redirect::to("/login").into_response(),
            Refusal::NoSession { action: true } => {
                refuse("no session: log in with the access token first")
            }
            Refusal::Csrf => refuse("the form's CSRF token is not this session's"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_random_and_compared_whole() {
        let a = super::random_hex(16).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, super::random_hex(16).unwrap());
        assert!(super::same(b"abc", b"abc"));
        assert!(!super::same(b"abc", b"abd") && !super::same(b"abc", b"abcd"));
    }
}
