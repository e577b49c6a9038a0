//! Guards that run before async-graphql's own: a document nested deeper
//! than `MAX_NESTING` is refused before its (recursive) parser sees it — a
//! 4 KB value literal nested 2 000 deep overflowed the stack — and every
//! GraphQL error leaves with the `type`/`code` extensions of SPEC §6.
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ErrorExtensions, Response, ServerError, ServerResult, Variables};

use crate::error::Error;

/// Deepest bracket nesting (`{`, `[`, `(`) a document may have. The
/// introspection query needs about 15; selection depth is limited to
/// `MAX_DEPTH` later anyway.
pub const MAX_NESTING: usize = 64;

fn control_escape(b: &[u8]) -> bool {
    // `\u00XX` with XX in 00–1f (but tab, newline, return) or 7f.
    b.len() >= 6
        && b[1] == b'u'
        && std::str::from_utf8(&b[2..6])
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
            .is_some_and(crate::validation::is_control)
}

/// The deepest nesting of `{`/`[`/`(` outside strings and comments, and
/// whether a string literal escapes a control character (`"\u0000"`, refused
/// as in a JSON body). Lexical and iterative: bounded work, no recursion,
/// whatever the input.
fn scan(query: &str) -> (usize, bool) {
    let b = query.as_bytes();
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    let mut control = false;
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                    i += if b[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    if b[i] == b'\\' {
                        control |= control_escape(&b[i..]);
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    (max, control)
}

/// Why a document is refused before parsing, if it is.
pub fn refusal(query: &str) -> Option<Error> {
    let (depth, control) = scan(query);
    if depth > MAX_NESTING {
        return Some(too_deep());
    }
    control.then(|| {
        Error::invalid(
            "query",
            "String values must not contain control characters.",
        )
    })
}

/// The error a document over `MAX_NESTING` gets, REST-shaped.
pub fn too_deep() -> Error {
    Error::invalid(
        "query",
        format!("The query is nested more than {MAX_NESTING} levels deep."),
    )
}

/// Extensions every error carries; async-graphql's own (parse, validation,
/// depth and complexity limits) have none.
fn shaped(mut e: ServerError) -> ServerError {
    let has_code = e
        .extensions
        .as_ref()
        .is_some_and(|x| x.get("code").is_some());
    if !has_code {
        let ext = Error::invalid("query", e.message.clone())
            .extend()
            .extensions
            .unwrap_or_default();
        let mut own = e.extensions.take().unwrap_or_default();
        for key in ["type", "code", "status"] {
            if let Some(v) = ext.get(key) {
                own.set(key, v.clone());
            }
        }
        e.extensions = Some(own);
    }
    e
}

pub struct Guard;

/// Request data marking a document the HTTP handler already scanned.
pub struct Scanned;

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardExtension)
    }
}

struct GuardExtension;

#[async_trait::async_trait]
impl Extension for GuardExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut res = next.run(ctx).await;
        res.errors = res.errors.into_iter().map(shaped).collect();
        res
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if ctx.data_opt::<Scanned>().is_none()
            && let Some(e) = refusal(query)
        {
            return Err(shaped(ServerError::new(e.body().1.message, None)));
        }
        next.run(ctx, query, variables).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nesting(q: &str) -> usize {
        scan(q).0
    }

    fn has_control_escape(q: &str) -> bool {
        scan(q).1
    }

    #[test]
    fn nesting_skips_strings_and_comments() {
        assert_eq!(nesting("{a{b}}"), 2);
        assert_eq!(
            nesting(
                r#"{a(x:"[[[[") # {{{{
            }"#
            ),
            2
        );
        assert_eq!(nesting(r#"{a(x:"""[[[\"""[[""")}"#), 2);
        assert!(has_control_escape(r#"{a(x:"ab\u0000")}"#));
        assert!(!has_control_escape(r#"{a(x:"ab\u00e9\n")}"#));
        let deep = format!("{{a(id:{}1{})}}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(nesting(&deep), 5002);
    }
}
