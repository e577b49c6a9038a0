//! Stripe's form encoding (SPEC §14): `application/x-www-form-urlencoded`
//! with brackets for nesting — `line_items[0][amount]=50000`,
//! `metadata[order]=42`, `enabled_events[]=*` — turned into the JSON value
//! the same body would be, so it goes through the one JSON pipeline (the
//! same types, rules and `param` paths).
//!
//! Percent-decoding is `form_urlencoded`'s (the WHATWG decoder). The form
//! has no types: every value is a string. A value that reads as an integer
//! or a boolean is given as one first; where the request type wants a
//! string there, the original text is put back (`typed`) — so
//! `metadata[order]=42` stays the string `"42"` and `line_items[0][amount]=
//! 50000` is the integer. An empty value unsets (the key is left out).
use serde_json::{Map, Value};

use crate::error::Error;

/// Deeper nesting than any request type has is refused.
const MAX_DEPTH: usize = 8;
/// More keys than any request has is refused.
const MAX_PAIRS: usize = 2_000;
/// The largest index of an array (`line_items[99]` is the most any has).
const MAX_INDEX: usize = 1_000;

/// One key's path: `a[b][0][]` → `a`, `b`, `0`, ``.
fn path(key: &str) -> Option<Vec<&str>> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return None;
    }
    let mut out = vec![head];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        out.push(&inner[..close]);
        rest = &inner[close + 1..];
    }
    (out.len() <= MAX_DEPTH).then_some(out)
}

/// A node while the form is read: maps keyed by segment (indices too,
/// turned into arrays at the end), `[]` appends.
#[derive(Debug)]
enum Node {
    Leaf(String),
    Map(Vec<(String, Node)>),
    List(Vec<Node>),
}

fn insert(node: &mut Node, segs: &[&str], value: String) -> Result<(), String> {
    let Some((first, rest)) = segs.split_first() else {
        *node = Node::Leaf(value);
        return Ok(());
    };
    if first.is_empty() {
        // `a[]=x`: one more element.
        if !matches!(node, Node::List(_)) {
            if matches!(node, Node::Map(m) if !m.is_empty()) {
                return Err("mixes `[]` with named keys".into());
            }
            *node = Node::List(Vec::new());
        }
        let Node::List(items) = node else {
            unreachable!()
        };
        let mut child = Node::Map(Vec::new());
        insert(&mut child, rest, value)?;
        items.push(child);
        return Ok(());
    }
    if matches!(node, Node::Leaf(_)) || matches!(node, Node::List(l) if l.is_empty()) {
        *node = Node::Map(Vec::new());
    }
    let Node::Map(entries) = node else {
        return Err("mixes `[]` with named keys".into());
    };
    let i = match entries.iter().position(|(k, _)| k == first) {
        Some(i) => i,
        None => {
            entries.push((first.to_string(), Node::Map(Vec::new())));
            entries.len() - 1
        }
    };
    insert(&mut entries[i].1, rest, value)
}

/// Integer keys `0…n-1` (in any order) make an array; anything else an object.
fn to_value(node: Node, typed: &mut Vec<(String, String)>, at: &str) -> Result<Value, String> {
    Ok(match node {
        Node::Leaf(s) => {
            let guess = guess(&s);
            if !matches!(guess, Value::String(_)) {
                typed.push((at.to_string(), s));
            }
            guess
        }
        Node::List(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, n)| to_value(n, typed, &format!("{at}/{i}")))
                .collect::<Result<_, _>>()?,
        ),
        Node::Map(entries) => {
            let indices: Option<Vec<usize>> = entries
                .iter()
                .map(|(k, _)| {
                    k.parse::<usize>()
                        .ok()
                        .filter(|i| *i <= MAX_INDEX && i.to_string() == *k)
                })
                .collect();
            match indices {
                Some(idx) if !entries.is_empty() => {
                    let mut slots: Vec<Option<Node>> = (0..entries.len()).map(|_| None).collect();
                    for (i, (_, n)) in idx.into_iter().zip(entries) {
                        let slot = slots.get_mut(i).ok_or_else(|| {
                            format!("{at}: array indices must run from 0 without gaps")
                        })?;
                        *slot = Some(n);
                    }
                    Value::Array(
                        slots
                            .into_iter()
                            .enumerate()
                            .map(|(i, n)| {
                                let n =
                                    n.ok_or_else(|| format!("{at}: array index {i} is missing"))?;
                                to_value(n, typed, &format!("{at}/{i}"))
                            })
                            .collect::<Result<_, String>>()?,
                    )
                }
                _ => {
                    let mut m = Map::new();
                    for (k, n) in entries {
                        let pointer = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                        m.insert(k, to_value(n, typed, &pointer)?);
                    }
                    Value::Object(m)
                }
            }
        }
    })
}

