//! Every string of the hosted page, one table per language. The JavaScript
//! gets its share as JSON embedded in the page.
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }
}

/// The session's resolved locale, else the best `Accept-Language` match, else French.
pub fn negotiate(session_locale: Option<&str>, accept_language: Option<&str>) -> Lang {
    match session_locale {
        Some("en") => return Lang::En,
        Some("fr") => return Lang::Fr,
        _ => {}
    }
    let mut best: Option<(f32, Lang)> = None;
    for part in accept_language.unwrap_or("").split(',') {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|v| v.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let lang = match tag.split('-').next() {
            Some("fr") => Lang::Fr,
            Some("en") => Lang::En,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map_or(Lang::Fr, |(_, l)| l)
}

/// Strings rendered by the server.
pub struct Strings {
    pub title: &'static str,
    pub order_summary: &'static str,
    pub quantity: &'static str,
    pub total: &'static str,
    pub test_mode: &'static str,
    pub pay_with: &'static str,
    pub card: &'static str,
    pub mobile_money: &'static str,
    pub card_number: &'static str,
    pub expiry: &'static str,
    pub expiry_placeholder: &'static str,
    pub cvc: &'static str,
    pub provider: &'static str,
    pub phone: &'static str,
    pub pay: &'static str,
    pub cancel: &'static str,
    pub secured: &'static str,
    pub expired_title: &'static str,
    pub expired_body: &'static str,
    pub back_to_merchant: &'static str,
    pub paid_title: &'static str,
    pub paid_body: &'static str,
    pub continue_to_merchant: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub amount_label: &'static str,
    pub amount_between: &'static str,
    pub link_inactive_title: &'static str,
    pub link_inactive_body: &'static str,
    pub link_expired_title: &'static str,
    pub link_expired_body: &'static str,
    pub link_used_up_title: &'static str,
    pub link_used_up_body: &'static str,
    pub busy_title: &'static str,
    pub busy_body: &'static str,
    pub no_method_title: &'static str,
    pub no_method_body: &'static str,
    /// MTN Côte d'Ivoire's USSD menu, for a push that never showed.
    pub mtn_ussd_hint: &'static str,
    pub pay_with_wave: &'static str,
    pub wave_qr_alt: &'static str,
    pub wave_scan: &'static str,
    pub confirming_title: &'static str,
    pub confirming_body: &'static str,
    pub failed_title: &'static str,
    pub try_again: &'static str,
    pub js: JsStrings,
}

/// Strings the script shows (declines, field errors, processing).
#[derive(Serialize)]
pub struct JsStrings {
    pub processing: &'static str,
    pub approve_on_phone: &'static str,
    pub card_declined: &'static str,
    pub insufficient_funds: &'static str,
    pub incorrect_cvc: &'static str,
    pub expired_card: &'static str,
    pub generic_error: &'static str,
    pub network_error: &'static str,
    pub rate_limited: &'static str,
    pub invalid_number: &'static str,
    pub invalid_expiry: &'static str,
    pub invalid_cvc: &'static str,
    pub invalid_phone: &'static str,
    pub invalid_provider: &'static str,
    pub momo_failed: &'static str,
    pub redirecting: &'static str,
    pub invalid_amount: &'static str,
    pub link_used_up: &'static str,
    pub wave_continue: &'static str,
    pub method_unavailable: &'static str,
    // Named after the `decline_code`s they explain (processors.md B2).
    pub customer_declined: &'static str,
    pub expired_authorization: &'static str,
}

impl JsStrings {
    /// Why a mobile-money payment failed, by its `decline_code`: the
    /// failure, then the reason when it is one the customer can act on.
    pub fn momo_decline(&self, decline_code: Option<&str>) -> String {
        let why = match decline_code {
            Some("insufficient_funds") => Some(self.insufficient_funds),
            Some("customer_declined") => Some(self.customer_declined),
            Some("expired_authorization") => Some(self.expired_authorization),
            _ => None,
        };
        match why {
            Some(w) => format!("{} {w}", self.momo_failed),
            None => self.momo_failed.to_string(),
        }
    }
}

pub static FR: Strings = Strings {
    title: "Paiement sécurisé",
    order_summary: "Récapitulatif",
    quantity: "Qté",
    total: "Total",
    test_mode: "Mode test",
    pay_with: "Payer par",
    card: "Carte bancaire",
    mobile_money: "Mobile Money",
    card_number: "Numéro de carte",
    expiry: "Date d'expiration",
    expiry_placeholder: "MM/AA",
    cvc: "Cryptogramme (CVC)",
    provider: "Opérateur",
    phone: "Numéro de téléphone",
    pay: "Payer",
    cancel: "Annuler et revenir au marchand",
    secured: "Paiement sécurisé par Ikawaari Checkout",
    expired_title: "Cette session de paiement a expiré",
    expired_body: "Le délai pour payer est dépassé. Revenez sur le site du marchand pour recommencer.",
    back_to_merchant: "Revenir au marchand",
    paid_title: "Paiement reçu",
    paid_body: "Merci ! Votre paiement a bien été enregistré.",
    continue_to_merchant: "Continuer vers le marchand",
    not_found_title: "Session de paiement introuvable",
    not_found_body: "Ce lien de paiement n'existe pas. Vérifiez l'adresse ou revenez sur le site du marchand.",
    amount_label: "Montant à payer",
    amount_between: "Entre {min} et {max}",
    link_inactive_title: "Ce lien de paiement n'est plus actif",
    link_inactive_body: "Le marchand a désactivé ce lien. Contactez-le pour payer autrement.",
    link_expired_title: "Ce lien de paiement a expiré",
    link_expired_body: "La date limite de ce lien est passée. Contactez le marchand pour un nouveau lien.",
    link_used_up_title: "Ce lien de paiement est épuisé",
    link_used_up_body: "Le nombre maximal de paiements pour ce lien est atteint. Contactez le marchand.",
    busy_title: "Trop de tentatives",
    busy_body: "Patientez une minute puis rouvrez le lien.",
    no_method_title: "Aucun moyen de paiement disponible",
    no_method_body: "Cette session ne peut pas être payée pour le moment. Contactez le marchand.",
    mtn_ussd_hint: "Si la demande n'apparaît pas, composez *133# puis suivez «\u{a0}Approbations en attente\u{a0}».",
    pay_with_wave: "Payer avec Wave",
    wave_qr_alt: "Code QR du paiement Wave",
    wave_scan: "Sur ordinateur : scannez ce code avec votre téléphone pour payer dans l'application Wave.",
    confirming_title: "Nous confirmons votre paiement…",
    confirming_body: "Cela prend quelques secondes. Gardez cette page ouverte.",
    failed_title: "Le paiement n'a pas abouti",
    try_again: "Réessayer le paiement",
    js: JsStrings {
        processing: "Paiement en cours…",
        approve_on_phone: "Validez le paiement sur votre téléphone.",
        card_declined: "Votre carte a été refusée.",
        insufficient_funds: "Fonds insuffisants.",
        incorrect_cvc: "Le cryptogramme (CVC) est incorrect.",
        expired_card: "Votre carte a expiré.",
        generic_error: "Le paiement n'a pas abouti. Réessayez.",
        network_error: "Connexion impossible. Vérifiez votre réseau puis réessayez.",
        rate_limited: "Trop de tentatives. Patientez une minute puis réessayez.",
        invalid_number: "Numéro de carte invalide.",
        invalid_expiry: "Date d'expiration invalide.",
        invalid_cvc: "Cryptogramme invalide (3 ou 4 chiffres).",
        invalid_phone: "Numéro invalide, par exemple +225 07 00 00 00 00.",
        invalid_provider: "Choisissez un opérateur.",
        momo_failed: "Le paiement mobile money a échoué.",
        redirecting: "Paiement réussi, redirection…",
        invalid_amount: "Saisissez un montant dans les limites indiquées.",
        link_used_up: "Ce lien de paiement est épuisé : aucun paiement n'a été effectué.",
        wave_continue: "Terminez le paiement avec Wave.",
        method_unavailable: "Ce moyen de paiement n'est pas disponible pour cette session.",
        customer_declined: "Le paiement a été refusé ou annulé.",
        expired_authorization: "La demande a expiré avant d'être validée.",
    },
};

pub static EN: Strings = Strings {
    title: "Secure checkout",
    order_summary: "Order summary",
    quantity: "Qty",
    total: "Total",
    test_mode: "Test mode",
    pay_with: "Pay with",
    card: "Card",
    mobile_money: "Mobile money",
    card_number: "Card number",
    expiry: "Expiry date",
    expiry_placeholder: "MM/YY",
    cvc: "Security code (CVC)",
    provider: "Provider",
    phone: "Phone number",
    pay: "Pay",
    cancel: "Cancel and return to the merchant",
    secured: "Secure payment by Ikawaari Checkout",
    expired_title: "This checkout session has expired",
    expired_body: "The time to pay has run out. Go back to the merchant's site to start again.",
    back_to_merchant: "Back to the merchant",
    paid_title: "Payment received",
    paid_body: "Thank you! Your payment has been recorded.",
    continue_to_merchant: "Continue to the merchant",
    not_found_title: "Checkout session not found",
    not_found_body: "This payment link does not exist. Check the address or go back to the merchant's site.",
    amount_label: "Amount to pay",
    amount_between: "Between {min} and {max}",
    link_inactive_title: "This payment link is no longer active",
    link_inactive_body: "The merchant turned this link off. Contact them to pay another way.",
    link_expired_title: "This payment link has expired",
    link_expired_body: "This link's deadline has passed. Ask the merchant for a new link.",
    link_used_up_title: "This payment link is used up",
    link_used_up_body: "This link has reached its number of payments. Contact the merchant.",
    busy_title: "Too many attempts",
    busy_body: "Wait a minute, then open the link again.",
    no_method_title: "No payment method available",
    no_method_body: "This session cannot be paid at the moment. Contact the merchant.",
    mtn_ussd_hint: "If the request does not appear, dial *133# and follow “Approbations en attente” (pending approvals).",
    pay_with_wave: "Pay with Wave",
    wave_qr_alt: "QR code for the Wave payment",
    wave_scan: "On a computer: scan this code with your phone to pay in the Wave app.",
    confirming_title: "We are confirming your payment…",
    confirming_body: "This takes a few seconds. Keep this page open.",
    failed_title: "The payment did not go through",
    try_again: "Try the payment again",
    js: JsStrings {
        processing: "Processing…",
        approve_on_phone: "Approve the payment on your phone.",
        card_declined: "Your card was declined.",
        insufficient_funds: "Insufficient funds.",
        incorrect_cvc: "The security code (CVC) is incorrect.",
        expired_card: "Your card has expired.",
        generic_error: "The payment did not go through. Please try again.",
        network_error: "Could not connect. Check your network and try again.",
        rate_limited: "Too many attempts. Wait a minute and try again.",
        invalid_number: "Invalid card number.",
        invalid_expiry: "Invalid expiry date.",
        invalid_cvc: "Invalid security code (3 or 4 digits).",
        invalid_phone: "Invalid number, for example +225 07 00 00 00 00.",
        invalid_provider: "Choose a provider.",
        momo_failed: "The mobile money payment failed.",
        redirecting: "Payment succeeded, redirecting…",
        invalid_amount: "Enter an amount within the limits shown.",
        link_used_up: "This payment link is used up: no payment was made.",
        wave_continue: "Finish the payment with Wave.",
        method_unavailable: "This payment method is not available for this session.",
        customer_declined: "The payment was declined or cancelled.",
        expired_authorization: "The request expired before it was approved.",
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(Some("en"), Some("fr")), Lang::En);
        assert_eq!(
            negotiate(Some("auto"), Some("en-US,en;q=0.9,fr;q=0.8")),
            Lang::En
        );
        assert_eq!(
            negotiate(Some("auto"), Some("de-DE, fr;q=0.5, en;q=0.4")),
            Lang::Fr
        );
        assert_eq!(negotiate(Some("auto"), None), Lang::Fr);
        assert_eq!(negotiate(None, Some("es")), Lang::Fr);
    }

    #[test]
    fn mobile_money_declines_say_why_when_it_helps() {
        let js = &FR.js;
        assert_eq!(
            js.momo_decline(Some("insufficient_funds")),
            "Le paiement mobile money a échoué. Fonds insuffisants."
        );
        assert_eq!(js.momo_decline(Some("generic_decline")), js.momo_failed);
        assert_eq!(EN.js.momo_decline(None), EN.js.momo_failed);
    }
}
