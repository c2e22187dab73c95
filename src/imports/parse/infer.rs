//! Column type inference: which type every non-empty value of a column fits, decided on raw bytes.
//!
//! Values arrive one at a time and are never kept; each column only remembers which types are
//! still possible, so a column stops costing anything once it is known to be text.

use chrono::NaiveDate;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Integer,
    Decimal,
    Boolean,
    Date,
    Text,
}

const INTEGER: u8 = 1;
const DECIMAL: u8 = 2;
const BOOLEAN: u8 = 4;
const DATE: u8 = 8;

/// The types one column's values still fit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Inference {
    candidates: u8,
    seen_value: bool,
}

impl Default for Inference {
    fn default() -> Self {
        Inference { candidates: INTEGER | DECIMAL | BOOLEAN | DATE, seen_value: false }
    }
}

impl Inference {
    /// Inlined so that a column already known to be text costs one comparison per value.
    #[inline]
    pub(crate) fn observe(&mut self, value: &[u8]) {
        if self.candidates != 0 {
            self.refine(value);
        }
    }

    fn refine(&mut self, value: &[u8]) {
        let padded = |b: Option<&u8>| b.is_some_and(u8::is_ascii_whitespace);
        let value = if padded(value.first()) || padded(value.last()) { value.trim_ascii() } else { value };
        if value.is_empty() {
            return;
        }
        self.seen_value = true;
        let mut fits = 0;
        if self.candidates & (INTEGER | DECIMAL) != 0 {
            fits |= match number_kind(value) {
                Some(Number::Integer) => INTEGER | DECIMAL,
                Some(Number::Decimal) => DECIMAL,
                None => 0,
            };
        }
        if self.candidates & BOOLEAN != 0 && is_boolean(value) {
            fits |= BOOLEAN;
        }
        if self.candidates & DATE != 0 && is_date(value) {
            fits |= DATE;
        }
        self.candidates &= fits;
    }

    pub(crate) fn column_type(&self) -> ColumnType {
        let c = self.candidates;
        if !self.seen_value {
            ColumnType::Text
        } else if c & INTEGER != 0 {
            ColumnType::Integer
        } else if c & DECIMAL != 0 {
            ColumnType::Decimal
        } else if c & BOOLEAN != 0 {
            ColumnType::Boolean
        } else if c & DATE != 0 {
            ColumnType::Date
        } else {
            ColumnType::Text
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Number {
    /// `^[+-]?[0-9]+$` and within i64.
    Integer,
    /// `^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`, including integers too large for i64.
    Decimal,
}

fn number_kind(value: &[u8]) -> Option<Number> {
    let negative = value.first() == Some(&b'-');
    let unsigned = match value.first() {
        Some(b'+' | b'-') => &value[1..],
        _ => value,
    };
    let int_digits = leading_digits(unsigned);
    if int_digits > 0 && int_digits == unsigned.len() {
        // 18 digits always fit
        let fits = int_digits <= 18 || fits_i64(unsigned, negative);
        return Some(if fits { Number::Integer } else { Number::Decimal });
    }
    let mut i = int_digits;
    let mut fraction_digits = 0;
    if unsigned.get(i) == Some(&b'.') {
        fraction_digits = leading_digits(&unsigned[i + 1..]);
        i += 1 + fraction_digits;
    }
    if int_digits == 0 && fraction_digits == 0 {
        return None;
    }
    if let Some(b'e' | b'E') = unsigned.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = unsigned.get(i) {
            i += 1;
        }
        let exponent_digits = leading_digits(&unsigned[i..]);
        if exponent_digits == 0 {
            return None;
        }
        i += exponent_digits;
    }
    (i == unsigned.len()).then_some(Number::Decimal)
}

fn leading_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

fn fits_i64(digits: &[u8], negative: bool) -> bool {
    let mut n: u64 = 0;
    for &d in digits {
        match n.checked_mul(10).and_then(|n| n.checked_add(u64::from(d - b'0'))) {
            Some(next) => n = next,
            None => return false,
        }
    }
    // i64::MIN's magnitude is one more than i64::MAX
    n <= i64::MAX as u64 + u64::from(negative)
}

fn is_boolean(value: &[u8]) -> bool {
    ["true", "false", "yes", "no"].iter().any(|word| value.eq_ignore_ascii_case(word.as_bytes()))
}

/// A calendar date `YYYY-MM-DD`, optionally followed by `T` or a space, `HH:MM[:SS[.fff]]` and an
/// optional `Z` or `±HH:MM` offset.
pub(crate) fn is_date(value: &[u8]) -> bool {
    let (Some(date), rest) = (value.get(..10), value.get(10..).unwrap_or_default()) else {
        return false;
    };
    let (Some(year), Some(month), Some(day)) = (digits(&date[0..4]), digits(&date[5..7]), digits(&date[8..10])) else {
        return false;
    };
    if date[4] != b'-' || date[7] != b'-' || !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    // every month has 28 days; only the rest need the calendar
    if day > 28 && NaiveDate::from_ymd_opt(year as i32, month, day).is_none() {
        return false;
    }
    match rest.split_first() {
        None => true,
        Some((b'T' | b' ', time)) => is_time_with_offset(time),
        Some(_) => false,
    }
}

fn is_time_with_offset(time: &[u8]) -> bool {
    let Some(rest) = clock(time, 23) else {
        return false;
    };
    let rest = match rest.split_first() {
        Some((b':', after)) => match (after.get(..2).and_then(digits), after.get(2..)) {
            (Some(seconds), Some(rest)) if seconds < 60 => rest,
            _ => return false,
        },
        _ => rest,
    };
    let rest = match rest.split_first() {
        Some((b'.', after)) => {
            let fraction = leading_digits(after);
            if fraction == 0 {
                return false;
            }
            &after[fraction..]
        }
        _ => rest,
    };
    match rest.split_first() {
        None => true,
        Some((b'Z', after)) => after.is_empty(),
        Some((b'+' | b'-', offset)) => clock(offset, 23).is_some_and(<[u8]>::is_empty),
        Some(_) => false,
    }
}

/// `HH:MM` with hours up to `max_hour`; returns what follows.
fn clock(bytes: &[u8], max_hour: u32) -> Option<&[u8]> {
    let hour = digits(bytes.get(0..2)?)?;
    let minute = digits(bytes.get(3..5)?)?;
    (bytes[2] == b':' && hour <= max_hour && minute < 60).then(|| &bytes[5..])
}

/// All-digit bytes as a number (short fields only: at most four digits are passed in).
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, &b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
}

#[cfg(test)]
mod tests {
    use super::{ColumnType, Inference, is_date};

