//! The OpenAPI 3.1 document: generated from the handlers, plus the bearer
//! scheme and the error responses every route can give.
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Doc, Ref, RefOr};
use utoipa::{Modify, OpenApi};

/// Applied once the handlers' paths are merged in.
pub fn finish(doc: &mut Doc) {
    Security.modify(doc);
    StandardErrors.modify(doc);
    form_bodies(doc);
    // Relative: "Try it out" and generated clients' defaults talk to the
    // server that served this document, wherever it runs.
    doc.servers = Some(vec![
        utoipa::openapi::server::ServerBuilder::new()
            .url("/")
            .description(Some("The server that serves this document"))
            .build(),
    ]);
    // The project's licence, as an SPDX expression (OpenAPI 3.1
    // `license.identifier`), from Cargo.toml.
    doc.info.license = Some(
        utoipa::openapi::info::LicenseBuilder::new()
            .name(env!("CARGO_PKG_LICENSE"))
            .identifier(Some(env!("CARGO_PKG_LICENSE")))
            .build(),
    );
}

use crate::error::{ErrorBody, ErrorResponse, FieldErrorBody};

#[derive(OpenApi)]
#[openapi(
    info(title = "Ikawaari Checkout API", version = "1.0.0",
        description = "Hosted checkout for West African merchants: create checkout sessions, send customers to the hosted page, read payments. Amounts are integers in the currency's minor unit (XOF has none). Errors always have the shape `{\"error\": {type, code, param, message, errors}}`."),
    components(schemas(ErrorResponse, ErrorBody, FieldErrorBody)),
    tags((name = "Checkout sessions", description = "Create and manage checkout sessions (secret key or app token)."),
        (name = "Payment links", description = "Reusable links (and QR codes) a merchant shares without writing code; each visit makes a checkout session."),
        (name = "Hosted checkout", description = "Public routes used by the hosted checkout page; the session id is the capability."),
        (name = "Payment intents", description = "The payment behind a session: amount, status, the payment method used (never its full number)."),
        (name = "Subscriptions", description = "Recurring payments started by a paid `subscription`-mode session."),
        (name = "Refunds", description = "Give back all or part of a succeeded payment; never more than was paid."),
        (name = "Events", description = "Every state change a merchant cares about, kept 30 days; the same objects webhooks deliver."),
        (name = "Webhook endpoints", description = "Where signed events are posted (managed with a secret API key)."),
        (name = "Connectors", description = "A merchant's own accounts at payment providers (MTN MoMo, Wave): how live mode takes money. Managed with a secret API key; credentials are never shown again."),
        (name = "Test helpers", description = "Drive test-mode sessions without a browser."))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Doc) {
        let comps = doc.components.get_or_insert_with(Default::default);
        comps.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ik_test_… / ik_live_… secret key, or ik_app_… app token")
                    .build(),
            ),
        );
    }
}

/// Adds the error responses any route can give, each with the one error body.
struct StandardErrors;

fn error_response(description: &str) -> RefOr<utoipa::openapi::response::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorResponse")))
                    .build(),
            )
            .build(),
    )
}

impl Modify for StandardErrors {
    fn modify(&self, doc: &mut Doc) {
        for item in doc.paths.paths.values_mut() {
            if let Some(post) = item.post.as_mut() {
                add_idempotency_header(post);
            }
            // A public operation says so (`security: []`), rather than
            // leaving linters and generators to guess.
            let all = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ];
            for op in all.into_iter().flatten() {
                op.security.get_or_insert_with(Vec::new);
            }
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                add_errors(op);
            }
        }
    }
}

/// Every POST honours `Idempotency-Key` (SPEC §5).
fn add_idempotency_header(op: &mut Operation) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let params = op.parameters.get_or_insert_with(Vec::new);
    if params
        .iter()
        .any(|p| p.name.eq_ignore_ascii_case("Idempotency-Key"))
    {
        return;
    }
    params.push(
        ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .description(Some(
                "Retry safely: the first response to a key is replayed byte for byte (with `Idempotent-Replayed: true`) for 24 hours. Scoped to merchant and mode.",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(255)).pattern(Some("^[!-~]+$"))))
            .build(),
    );
}

fn add_errors(op: &mut Operation) {
    let authenticated = op.security.as_ref().is_some_and(|s| {
        !s.is_empty() && serde_json::to_string(s).is_ok_and(|j| j.contains("bearer"))
    });
    let has_body = op.request_body.is_some();
    let mut codes: Vec<(&str, &str)> = vec![
        (
            "400",
            "Invalid request (`parameter_invalid`, `parameter_missing`, `parameter_unknown`, `json_invalid`, `idempotency_key_mismatch`); `errors` lists every violated field",
        ),
        (
            "404",
            "No such object (`resource_missing`), including another merchant's or mode's",
        ),
        ("429", "Too many requests (`rate_limited`)"),
        ("500", "Internal error (`api_error`)"),
    ];
    if authenticated {
        codes.push((
            "401",
            "Missing, malformed, unknown or revoked token (`authentication_error`)",
        ));
        codes.push((
            "403",
            "Token lacks the scope (`permission_error`, `scope_missing`)",
        ));
    }
    if has_body {
        codes.push(("413", "Body over 256 KiB (`body_too_large`)"));
        codes.push((
            "415",
            "Body is neither JSON nor a form (`unsupported_media_type`)",
        ));
        codes.push((
            "409",
            "Conflict: `idempotency_key_in_use` or a state conflict",
        ));
    }
    for (code, description) in codes {
        op.responses
            .responses
            .entry(code.to_string())
            .or_insert_with(|| error_response(description));
    }
}

/// Stripe's form encoding (SPEC §14), said in each authenticated POST's
/// request body description — not as a second content type: stock
/// generators (openapi-python-client 0.29) turn two content types of one
/// schema into a client that sends the form, flattened, and breaks; and a
/// body the route does not need (`cancel`: `{}` or nothing) marked optional.
fn form_bodies(doc: &mut Doc) {
    use utoipa::openapi::Required;
    const FORM: &str = "Also accepted as `application/x-www-form-urlencoded` in Stripe's bracket encoding (`line_items[0][amount]=50000`, `metadata[order]=42`, `enabled_events[]=*`; an empty value is left out), as Stripe's SDKs send it: the same fields, rules and errors.";
    for (path, item) in doc.paths.paths.iter_mut() {
        let Some(post) = item.post.as_mut() else {
            continue;
        };
        let authenticated = post
            .security
            .as_ref()
            .is_some_and(|s| serde_json::to_string(s).is_ok_and(|j| j.contains("bearer")));
        let Some(body) = post.request_body.as_mut() else {
            continue;
        };
        if path.ends_with("/cancel") {
            body.required = Some(Required::False);
        }
        if authenticated {
            body.description = Some(match body.description.take() {
                Some(d) => format!("{d}. {FORM}"),
                None => FORM.to_string(),
            });
        }
    }
}
