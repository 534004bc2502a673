//! Times as the verifier handles them: Unix seconds, read from the RFC 3339 strings of trusted
//! roots and the ASN.1 times of certificates and time stamps.

use crate::trust::ValidFor;

/// A time that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 time: {0:?}")]
pub struct TimeError(pub String);

/// Reads an RFC 3339 time (`2021-03-07T03:20:29Z`, with optional fractions and `±hh:mm`) as
/// Unix seconds, fractions dropped.
pub fn parse_rfc3339(text: &str) -> Result<i64, TimeError> {
    let err = || TimeError(text.chars().take(64).collect());
    // Bytes, never `str` slices: trust material is anyone's JSON, and a multi-byte character
    // where a digit belongs must be an error, not a slice off a char boundary (issue 14 #5).
    let b = text.as_bytes();
    if !text.is_ascii()
        || b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(err());
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32, TimeError> {
        let digits = &b[r];
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(err());
        }
        Ok(digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(err());
        }
        rest = &frac[digits..];
    }
    let offset: i64 = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(err());
            }
            let h = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let m = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if h > 23 || m > 59 {
                return Err(err());
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return Err(err()),
    };
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(err());
    }
    // A leap second reads as the second after it.
    Ok(days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset)
}

/// Unix seconds as RFC 3339 in UTC (`2026-12-04T18:00:00Z`), for reports.
pub fn format_rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl ValidFor {
    /// Whether `unix` lies in the window; both ends are inclusive (the conformance suite's
    /// `*-validity-end-inclusive` cases), and a missing end means still valid.
    pub fn contains(&self, unix: i64) -> Result<bool, TimeError> {
        let start = parse_rfc3339(&self.start)?;
        let end = self.end.as_deref().map(parse_rfc3339).transpose()?;
        Ok(start <= unix && end.is_none_or(|end| unix <= end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_read_as_unix_seconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_rfc3339("2021-03-07T03:20:29.000Z"), Ok(1_615_087_229));
        assert_eq!(parse_rfc3339("2021-03-07T04:20:29+01:00"), Ok(1_615_087_229));
        assert_eq!(parse_rfc3339("2024-02-29T23:59:59Z"), Ok(1_709_251_199));
        assert_eq!(format_rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        for bad in [
            "",
            "2021-03-07",
            "2021-02-30T00:00:00Z",
            "2021-03-07T03:20:29",
            "2021-03-07T03:20:29.Z",
            "+021-03-07T03:20:29Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    /// Issue 14 #5: a trusted root is anyone's JSON; a multi-byte character where a digit
    /// should be must be an error, not a panic on a byte slice (it was: exit 101 on every
    /// later `verify`).
    #[test]
    fn non_ascii_times_are_errors_not_panics() {
        let good = "2021-03-07T03:20:29.000+01:00";
        for at in 0..good.len() {
            for c in ["é", "€", "𝟚", "\u{0}"] {
                let mut bad = good.to_owned();
                bad.replace_range(at..at + 1, c);
                assert!(parse_rfc3339(&bad).is_err(), "{bad:?}");
                let mut inserted = good.to_owned();
                inserted.insert_str(at, c);
                assert!(parse_rfc3339(&inserted).is_err(), "{inserted:?}");
            }
        }
        for bad in ["2021é03-07T03:20:29Z", "202é-03-07T03:20:29Z", "2021-03-07T03:20:2éZ", "2021-03-07T03:20:29é"]
        {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?}");
        }
        let w = ValidFor {
            start: "2020-01-01T00:00:0é".into(), end: Some("€€€€€€€€€€€€€€".into())
        };
        assert!(w.contains(0).is_err());
    }

    #[test]
    fn validity_windows_include_both_ends() {
        let w = ValidFor { start: "2020-01-01T00:00:00Z".into(), end: Some("2020-01-02T00:00:00Z".into()) };
        let start = parse_rfc3339("2020-01-01T00:00:00Z").unwrap();
        assert_eq!(w.contains(start), Ok(true));
        assert_eq!(w.contains(start + 86_400), Ok(true));
        assert_eq!(w.contains(start + 86_401), Ok(false));
        assert_eq!(w.contains(start - 1), Ok(false));
        let open = ValidFor { start: "2020-01-01T00:00:00Z".into(), end: None };
        assert_eq!(open.contains(i64::MAX / 2), Ok(true));
    }
}
