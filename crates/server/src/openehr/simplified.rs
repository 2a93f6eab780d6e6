//! The simplified formats (FLAT and STRUCTURED) at the composition endpoints.
//!
//! Two conventions reach the same conversion: the specification's media types
//! (`Content-Type`/`Accept: application/openehr.wt.flat+json` or `…structured+json`, with the
//! template id in `openehr-template-id`), and EHRbase's query parameters
//! `format=JSON|XML|FLAT|STRUCTURED` and `templateId` (sent with `application/json`). An
//! explicit `format` wins over the headers. A FLAT or STRUCTURED body is converted to a
//! canonical composition here and then takes exactly the path a canonical one takes
//! (validation, commit); the store only ever holds canonical JSON.

use axum::http::{HeaderMap, header};
use openehr_rm::RmObject;
use templates::flat::{FormatError, InputDefaults};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::error::{ApiError, ApiResult, Detail, ErrorCode};
use crate::http::{Format, RawBody, negotiate};

/// The query parameters EHRbase's clients send with compositions.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct FormatQuery {
    format: Option<String>,
    #[serde(rename = "templateId")]
    template_id_camel: Option<String>,
    template_id: Option<String>,
}

impl FormatQuery {
    /// The format named by `?format=`, if any.
    pub(crate) fn format(&self) -> ApiResult<Option<Format>> {
        let Some(name) = &self.format else {
            return Ok(None);
        };
        match name.to_ascii_uppercase().as_str() {
            "JSON" | "RAW" => Ok(Some(Format::Json)),
            "XML" => Ok(Some(Format::Xml)),
            "FLAT" => Ok(Some(Format::Flat)),
            "STRUCTURED" => Ok(Some(Format::Structured)),
            _ => Err(ApiError::at(
                ErrorCode::InvalidParameter,
                "format",
                format!("unknown format \"{name}\"; use JSON, XML, FLAT or STRUCTURED"),
            )),
        }
    }

    /// The template a simplified body is written for: `templateId` or `template_id` in the
    /// query, else the `openehr-template-id` header (or its 1.0.3 spelling).
    fn template_id<'a>(&'a self, headers: &'a HeaderMap) -> Option<&'a str> {
        self.template_id_camel
            .as_deref()
            .or(self.template_id.as_deref())
            .or_else(|| {
                ["openehr-template-id", "openehr-template_id"]
                    .iter()
                    .find_map(|name| headers.get(*name))
                    .and_then(|value| value.to_str().ok())
                    .map(str::trim)
            })
            .filter(|id| !id.is_empty())
    }
}

const ALL_FORMATS: [Format; 4] = [Format::Json, Format::Xml, Format::Flat, Format::Structured];

/// The format of a composition request body: `?format=` (the body must then be JSON for
/// the simplified formats), else the `Content-Type`.
pub(crate) fn input_format(query: &FormatQuery, body: &RawBody) -> ApiResult<Format> {
    match query.format()? {
        Some(Format::Xml) => body.format_among(&[Format::Xml]),
        Some(format) => {
            body.format_among(&[Format::Json, format])?;
            Ok(format)
        }
        None => body.format_among(&ALL_FORMATS),
    }
}

/// The format of a composition response: `?format=`, else `Accept` when it names a
/// format, else FLAT or STRUCTURED when the request body was (a client that writes FLAT
/// reads FLAT), else canonical JSON.
pub(crate) fn output_format(
    query: &FormatQuery,
    headers: &HeaderMap,
    input: Option<Format>,
) -> ApiResult<Format> {
    if let Some(format) = query.format()? {
        return Ok(format);
    }
    let accepts_anything = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_none_or(|accept| {
            accept
                .split(',')
                .all(|range| matches!(range.split(';').next().map(str::trim), Some("*/*" | "")))
        });
    match (accepts_anything, input) {
        (true, Some(input @ (Format::Flat | Format::Structured))) => Ok(input),
        (true, _) => Ok(Format::Json),
        (false, _) => negotiate(headers, &ALL_FORMATS),
    }
}

