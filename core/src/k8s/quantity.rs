//! Kubernetes quantities (`250m`, `512Mi`, `1e3`): one reader, one writer.

use serde_json::Value;

/// A Kubernetes quantity (`250m`, `1.5`, `512Mi`, `1e3`, `2G`) as a number: a JSON number as
/// it is, a string read as [`Quantity::parse`] reads it.
pub(crate) fn quantity(v: &Value) -> Option<f64> {
    if let Some(n) = v.as_f64() {
        return Some(n);
    }
    Quantity::parse(v.as_str()?.trim()).ok().map(|q| q.as_f64())
}

/// Millicores as Kubernetes writes them: `750m`, or `2` for whole cores.
pub(crate) fn format_cpu(millis: u64) -> String {
    if millis.is_multiple_of(1000) {
        format!("{}", millis / 1000)
    } else {
        format!("{millis}m")
    }
}

/// Bytes in the largest binary unit that divides them: `768Mi`, `2Gi`.
pub(crate) fn format_memory(bytes: u64) -> String {
    for (unit, size) in [("Ti", 1u64 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// A resource quantity, held exactly in units of 10⁻⁹ (Kubernetes' smallest scale; smaller
/// amounts round up to it, as `resource.ParseQuantity` does).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Quantity {
    pub(crate) nanos: i128,
    pub(crate) text: String,
}

const NANO: i128 = 1_000_000_000;
/// Past this many nano-units (about 10²⁹) a quantity is refused rather than rounded.
const QUANTITY_MAX: i128 = 10i128.pow(38);

impl Quantity {
    pub(crate) fn parse(s: &str) -> Result<Quantity, String> {
        let bad = || format!("`{s}` is not a quantity");
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'-') => (-1i128, &s[1..]),
            Some(b'+') => (1, &s[1..]),
            _ => (1, s),
        };
        let digits_end = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(digits_end);
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && frac.is_empty()) || frac.contains('.') || number.is_empty() {
            return Err(bad());
        }
        // The value is digits × 10^exp10 × 2^exp2.
        let (exp10, exp2): (i32, u32) = match suffix {
            "" => (0, 0),
            "n" => (-9, 0),
            "u" => (-6, 0),
            "m" => (-3, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            "Ki" => (0, 10),
            "Mi" => (0, 20),
            "Gi" => (0, 30),
            "Ti" => (0, 40),
            "Pi" => (0, 50),
            "Ei" => (0, 60),
            e if e.starts_with(['e', 'E']) => {
                let exp = &e[1..];
                let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                (exp.parse::<i32>().map_err(|_| bad())?, 0)
            }
            _ => return Err(bad()),
        };
        let mantissa_digits = format!("{whole}{frac}");
        let mantissa_digits = mantissa_digits.trim_start_matches('0');
        let frac_len = i32::try_from(frac.len()).map_err(|_| bad())?;
        // nanos = mantissa × 10^(exp10 - frac_len + 9) × 2^exp2, rounded up.
        let scale = exp10 - frac_len + 9;
        let mut nanos: i128 = 0;
        let mut round_up = false;
        let too_large = || format!("`{s}` is too large a quantity");
        let keep = if scale >= 0 {
            mantissa_digits.len()
        } else {
            mantissa_digits.len().saturating_sub(scale.unsigned_abs() as usize)
        };
        for (i, b) in mantissa_digits.bytes().enumerate() {
            let d = i128::from(b - b'0');
            if i < keep {
                nanos = nanos.checked_mul(10).and_then(|n| n.checked_add(d)).ok_or_else(too_large)?;
            } else if d != 0 {
                round_up = true;
            }
        }
        if scale > 0 {
            for _ in 0..scale {
                nanos = nanos.checked_mul(10).ok_or_else(too_large)?;
                if nanos > QUANTITY_MAX {
                    return Err(too_large());
                }
            }
        }
        nanos = nanos.checked_mul(1i128 << exp2).ok_or_else(too_large)?;
        if round_up {
            nanos += 1;
        }
        if nanos > QUANTITY_MAX {
            return Err(too_large());
        }
        Ok(Quantity { nanos: sign * nanos, text: s.to_owned() })
    }

    pub(crate) fn from_nanos(nanos: i128) -> Result<Quantity, String> {
        if nanos.abs() > QUANTITY_MAX {
            return Err("the quantity overflows".into());
        }
        Ok(Quantity { nanos, text: format_nanos(nanos) })
    }

    pub(crate) fn is_integer(&self) -> bool {
        self.nanos % NANO == 0
    }

    pub(crate) fn as_integer(&self) -> Option<i64> {
        if !self.is_integer() {
            return None;
        }
        i64::try_from(self.nanos / NANO).ok()
    }

    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn as_f64(&self) -> f64 {
        self.nanos as f64 / 1e9
    }
}

/// A quantity in plain decimal form, with the largest exact decimal-SI suffix.
fn format_nanos(nanos: i128) -> String {
    for (suffix, unit) in [("", NANO), ("m", 1_000_000), ("u", 1000), ("n", 1)] {
        if nanos % unit == 0 {
            return format!("{}{suffix}", nanos / unit);
        }
    }
    format!("{nanos}n")
}
