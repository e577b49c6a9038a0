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
    Error::Validation(vec![field_error(path, msg)])
}

/// serde's message for `path` as a field error in the integrator's words
/// ("must be an integer", not "expected i64"); never quotes the value.
pub fn field_error(path: &str, msg: &str) -> FieldError {
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
        return FieldError::unknown(param);
    }
    if msg.starts_with("missing field") {
        let field = quoted(msg).unwrap_or_default();
        return FieldError::missing(join(path, &field));
    }
    let param = if path.is_empty() {
        "body".to_string()
    } else {
        path.to_string()
    };
    let negative = msg.starts_with("invalid value: integer `-");
    // Query strings: std's parse errors of the text (no "expected" there).
    let from_text = match msg {
        "invalid digit found in string"
        | "cannot parse integer from empty string"
        | "number too large to fit in target type"
        | "number too small to fit in target type" => Some("an integer"),
        "invalid float literal" => Some("a number"),
        "provided string was not `true` or `false`" => Some("`true` or `false`"),
        _ => None,
    };
    let message = match msg.split_once("expected ").map(|(_, e)| e.trim()) {
        _ if let Some(kind) = from_text => format!("{param} must be {kind}."),
        Some(e) if msg.starts_with("unknown variant") => {
            format!("{param} must be {}.", e.trim_start_matches("one of "))
        }
        Some(e) => match plain_expected(e, negative) {
            Some(kind) => format!("{param} must be {kind}."),
            None => format!("{param} has an invalid value."),
        },
        None => format!("{param} has an invalid value."),
    };
    FieldError::invalid(param, message)
}

/// What serde expected, as JSON says it (`None` when it is no JSON type).
fn plain_expected(e: &str, negative: bool) -> Option<&'static str> {
    Some(match e {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" if negative => "a non-negative integer",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" => "an integer",
        "f32" | "f64" => "a number",
        "a boolean" => "a boolean (true or false)",
        "a string" | "a borrowed string" | "a character" => "a string",
        _ if e.starts_with("a sequence") || e.starts_with("a tuple") => "an array",
        _ if e.starts_with("a map") || e.starts_with("struct ") => "an object",
        _ if e.starts_with("enum ") || e.starts_with("variant identifier") => {
            "one of the documented values (a string)"
        }
        _ => return None,
    })
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

/// Rule violations of a body that parsed: reported next to its type errors,
/// so one answer names every invalid field (the rules themselves run in the
/// service, for REST and GraphQL alike).
pub trait Rules {
    fn violations(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// The field errors of a rule check's result.
pub fn violations_of<T>(checked: Result<T, Error>) -> Vec<FieldError> {
    match checked {
        Err(Error::Validation(errs)) => errs,
        _ => Vec::new(),
    }
}

/// At most this many type errors are gathered from one body.
const MAX_TYPE_ERRORS: usize = 50;

/// After a first type error: every type error of the body, then the rule
/// violations of what is left once the faulty fields are set aside (a
/// violation about a field already reported is not repeated). Each faulty
/// value is nulled (or its key removed) and the body deserialized again.
pub fn all_errors<T: serde::de::DeserializeOwned + Rules>(
    body: serde_json::Value,
    first: serde_path_to_error::Error<serde_json::Error>,
) -> Error {
    all_errors_restoring::<T>(body, first, &mut Vec::new())
}

/// `all_errors` of a decoded form (`rest::form`): a value given a type by
/// guess (`guessed`, JSON pointer → its text) where the type wants text is
/// put back, not reported.
pub fn all_errors_restoring<T: serde::de::DeserializeOwned + Rules>(
    mut body: serde_json::Value,
    first: serde_path_to_error::Error<serde_json::Error>,
    guessed: &mut Vec<(String, String)>,
) -> Error {
    let mut found: Vec<FieldError> = Vec::new();
    let mut next = Some(first);
    while let Some(err) = next.take() {
        if restore_guess(&mut body, guessed, &err) {
            match serde_path_to_error::deserialize::<_, T>(&body) {
                Ok(_) => return sorted(found),
                Err(e) if !e.inner().is_data() => return sorted(found),
                Err(e) => {
                    next = Some(e);
                    continue;
                }
            }
        }
        let segments: Vec<_> = err.path().iter().cloned().collect();
        let field = field_error(&serde_path(err.path()), &err.into_inner().to_string());
        let already = found.iter().any(|f| f.param == field.param);
        let unknown = field.code == crate::error::FieldCode::Unknown;
        if !already {
            found.push(field);
        }
        if found.len() >= MAX_TYPE_ERRORS || !set_aside(&mut body, &segments, unknown || already) {
            return sorted(found);
        }
        match serde_path_to_error::deserialize::<_, T>(&body) {
            Ok(parsed) => {
                let reported = |p: &str| {
                    found.iter().any(|f| {
                        p == f.param
                            || p.strip_prefix(f.param.as_str())
                                .is_some_and(|rest| rest.starts_with(['.', '[']))
                    })
                };
                let rest: Vec<FieldError> = parsed
                    .violations()
                    .into_iter()
                    .filter(|v| !reported(&v.param))
                    .collect();
                found.extend(rest);
            }
            Err(e) if !e.inner().is_data() => return sorted(found),
            Err(e) => next = Some(e),
        }
    }
    sorted(found)
}

fn sorted(mut errs: Vec<FieldError>) -> Error {
    errs.sort_by(|a, b| a.param.cmp(&b.param));
    Error::Validation(errs)
}

/// Nulls the object member at `path` (or removes it when `remove`); false
/// when the path leads to no object member (an array element cannot be
/// nulled into its type): nothing more can be learned then.
fn set_aside(
    body: &mut serde_json::Value,
    path: &[serde_path_to_error::Segment],
    remove: bool,
) -> bool {
    use serde_path_to_error::Segment;
    let Some((Segment::Map { key }, parents)) = path.split_last() else {
        return false;
    };
    // The parent as a JSON pointer (RFC 6901: `~` and `/` escaped).
    let mut pointer = String::new();
    for seg in parents {
        match seg {
            Segment::Map { key } => {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            _ => return false,
        }
    }
    let Some(serde_json::Value::Object(m)) = body.pointer_mut(&pointer) else {
        return false;
    };
    if !m.contains_key(key) {
        return false;
    }
    if remove {
        m.remove(key);
    } else {
        m.insert(key.clone(), serde_json::Value::Null);
    }
    true
}

/// A decoded form's (`rest::form`) guess undone: puts back the text of a guessed integer or boolean where the type wants
/// text (the error `e` says so at its path). False: not such an error.
pub fn restore_guess(
    value: &mut serde_json::Value,
    guessed: &mut Vec<(String, String)>,
    e: &serde_path_to_error::Error<serde_json::Error>,
) -> bool {
    let msg = e.inner().to_string();
    if !msg.contains("expected a string") && !msg.contains("expected string") {
        return false;
    }
    let pointer = pointer_of(e.path());
    let Some(i) = guessed.iter().position(|(p, _)| *p == pointer) else {
        return false;
    };
    let (p, text) = guessed.swap_remove(i);
    match value.pointer_mut(&p) {
        Some(slot) => {
            *slot = serde_json::Value::String(text);
            true
        }
        None => false,
    }
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut p = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Map { key } => {
                p.push('/');
                p.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Seq { index } => p.push_str(&format!("/{index}")),
            _ => {}
        }
    }
    p
}
