//! Kubernetes resource quantities (`500m`, `2`, `512Mi`, `1G`, `1e3`) as millicores and bytes.

use crate::KubeError;

/// Parses a quantity into its value times 1000 (millicores for CPU), rounding up as the
/// Kubernetes API does for `MilliValue`.
pub fn parse_milli(text: &str, field: &str) -> Result<i64, KubeError> {
    parse_scaled(text, field, 1000.0)
}

/// Parses a quantity into whole units (bytes for memory), rounding up.
pub fn parse_units(text: &str, field: &str) -> Result<i64, KubeError> {
    parse_scaled(text, field, 1.0)
}

fn parse_scaled(text: &str, field: &str, scale: f64) -> Result<i64, KubeError> {
    let invalid = || KubeError::InvalidQuantity {
        value: text.to_owned(),
        field: field.to_owned(),
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(trimmed.len());
    let (number, suffix) = trimmed.split_at(split);
    if number.is_empty() {
        return Err(invalid());
    }
    let value: f64 = number.parse().map_err(|_| invalid())?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0_f64.powi(4),
        "Pi" => 1024.0_f64.powi(5),
        "Ei" => 1024.0_f64.powi(6),
        exponent if exponent.starts_with(['e', 'E']) => {
            let power: i32 = exponent[1..].parse().map_err(|_| invalid())?;
            10.0_f64.powi(power)
        }
        _ => return Err(invalid()),
    };
    let scaled = value * multiplier * scale;
    if !scaled.is_finite() || scaled.abs() > 9.0e18 {
        return Err(invalid());
    }
    // Round away tiny float error before rounding up, so `0.1` CPU is 100m, not 101m.
    Ok((scaled - 1e-6).ceil() as i64)
}

/// Formats millicores as a CPU quantity (`250m`, or `2` for whole cores).
pub fn format_cpu_milli(milli: i64) -> String {
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

/// Formats bytes as a memory quantity, in Mi or Gi when exact (`512Mi`, `1Gi`), else in bytes.
pub fn format_bytes(bytes: i64) -> String {
    const MI: i64 = 1024 * 1024;
    const GI: i64 = 1024 * MI;
    if bytes != 0 && bytes % GI == 0 {
        format!("{}Gi", bytes / GI)
    } else if bytes != 0 && bytes % MI == 0 {
        format!("{}Mi", bytes / MI)
    } else {
        bytes.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities() {
        assert_eq!(parse_milli("500m", "cpu").unwrap(), 500);
        assert_eq!(parse_milli("2", "cpu").unwrap(), 2000);
        assert_eq!(parse_milli("0.1", "cpu").unwrap(), 100);
        assert_eq!(parse_milli("250000u", "cpu").unwrap(), 250);
        assert_eq!(parse_milli("1500000000n", "cpu").unwrap(), 1500);
    }

    #[test]
    fn memory_quantities() {
        assert_eq!(parse_units("512Mi", "memory").unwrap(), 512 * 1024 * 1024);
        assert_eq!(parse_units("1G", "memory").unwrap(), 1_000_000_000);
        assert_eq!(parse_units("123456", "memory").unwrap(), 123_456);
        assert_eq!(parse_units("1e3", "memory").unwrap(), 1000);
        assert_eq!(parse_units("10Ki", "memory").unwrap(), 10_240);
    }

    #[test]
    fn invalid_quantities() {
        for text in ["", "abc", "5x", "Mi", "1e", "1e999"] {
            assert!(parse_units(text, "memory").is_err(), "{text} parsed");
        }
    }

    #[test]
    fn formatting_round_trips() {
        for milli in [0, 250, 1000, 1500] {
            assert_eq!(parse_milli(&format_cpu_milli(milli), "cpu").unwrap(), milli);
        }
        for bytes in [0, 1, 512 * 1024 * 1024, 1 << 30, 123_457] {
            assert_eq!(parse_units(&format_bytes(bytes), "memory").unwrap(), bytes);
        }
    }
}
