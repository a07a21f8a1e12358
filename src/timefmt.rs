//! RFC 3339 (UTC, whole seconds) formatting and parsing without a date crate.

/// Format Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Parse `YYYY-MM-DDTHH:MM:SSZ` or a bare date `YYYY-MM-DD` (midnight UTC).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let (mut hh, mut mm, mut ss) = (0, 0, 0);
    if b.len() != 10 {
        if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
            return None;
        }
        hh = num(11..13)?;
        mm = num(14..16)?;
        ss = num(17..19)?;
        if hh > 23 || mm > 59 || ss > 59 {
            return None;
        }
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// A moment given on the command line (`--expires`), in Unix seconds: `YYYY-MM-DD`
/// (midnight UTC), RFC 3339 with `Z` or an offset (`2027-12-31T00:00:00+02:00`, optional
/// fractional seconds, dropped), or a duration from `now`: a number and a unit, `s`, `m`,
/// `h`, `d` or `w` (`30d`, `12h`).
pub fn parse_when(s: &str, now: i64) -> Option<i64> {
    if let Some(t) = parse_rfc3339(s) {
        return Some(t);
    }
    if let Some(unit) = s.chars().last().filter(|c| "smhdw".contains(*c)) {
        let n: i64 = s[..s.len() - 1].parse().ok().filter(|n: &i64| *n >= 0)?;
        let mul = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => 7 * 86_400,
        };
        return now.checked_add(n.checked_mul(mul)?);
    }
    // RFC 3339 with an offset and/or fractional seconds
    if s.len() < 20 || s.as_bytes()[10] != b'T' {
        return None;
    }
    let (base, rest) = s.split_at(19);
    let rest = match rest.strip_prefix('.') {
        Some(r) => r.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    let t = parse_rfc3339(&format!("{base}Z"))?;
    if rest == "Z" {
        return Some(t);
    }
    let b = rest.as_bytes();
    if b.len() != 6 || !matches!(b[0], b'+' | b'-') || b[3] != b':' {
        return None;
    }
    let hh: i64 = rest[1..3].parse().ok().filter(|h| *h <= 23)?;
    let mm: i64 = rest[4..6].parse().ok().filter(|m| *m <= 59)?;
    if !rest[1..3].bytes().chain(rest[4..6].bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let off = hh * 3600 + mm * 60;
    Some(if b[0] == b'+' { t - off } else { t + off })
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's algorithms.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_moments_take_offsets_and_durations() {
        let now = parse_rfc3339("2026-12-01T00:00:00Z").unwrap();
        let at = |s: &str| parse_when(s, now).map(rfc3339);
        assert_eq!(at("2027-12-31").as_deref(), Some("2027-12-31T00:00:00Z"));
        assert_eq!(at("2027-12-31T00:00:00+02:00").as_deref(), Some("2027-12-30T22:00:00Z"));
        assert_eq!(at("2027-12-31T00:00:00-05:30").as_deref(), Some("2027-12-31T05:30:00Z"));
        assert_eq!(at("2027-12-31T00:00:00.123Z").as_deref(), Some("2027-12-31T00:00:00Z"));
        assert_eq!(at("30d").as_deref(), Some("2026-12-31T00:00:00Z"));
        assert_eq!(at("12h").as_deref(), Some("2026-12-01T12:00:00Z"));
        assert_eq!(at("2w").as_deref(), Some("2026-12-15T00:00:00Z"));
        for bad in [
            "",
            "d",
            "-3d",
            "3x",
            "2027-13-01",
            "2027-12-31T00:00:00+2:00",
            "2027-12-31T00:00:00+24:00",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_when(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(parse_rfc3339("2026-11-18T11:06:40Z"), Some(1_795_000_000));
        assert_eq!(parse_rfc3339("2024-02-29"), Some(1_709_164_800));
        assert_eq!(parse_rfc3339("2023-02-29"), None);
        assert_eq!(parse_rfc3339("2026-11-18T08:26:40+01:00"), None);
    }

    #[test]
    fn round_trip_many() {
        for s in (-100_000_000i64..4_000_000_000).step_by(7_777_777) {
            assert_eq!(parse_rfc3339(&rfc3339(s)), Some(s));
        }
    }
}
