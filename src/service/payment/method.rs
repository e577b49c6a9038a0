//! What the service makes of a payment method: its stored summary (never a
//! full number) and the processor's charge.
use crate::domain::card::card_brand;
use crate::domain::payment_method::PaymentMethodInput as Method;
use crate::domain::phone::mask_phone;
use crate::processor::Charge;
use crate::service::stored::StoredPaymentMethod as PaymentMethodSummary;

/// Presentation and processor views of the domain command.
pub(super) trait MethodExt {
    fn summary(&self) -> PaymentMethodSummary;
    fn charge(&self) -> Charge<'_>;
}

impl MethodExt for Method {
    fn summary(&self) -> PaymentMethodSummary {
        let mut s = PaymentMethodSummary::of_type(self.kind().as_str());
        match self {
            Method::Card {
                number,
                exp_month,
                exp_year,
                ..
            } => {
                s.brand = Some(card_brand(number.expose()).into());
                s.last4 = Some(number.last4().into());
                s.exp_month = Some(*exp_month);
                s.exp_year = Some(*exp_year);
            }
            Method::MobileMoney { provider, phone } => {
                s.provider = Some(provider.as_str().into());
                s.phone = Some(mask_phone(phone));
            }
        }
        s
    }

    fn charge(&self) -> Charge<'_> {
        match self {
            Method::Card {
                number,
                exp_month,
                exp_year,
                cvc,
            } => Charge::Card {
                number: number.expose(),
                exp_month: *exp_month,
                exp_year: *exp_year,
                cvc: cvc.expose(),
            },
            Method::MobileMoney { provider, phone } => Charge::MobileMoney {
                provider: provider.as_str(),
                phone,
            },
        }
    }
}
