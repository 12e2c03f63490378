//! Timestamps: the served simulator's epoch and conversions between cluster-clock seconds,
//! RFC 3339 and HTTP dates.

use jiff::Timestamp;

use crate::KubeError;

/// Unix time of the served simulator's clock zero, 2026-01-01T00:00:00Z. Every timestamp the
/// served simulator writes is this epoch plus the simulated seconds.
pub const SIM_EPOCH_UNIX_S: i64 = 1_767_225_600;

/// Converts seconds since the Unix epoch to a timestamp, rounding to nanoseconds. Values
/// outside jiff's range (years -9999 to 9999) clamp to its ends.
pub fn timestamp_from_unix(unix_s: f64) -> Timestamp {
    // Whole seconds and the fraction separately: `unix_s * 1e9` would round away about
    // 0.2 µs at today's Unix times.
    let seconds = unix_s.floor();
    let nanos = seconds as i128 * 1_000_000_000 + ((unix_s - seconds) * 1e9).round() as i128;
    Timestamp::from_nanosecond(nanos).unwrap_or(if nanos < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Formats seconds since the Unix epoch as RFC 3339 in UTC, with fractional seconds only when
/// they are not zero (`2026-01-01T00:00:15Z`, `2026-01-01T00:00:15.25Z`).
pub fn format_rfc3339(unix_s: f64) -> String {
    timestamp_from_unix(unix_s).to_string()
}

/// Formats seconds since the Unix epoch as an HTTP date (RFC 9110 IMF-fixdate), to the
/// whole second.
pub fn format_http_date(unix_s: f64) -> String {
    timestamp_from_unix(unix_s.floor())
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// Formats a time on the served simulator's clock (seconds since [`SIM_EPOCH_UNIX_S`]) as
/// RFC 3339. The epoch is added in integer nanoseconds, so the fraction keeps nanosecond
/// precision, which Unix seconds in an f64 (about 0.2 µs at 2026) would not.
pub fn format_sim_rfc3339(sim_s: f64) -> String {
    let nanos = i128::from(SIM_EPOCH_UNIX_S) * 1_000_000_000 + (sim_s * 1e9).round() as i128;
    Timestamp::from_nanosecond(nanos).map_or_else(
        |_| format_rfc3339(SIM_EPOCH_UNIX_S as f64 + sim_s),
        |t| t.to_string(),
    )
}

/// Parses an RFC 3339 timestamp into nanoseconds since the Unix epoch.
pub fn parse_rfc3339_nanos(text: &str, field: &str) -> Result<i128, KubeError> {
    let timestamp: Timestamp =
        text.parse()
            .map_err(|error: jiff::Error| KubeError::InvalidTimestamp {
                value: text.to_owned(),
                field: field.to_owned(),
                message: error.to_string(),
            })?;
    Ok(timestamp.as_nanosecond())
}

/// Parses an RFC 3339 timestamp into seconds since the Unix epoch.
pub fn parse_rfc3339(text: &str, field: &str) -> Result<f64, KubeError> {
    let timestamp: Timestamp =
        text.parse()
            .map_err(|error: jiff::Error| KubeError::InvalidTimestamp {
                value: text.to_owned(),
                field: field.to_owned(),
                message: error.to_string(),
            })?;
    Ok(timestamp.as_second() as f64 + f64::from(timestamp.subsec_nanosecond()) / 1e9)
}

/// Parses an HTTP date (`Thu, 01 Jan 2026 00:00:15 GMT`) into seconds since the Unix epoch.
pub fn parse_http_date(text: &str) -> Result<f64, KubeError> {
    let invalid = |message: String| KubeError::InvalidTimestamp {
        value: text.to_owned(),
        field: "Date header".to_owned(),
        message,
    };
    let trimmed = text
        .trim()
        .strip_suffix("GMT")
        .ok_or_else(|| invalid("expected a date ending in GMT".to_owned()))?;
    let with_zone = format!("{}+0000", trimmed);
    let timestamp = Timestamp::strptime("%a, %d %b %Y %H:%M:%S %z", &with_zone)
        .map_err(|error| invalid(error.to_string()))?;
    Ok(timestamp.as_second() as f64)
}

/// Parses a Go duration string as metrics-server writes windows (`30s`, `1m0s`, `15.5s`,
/// `500ms`) into seconds.
pub fn parse_go_duration(text: &str, field: &str) -> Result<f64, KubeError> {
    let invalid = || KubeError::InvalidTimestamp {
        value: text.to_owned(),
        field: field.to_owned(),
        message: "expected a Go duration such as 30s or 1m0s".to_owned(),
    };
    let mut rest = text.trim();
    if rest == "0" {
        return Ok(0.0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let number: f64 = rest[..number_end].parse().map_err(|_| invalid())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(invalid()),
        };
        total += number * factor;
        rest = &rest[unit_end..];
    }
    Ok(total)
}

/// Formats seconds as a Go duration string (`30s`, `1.5s`).
pub fn format_go_duration(seconds: f64) -> String {
    format!("{seconds}s")
}

/// Formats an age the way kubectl prints the AGE column (`45s`, `12m`, `3h20m`, `2d3h`).
pub fn format_age(seconds: f64) -> String {
    let total = seconds.max(0.0) as i64;
    let (days, hours, minutes) = (total / 86_400, total % 86_400 / 3600, total % 3600 / 60);
    if total < 120 {
        format!("{total}s")
    } else if total < 600 {
        format!("{}m{}s", total / 60, total % 60)
    } else if total < 3 * 3600 {
        format!("{}m", total / 60)
    } else if total < 8 * 3600 {
        format!("{}h{}m", total / 3600, minutes)
    } else if days < 2 {
        format!("{}h", total / 3600)
    } else if days < 8 {
        format!("{days}d{hours}h")
    } else {
        format!("{days}d")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let unix = SIM_EPOCH_UNIX_S as f64 + 15.25;
        let text = format_rfc3339(unix);
        assert_eq!(text, "2026-01-01T00:00:15.25Z");
        assert_eq!(parse_rfc3339(&text, "t").unwrap(), unix);
    }

    #[test]
    fn http_date_round_trip() {
        let unix = SIM_EPOCH_UNIX_S as f64 + 30.0;
        let text = format_http_date(unix);
        assert_eq!(text, "Thu, 01 Jan 2026 00:00:30 GMT");
        assert_eq!(parse_http_date(&text).unwrap(), unix);
    }

    #[test]
    fn http_date_rejects_other_zone() {
        assert!(parse_http_date("Thu, 01 Jan 2026 00:00:30 CET").is_err());
    }

    #[test]
    fn go_duration_forms() {
        assert_eq!(parse_go_duration("30s", "w").unwrap(), 30.0);
        assert_eq!(parse_go_duration("1m0s", "w").unwrap(), 60.0);
        assert_eq!(parse_go_duration("1m30.5s", "w").unwrap(), 90.5);
        assert_eq!(parse_go_duration("500ms", "w").unwrap(), 0.5);
        assert!(parse_go_duration("thirty", "w").is_err());
        assert!(parse_go_duration("30", "w").is_err());
    }

    #[test]
    fn age_like_kubectl() {
        assert_eq!(format_age(45.0), "45s");
        assert_eq!(format_age(200.0), "3m20s");
        assert_eq!(format_age(1800.0), "30m");
        assert_eq!(format_age(4.0 * 3600.0 + 600.0), "4h10m");
        assert_eq!(format_age(3.0 * 86_400.0 + 7200.0), "3d2h");
    }
}
