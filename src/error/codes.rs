//! The error table: one entry per answer a client can meet — its HTTP
//! status, `type`, `code`, and its message in French and English. The
//! REST body, the GraphQL `extensions`, the `/docs/errors` page and the
//! contract's `ErrorCode`/`ErrorType` enums are all read from here.
//!
//! `en` is the very message a client gets; `{name}` placeholders are filled
//! from the error (see describe.rs). Two kinds of entries bring their
//! own message instead — a field error (`parameter_*`, written by the
//! validator) and a decline (`card_error`, written by the processor) — and
//! their `en` documents it.

/// One documented answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub status: u16,
    pub r#type: &'static str,
    pub code: &'static str,
    pub fr: &'static str,
    pub en: &'static str,
}

impl Entry {
    /// `en` with each `{name}` replaced by its value.
    pub fn render(&self, args: &[(&str, &str)]) -> String {
        render(self.en, args)
    }
}

/// `template` with each `{name}` replaced by its value.
pub fn render(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// What a message's placeholders say wherever the error table is shown
/// without an error at hand (`/docs/errors`): the server's own limits.
pub fn static_args() -> [(&'static str, String); 1] {
    [("limit_kib", (crate::BODY_LIMIT / 1024).to_string())]
}

const INVALID: &str = "invalid_request_error";
const AUTH: &str = "authentication_error";
const PERMISSION: &str = "permission_error";
const CARD: &str = "card_error";
const IDEMPOTENCY: &str = "idempotency_error";
const RATE_LIMIT: &str = "rate_limit_error";
const API: &str = "api_error";

/// `NAME = status type "code", fr "…", en "…";` → `pub const NAME: Entry`,
/// and `CODES`, every entry in declaration order (nothing declared here can
/// be missing from it).
macro_rules! table {
    ($($(#[$doc:meta])* $name:ident = $status:literal $type:ident $code:literal,
        fr $fr:literal, en $en:literal;)*) => {
        $($(#[$doc])* pub const $name: Entry = Entry {
            status: $status, r#type: $type, code: $code, fr: $fr, en: $en,
        };)*
        /// Every entry, in the order `/docs/errors` shows them.
        pub const CODES: &[Entry] = &[$($name),*];
    };
}

table! {
    /// The field's own message (the validator's) is the message.
    PARAMETER_INVALID = 400 INVALID "parameter_invalid",
        fr "Un champ a une valeur invalide ; `param` le nomme et `errors` liste tous les champs en faute.",
        en "A field has an invalid value; `param` names it and `errors` lists every field at fault.";
    PARAMETER_MISSING = 400 INVALID "parameter_missing",
        fr "Paramètre obligatoire manquant : {param}.",
        en "Missing required param: {param}.";
    PARAMETER_UNKNOWN = 400 INVALID "parameter_unknown",
        fr "Paramètre inconnu reçu : {param}.",
        en "Received unknown parameter: {param}.";
    JSON_INVALID = 400 INVALID "json_invalid",
        fr "JSON invalide : {detail}.",
        en "Invalid JSON: {detail}.";
    /// Answered by the connection itself (`server::conn`), before the app.
    REQUEST_MALFORMED = 400 INVALID "request_malformed",
        fr "La requête n'est pas du HTTP/1.1 valide.",
        en "The request is not valid HTTP/1.1.";
    AMOUNT_TOO_LARGE = 400 INVALID "amount_too_large",
        fr "Le montant du remboursement dépasse ce qui reste à rembourser sur ce paiement.",
        en "The refund amount is greater than what is left to refund on this payment.";
    CHARGE_ALREADY_REFUNDED = 400 INVALID "charge_already_refunded",
        fr "Ce paiement est déjà entièrement remboursé.",
        en "This payment has already been refunded in full.";
    /// `param` names the method (`payment_method.type` or `payment_method.mobile_money.provider`).
    PAYMENT_METHOD_UNAVAILABLE = 400 INVALID "payment_method_unavailable",
        fr "Ce moyen de paiement n'est pas disponible pour cette session de paiement.",
        en "This payment method is not available for this checkout session.";
    /// The provider's own words follow (never a secret).
    CONNECTOR_CREDENTIALS_INVALID = 400 INVALID "connector_credentials_invalid",
        fr "Le fournisseur a refusé ces identifiants : {words}.",
        en "The provider refused these credentials: {words}.";
    REFUND_UNSUPPORTED = 400 INVALID "refund_unsupported",
        fr "Ce remboursement est impossible chez le fournisseur du paiement : {why}.",
        en "The payment's provider cannot make this refund: {why}.";
    IDEMPOTENCY_KEY_MISMATCH = 400 IDEMPOTENCY "idempotency_key_mismatch",
        fr "Une clé d'idempotence ne sert qu'avec les paramètres de sa première requête.",
        en "Keys for idempotent requests can only be used with the same parameters they were first used with.";
    API_KEY_MISSING = 401 AUTH "api_key_missing",
        fr "Vous n'avez pas fourni de clé d'API. Utilisez `Authorization: Bearer ik_test_...`.",
        en "You did not provide an API key. Use `Authorization: Bearer ik_test_...`.";
    API_KEY_INVALID = 401 AUTH "api_key_invalid",
        fr "Clé d'API invalide (inconnue, mal formée ou révoquée).",
        en "Invalid API key provided.";
    /// The processor's own message is the message (also for the two below).
    CARD_DECLINED = 402 CARD "card_declined",
        fr "La carte ou le compte mobile money a été refusé ; `decline_code` précise la raison.",
        en "The card or mobile-money account was declined; `decline_code` says why.";
    EXPIRED_CARD = 402 CARD "expired_card",
        fr "La carte a expiré.",
        en "The card has expired.";
    INCORRECT_CVC = 402 CARD "incorrect_cvc",
        fr "Le code de sécurité de la carte est incorrect.",
        en "The card's security code is incorrect.";
    SCOPE_MISSING = 403 PERMISSION "scope_missing",
        fr "Ce jeton n'a pas la permission `{scope}`.",
        en "This token lacks the `{scope}` scope.";
    SECRET_KEY_REQUIRED = 403 PERMISSION "scope_missing",
        fr "Les points de terminaison webhook se gèrent avec une clé d'API secrète (`ik_test_…`/`ik_live_…`), pas un jeton d'application.",
        en "Webhook endpoints are managed with a secret API key (`ik_test_…`/`ik_live_…`), not an app token.";
    /// Also another merchant's or mode's object.
    RESOURCE_MISSING = 404 INVALID "resource_missing",
        fr "Objet introuvable ({kind}) : '{id}'",
        en "No such {kind}: '{id}'";
    ROUTE_NOT_FOUND = 404 INVALID "route_not_found",
        fr "URL de requête inconnue.",
        en "Unrecognized request URL.";
    METHOD_NOT_ALLOWED = 405 INVALID "method_not_allowed",
        fr "Cette méthode n'est pas permise sur cette URL.",
        en "This method is not allowed on this URL.";
    CHECKOUT_SESSION_EXPIRED = 409 INVALID "checkout_session_expired",
        fr "Cette session de paiement a expiré.",
        en "This checkout session has expired.";
    CHECKOUT_SESSION_COMPLETED = 409 INVALID "checkout_session_completed",
        fr "Cette session de paiement est déjà payée.",
        en "This checkout session is already paid.";
    CHECKOUT_SESSION_NOT_OPEN = 409 INVALID "checkout_session_not_open",
        fr "Seule une session de paiement ouverte peut être expirée.",
        en "Only open checkout sessions can be expired.";
    PAYMENT_IN_PROGRESS = 409 INVALID "payment_in_progress",
        fr "Un paiement est déjà en cours pour cette session de paiement.",
        en "A payment for this checkout session is already processing.";
    PAYMENT_LINK_USED_UP = 409 INVALID "payment_link_used_up",
        fr "Ce lien de paiement a atteint son nombre maximal de paiements : ce paiement n'a pas été effectué.",
        en "This payment link has reached its limit of payments: this payment was not made.";
    PAYMENT_INTENT_UNEXPECTED_STATE = 409 INVALID "payment_intent_unexpected_state",
        fr "Seul un paiement réussi peut être remboursé.",
        en "Only a succeeded payment can be refunded.";
    CONNECTOR_EXISTS = 409 INVALID "connector_exists",
        fr "Un connecteur actif de ce type existe déjà dans ce mode ; désactivez-le ou mettez-le à jour.",
        en "An enabled connector of this type already exists in this mode; disable or update it.";
    IDEMPOTENCY_KEY_IN_USE = 409 INVALID "idempotency_key_in_use",
        fr "Une requête avec cette clé d'idempotence est encore en cours ; réessayez plus tard.",
        en "A request with this idempotency key is still in progress; retry later.";
    BODY_TOO_LARGE = 413 INVALID "body_too_large",
        fr "Le corps de la requête dépasse {limit_kib} Kio.",
        en "The request body exceeds {limit_kib} KiB.";
    UNSUPPORTED_MEDIA_TYPE = 415 INVALID "unsupported_media_type",
        fr "Le corps des requêtes doit être du JSON (`Content-Type: application/json`) ou, comme les SDK de Stripe l'envoient, un formulaire (`application/x-www-form-urlencoded`).",
        en "Request bodies must be JSON (`Content-Type: application/json`) or, as Stripe's SDKs send them, a form (`application/x-www-form-urlencoded`).";
    /// With `Retry-After`.
    RATE_LIMITED = 429 RATE_LIMIT "rate_limited",
        fr "Trop de requêtes ; ralentissez et réessayez sous peu.",
        en "Too many requests; slow down and retry shortly.";
    /// Answered by the connection itself (`server::conn`), before the app.
    REQUEST_HEADERS_TOO_LARGE = 431 INVALID "request_headers_too_large",
        fr "Les en-têtes de la requête sont trop volumineux.",
        en "The request's headers are too large.";
    /// Nothing changed: retry with the same idempotency key.
    INTERNAL = 500 API "internal",
        fr "Une erreur interne est survenue.",
        en "An internal error occurred.";
    /// A busy or unreachable store, or a request that ran too long; with `Retry-After`.
    TIMEOUT = 503 API "timeout",
        fr "La requête a pris trop de temps.",
        en "The request took too long to complete.";
    PROCESSOR_UNAVAILABLE = 503 API "processor_unavailable",
        fr "Le fournisseur de paiement est injoignable, ou aucun n'est configuré pour ce moyen de paiement en mode live ; rien n'a été débité.",
        en "The payment provider could not be reached, or none is configured for this payment method in live mode; nothing was charged.";
}

/// The entry of a processor's decline code (`card_declined` for one the
/// table does not list: same status and family).
pub fn card(code: &str) -> &'static Entry {
    [&CARD_DECLINED, &EXPIRED_CARD, &INCORRECT_CVC]
        .into_iter()
        .find(|e| e.code == code)
        .unwrap_or(&CARD_DECLINED)
}
