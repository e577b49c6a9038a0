//! Money and intervals as a customer reads them, per language (SPEC §8):
//! French `50 000 F CFA` (U+202F between digit groups, U+00A0 before the
//! currency), English `XOF 50,000`.
use super::i18n::Lang;
use crate::domain::{Amount, Currency, Interval};

const NNBSP: char = '\u{202F}';
const NBSP: char = '\u{00A0}';

fn group(digits: &str, sep: char) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// How the page's script writes an amount the customer types: the same
/// separators and symbol as `amount`.
pub struct Parts {
    pub prefix: String,
    pub suffix: String,
    pub group: char,
    pub decimal: char,
    pub exp: u32,
}

pub fn parts(currency: Currency, lang: Lang) -> Parts {
    let code = currency.code();
    let (prefix, suffix, group, decimal) = match lang {
        Lang::Fr => {
            let symbol = match code {
                "XOF" | "XAF" => "F CFA",
                "EUR" => "€",
                other => other,
            };
            (String::new(), format!("{NBSP}{symbol}"), NNBSP, ',')
        }
        Lang::En => (format!("{code} "), String::new(), ',', '.'),
    };
    Parts {
        prefix,
        suffix,
        group,
        decimal,
        exp: u32::from(currency.exponent()),
    }
}

/// `amount` as the customer would type it: the number without its symbol.
pub fn number(amount: Amount, currency: Currency, lang: Lang) -> String {
    let p = parts(currency, lang);
    let full = self::amount(amount, currency, lang);
    full.strip_prefix(p.prefix.as_str())
        .unwrap_or(&full)
        .strip_suffix(p.suffix.as_str())
        .unwrap_or(&full)
        .to_string()
}

/// `amount` of `currency` for a reader of `lang`.
pub fn amount(amount: Amount, currency: Currency, lang: Lang) -> String {
    let minor = amount.minor();
    let exp = u32::from(currency.exponent());
    let neg = minor < 0;
    let abs = minor.unsigned_abs();
    let unit = 10u64.pow(exp);
    let (major, frac) = (abs / unit, abs % unit);
    let (group_sep, dec_sep) = match lang {
        Lang::Fr => (NNBSP, ','),
        Lang::En => (',', '.'),
    };
    let mut n = group(&major.to_string(), group_sep);
    if exp > 0 {
        n.push(dec_sep);
        n.push_str(&format!("{frac:0width$}", width = exp as usize));
    }
    if neg {
        n.insert(0, '-');
    }
    let code = currency.code();
    match lang {
        Lang::Fr => {
            let symbol = match code {
                "XOF" | "XAF" => "F CFA",
                "EUR" => "€",
                other => other,
            };
            // The space inside "F CFA" stays plain; the page keeps amounts on one line with CSS.
            format!("{n}{NBSP}{symbol}")
        }
        Lang::En => format!("{code} {n}"),
    }
}

/// "par mois" / "per month", "tous les 3 mois" / "every 3 months".
pub fn interval(interval: Interval, count: i32, lang: Lang) -> String {
    let (fr1, fr_n, en) = match interval {
        Interval::Day => ("par jour", "jours", "day"),
        Interval::Week => ("par semaine", "semaines", "week"),
        Interval::Month => ("par mois", "mois", "month"),
        Interval::Year => ("par an", "ans", "year"),
    };
    match (lang, count) {
        (Lang::Fr, c) if c <= 1 => fr1.to_string(),
        (Lang::Fr, c) => format!("tous les {c} {fr_n}"),
        (Lang::En, c) if c <= 1 => format!("per {en}"),
        (Lang::En, c) => format!("every {c} {en}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        assert_eq!(
            amount(
                Amount::new(50_000).unwrap(),
                Currency::parse("XOF").unwrap(),
                Lang::Fr
            ),
            "50\u{202F}000\u{00A0}F CFA"
        );
        assert_eq!(
            amount(
                Amount::new(50_000).unwrap(),
                Currency::parse("XOF").unwrap(),
                Lang::En
            ),
            "XOF 50,000"
        );
        assert_eq!(
            amount(
                Amount::new(1_234_567).unwrap(),
                Currency::parse("USD").unwrap(),
                Lang::En
            ),
            "USD 12,345.67"
        );
        assert_eq!(
            amount(
                Amount::new(1_234_567).unwrap(),
                Currency::parse("EUR").unwrap(),
                Lang::Fr
            ),
            "12\u{202F}345,67\u{00A0}€"
        );
        assert_eq!(
            amount(
                Amount::new(999).unwrap(),
                Currency::parse("XOF").unwrap(),
                Lang::Fr
            ),
            "999\u{00A0}F CFA"
        );
        assert_eq!(
            amount(
                Amount::new(1_000_000_000_000).unwrap(),
                Currency::parse("XOF").unwrap(),
                Lang::En
            ),
            "XOF 1,000,000,000,000"
        );
        assert_eq!(interval(Interval::Month, 1, Lang::Fr), "par mois");
        assert_eq!(interval(Interval::Month, 3, Lang::En), "every 3 months");
    }
}
