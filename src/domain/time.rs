//! Calendar arithmetic on unix seconds (UTC), for subscription periods.
use super::Interval;

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    days_from_civil(
        if m == 12 { y + 1 } else { y },
        if m == 12 { 1 } else { m + 1 },
        1,
    ) - days_from_civil(y, m, 1)
}

/// `t` plus `months` calendar months, the day clamped to the target month's end
/// (Jan 31 + 1 month = Feb 28/29), as Stripe bills.
pub fn add_months(t: i64, months: i64) -> i64 {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let total = y * 12 + (m - 1) + months;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let nd = d.min(days_in_month(ny, nm));
    days_from_civil(ny, nm, nd) * 86_400 + secs
}

/// The end of one billing period of `count` `interval`s starting at `start`.
pub fn period_end(start: i64, interval: Interval, count: i64) -> i64 {
    match interval {
        Interval::Day => start + 86_400 * count,
        Interval::Week => start + 7 * 86_400 * count,
        Interval::Month => add_months(start, count),
        Interval::Year => add_months(start, 12 * count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_clamp_to_month_end() {
        // 2026-01-31T10:00:00Z + 1 month = 2026-02-28T10:00:00Z
        let jan31 = days_from_civil(2026, 1, 31) * 86_400 + 36_000;
        assert_eq!(
            add_months(jan31, 1),
            days_from_civil(2026, 2, 28) * 86_400 + 36_000
        );
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(period_end(0, Interval::Week, 2), 14 * 86_400);
    }
}

/// RFC 3339 in UTC, seconds precision: `2026-11-26T10:53:52Z`.
pub fn format_rfc3339(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Parses `YYYY-MM-DD` (midnight UTC) or RFC 3339 (`…T…Z` or `…T…±HH:MM`,
/// fractional seconds dropped) to unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if s.get(4..5)? != "-"
        || s.get(7..8)? != "-"
        || !(1..=12).contains(&m)
        || d < 1
        || d > days_in_month(y, m)
    {
        return None;
    }
    let date = days_from_civil(y, m, d) * 86_400;
    if s.len() == 10 {
        return Some(date);
    }
    if !matches!(s.get(10..11)?, "T" | "t" | " ") || s.get(13..14)? != ":" || s.get(16..17)? != ":"
    {
        return None;
    }
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.get(0..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.get(3..4)? != ":" {
                return None;
            }
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(date + h * 3600 + mi * 60 + se - offset)
}

#[cfg(test)]
mod rfc3339_tests {
    use super::*;

    #[test]
    fn round_trips_and_offsets() {
        let t = days_from_civil(2026, 11, 26) * 86_400 + 10 * 3600 + 53 * 60 + 52;
        assert_eq!(format_rfc3339(t), "2026-11-26T10:53:52Z");
        assert_eq!(parse_rfc3339("2026-11-26T10:53:52Z"), Some(t));
        assert_eq!(parse_rfc3339("2026-11-26T11:53:52.123+01:00"), Some(t));
        assert_eq!(
            parse_rfc3339("2026-11-26"),
            Some(t - (10 * 3600 + 53 * 60 + 52))
        );
        assert_eq!(parse_rfc3339("2026-02-30"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
