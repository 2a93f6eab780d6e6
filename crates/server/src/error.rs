//! The one table that maps every error to an HTTP status and a stable JSON body.
//!
//! Every handler returns [`ApiError`]; its body is always
//! `{"error": code, "message": ..., "details": [{"path": ..., "message": ...}]}`.
//! A client fault is never a 500; an internal fault is logged with its cause and answered
//! without internals.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use store::StoreError;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Detail {
    pub path: String,
    pub message: String,
    /// Where in a query (1-based line, and column in characters), for AQL errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// What the AQL grammar allows at that point, for syntax errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expected: Vec<String>,
    /// The token found there, for syntax errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// A guess at what was meant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Stable error codes; the status of each is fixed here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    NotAcceptable,
    UnsupportedMediaType,
    PayloadTooLarge,
    MalformedBody,
    InvalidRmObject,
    InvalidId,
    InvalidParameter,
    InvalidHeader,
    IfMatchRequired,
    AlreadyDeleted,
    EhrNotFound,
    ObjectNotFound,
    TemplateNotFound,
    UnknownTemplate,
    TemplateViolation,
    Conflict,
    PreconditionFailed,
    InvalidTemplate,
    InvalidSimplifiedFormat,
    Unprocessable,
    AqlSyntax,
    AqlUnknownClass,
    AqlUnknownVariable,
    AqlDuplicateVariable,
    AqlUnknownAttribute,
    AqlMissingParameter,
    AqlTypeMismatch,
    AqlObjectComparison,
    AqlUnsupported,
    AqlInvalid,
    QueryTooBroad,
    QueryTimeout,
    ServiceUnavailable,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            Unauthorized => StatusCode::UNAUTHORIZED,
            Forbidden => StatusCode::FORBIDDEN,
            NotFound | EhrNotFound | ObjectNotFound | TemplateNotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            MalformedBody
            | InvalidRmObject
            | InvalidId
            | InvalidParameter
            | InvalidHeader
            | IfMatchRequired
            | AlreadyDeleted
            | InvalidTemplate
            | InvalidSimplifiedFormat
            | AqlSyntax
            | AqlUnknownClass
            | AqlUnknownVariable
            | AqlDuplicateVariable
            | AqlUnknownAttribute
            | AqlMissingParameter
            | AqlTypeMismatch
            | AqlObjectComparison
            | AqlUnsupported
            | AqlInvalid
            | QueryTooBroad => StatusCode::BAD_REQUEST,
            QueryTimeout => StatusCode::REQUEST_TIMEOUT,
            ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Conflict => StatusCode::CONFLICT,
            PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            UnknownTemplate | TemplateViolation | Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            Unauthorized => "unauthorized",
            Forbidden => "forbidden",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            NotAcceptable => "not_acceptable",
            UnsupportedMediaType => "unsupported_media_type",
            PayloadTooLarge => "payload_too_large",
            MalformedBody => "malformed_body",
            InvalidRmObject => "invalid_rm_object",
            InvalidId => "invalid_id",
            InvalidParameter => "invalid_parameter",
            InvalidHeader => "invalid_header",
            IfMatchRequired => "if_match_required",
            AlreadyDeleted => "already_deleted",
            EhrNotFound => "ehr_not_found",
            ObjectNotFound => "object_not_found",
            TemplateNotFound => "template_not_found",
            UnknownTemplate => "unknown_template",
            TemplateViolation => "template_violation",
            Conflict => "conflict",
            PreconditionFailed => "precondition_failed",
            InvalidTemplate => "invalid_template",
            InvalidSimplifiedFormat => "invalid_simplified_format",
            Unprocessable => "unprocessable",
            AqlSyntax => "aql_syntax_error",
            AqlUnknownClass => "aql_unknown_class",
            AqlUnknownVariable => "aql_unknown_variable",
            AqlDuplicateVariable => "aql_duplicate_variable",
            AqlUnknownAttribute => "aql_unknown_attribute",
            AqlMissingParameter => "aql_missing_parameter",
            AqlTypeMismatch => "aql_type_mismatch",
            AqlObjectComparison => "aql_object_comparison",
            AqlUnsupported => "aql_unsupported",
            AqlInvalid => "aql_invalid_query",
            QueryTooBroad => "query_too_broad",
            QueryTimeout => "query_timeout",
            ServiceUnavailable => "service_unavailable",
            Internal => "internal_error",
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<Detail>,
    /// Extra response headers (for example the latest version's ETag on a 412). A small
    /// vector, not a `HeaderMap`, so that `Result<_, ApiError>` stays small.
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn at(code: ErrorCode, path: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError {
            code,
            details: vec![Detail {
                path: path.into(),
                message: message.clone(),
                ..Detail::default()
            }],
            message,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }

    /// Prefixes every detail path, for errors found inside an enclosing document.
    pub fn under(mut self, prefix: &str) -> Self {
        for detail in &mut self.details {
            // The root of the inner document ("/" or "") is the prefix itself.
            let inner = detail.path.trim_end_matches('/');
            detail.path = format!("{prefix}{inner}");
        }
        self
    }

    pub fn internal(context: &str, error: &dyn std::error::Error) -> Self {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        tracing::error!(context, error = %chain, "internal error");
        ApiError::new(ErrorCode::Internal, "internal error; see the server log")
    }
}

impl From<openehr_rm::RmError> for ApiError {
    fn from(error: openehr_rm::RmError) -> Self {
        let code = match error.kind {
            openehr_rm::RmErrorKind::Syntax => ErrorCode::MalformedBody,
            _ => ErrorCode::InvalidRmObject,
        };
        ApiError::at(code, error.path, error.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match &error {
            StoreError::EhrNotFound(id) => {
                ApiError::new(ErrorCode::EhrNotFound, format!("ehr {id} does not exist"))
            }
            StoreError::EhrExists(_)
            | StoreError::EhrNotModifiable(_)
            | StoreError::SubjectHasEhr(_)
            | StoreError::DirectoryExists(_)
            | StoreError::TemplateExists(_)
            | StoreError::TemplateInUse(_)
            | StoreError::ContributionExists(_)
            | StoreError::StoredQueryExists(..)
            | StoreError::PersonExists(_)
            | StoreError::IdentifierTaken { .. }
            | StoreError::EhrHasPerson(_) => ApiError::new(ErrorCode::Conflict, error.to_string()),
            StoreError::VersionConflict { .. } | StoreError::RecordVersionConflict { .. } => {
                ApiError::new(ErrorCode::PreconditionFailed, error.to_string())
            }
            StoreError::KindMismatch { .. } => {
                ApiError::new(ErrorCode::ObjectNotFound, error.to_string())
            }
            // The audit writer retries these itself; one reaching a handler is a fault.
            StoreError::AuditSeqTaken(_) | StoreError::Database(_) | StoreError::Corrupt(_) => {
                ApiError::internal("store", &error)
            }
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'static str,
    message: &'a str,
    details: &'a [Detail],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&Body {
            error: self.code.as_str(),
            message: &self.message,
            details: &self.details,
        })
        .unwrap_or_default();
        let mut response = (self.code.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.code == ErrorCode::Unauthorized {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"kith\""),
            );
        }
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
