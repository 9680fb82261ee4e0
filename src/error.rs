//! The one error type. Every failure a handler or the request pipeline can
//! produce ends here and is rendered as the reference renders it: a JSON list
//! of strings with the matching status code.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// 400 `Input Error - ...`: the request itself is wrong.
    Input(String),
    /// 400 `Resource Error - ...`: the request is well formed but the data
    /// forbids it (a dependency, a duplicate).
    Resource(String),
    /// 404 `Resource Not Found - <Resource> was not found ('<key>': <value>)`.
    NotFound {
        resource: &'static str,
        /// what was looked for, already rendered by `meta`
        looked_for: String,
    },
    /// 404 with a message of its own (the token API's "No such token").
    Missing(String),
    /// 404 for a path no route serves.
    NoRoute,
    /// 405 with the methods the path does allow.
    MethodNotAllowed(Vec<&'static str>),
    /// 401; `challenge` asks the pipeline to add a fresh Digest challenge.
    Unauthorized {
        message: String,
        challenge: bool,
    },
    /// 401 with `stale=true`: the Digest nonce expired, the client may retry.
    StaleNonce,
    /// 403, used by the token API for a token lacking the asked scope.
    Forbidden(String),
    /// 406: the `Accept` excludes the route's type (named here).
    NotAcceptable(&'static str),
    /// 406 from the event stream: a client must ask for `text/event-stream`
    /// by name (an endless answer is for clients that know they get one).
    StreamNotAsked,
    /// 415: a body not of the route's type (named here).
    UnsupportedMediaType(&'static str),
    PayloadTooLarge(usize),
    /// 408: the body did not arrive in time.
    RequestTimeout,
    /// 429 after too many failed logins from one address; seconds to wait.
    TooManyRequests(u64),
    /// 500: logged in full, answered with a short reason.
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn input(message: impl Into<String>) -> ApiError {
        ApiError::Input(message.into())
    }

    pub fn resource(message: impl Into<String>) -> ApiError {
        ApiError::Resource(message.into())
    }

    pub fn not_found(
        resource: &'static str,
        key: &str,
        value: impl Into<serde_json::Value>,
    ) -> ApiError {
        ApiError::not_found_by(resource, &[(key, value.into())])
    }

    /// Not found, looked for by several keys (an association).
    pub fn not_found_by(resource: &'static str, keys: &[(&str, serde_json::Value)]) -> ApiError {
        ApiError::NotFound {
            resource,
            looked_for: meta(keys),
        }
    }

    pub fn not_found_message(message: impl Into<String>) -> ApiError {
        ApiError::Missing(message.into())
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::Unauthorized {
            message: message.into(),
            challenge: false,
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Input(_) | ApiError::Resource(_) => 400,
            ApiError::NotFound { .. } | ApiError::Missing(_) | ApiError::NoRoute => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::Unauthorized { .. } | ApiError::StaleNonce => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotAcceptable(_) | ApiError::StreamNotAsked => 406,
            ApiError::RequestTimeout => 408,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::TooManyRequests(_) => 429,
            ApiError::Internal(_) => 500,
        }
    }

    /// The single message of the JSON error list.
    pub fn message(&self) -> String {
        match self {
            ApiError::Input(m) => format!("Input Error - {m}"),
            ApiError::Resource(m) => format!("Resource Error - {m}"),
            ApiError::NotFound {
                resource,
                looked_for,
            } => format!("Resource Not Found - {resource} was not found {looked_for}"),
            ApiError::Missing(m) => m.clone(),
            ApiError::NoRoute => "Resource Not Found - the requested URL was not found".into(),
            ApiError::MethodNotAllowed(_) => {
                "Input Error - the method is not allowed for the requested URL".into()
            }
            ApiError::Unauthorized { message, .. } => message.clone(),
            ApiError::StaleNonce => "Unauthorized: the digest nonce has expired".into(),
            ApiError::Forbidden(m) => m.clone(),
            ApiError::StreamNotAsked => {
                "Input Error - this is a stream of events: send Accept: text/event-stream".into()
            }
            ApiError::NotAcceptable(media) => {
                let media = media.split(';').next().unwrap_or(media);
                format!("Input Error - the server only answers {media}: check the Accept header")
            }
            ApiError::RequestTimeout => {
                "Input Error - the request body did not arrive in time".into()
            }
            ApiError::PayloadTooLarge(limit) => {
                format!("Input Error - request body larger than {limit} bytes")
            }
            ApiError::UnsupportedMediaType(media) => {
                format!("Input Error - the body must be sent with Content-Type: {media}")
            }
            ApiError::TooManyRequests(_) => {
                "Too many failed authentication attempts: try again later".into()
            }
            ApiError::Internal(m) => format!("Unexpected error: {m}"),
        }
    }

    /// The response body: always a JSON list of strings.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&[self.message()]).unwrap_or_else(|_| b"[]".to_vec())
    }

    /// The token API's error body, as xivo-auth shaped it:
    /// `{"reason": [...], "timestamp": [...], "status_code": N}`.
    pub fn auth_body(&self, now: f64) -> Vec<u8> {
        let reason = match self {
            ApiError::Input(m) | ApiError::Resource(m) => m.clone(),
            other => other.message(),
        };
        let body = serde_json::json!({
            "reason": [reason],
            "timestamp": [now],
            "status_code": self.status(),
        });
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// `('key': value, ...)`: how the reference names what an error is about,
/// strings in single quotes, numbers bare.
pub fn meta(pairs: &[(&str, serde_json::Value)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(text) => format!("'{key}': '{text}'"),
            other => format!("'{key}': {other}"),
        })
        .collect();
    format!("({})", parts.join(", "))
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status(), self.message())
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let reason = match error.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => "the database disk is full; nothing was written".into(),
            Some(ErrorCode::ReadOnly) => "the database is read-only; nothing was written".into(),
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
                "the database is busy; nothing was written, try again".into()
            }
            Some(ErrorCode::SystemIoFailure) => {
                "the database could not be written (I/O error); nothing was written".into()
            }
            _ => "database error".into(),
        };
        log::error!("database error: {error}");
        ApiError::Internal(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_renders_like_the_reference() {
        let error = ApiError::not_found("User", "id", 42);
        assert_eq!(error.status(), 404);
        assert_eq!(
            String::from_utf8(error.body()).expect("utf8"),
            r#"["Resource Not Found - User was not found ('id': 42)"]"#
        );
        let by_uuid = ApiError::not_found("User", "uuid", "abc");
        assert_eq!(
            by_uuid.message(),
            "Resource Not Found - User was not found ('uuid': 'abc')"
        );
    }

    #[test]
    fn input_error_is_a_list_of_one_string() {
        let error = ApiError::input("missing parameters: firstname");
        let body: Vec<String> = serde_json::from_slice(&error.body()).expect("json list");
        assert_eq!(body, vec!["Input Error - missing parameters: firstname"]);
        assert_eq!(error.status(), 400);
    }
}
