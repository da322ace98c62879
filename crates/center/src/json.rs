//! `JsonBody<T>`: the center's JSON extractor. Every rejection (wrong content type, bad JSON, a
//! missing or mistyped field) comes back as an [`AppError`] naming the field by its path
//! (`card.valid_until`), in the same format as every other client error.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{header, StatusCode},
};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// The largest JSON body the center reads (`413` beyond it; [`crate::app`] sets it as the
/// default body limit of every route but the blob uploads); a scope request is a few hundred
/// bytes, a faces request with its live photo some 60 KB in base64.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The faces call's limit: it carries the live photo in base64 (at most 1 MiB of JPEG, the
/// `live_photo` blob's quota) and two short fields.
pub const MAX_FACES_BODY_BYTES: usize = 1024 * 1024 / 3 * 4 + 4096;

/// A JSON request body deserialized with the path of any failing field.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if !is_json {
            return Err(AppError::BadRequest {
                field: None,
                message: "the body must be JSON (content-type: application/json)".into(),
            });
        }
        let limit = if req.uri().path().ends_with("/faces") {
            MAX_FACES_BODY_BYTES
        } else {
            MAX_BODY_BYTES
        };
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::too_large(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "json_body",
                    limit as u64,
                    format!("the body is over {limit} bytes"),
                )
            } else {
                AppError::BadRequest {
                    field: None,
                    message: "the body could not be read".into(),
                }
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Deserializes `bytes`, naming the failing field's path.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        AppError::BadRequest {
            field: (path != ".").then_some(path),
            message: inner.to_string(),
        }
    })?;
    deserializer.end().map_err(|err| AppError::BadRequest {
        field: None,
        message: format!("trailing characters after the JSON value: {err}"),
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        id: String,
        card: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        valid_until: String,
    }

    fn field_of(body: &str) -> Option<String> {
        match parse::<Outer>(body.as_bytes()) {
            Err(AppError::BadRequest { field, .. }) => field,
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn a_mistyped_nested_field_is_named_by_its_path() {
        assert_eq!(
            field_of(r#"{"id":"x","card":{"valid_until":3}}"#).as_deref(),
            Some("card.valid_until")
        );
    }

    #[test]
    fn a_missing_field_names_its_parent_and_the_message_names_the_field() {
        let err = parse::<Outer>(br#"{"card":null}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `id`"), "{err}");
    }

    #[test]
    fn trailing_garbage_is_refused() {
        assert!(parse::<Outer>(br#"{"id":"x","card":null} x"#).is_err());
    }
}
