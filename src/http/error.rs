//! API errors: a status and a JSON body naming the problem, and the field when there is one.
//!
//! Every refusal the API gives is `{"error": "<what is wrong>", "field": "<the request field>"}`
//! (`field` left out when no one field is at fault). A field's message starts with the field's
//! name (`tier: must be 1 to 5`), so the `error` text alone reads well in a terminal: that is
//! what the command-line clients print.

use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, HttpResponse, ResponseError};
use serde::Serialize;

use crate::nostr::governance_action::ActionError;

/// The largest request body the API reads.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.into(),
            field: None,
        }
    }

    pub fn field(
        status: StatusCode,
        field: impl Into<String>,
        error: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            error: error.into(),
            field: Some(field.into()),
        }
    }

    /// 400, naming `field`: the message reads `<field>: <message>`.
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> ApiError {
        ApiError::field(
            StatusCode::BAD_REQUEST,
            field,
            format!("{field}: {message}"),
        )
    }

    /// 404, naming `field` (the path parameter that names nothing).
    pub fn not_found(field: &str, message: impl std::fmt::Display) -> ApiError {
        ApiError::field(StatusCode::NOT_FOUND, field, format!("{field}: {message}"))
    }

    /// 503: a part of the service that the request needs is down or restarting.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 500: something failed on our side; the message says what, for the operator.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(self)
    }
}

/// A request that is not a valid governance action: 400, naming the field.
impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> ApiError {
        ApiError::field(StatusCode::BAD_REQUEST, e.field(), e.to_string())
    }
}

/// JSON bodies that fail to parse answer 400 with the parser's message (it names the field).
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .content_type_required(false)
        .error_handler(|err, _req| {
            ApiError::field(
                StatusCode::BAD_REQUEST,
                "body",
                format!("body: invalid JSON: {err}"),
            )
            .into()
        })
}

/// Reads a whole request body, at most [`BODY_LIMIT`] bytes; too large a body is a JSON 413.
pub async fn read_body(payload: web::Payload) -> Result<web::Bytes, ApiError> {
    match payload.to_bytes_limited(BODY_LIMIT).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "body",
            format!("body: cannot read the request body: {e}"),
        )),
        Err(_) => Err(ApiError::field(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body",
            format!("body: larger than {BODY_LIMIT} bytes"),
        )),
    }
}

/// The answer to a request for a route that does not exist.
/// `web::Query` errors (a missing or malformed query parameter) as a JSON 400 naming the
/// query string, like every other refusal (`actix-web`'s own answer is plain text).
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        ApiError::field(StatusCode::BAD_REQUEST, "query", format!("query: {err}")).into()
    })
}

/// A route that exists with another method: `actix-web` answers an empty 405; this middleware
/// gives it the JSON body every other refusal has.
pub fn method_not_allowed_as_json<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().handler(StatusCode::METHOD_NOT_ALLOWED, |res: ServiceResponse<B>| {
        let method = res.request().method().clone();
        let path = res.request().path().to_owned();
        let (req, _) = res.into_parts();
        let body = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed on {path}"),
        )
        .error_response();
        Ok(ErrorHandlerResponse::Response(
            ServiceResponse::new(req, body).map_into_right_body(),
        ))
    })
}

pub async fn no_such_route() -> HttpResponse {
    ApiError::new(StatusCode::NOT_FOUND, "no such route").error_response()
}
