//! Request and response plumbing shared by every openEHR handler: media types, the body
//! size limit, the openEHR headers (`Prefer`, `If-Match`, `openEHR-VERSION`,
//! `openEHR-AUDIT_DETAILS`) and the response headers (`ETag`, `Location`, `Last-Modified`).

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openehr_rm::RmObject;
use time::OffsetDateTime;
use time::format_description::well_known::Iso8601;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// The serialisations Kith reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
    /// The simplified FLAT format of a composition's template (JSON).
    Flat,
    /// The simplified STRUCTURED format of a composition's template (JSON).
    Structured,
}

impl Format {
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Xml => "application/xml",
            Format::Flat => "application/openehr.wt.flat+json",
            Format::Structured => "application/openehr.wt.structured+json",
        }
    }

    fn from_media_type(media_type: &str) -> Option<Format> {
        match media_type {
            "application/json" => Some(Format::Json),
            "application/xml" | "text/xml" => Some(Format::Xml),
            // The `.schema` spellings are deprecated by ITS-REST 1.1 but EHRbase still uses them.
            "application/openehr.wt.flat+json" | "application/openehr.wt.flat.schema+json" => {
                Some(Format::Flat)
            }
            "application/openehr.wt.structured+json"
            | "application/openehr.wt.structured.schema+json" => Some(Format::Structured),
            _ => None,
        }
    }

    /// The format a JSON error, identifier or other server-built document takes when the
    /// client asked for this one: the simplified formats are JSON.
    fn document_format(self) -> Format {
        match self {
            Format::Xml => Format::Xml,
            _ => Format::Json,
        }
    }
}

/// The response format the client accepts (from `Accept`; JSON when absent).
#[derive(Debug, Clone, Copy)]
pub struct Accept(pub Format);

impl<S: Send + Sync> FromRequestParts<S> for Accept {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        negotiate(&parts.headers, &[Format::Json, Format::Xml]).map(Accept)
    }
}

/// Picks the best of `offered` for the request's `Accept` header, honouring q-values.
pub fn negotiate(headers: &HeaderMap, offered: &[Format]) -> ApiResult<Format> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Ok(offered[0]);
    };
    let accept = accept
        .to_str()
        .map_err(|_| ApiError::new(ErrorCode::InvalidHeader, "accept header is not ascii"))?;
    let mut best: Option<(f32, usize, Format)> = None;
    for (position, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';');
        let media_type = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|parameter| parameter.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if quality <= 0.0 {
            continue;
        }
        let candidate = match media_type.as_str() {
            "*/*" | "application/*" => Some(offered[0]),
            "" => None,
            other => Format::from_media_type(other).filter(|format| offered.contains(format)),
        };
        if let Some(format) = candidate {
            // Higher q wins; among equal q the earlier range wins.
            let better = match best {
                None => true,
                Some((best_quality, _, _)) => quality > best_quality,
            };
            if better {
                best = Some((quality, position, format));
            }
        }
    }
    best.map(|(_, _, format)| format).ok_or_else(|| {
        let offered: Vec<&str> = offered.iter().map(|format| format.media_type()).collect();
        ApiError::new(
            ErrorCode::NotAcceptable,
            format!(
                "cannot answer in any media type of accept \"{accept}\"; available: {}",
                offered.join(", ")
            ),
        )
    })
}

/// A request body read within the configured size limit, with its declared format.
pub struct RawBody {
    pub bytes: axum::body::Bytes,
    /// The format named by `Content-Type`, or None when the header is absent.
    pub format: Option<Format>,
    content_type: Option<String>,
}

