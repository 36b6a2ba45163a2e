//! Bearer-token authentication for the admin routes.
//!
//! The admin routes live in one scope wrapped by [`require_admin`], so a route added there
//! cannot forget to check the token, and the check runs before any body is read. A request
//! passes when it carries `Authorization: Bearer <token>` with the `http.admin_token` secret.
//!
//! The comparison is constant-time ([`subtle`]) over SHA-256 digests of the two tokens: hashing
//! first makes both sides 32 bytes, so the time taken says nothing about the token's length
//! either. The token is never logged, and a refusal says only which of "missing", "not a
//! bearer token" or "wrong" it was: 401 with `WWW-Authenticate: Bearer` and a JSON body.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};
use nostr_sdk::hashes::{sha256, Hash};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::http::handles::ServiceHandles;
use crate::keys::Secret;

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "authorization: missing Authorization header; send Authorization: Bearer <admin token>"
    )]
    Missing,
    #[error("authorization: not a bearer token; send Authorization: Bearer <admin token>")]
    NotBearer,
    #[error("authorization: wrong admin token")]
    WrongToken,
}

impl AuthError {
    fn reason(self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::NotBearer => "not_bearer",
            AuthError::WrongToken => "wrong_token",
        }
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        StatusCode::UNAUTHORIZED
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .json(ApiError::field(
                StatusCode::UNAUTHORIZED,
                "authorization",
                self.to_string(),
            ))
    }
}

/// Checks an `Authorization` header value against the admin token.
pub fn check_bearer(header: Option<&HeaderValue>, expected: &Secret) -> Result<(), AuthError> {
    let value = header.ok_or(AuthError::Missing)?;
    let value = value.to_str().map_err(|_| AuthError::NotBearer)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::NotBearer);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::NotBearer);
    }
    if tokens_match(token.as_bytes(), expected.expose().as_bytes()) {
        Ok(())
    } else {
        Err(AuthError::WrongToken)
    }
}

/// Constant-time equality of two tokens of any lengths.
fn tokens_match(given: &[u8], expected: &[u8]) -> bool {
    let given = sha256::Hash::hash(given).to_byte_array();
    let expected = sha256::Hash::hash(expected).to_byte_array();
    given.ct_eq(&expected).into()
}

/// Middleware (`actix_web::middleware::from_fn`) for the admin scope.
pub async fn require_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(handles) = req.app_data::<web::Data<ServiceHandles>>() else {
        let refusal = ApiError::internal("the service is not configured for admin requests");
        return Ok(req.error_response(refusal).map_into_right_body());
    };
    match check_bearer(
        req.headers().get(header::AUTHORIZATION),
        &handles.admin_token,
    ) {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err(refusal) => {
            tracing::warn!(
                method = %req.method(),
                path = %req.path(),
                reason = refusal.reason(),
                "admin request refused"
            );
            Ok(req.error_response(refusal).map_into_right_body())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> Secret {
        let source = crate::keys::SecretSource::Env("T".into());
        let value = text.to_owned();
        source
            .read("http.admin_token", &move |_| Some(value.clone()))
            .unwrap()
    }

    fn check(header: Option<&str>) -> Result<(), AuthError> {
        let header = header.map(|h| HeaderValue::from_str(h).unwrap());
        check_bearer(header.as_ref(), &secret("0123456789abcdef0123"))
    }

    #[test]
    fn only_the_right_bearer_token_passes() {
        assert_eq!(check(Some("Bearer 0123456789abcdef0123")), Ok(()));
        assert_eq!(check(Some("bearer  0123456789abcdef0123 ")), Ok(()));
        assert_eq!(check(None), Err(AuthError::Missing));
        assert_eq!(check(Some("")), Err(AuthError::NotBearer));
        assert_eq!(check(Some("Bearer")), Err(AuthError::NotBearer));
        assert_eq!(check(Some("Bearer ")), Err(AuthError::NotBearer));
        assert_eq!(
            check(Some("Basic 0123456789abcdef0123")),
            Err(AuthError::NotBearer)
        );
        assert_eq!(
            check(Some("Bearer 0123456789abcdef012")),
            Err(AuthError::WrongToken)
        );
        assert_eq!(
            check(Some("Bearer 0123456789abcdef01234")),
            Err(AuthError::WrongToken)
        );
        assert_eq!(
            check(Some("Bearer 0123456789ABCDEF0123")),
            Err(AuthError::WrongToken)
        );
    }

    #[test]
    fn refusals_never_repeat_the_token() {
        for e in [
            AuthError::Missing,
            AuthError::NotBearer,
            AuthError::WrongToken,
        ] {
            assert!(e.to_string().starts_with("authorization: "));
            assert!(!e.to_string().contains("0123"));
        }
    }
}
