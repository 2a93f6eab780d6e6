//! Authentication: who is calling. Every route outside `/health` and `/rest/status` sits
//! behind [`require_caller`]; handlers that touch the record take a [`Caller`], which only
//! that middleware can have put in the request.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user id recorded as committer when the client names none.
    pub user: String,
    pub is_admin: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Present only when `require_caller` authenticated the request; a route mounted
        // outside it cannot obtain a caller, so it cannot reach the record.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "authentication is required"))
    }
}

/// An administrator: the caller of the admin API.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if !caller.is_admin {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "this operation needs the administrator role",
            ));
        }
        Ok(Admin(caller))
    }
}

/// Compares secrets in time independent of where they differ.
fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    left.iter()
        .zip(right)
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

/// Authenticates the bearer token; answers 401 without one.
pub async fn require_caller(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let Some(token) = token else {
        return ApiError::new(
            ErrorCode::Unauthorized,
            "a bearer token is required (authorization: bearer <token>)",
        )
        .into_response();
    };
    if !constant_time_equal(token.as_bytes(), state.config.admin_token.as_bytes()) {
        // The token itself is never logged.
        tracing::info!(path = %request.uri().path(), "refused a request with an unknown token");
        return ApiError::new(ErrorCode::Unauthorized, "the bearer token is not valid")
            .into_response();
    }
    request.extensions_mut().insert(Caller {
        user: "admin".to_owned(),
        is_admin: true,
    });
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::constant_time_equal;

    #[test]
    fn compares_secrets() {
        assert!(constant_time_equal(b"abc", b"abc"));
        assert!(!constant_time_equal(b"abc", b"abd"));
        assert!(!constant_time_equal(b"abc", b"abcd"));
        assert!(constant_time_equal(b"", b""));
    }
}