impl RawBody {
    /// The body's format; 415 when the content type is absent or not one of `accepted`.
    pub fn format_among(&self, accepted: &[Format]) -> ApiResult<Format> {
        match self.format {
            Some(format) if accepted.contains(&format) => Ok(format),
            _ => {
                let accepted: Vec<&str> = accepted.iter().map(|f| f.media_type()).collect();
                Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    match &self.content_type {
                        Some(content_type) => format!(
                            "content type \"{content_type}\" is not supported here; use {}",
                            accepted.join(" or ")
                        ),
                        None => format!(
                            "a content-type header is required: {}",
                            accepted.join(" or ")
                        ),
                    },
                ))
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.iter().all(u8::is_ascii_whitespace)
    }
}

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.config.body_limit;
        let too_large = || {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the request body is larger than the limit of {limit} bytes"),
            )
        };
        let content_length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        if content_length.is_some_and(|length| length > limit) {
            return Err(too_large());
        }
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let format = content_type.as_deref().and_then(|content_type| {
            let media_type = content_type.split(';').next().unwrap_or("").trim();
            Format::from_media_type(&media_type.to_ascii_lowercase())
        });
        let bytes = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|_| too_large())?;
        Ok(RawBody {
            bytes,
            format,
            content_type,
        })
    }
}

/// What the client asked to get back (`Prefer: return=...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    Minimal,
    Representation,
    Identifier,
}

impl<S: Send + Sync> FromRequestParts<S> for Prefer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut prefer = Prefer::Minimal;
        for value in parts.headers.get_all("prefer") {
            let value = value.to_str().unwrap_or("");
            for preference in value.split(',') {
                match preference.trim().to_ascii_lowercase().as_str() {
                    "return=representation" => prefer = Prefer::Representation,
                    "return=minimal" => prefer = Prefer::Minimal,
                    "return=identifier" => prefer = Prefer::Identifier,
                    _ => {}
                }
            }
        }
        Ok(prefer)
    }
}

/// Reads `If-Match` (one entity tag, quoted or not); None when absent.
pub fn if_match(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::new(ErrorCode::InvalidHeader, "if-match header is not ascii"))?
        .trim();
    let value = value.strip_prefix("W/").unwrap_or(value);
    let value = value.trim_matches('"').trim();
    if value.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidHeader,
            "if-match header is empty",
        ));
    }
    Ok(Some(value.to_owned()))
}

pub fn require_if_match(headers: &HeaderMap) -> ApiResult<String> {
    if_match(headers)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::IfMatchRequired,
            "an if-match header naming the version being replaced is required",
        )
    })
}

/// Collects the `key=value` pairs of an openEHR header family in every spelling clients use:
/// 1.1.0 (`openehr-audit-details: committer.name="x"`, possibly on several lines), 1.0.3
/// (`openEHR-AUDIT_DETAILS: ...`) and 1.0.3's attribute-in-the-name form
/// (`openEHR-AUDIT_DETAILS.committer: name="x"`, giving the key `committer.name`).
fn openehr_pairs(headers: &HeaderMap, family: &str) -> ApiResult<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for (name, value) in headers {
        // Header names arrive lowercase; only the family part may differ in `_` and `-`.
        let (base, attribute) = match name.as_str().split_once('.') {
            Some((base, attribute)) => (base, Some(attribute)),
            None => (name.as_str(), None),
        };
        if base.replace('_', "-") != family {
            continue;
        }
        let text = value.to_str().map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidHeader,
                format!("{name} header is not ascii"),
            )
        })?;
        for (key, value) in header_pairs(text, name.as_str())? {
            let key = match attribute {
                Some(attribute) => format!("{attribute}.{key}"),
                None => key,
            };
            pairs.push((key, value));
        }
    }
    Ok(pairs)
}

/// Parses `key="value", key=value` pairs as used by the openEHR headers.
fn header_pairs(text: &str, header: &str) -> ApiResult<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some(equals) = rest.find('=') else {
            return Err(ApiError::new(
                ErrorCode::InvalidHeader,
                format!("{header} header: expected key=value at \"{rest}\""),
            ));
        };
        let key = rest[..equals].trim().to_ascii_lowercase();
        rest = rest[equals + 1..].trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let Some(end) = quoted.find('"') else {
                return Err(ApiError::new(
                    ErrorCode::InvalidHeader,
                    format!("{header} header: unterminated quoted value for {key}"),
                ));
            };
            value = quoted[..end].to_owned();
            rest = quoted[end + 1..].trim_start();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// What the `openEHR-AUDIT_DETAILS` header supplies.
