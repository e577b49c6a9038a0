//! `/docs/errors`: every error code a client can meet, in French and
//! English, generated from the one error table (`error::CODES`): each
//! message as a client reads it, `{placeholders}` standing for what the
//! error fills in. Each error body's `doc_url` points at its code's first row.
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::{CODES, codes};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page (static: built from a constant table).
pub async fn errors_page() -> Response {
    let facts = codes::static_args();
    let facts: Vec<(&str, &str)> = facts.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut rows = String::new();
    for (i, c) in CODES.iter().enumerate() {
        // A code with two messages (`scope_missing`): one anchor, on its first row.
        let first = CODES[..i].iter().all(|d| d.code != c.code);
        let id = if first {
            format!(" id=\"{}\"", escape(c.code))
        } else {
            String::new()
        };
        rows.push_str(&format!(
            "<tr{id}><td><code>{status}</code></td><td><code>{t}</code></td>\
             <td><a href=\"#{code}\"><code>{code}</code></a></td>\
             <td lang=\"fr\">{fr}</td><td lang=\"en\">{en}</td></tr>\n",
            code = escape(c.code),
            status = c.status,
            t = escape(c.r#type),
            fr = escape(&codes::render(c.fr, &facts)),
            en = escape(&codes::render(c.en, &facts)),
        ));
    }
    let html = format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Ikawaari Checkout — codes d'erreur / error codes</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:1.5rem;color:#1a1a1a}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ccc;\
         padding:.4rem;text-align:left;vertical-align:top}}tr:target{{background:#fff3c4}}</style>\
         </head><body><h1>Codes d'erreur <span lang=\"en\">/ Error codes</span></h1>\
         <p>Chaque erreur a la forme <code>{{\"error\": {{type, code, param, message, errors, \
         request_id, doc_url}}}}</code>. <span lang=\"en\">Every error has this shape; \
         <code>doc_url</code> links to its row below.</span></p>\
         <table><thead><tr><th>HTTP</th><th>type</th><th>code</th><th>Français</th>\
         <th lang=\"en\">English</th></tr></thead><tbody>\n{rows}</tbody></table></body></html>"
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        html,
    )
        .into_response()
}
