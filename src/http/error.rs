//! The HTTP API's one error type, [`ApiError`], and how each becomes a response.
//!
//! Every refusal answers with a JSON body whose top-level `reason` is a stable code: for an
//! event, the very `message.rejected` data an AMQP sender would be sent (reason, detail,
//! pointers; never values), so a partner handles both transports with one parser. Codes of
//! [`RejectReason`] map to statuses in [`status_of`]; the README's "HTTP API" table lists them.
//! Server-side trouble (`unavailable`, `internal`) carries no error text: it could name hosts.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::event::RejectReason;
use crate::rejection::{Refused, Rejection};

/// Seconds a client is asked to wait after a 503.
pub(crate) const RETRY_AFTER_SECS: &str = "5";

/// `reason` of a query parameter that is not understood (400).
pub(crate) const BAD_REQUEST: &str = "bad_request";
/// `reason` of a feed cursor the hub did not issue, or one beyond the feed's end.
pub(crate) const INVALID_CURSOR: &str = "invalid_cursor";
/// `reason` of a 503: the store cannot serve now, or the hub is paused for it.
pub(crate) const UNAVAILABLE: &str = "unavailable";
/// `reason` of a 500.
pub(crate) const INTERNAL: &str = "internal";

/// Why an HTTP API request was not served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The pipeline refused the event; `data` is its `message.rejected` data.
    #[error("refused: {reason}")]
    Refused {
        /// The code, which picks the status.
        reason: RejectReason,
        /// The body.
        data: Box<Value>,
    },
    /// No, an unknown or a revoked bearer token.
    #[error("unauthenticated")]
    Unauthenticated,
    /// The caller may not use this endpoint.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// No need of the caller's with this id (the same for another region's need).
    #[error("unknown need")]
    UnknownNeed,
    /// A query parameter that is not understood.
    #[error("bad request: {0}")]
    BadQuery(String),
    /// A feed cursor that this API did not give, or one beyond the caller's feed.
    #[error("invalid cursor: {0}")]
    InvalidCursor(&'static str),
    /// The store cannot serve now, or the hub is paused for it: try again later.
    #[error("unavailable")]
    Unavailable,
    /// A failure that retrying will not fix.
    #[error("internal error")]
    Internal,
    /// Any other refusal: its status, reason code and detail (`webhook.rs`).
    #[error("{reason}: {detail}")]
    Plain {
        /// The status.
        status: StatusCode,
        /// The stable code.
        reason: &'static str,
        /// What to do about it.
        detail: String,
    },
}

impl ApiError {
    /// A refusal built here rather than by the pipeline, in the pipeline's shape.
    pub(crate) fn refusal(reason: RejectReason, detail: &str) -> Self {
        let rejection = Rejection {
            reason,
            detail: detail.to_owned(),
            errors: vec![],
        };
        Self::Refused {
            reason,
            data: Box::new(rejection.to_event(Refused::default()).data),
        }
    }
}

/// The status of a refusal for `reason` (every code, so a new one must be placed here).
pub(crate) const fn status_of(reason: RejectReason) -> StatusCode {
    use RejectReason as R;
    match reason {
        R::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        R::UnsupportedContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        R::EmptyMessage
        | R::MalformedJson
        | R::TooDeep
        | R::NotACloudevent
        | R::MissingAttribute
        | R::InvalidAttribute
        | R::MixedPrefixes
        | R::UnknownType
        | R::UnknownDataschema
        | R::SchemaInvalid => StatusCode::BAD_REQUEST,
        R::Unauthenticated => StatusCode::UNAUTHORIZED,
        R::Unauthorized => StatusCode::FORBIDDEN,
        R::PersonalData | R::UnscannedAttachment | R::UnknownNeed | R::UnknownCourse => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        R::Late | R::Withdrawn => StatusCode::CONFLICT,
        R::RetriesExhausted => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let plain = |reason: &str, detail: &str| json!({"reason": reason, "detail": detail});
        let (status, body) = match self {
            Self::Refused { reason, data } => (status_of(reason), *data),
            Self::Unauthenticated => {
                let detail = "send `Authorization: Bearer <token>` with a token issued by \
                              `samverkan tokens issue` that has not been revoked";
                let refused = Self::refusal(RejectReason::Unauthenticated, detail);
                return refused.into_response();
            }
            Self::Unauthorized(detail) => {
                return Self::refusal(RejectReason::Unauthorized, detail).into_response();
            }
            Self::UnknownNeed => (
                StatusCode::NOT_FOUND,
                plain(
                    RejectReason::UnknownNeed.as_str(),
                    "you have no need with this id",
                ),
            ),
            Self::BadQuery(detail) => (StatusCode::BAD_REQUEST, plain(BAD_REQUEST, &detail)),
            Self::InvalidCursor(detail) => (StatusCode::BAD_REQUEST, plain(INVALID_CURSOR, detail)),
            Self::Unavailable => {
                let body = plain(UNAVAILABLE, "the hub cannot record events now; retry");
                let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECS),
                );
                return response;
            }
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                plain(INTERNAL, "the hub could not handle this request"),
            ),
            Self::Plain {
                status,
                reason,
                detail,
            } => (status, plain(reason, &detail)),
        };
        (status, Json(body)).into_response()
    }
}