#[derive(Debug, Default, Clone)]
pub struct AuditHeader {
    pub committer_name: Option<String>,
    pub committer_id: Option<String>,
    pub committer_namespace: Option<String>,
    pub committer_type: Option<String>,
    pub description: Option<String>,
    pub change_type: Option<store::ChangeType>,
}

pub fn audit_header(headers: &HeaderMap) -> ApiResult<AuditHeader> {
    let name = "openehr-audit-details";
    let mut audit = AuditHeader::default();
    for (key, value) in openehr_pairs(headers, name)? {
        match key.as_str() {
            "committer.name" => audit.committer_name = Some(value),
            "committer.external_ref.id" | "committer.external_ref.id.value" | "committer.id" => {
                audit.committer_id = Some(value)
            }
            "committer.external_ref.namespace" => audit.committer_namespace = Some(value),
            "committer.external_ref.type" => audit.committer_type = Some(value),
            "description" | "description.value" => audit.description = Some(value),
            "change_type"
            | "change_type.code_string"
            | "change_type.value"
            | "change_type.defining_code.code_string" => {
                audit.change_type = Some(store::ChangeType::parse(&value).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidHeader,
                        format!("{name} header: unknown change type \"{value}\""),
                    )
                })?)
            }
            // Attributes the server sets itself (system_id, time_committed) or does not
            // keep (terminology ids of the codes) are accepted and ignored.
            _ => {}
        }
    }
    Ok(audit)
}

/// The lifecycle state from `openEHR-VERSION` (`lifecycle_state.code_string="532"`).
pub fn version_header(headers: &HeaderMap) -> ApiResult<Option<store::LifecycleState>> {
    let name = "openehr-version";
    let mut state = None;
    for (key, value) in openehr_pairs(headers, name)? {
        match key.as_str() {
            "lifecycle_state"
            | "lifecycle_state.code_string"
            | "lifecycle_state.value"
            | "lifecycle_state.defining_code.code_string" => {
                let parsed = match value.as_str() {
                    "complete" => Some(store::LifecycleState::Complete),
                    "incomplete" => Some(store::LifecycleState::Incomplete),
                    code => store::LifecycleState::from_code(code),
                }
                .filter(|state| *state != store::LifecycleState::Deleted)
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidHeader,
                        format!(
                            "{name} header: lifecycle state \"{value}\" is not 532 (complete) or 553 (incomplete); delete with DELETE"
                        ),
                    )
                })?;
                state = Some(parsed);
            }
            // Other attributes of the version are set by the server.
            _ => {}
        }
    }
    Ok(state)
}

/// openEHR date-time text: ISO 8601 extended with microseconds and offset.
pub fn format_time(time: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6][offset_hour sign:mandatory]:[offset_minute]"
    );
    time.format(&format).unwrap_or_default()
}

/// HTTP-date for `Last-Modified`.
pub fn http_date(time: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// Parses a `version_at_time` style parameter (ISO 8601; UTC when no offset is given).
pub fn parse_time(text: &str, parameter: &str) -> ApiResult<OffsetDateTime> {
    // openEHR allows a comma as the decimal sign; ISO 8601 parsers want a dot.
    let normalised = text.trim().replace(',', ".");
    if let Ok(time) = OffsetDateTime::parse(&normalised, &Iso8601::DEFAULT) {
        return Ok(time);
    }
    if let Ok(time) = time::PrimitiveDateTime::parse(&normalised, &Iso8601::DEFAULT) {
        return Ok(time.assume_utc());
    }
    Err(ApiError::at(
        ErrorCode::InvalidParameter,
        parameter,
        format!("\"{text}\" is not an iso 8601 date-time"),
    ))
}

pub fn parse_uuid(text: &str, what: &str) -> ApiResult<uuid::Uuid> {
    uuid::Uuid::parse_str(text)
        .ok()
        .filter(|_| text.len() == 36)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidId,
                format!("{what} \"{text}\" is not a uuid"),
            )
        })
}