/// Reads a composition from a request body in any of the four formats.
pub(crate) async fn composition_from_body(
    state: &AppState,
    headers: &HeaderMap,
    query: &FormatQuery,
    body: &RawBody,
) -> ApiResult<(RmObject, Format)> {
    let format = input_format(query, body)?;
    if matches!(format, Format::Json | Format::Xml) {
        return Ok((super::parse_composition_body(body)?, format));
    }
    let name = if format == Format::Flat {
        "flat"
    } else {
        "structured"
    };
    let template_id = query.template_id(headers).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownTemplate,
            format!(
                "a {name} composition needs its template: send the openehr-template-id header \
                 or the templateId query parameter"
            ),
        )
    })?;
    let known = state.template(template_id).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownTemplate,
            format!("template \"{template_id}\" has not been uploaded"),
        )
    })?;
    let value: serde_json::Value = serde_json::from_slice(&body.bytes).map_err(|error| {
        ApiError::new(
            ErrorCode::MalformedBody,
            format!("the {name} composition is not valid json: {error}"),
        )
    })?;
    let defaults = InputDefaults {
        time: OffsetDateTime::now_utc().format(&Rfc3339).ok(),
    };
    let converted = match (format, &value) {
        (Format::Flat, serde_json::Value::Object(flat)) => {
            known.formats.to_canonical(flat, &defaults)
        }
        (Format::Flat, _) => {
            return Err(ApiError::new(
                ErrorCode::InvalidSimplifiedFormat,
                "a flat composition is a json object of paths and values",
            ));
        }
        _ => known.formats.structured_to_canonical(&value, &defaults),
    };
    let composition = converted.map_err(|errors| {
        conversion_error(
            ErrorCode::InvalidSimplifiedFormat,
            format!("the {name} composition does not fit template \"{template_id}\""),
            errors,
        )
    })?;
    Ok((composition, format))
}

/// Renders canonical composition JSON (as stored) in `format`.
pub(crate) async fn render_composition(
    state: &AppState,
    data: &[u8],
    format: Format,
) -> ApiResult<Vec<u8>> {
    let composition = || {
        openehr_rm::json::from_slice(data, "COMPOSITION")
            .map_err(|error| ApiError::internal("a stored composition does not parse", &error))
    };
    match format {
        Format::Json => Ok(data.to_vec()),
        Format::Xml => Ok(openehr_rm::xml::to_vec(&composition()?, "composition")),
        Format::Flat | Format::Structured => {
            let composition = composition()?;
            let template_id = composition
                .get_object("archetype_details")
                .and_then(|details| details.get_object("template_id"))
                .and_then(|id| id.get_str("value"))
                .unwrap_or_default()
                .to_owned();
            let known = state.template(&template_id).await?.ok_or_else(|| {
                ApiError::new(
                    ErrorCode::NotAcceptable,
                    format!(
                        "the composition's template \"{template_id}\" is not known, so it has no \
                         simplified format; ask for application/json or application/xml"
                    ),
                )
            })?;
            let not_representable = |errors| {
                conversion_error(
                    ErrorCode::NotAcceptable,
                    format!(
                        "the composition cannot be written in the simplified format of template \
                         \"{template_id}\"; ask for application/json or application/xml"
                    ),
                    errors,
                )
            };
            let value = if format == Format::Flat {
                serde_json::Value::Object(
                    known
                        .formats
                        .from_canonical(&composition)
                        .map_err(not_representable)?,
                )
            } else {
                known
                    .formats
                    .structured_from_canonical(&composition)
                    .map_err(not_representable)?
            };
            Ok(serde_json::to_vec(&value).unwrap_or_default())
        }
    }
}

fn conversion_error(code: ErrorCode, message: String, errors: Vec<FormatError>) -> ApiError {
    let mut error = ApiError::new(code, message);
    error.details = errors
        .into_iter()
        .map(|error| Detail {
            path: error.path,
            message: error.message,
            ..Default::default()
        })
        .collect();
    error
}
