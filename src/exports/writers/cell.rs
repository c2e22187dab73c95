//! What a dataset's text value is, given its column's inferred type.

use crate::imports::parse::ColumnType;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

#[derive(Debug, PartialEq)]
pub(super) enum Cell<'a> {
    /// No value: an empty cell, or blanks in a typed column.
    Empty,
    Bool(bool),
    /// A number as the file wrote it (trimmed): valid JSON number text.
    Number(&'a str),
    /// A value of a date column (trimmed); only a spreadsheet needs it as a calendar date
    /// ([`calendar`]), so it is not parsed for the other formats.
    Date(&'a str),
    Text(&'a str),
}

impl<'a> Cell<'a> {
    /// A value that does not read as its column's type (a rare `n/a` in a number column) stays text.
    pub(super) fn of(column_type: ColumnType, text: &'a str) -> Cell<'a> {
        let t = text.trim();
        if text.is_empty() || (column_type != ColumnType::Text && t.is_empty()) {
            return Cell::Empty;
        }
        let typed = match column_type {
            ColumnType::Integer | ColumnType::Decimal => is_json_number(t).then_some(Cell::Number(t)),
            ColumnType::Boolean => boolean(t).map(Cell::Bool),
            ColumnType::Date => Some(Cell::Date(t)),
            ColumnType::Text => None,
        };
        typed.unwrap_or(Cell::Text(text))
    }
}

fn boolean(t: &str) -> Option<bool> {
    match t.to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

/// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// A date, or a local date and time, as imports infer them; one with an offset other than `Z`
/// is no spreadsheet date (those have no time zone): `None`, and it stays text.
pub(super) fn calendar(t: &str) -> Option<(NaiveDate, Option<NaiveTime>)> {
    if t.len() == 10 {
        return NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().map(|d| (d, None));
    }
    let local = t.strip_suffix('Z').unwrap_or(t);
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(local, format).ok())
        .map(|at| (at.date(), Some(at.time())))
}

#[cfg(test)]
mod tests {
    use super::{Cell, calendar, is_json_number};
    use crate::imports::parse::ColumnType;
    use chrono::{NaiveDate, NaiveTime};

    #[test]
    fn cells_are_typed_by_their_column() {
        assert_eq!(Cell::of(ColumnType::Integer, " 42 "), Cell::Number("42"));
        assert_eq!(Cell::of(ColumnType::Decimal, "1.50"), Cell::Number("1.50"));
        assert_eq!(Cell::of(ColumnType::Decimal, "n/a"), Cell::Text("n/a"));
        assert_eq!(Cell::of(ColumnType::Boolean, "Yes"), Cell::Bool(true));
        assert_eq!(Cell::of(ColumnType::Text, "007"), Cell::Text("007"));
        assert_eq!(Cell::of(ColumnType::Integer, " "), Cell::Empty);
        assert_eq!(Cell::of(ColumnType::Text, " "), Cell::Text(" "), "blanks are a text's value");
        assert_eq!(Cell::of(ColumnType::Text, ""), Cell::Empty);
    }

    #[test]
    fn dates_keep_their_time_and_offsets_stay_text() {
        let day = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        assert_eq!(Cell::of(ColumnType::Date, " 2024-03-01 "), Cell::Date("2024-03-01"));
        assert_eq!(calendar("2024-03-01"), Some((day, None)));
        let at = NaiveTime::from_hms_milli_opt(10, 30, 5, 250).unwrap();
        assert_eq!(calendar("2024-03-01T10:30:05.250Z"), Some((day, Some(at))));
        assert_eq!(calendar("2024-03-01 10:30"), Some((day, NaiveTime::from_hms_opt(10, 30, 0))));
        assert_eq!(calendar("2024-03-01T10:30:05+02:00"), None);
    }

    #[test]
    fn numbers_follow_the_json_grammar() {
        for ok in ["0", "-0", "12", "1.5", "-0.25", "1e9", "2E-3", "123456789012345678901234567890"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in ["", "-", "01", ".5", "5.", "+1", "1e", "1.2.3", "0x10", "NaN", "1 000"] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }
}