/// A version id `object_id::system_id::version` as the REST API uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionUid {
    pub object_id: uuid::Uuid,
    pub system_id: String,
    pub version: u32,
}

impl VersionUid {
    pub fn parse(text: &str, what: &str) -> ApiResult<VersionUid> {
        let invalid = |reason: &str| {
            ApiError::new(
                ErrorCode::InvalidId,
                format!(
                    "{what} \"{text}\" is not a version id object_id::system_id::version: {reason}"
                ),
            )
        };
        let mut parts = text.splitn(3, "::");
        let object_id = parts.next().unwrap_or("");
        let (Some(system_id), Some(version)) = (parts.next(), parts.next()) else {
            return Err(invalid("it has fewer than three parts"));
        };
        let object_id = parse_uuid(object_id, "object id")
            .map_err(|_| invalid("the object id is not a uuid"))?;
        if system_id.is_empty() {
            return Err(invalid("the system id is empty"));
        }
        let version = version
            .parse::<u32>()
            .ok()
            .filter(|version| *version >= 1)
            .ok_or_else(|| invalid("the version is not a positive whole number"))?;
        Ok(VersionUid {
            object_id,
            system_id: system_id.to_owned(),
            version,
        })
    }

    pub fn format(object_id: uuid::Uuid, system_id: &str, version: u32) -> String {
        format!("{object_id}::{system_id}::{version}")
    }
}

/// Serialises an RM object as the client asked.
pub fn render(object: &RmObject, format: Format, root_element: &str) -> Vec<u8> {
    match format.document_format() {
        Format::Xml => openehr_rm::xml::to_vec(object, root_element),
        _ => openehr_rm::json::to_vec(object),
    }
}

/// Serialises a JSON document (built by the server) as the client asked, via the RM
/// so that XML comes out in canonical form.
pub fn render_value(
    value: &serde_json::Value,
    rm_type: &str,
    format: Format,
    root_element: &str,
) -> ApiResult<Vec<u8>> {
    match format.document_format() {
        Format::Xml => {
            let object = openehr_rm::json::from_value(value, rm_type).map_err(|error| {
                ApiError::new(
                    ErrorCode::Internal,
                    format!("could not render {rm_type} as xml: {error}"),
                )
            })?;
            Ok(openehr_rm::xml::to_vec(&object, root_element))
        }
        _ => Ok(serde_json::to_vec(value).unwrap_or_default()),
    }
}

/// A successful response with the openEHR headers.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Option<(Format, Vec<u8>)>,
}

impl Reply {
    pub fn new(status: StatusCode) -> Self {
        Reply {
            status,
            headers: HeaderMap::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: header::HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.insert(name, value);
        }
        self
    }

    pub fn etag(self, tag: &str) -> Self {
        self.header(header::ETAG, &format!("\"{tag}\""))
    }

    pub fn last_modified(self, time: OffsetDateTime) -> Self {
        self.header(header::LAST_MODIFIED, &http_date(time))
    }

    /// The `Prefer: return=identifier` body: `{"uid": "<id>"}` in the negotiated format.
    pub fn identifier(self, id: &str, format: Format) -> Self {
        let format = format.document_format();
        let bytes = match format {
            Format::Json | Format::Flat | Format::Structured => {
                serde_json::to_vec(&serde_json::json!({ "uid": id })).unwrap_or_default()
            }
            Format::Xml => {
                let escaped = id
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;");
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<identifier><uid>{escaped}</uid></identifier>").into_bytes()
            }
        };
        self.body(format, bytes)
    }

    pub fn body(mut self, format: Format, bytes: Vec<u8>) -> Self {
        self.body = Some((format, bytes));
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Some((format, bytes)) => {
                let mut response = Response::new(Body::from(bytes));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(format.media_type()),
                );
                response
            }
            None => Response::new(Body::empty()),
        };
        *response.status_mut() = self.status;
        response.headers_mut().extend(self.headers);
        response
    }
}
