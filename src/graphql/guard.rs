//! Guards that run before async-graphql's own: a document nested deeper
//! than `MAX_NESTING` is refused before its (recursive) parser sees it — a
//! 4 KB value literal nested 2 000 deep overflowed the stack — and every
//! GraphQL error leaves with the `type`/`code` extensions of SPEC §6.
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
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

/// Most selections (fields, fragment spreads, inline fragments) a document
/// may make once its fragments are expanded. Validation (overlapping fields, complexity) walks the expanded
/// document, so a 1.4 KB document of fragments that each spread the previous
/// twice asks it for 2^24 fields; this is counted first, in time linear in
/// the document. The standard introspection query makes a few hundred.
pub const MAX_SELECTIONS: u64 = 5_000;

/// The selections `doc` makes with every fragment spread expanded, counted
/// with each fragment's size memoised (a fragment spread a million times is
/// sized once). Iterative over the fragment graph: a chain of thousands of
/// fragments needs no stack. An unknown fragment counts 0 (validation
/// refuses it); a cycle counts as unbounded.
pub fn expanded_selections(doc: &ExecutableDocument) -> u64 {
    use std::collections::HashMap;
    // Each fragment's own fields, and the fragments it spreads.
    let local: HashMap<&str, (u64, Vec<&str>)> = doc
        .fragments
        .iter()
        .map(|(name, f)| (name.as_str(), local_size(&f.node.selection_set.node)))
        .collect();
    enum Mark {
        Visiting,
        Done(u64),
    }
    let mut sizes: HashMap<&str, Mark> = HashMap::with_capacity(local.len());
    for &start in local.keys() {
        let mut stack = vec![start];
        while let Some(&name) = stack.last() {
            let Some((own, spreads)) = local.get(name) else {
                sizes.insert(name, Mark::Done(0));
                stack.pop();
                continue;
            };
            match sizes.get(name) {
                Some(Mark::Done(_)) => {
                    stack.pop();
                    continue;
                }
                None => {
                    sizes.insert(name, Mark::Visiting);
                    let pending: Vec<&str> = spreads
                        .iter()
                        .copied()
                        .filter(|s| !sizes.contains_key(s))
                        .collect();
                    if !pending.is_empty() {
                        stack.extend(pending);
                        continue;
                    }
                }
                Some(Mark::Visiting) => {}
            }
            let total = spreads.iter().fold(*own, |acc, s| {
                acc.saturating_add(match sizes.get(s) {
                    Some(Mark::Done(n)) => *n,
                    // A cycle: unbounded. async-graphql's recursion-depth
                    // check walks it (32 levels, doubling at each) before
                    // validation would refuse it.
                    _ => u64::MAX,
                })
            });
            sizes.insert(name, Mark::Done(total));
            stack.pop();
        }
    }
    doc.operations
        .iter()
        .map(|(_, op)| {
            let (own, spreads) = local_size(&op.node.selection_set.node);
            spreads.iter().fold(own, |acc, s| {
                acc.saturating_add(match sizes.get(s) {
                    Some(Mark::Done(n)) => *n,
                    _ => 0,
                })
            })
        })
        .fold(0u64, u64::saturating_add)
}

/// Selections (fields, spreads, inline fragments) in `set` without following
/// fragment spreads, and the spreads met (once per occurrence). Recursive over one selection tree,
/// whose depth the lexical `MAX_NESTING` already bounds.
fn local_size(set: &SelectionSet) -> (u64, Vec<&str>) {
    fn walk<'a>(set: &'a SelectionSet, own: &mut u64, spreads: &mut Vec<&'a str>) {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    *own = own.saturating_add(1);
                    walk(&f.node.selection_set.node, own, spreads);
                }
                Selection::FragmentSpread(s) => {
                    // The spread itself too: async-graphql walks spreads of
                    // unknown fragments as well.
                    *own = own.saturating_add(1);
                    spreads.push(s.node.fragment_name.node.as_str());
                }
                Selection::InlineFragment(i) => {
                    *own = own.saturating_add(1);
                    walk(&i.node.selection_set.node, own, spreads);
                }
            }
        }
    }
    let (mut own, mut spreads) = (0, Vec::new());
    walk(set, &mut own, &mut spreads);
    (own, spreads)
}