    fn infer(values: &[&str]) -> ColumnType {
        let mut inference = Inference::default();
        for value in values {
            inference.observe(value.as_bytes());
        }
        inference.column_type()
    }

    #[test]
    fn whole_numbers_within_i64_are_integers() {
        assert_eq!(infer(&["1", "-2", "+3", "007", " 42 "]), ColumnType::Integer);
        assert_eq!(infer(&["9223372036854775807", "-9223372036854775808"]), ColumnType::Integer);
    }

    #[test]
    fn whole_numbers_beyond_i64_are_decimals() {
        assert_eq!(infer(&["1", "9223372036854775808"]), ColumnType::Decimal);
        assert_eq!(infer(&["-9223372036854775809"]), ColumnType::Decimal);
    }

    #[test]
    fn numbers_with_a_point_or_exponent_are_decimals() {
        assert_eq!(infer(&["1", "2.5", ".5", "3.", "-1e10", "+2.5E-3"]), ColumnType::Decimal);
    }

    #[test]
    fn malformed_numbers_are_text() {
        for bad in [".", "+", "-", "1e", "1e+", "1.2.3", "1,5", "0x10", "1 000", "e5", "NaN", "inf", "--1"] {
            assert_eq!(infer(&["1", bad]), ColumnType::Text, "{bad}");
        }
    }

    #[test]
    fn booleans_are_true_false_yes_no_in_any_case() {
        assert_eq!(infer(&["true", "FALSE", "Yes", "no"]), ColumnType::Boolean);
        assert_eq!(infer(&["true", "1"]), ColumnType::Text);
        assert_eq!(infer(&["y", "n"]), ColumnType::Text);
    }

    #[test]
    fn dates_and_datetimes_are_dates() {
        assert_eq!(
            infer(&["2024-02-29", "2024-01-15T10:30", "2024-01-15 10:30:59", "2024-01-15T10:30:00.123Z"]),
            ColumnType::Date
        );
        assert_eq!(infer(&["2024-01-15T23:59:59+05:30", "1999-12-31T00:00-08:00"]), ColumnType::Date);
    }

    #[test]
    fn impossible_or_malformed_dates_are_text() {
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-1-5",
            "24-01-05",
            "2024/01/05",
            "2024-01-05T24:00",
            "2024-01-05T10:60",
            "2024-01-05T10:30:60",
            "2024-01-05T10",
            "2024-01-05T10:30:00.",
            "2024-01-05T10:30+5",
            "2024-01-05X",
            "2024-01-05 ",
        ] {
            assert!(!is_date(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn empty_values_do_not_count() {
        assert_eq!(infer(&["", "1", "  ", "2"]), ColumnType::Integer);
        assert_eq!(infer(&["", " "]), ColumnType::Text);
        assert_eq!(infer(&[]), ColumnType::Text);
    }

    #[test]
    fn mixed_kinds_are_text() {
        assert_eq!(infer(&["1", "true"]), ColumnType::Text);
        assert_eq!(infer(&["2024-01-01", "5"]), ColumnType::Text);
        assert_eq!(infer(&["1.5", "abc", "2"]), ColumnType::Text);
    }
}
