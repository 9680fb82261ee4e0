//! Writing JSON straight into a response buffer, for the hot lists: building
//! a `serde_json::Value` per row (a map with an allocated key per field) cost
//! more than reading the rows. The output is byte for byte what serde_json
//! writes for the same value (compact, same escapes), which the tests check.

use crate::error::{ApiError, ApiResult};
use serde_json::{Map, Value};

/// Parses a request body as a JSON object; an empty body is an empty object.
pub fn parse_object(body: &[u8]) -> ApiResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::input("the body must be a JSON object")),
        Err(error) => Err(ApiError::input(format!(
            "the body is not valid JSON: {error}"
        ))),
    }
}

/// Appends `text` as a JSON string, escaped as serde_json escapes it.
pub fn push_str(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let short: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..at]);
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
        } else {
            out.extend_from_slice(short);
        }
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends `"key":`.
pub fn push_key(out: &mut Vec<u8>, key: &str) {
    push_str(out, key);
    out.push(b':');
}

pub fn push_i64(out: &mut Vec<u8>, value: i64) {
    use std::io::Write;
    // writing to a Vec cannot fail
    let _ = write!(out, "{value}");
}

/// Appends any value the way serde_json writes it.
pub fn push_value(out: &mut Vec<u8>, value: &serde_json::Value) {
    // writing to a Vec cannot fail, and a Value always serialises
    let _ = serde_json::to_writer(&mut *out, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_does() {
        let mut samples: Vec<String> = vec![
            String::new(),
            "plain".into(),
            "quote \" backslash \\ slash /".into(),
            "Jérôme Søren Łukasz Смирнов 東京 🎉".into(),
            "\u{2028}\u{2029}\u{7f}".into(),
        ];
        samples.push((0u8..0x20).map(char::from).collect());
        for sample in samples {
            let mut out = Vec::new();
            push_str(&mut out, &sample);
            let expected = serde_json::to_vec(&sample).expect("serialises");
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&expected)
            );
        }
        let mut number = Vec::new();
        push_i64(&mut number, i64::MIN);
        assert_eq!(number, serde_json::to_vec(&i64::MIN).expect("serialises"));
    }
}