/// The error a document over `MAX_SELECTIONS` gets.
pub fn too_many_selections() -> Error {
    Error::invalid(
        "query",
        format!(
            "The query makes more than {MAX_SELECTIONS} selections once its fragments are expanded."
        ),
    )
}

/// The GraphQL error of a document over `MAX_SELECTIONS`, if it is.
pub fn over_expanded(doc: &ExecutableDocument) -> Option<ServerError> {
    (expanded_selections(doc) > MAX_SELECTIONS).then(|| {
        shaped(ServerError::new(
            too_many_selections().body().1.message,
            None,
        ))
    })
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

/// Request data marking a document the HTTP handler already scanned and
/// measured (`refusal`, `over_expanded`).
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
        if ctx.data_opt::<Scanned>().is_none() {
            if let Some(e) = refusal(query) {
                return Err(shaped(ServerError::new(e.body().1.message, None)));
            }
            // async-graphql's own parse step walks every fragment spread
            // (its recursion-depth check): the bound comes first. Parsed
            // twice (here, then by `next`); a syntax error is left to `next`.
            if let Ok(doc) = async_graphql::parser::parse_query(query)
                && let Some(e) = over_expanded(&doc)
            {
                return Err(e);
            }
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

    fn expanded(q: &str) -> u64 {
        expanded_selections(&async_graphql::parser::parse_query(q).expect("parses"))
    }

    /// `fragment F{n} on QueryRoot{...F{n-1} ...F{n-1}}`, F0 one field.
    fn bomb(levels: u32) -> String {
        let mut q = format!("query{{...F{levels}}} fragment F0 on QueryRoot{{__typename}}");
        for n in 1..=levels {
            q.push_str(&format!(
                " fragment F{n} on QueryRoot{{...F{m} ...F{m}}}",
                m = n - 1
            ));
        }
        q
    }

    #[test]
    fn expansion_is_counted_with_fragments_memoised() {
        assert_eq!(expanded("{a b{c d{e}}}"), 5);
        // a, the two spreads, the inline fragment, b; F (2) twice.
        assert_eq!(
            expanded("{a ...F ... on Q{b ...F}} fragment F on Q{x y}"),
            9
        );
        // F(n) = 2 + 2 F(n-1), F0 = 1, and the operation's spread.
        assert_eq!(expanded(&bomb(3)), 23);
        assert!(expanded(&bomb(24)) > 1 << 24);
        // Saturates instead of overflowing.
        assert_eq!(expanded(&bomb(80)), u64::MAX);
        // Spreads of unknown fragments count too (async-graphql walks them).
        let mut empty = String::from("{...E24}");
        for n in 1..=24 {
            empty.push_str(&format!(
                " fragment E{n} on Q{{...E{m} ...E{m}}}",
                m = n - 1
            ));
        }
        assert!(expanded(&empty) > 1 << 24);
        // A cycle is unbounded, whichever fragment the walk starts from.
        for _ in 0..20 {
            assert_eq!(
                expanded("{...A} fragment A on Q{a ...B} fragment B on Q{b ...A}"),
                u64::MAX
            );
            assert_eq!(expanded("{a} fragment S on Q{...S}"), 1);
        }
        // An unknown fragment is validation's to refuse.
        assert_eq!(expanded("{a ...Missing}"), 2);
        // A long chain needs no stack.
        let mut chain = String::from("{...F0} fragment F20000 on Q{z}");
        for n in 0..20_000 {
            chain.push_str(&format!(" fragment F{n} on Q{{...F{}}}", n + 1));
        }
        assert_eq!(expanded(&chain), 20_002);
    }
}
