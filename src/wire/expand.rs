//! Stripe's expandable fields (`expand[]`, SPEC §14) on the wire: what a
//! request asks to expand, and a field that is an id or its object.
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An expandable field (`expand[]`): the id, or the object it names.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ExpandableIntent {
    /// `pi_…`
    Id(String),
    Object(Box<super::PaymentIntentOut>),
}

impl ExpandableIntent {
    /// The intent's id, expanded or not.
    pub fn id(&self) -> &str {
        match self {
            ExpandableIntent::Id(id) => id,
            ExpandableIntent::Object(o) => &o.id,
        }
    }
}

/// `expand[]` on a retrieve or a list (Stripe's `expand`): `line_items`
/// (always included already) and `payment_intent`; on a list also
/// `data.line_items` and `data.payment_intent`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpandQuery {
    /// Fields to expand: `payment_intent` (and `line_items`, always included).
    #[serde(rename = "expand[]")]
    #[param(rename = "expand[]")]
    pub expand: Option<Vec<String>>,
}
