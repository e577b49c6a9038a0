//! Turning `validator` and serde failures into SPEC §6 field errors with
//! `param` paths. Messages are built here and never quote the rejected value
//! (a card number or CVC must not come back in an error).
use validator::{ValidationErrors, ValidationErrorsKind};

use crate::error::{Error, FieldError};

/// Runs `validator` on a request and returns every violated field.
pub fn check<T: validator::Validate>(req: &T) -> Result<(), Error> {
    match req.validate() {
        Ok(()) => Ok(()),
        Err(errs) => {
            let mut out = Vec::new();
            flatten(&errs, "", &mut out);
            out.sort_by(|a, b| a.param.cmp(&b.param));
            Err(Error::Validation(out))
        }
    }
}

fn join(prefix: &str, field: &str) -> String {
    let field = field.trim_start_matches("r#");
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

fn flatten(errs: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in errs.errors() {
        let path = join(prefix, field);
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    out.push(if e.code == "required" {
                        FieldError::missing(path.clone())
                    } else {
                        let message = e
                            .message
                            .as_deref()
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("Invalid value for {path}."));
                        FieldError::invalid(path.clone(), message)
                    });
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    flatten(inner, &format!("{path}[{i}]"), out);
                }
            }
        }
    }
}

/// Maps a serde_path_to_error failure to a field error or `json_invalid`.
pub fn from_serde(err: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = serde_path(err.path());
    let inner = err.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return Error::JsonInvalid(format!(
            "syntax error at line {} column {}",
            inner.line(),
            inner.column()
        ));
    }
    from_message(&path, &inner.to_string())
}

/// `serde_path_to_error`'s path in our `a.b[0].c` notation (`.` is the root).
pub fn serde_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key }
            | serde_path_to_error::Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    out
}

/// Builds the field error from serde's message without echoing the value.
pub fn from_message(path: &str, msg: &str) -> Error {
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_string);
    let msg = msg.split(" at line ").next().unwrap_or(msg);
    if msg.starts_with("unknown field") {
        // serde_path_to_error's path already ends with the unknown field.
        let field = quoted(msg).unwrap_or_default();
        let param = if path.is_empty() || !path.ends_with(field.as_str()) {
            join(path, &field)
        } else {
            path.to_string()
        };
        return Error::Validation(vec![FieldError::unknown(param)]);
    }
    if msg.starts_with("missing field") {
        let field = quoted(msg).unwrap_or_default();
        return Error::Validation(vec![FieldError::missing(join(path, &field))]);
    }
    let expected = msg.split_once("expected ").map(|(_, e)| e.to_string());
    let param = if path.is_empty() {
        "body".to_string()
    } else {
        path.to_string()
    };
    let message = match expected {
        Some(e) => format!("Invalid value for {param}: expected {e}."),
        None => format!("Invalid value for {param}."),
    };
    Error::Validation(vec![FieldError::invalid(param, message)])
}

/// A control character (C0 but tab, newline and carriage return; DEL) has no
/// place in any text we store or look up; PostgreSQL refuses NUL outright.
pub fn is_control(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}'
}

/// `400` naming `param` when `value` holds a control character.
pub fn no_controls(param: &str, value: &str) -> Result<(), Error> {
    if value.chars().any(is_control) {
        return Err(Error::invalid(
            param,
            format!("{param} must not contain control characters."),
        ));
    }
    Ok(())
}

/// Every string (and object key) of a JSON body that holds a control
/// character, by path. The raw body is scanned first — such characters
/// can only arrive as `\u00XX` escapes or a raw DEL — so the usual body costs
/// one pass over its bytes and no second parse.
pub fn controls_in_json(body: &[u8]) -> Vec<FieldError> {
    let suspicious = body.contains(&0x7f)
        || body.windows(5).any(|w| {
            w[0] == b'\\'
                && w[1] == b'u'
                && w[2] == b'0'
                && w[3] == b'0'
                && matches!(w[4], b'0' | b'1' | b'7')
        });
    if !suspicious {
        return Vec::new();
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // Iterative walk: the value is at most serde_json's 128 levels deep, but
    // nothing here needs the stack.
    let mut stack = vec![(String::new(), &value)];
    while let Some((path, v)) = stack.pop() {
        match v {
            serde_json::Value::String(s) if s.chars().any(is_control) => {
                out.push(control_error(&path));
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    stack.push((format!("{path}[{i}]"), item));
                }
            }
            serde_json::Value::Object(map) => {
                for (k, item) in map {
                    let sub = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    if k.chars().any(is_control) {
                        out.push(control_error(&path));
                    } else {
                        stack.push((sub, item));
                    }
                }
            }
            _ => {}
        }
    }
    out.sort_by(|a, b| a.param.cmp(&b.param));
    out
}

fn control_error(path: &str) -> FieldError {
    let shown: String = path.chars().filter(|c| !is_control(*c)).collect();
    FieldError::invalid(
        shown.clone(),
        format!("{shown} must not contain control characters."),
    )
}
