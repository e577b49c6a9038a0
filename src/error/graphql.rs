//! The same `type`, `code`, `param` (and `errors`) as REST, in GraphQL `extensions`.
use super::Error;

/// `line_items[0].amount` → `lineItems[0].amount`: GraphQL field names.
fn camel_path(param: &str) -> String {
    let mut out = String::with_capacity(param.len());
    let mut upper = false;
    for c in param.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The same `type`, `code`, `param` (and `errors`) as REST, in GraphQL `extensions`.
impl async_graphql::ErrorExtensions for Error {
    fn extend(&self) -> async_graphql::Error {
        self.log_detail();
        let (status, body) = self.body();
        async_graphql::Error::new(body.message.clone()).extend_with(|_, e| {
            e.set("type", body.r#type.clone());
            e.set("code", body.code.clone());
            e.set("status", status.as_u16());
            if let Some(p) = &body.param {
                e.set("param", camel_path(p));
            }
            if let Some(d) = &body.decline_code {
                e.set("decline_code", d.clone());
            }
            if let Some(errors) = &body.errors {
                let list: Vec<async_graphql::Value> = errors
                    .iter()
                    .map(|f| {
                        let mut m = async_graphql::indexmap::IndexMap::new();
                        m.insert(
                            async_graphql::Name::new("code"),
                            async_graphql::Value::from(f.code.clone()),
                        );
                        m.insert(
                            async_graphql::Name::new("param"),
                            async_graphql::Value::from(camel_path(&f.param)),
                        );
                        m.insert(
                            async_graphql::Name::new("message"),
                            async_graphql::Value::from(f.message.clone()),
                        );
                        async_graphql::Value::Object(m)
                    })
                    .collect();
                e.set("errors", list);
            }
        })
    }
}
