//! Timestamps: RFC 3339 (as audit events write them) to microseconds since the Unix epoch,
//! and back, without a calendar library.

/// Parses `2024-05-01T12:00:00.123456Z`, `...+02:00`, a space instead of `T`, and a missing
/// zone (taken as UTC). Returns microseconds since 1970-01-01T00:00:00Z.
pub fn parse_rfc3339_micros(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let mut v = 0i64;
        for &c in b.get(from..from + len)? {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    if b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 6 {
                micros = micros * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = (i - start).min(6);
        if i == start {
            return None;
        }
        for _ in digits..6 {
            micros *= 10;
        }
    }
    let offset_seconds = match b.get(i) {
        None => 0,
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(&sign) if (sign == b'+' || sign == b'-') && b.len() == i + 6 && b[i + 3] == b':' => {
            let h = num(i + 1, 2)?;
            let m = num(i + 4, 2)?;
            let off = h * 3600 + m * 60;
            if sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * 1_000_000 + micros)
}

/// Formats microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (fraction omitted
/// when zero).
pub fn format_rfc3339_micros(t: i64) -> String {
    let seconds = t.div_euclid(1_000_000);
    let micros = t.rem_euclid(1_000_000);
    let days = seconds.div_euclid(86400);
    let rem = seconds.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
    if micros == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{micros:06}Z")
    }
}

/// Formats a UTC day (days since 1970-01-01) as `YYYY-MM-DD`.
pub fn format_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` as a UTC day (days since 1970-01-01).
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let day = days_from_civil(y, m, d);
    // 2026-02-30 and the like do not come back the same.
    (civil_from_days(day) == (y, m, d)).then_some(day)
}

// Howard Hinnant's days-from-civil algorithm (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_audit_timestamps() {
        assert_eq!(parse_rfc3339_micros("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_micros("2024-05-01T12:00:00.123456Z"),
            Some(1_714_564_800_123_456)
        );
        assert_eq!(
            parse_rfc3339_micros("2024-05-01T14:00:00.5+02:00"),
            Some(1_714_564_800_500_000)
        );
        assert_eq!(
            parse_rfc3339_micros("2022-11-29 22:34:06.892"),
            parse_rfc3339_micros("2022-11-29T22:34:06.892Z")
        );
        assert_eq!(parse_rfc3339_micros("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339_micros("garbage"), None);
        assert_eq!(parse_rfc3339_micros("2024-05-01T12:00:00.Z"), None);
    }

    #[test]
    fn dates_round_trip_and_bad_ones_are_refused() {
        for day in [-1, 0, 19_000, 20_786, 2_932_896] {
            assert_eq!(parse_date(&format_date(day)), Some(day));
        }
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(parse_date("2026-11-29"), Some(20_786));
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "2026-1-01",
            "2026-01-0x",
            "+026-01-01",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for s in [
            "2024-05-01T12:00:00.123456Z",
            "1999-12-31T23:59:59Z",
            "2000-02-29T00:00:00Z",
        ] {
            assert_eq!(format_rfc3339_micros(parse_rfc3339_micros(s).unwrap()), s);
        }
    }
}
