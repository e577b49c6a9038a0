//! The languages the hosted page speaks.

/// Resolves a BCP-47 tag to a supported language at creation: `auto` stays
/// `auto`, `en-*` → `en`, everything else (including `fr-*`) → `fr`. Never fails.
pub fn resolve(tag: Option<&str>) -> &'static str {
    let tag = tag.unwrap_or("auto").trim();
    if tag.eq_ignore_ascii_case("auto") {
        return "auto";
    }
    let primary = tag.split(['-', '_']).next().unwrap_or("");
    if primary.eq_ignore_ascii_case("en") {
        "en"
    } else {
        "fr"
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn resolves_tags() {
        assert_eq!(super::resolve(None), "auto");
        assert_eq!(super::resolve(Some("fr-CI")), "fr");
        assert_eq!(super::resolve(Some("en-GB")), "en");
        assert_eq!(super::resolve(Some("sw")), "fr");
    }
}