/// `"42"` → 42, `"true"` → true; anything else stays text.
fn guess(s: &str) -> Value {
    match s {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => s
            .parse::<i64>()
            .ok()
            .filter(|n| n.to_string() == s)
            .map_or_else(|| Value::String(s.to_string()), Value::from),
    }
}

/// A decoded form: its JSON value, and the leaves given a type by guess
/// (JSON pointer → original text), which `typed` may put back.
pub struct Decoded {
    pub value: Value,
    pub guessed: Vec<(String, String)>,
}

pub fn decode(bytes: &[u8]) -> Result<Decoded, Error> {
    let bad = |why: String| Error::JsonInvalid(format!("form body: {why}"));
    let mut root = Node::Map(Vec::new());
    for (n, (k, v)) in form_urlencoded::parse(bytes).enumerate() {
        if n >= MAX_PAIRS {
            return Err(bad(format!("more than {MAX_PAIRS} fields")));
        }
        crate::validation::no_controls(&k, &v)?;
        let segs = path(&k).ok_or_else(|| bad(format!("`{k}` is not a field name")))?;
        // An empty value unsets: the key is left out.
        if v.is_empty() {
            continue;
        }
        insert(&mut root, &segs, v.into_owned()).map_err(|e| bad(format!("`{k}` {e}")))?;
    }
    let mut guessed = Vec::new();
    let value = to_value(root, &mut guessed, "").map_err(bad)?;
    // The root is always an object, even for an empty form.
    let value = match value {
        Value::Array(a) if a.is_empty() => Value::Object(Map::new()),
        v => v,
    };
    Ok(Decoded { value, guessed })
}

/// `T` from a decoded form, with every error as the JSON body's would be.
pub fn typed<T: serde::de::DeserializeOwned + crate::validation::Rules>(
    mut d: Decoded,
) -> Result<T, Error> {
    loop {
        match serde_path_to_error::deserialize::<_, T>(&d.value) {
            Ok(t) => return Ok(t),
            Err(e) if crate::validation::restore_guess(&mut d.value, &mut d.guessed, &e) => {}
            Err(e) if e.inner().is_data() => {
                return Err(crate::validation::all_errors_restoring::<T>(
                    d.value,
                    e,
                    &mut d.guessed,
                ));
            }
            Err(e) => return Err(crate::validation::from_serde(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(s: &str) -> Value {
        decode(s.as_bytes()).unwrap().value
    }

    #[test]
    fn brackets_make_objects_and_arrays() {
        assert_eq!(
            value(
                "mode=payment&line_items[0][name]=A&line_items[0][amount]=500&line_items[1][name]=B&metadata[order]=42&enabled_events[]=*&enabled_events[]=x&flag=true&note="
            ),
            json!({"mode": "payment",
                   "line_items": [{"name": "A", "amount": 500}, {"name": "B"}],
                   "metadata": {"order": 42}, "enabled_events": ["*", "x"], "flag": true})
        );
        assert_eq!(value(""), json!({}));
        assert_eq!(value("a[1]=x&a[0]=y"), json!({"a": ["y", "x"]}));
    }

    #[test]
    fn malformed_forms_are_refused() {
        for bad in [
            "a[0]=x&a[2]=y",
            "a[b=1",
            "[x]=1",
            "a[]=1&a[k]=2",
            "a[0][0][0][0][0][0][0][0][0]=1",
        ] {
            assert!(decode(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_guess_is_undone_where_text_is_wanted() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct T {
            amount: i64,
            metadata: std::collections::BTreeMap<String, String>,
            name: String,
        }
        impl crate::validation::Rules for T {}
        let d = decode(b"amount=500&metadata[order]=42&name=123").unwrap();
        let t = typed::<T>(d).unwrap();
        assert_eq!(t.amount, 500);
        assert_eq!(t.metadata["order"], "42");
        assert_eq!(t.name, "123");
    }
}
