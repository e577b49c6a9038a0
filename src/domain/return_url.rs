//! URLs a customer is sent back to after checkout.
use url::Url;

pub const SESSION_ID_PLACEHOLDER: &str = "{CHECKOUT_SESSION_ID}";
const MAX_LEN: usize = 2048;

/// An absolute http(s) URL, at most 2048 chars, possibly holding the literal
/// `{CHECKOUT_SESSION_ID}` which is replaced on redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnUrl(String);

impl ReturnUrl {
    /// Checks the URL with the placeholder substituted by a realistic id.
    pub fn parse(raw: &str) -> Result<ReturnUrl, &'static str> {
        if raw.len() > MAX_LEN {
            return Err("must be at most 2048 characters");
        }
        // The URL parser drops tabs and newlines and the browser would
        // too, but the stored text is what a redirect's `Location` carries:
        // none of these has a place in it.
        if raw.chars().any(unfit) {
            return Err("must not contain control characters, spaces or line separators");
        }
        let probe = raw.replace(SESSION_ID_PLACEHOLDER, "cs_test_a1B2c3D4e5F6g7H8i9J0k1L2m3");
        let url = Url::parse(&probe).map_err(|_| "must be an absolute http or https URL")?;
        let host_ok = match url.host() {
            Some(url::Host::Domain(d)) => {
                !d.is_empty()
                    && d.chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_'))
            }
            Some(_) => true,
            None => false,
        };
        if !matches!(url.scheme(), "http" | "https") || !host_ok {
            return Err("must be an absolute http or https URL");
        }
        Ok(ReturnUrl(raw.to_string()))
    }

    pub fn is_https(&self) -> bool {
        self.0
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    }
}

/// Control characters (C0 with TAB, CR and LF, DEL, C1), every Unicode
/// space and separator (U+2028, U+2029, NBSP…) and the invisible formatting
/// characters (bidi overrides, zero widths, BOM).
fn unfit(c: char) -> bool {
    c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{ad}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{feff}')
}

/// The stored URL with the session id substituted.
pub fn resolve(url: &str, session_id: &str) -> String {
    url.replace(SESSION_ID_PLACEHOLDER, session_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_placeholder_and_rejects_relative() {
        assert!(
            ReturnUrl::parse("https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}")
                .is_ok()
        );
        assert!(ReturnUrl::parse("/success").is_err());
        assert!(ReturnUrl::parse("ftp://x.com/").is_err());
        assert!(ReturnUrl::parse("javascript:alert(1)").is_err());
        assert!(ReturnUrl::parse("https://{CHECKOUT_SESSION_ID").is_err());
        assert!(ReturnUrl::parse("http://127.0.0.1:3000/ok").is_ok());
        assert!(!ReturnUrl::parse("http://x.com").unwrap().is_https());
        for bad in [
            "https://x.com/\tok",
            "https://x.com/\r\nSet-Cookie:a=b",
            "https://x.com/a\u{2028}",
            "https://x.com/a\u{2029}",
            "https://x.com/a b",
            "https://x.com/\u{a0}",
            "https://x.com/\u{85}",
            "https://x.com/\u{202e}",
            "https://x.com/\u{200b}",
            "https://x.com/\u{7f}",
        ] {
            assert!(ReturnUrl::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ReturnUrl::parse("https://x.com/caf\u{e9}?q=%20").is_ok());
    }
}
