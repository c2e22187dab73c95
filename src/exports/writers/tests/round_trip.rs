//! For generated datasets (unicode, empty strings, blanks, quotes, delimiters and line breaks in
//! text, huge and tiny numbers, dates with and without a time): import the CSV, export it as each
//! format, import the export, and the columns, their types and the values are the same.
//!
//! "The same" allows what a format cannot tell apart: a spreadsheet keeps numbers as binary
//! floats (`1.50` comes back `1.5`, and a decimal column of whole numbers, `2.0`, comes back as
//! integers), booleans as true/false (`yes` comes back `true`), a date at midnight as the date; and
//! it has no row without a value (such rows are left out of its check). JSON Lines of no rows is an
//! empty file, which names no columns.

use crate::exports::ExportFormat;
use crate::exports::writers::write_rows;
use crate::imports::parse::{ColumnType, FileFormat, Limits, Parsed, ReadOptions, parse_stream, parse_xlsx};
use chrono::NaiveDateTime;
use proptest::prelude::*;

/// A column: the kind of values generated for it.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Integer,
    Decimal,
    Boolean,
    Date,
    Text,
}

fn value(kind: Kind) -> BoxedStrategy<String> {
    let empty = Just(String::new());
    match kind {
        Kind::Integer => {
            prop_oneof![any::<i64>().prop_map(|i| i.to_string()), (-1000i64..1000).prop_map(|i| i.to_string()), empty,]
                .boxed()
        }
        Kind::Decimal => prop_oneof![
            (any::<i32>(), 0u32..10_000).prop_map(|(a, b)| format!("{a}.{b:04}")),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:?}")),
            (1u32..999).prop_map(|e| format!("1.5e{e}")),
            empty,
        ]
        .boxed(),
        Kind::Boolean => {
            prop_oneof![Just("true"), Just("false"), Just("yes"), Just("No"), Just("")].prop_map(str::to_owned).boxed()
        }
        Kind::Date => prop_oneof![
            (1000i32..9999, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
            (1900i32..9999, 1u32..=12, 1u32..=28, 0u32..24, 0u32..60, 0u32..60)
                .prop_map(|(y, mo, d, h, mi, s)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")),
            empty,
        ]
        .boxed(),
        Kind::Text => prop_oneof![
            "\\PC{0,12}",
            Just("say \"hi\", then; leave|".to_owned()),
            Just("two\nlines".to_owned()),
            Just("tab\there\r\nand a CR\rend".to_owned()),
            Just("bell \u{7} and _x0041_".to_owned()),
            Just("  padded  ".to_owned()),
            Just("  ".to_owned()),
            Just("日本語 ✓ é".to_owned()),
            Just("007".to_owned()),
            empty,
        ]
        .boxed(),
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Integer), Just(Kind::Decimal), Just(Kind::Boolean), Just(Kind::Date), Just(Kind::Text)]
}

/// A CSV file: a header of unique names, then 1 to 12 rows.
fn dataset() -> impl Strategy<Value = String> {
    prop::collection::vec(kind(), 1..6).prop_flat_map(|kinds| {
        let row = kinds.iter().map(|&k| value(k)).collect::<Vec<_>>();
        prop::collection::vec(row, 1..12).prop_map(move |rows| {
            let mut out = csv::Writer::from_writer(Vec::new());
            out.write_record((0..kinds.len()).map(|i| format!("col é{i}"))).unwrap();
            for row in rows {
                out.write_record(&row).unwrap();
            }
            String::from_utf8(out.into_inner().unwrap()).unwrap()
        })
    })
}

fn import_text(format: FileFormat, bytes: &[u8]) -> (Parsed, Vec<u8>) {
    let mut rows = Vec::new();
    let parsed = parse_stream(format, &ReadOptions::default(), bytes, bytes.len() as u64, &mut rows, &mut |_| {})
        .unwrap_or_else(|e| panic!("{format:?} import: {e}\n{}", String::from_utf8_lossy(bytes)));
    (parsed, rows)
}

fn records(rows: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(rows);
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

/// Values as a column's type reads them, so that equal values compare equal.
fn normal(column_type: ColumnType, text: &str) -> String {
    let t = text.trim();
    let typed = match column_type {
        // whole decimals compare with integers (XLSX gives them back as such)
        ColumnType::Integer | ColumnType::Decimal => t.parse::<f64>().ok().map(|f| format!("{:?}", f + 0.0)),
        ColumnType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "yes" => Some("true".into()),
            "false" | "no" => Some("false".into()),
            _ => None,
        },
        ColumnType::Date => NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
            .or_else(|_| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap()))
            .ok()
            .map(|at| at.to_string()),
        ColumnType::Text => None,
    };
    match typed {
        Some(value) => value,
        // blanks are no value in a typed column
        None if column_type != ColumnType::Text && t.is_empty() => String::new(),
        None => text.to_owned(),
    }
}

fn normalized(parsed: &Parsed, rows: &[Vec<String>]) -> Vec<Vec<String>> {
    let types: Vec<ColumnType> = parsed.columns.iter().map(|c| c.column_type).collect();
    rows.iter().map(|row| row.iter().zip(&types).map(|(v, &t)| normal(t, v)).collect()).collect()
}

fn export(format: ExportFormat, parsed: &Parsed, rows: &[u8]) -> (Parsed, Vec<u8>) {
    match format {
        // a CSV export is the stored rows as they are
        ExportFormat::Csv => import_text(FileFormat::Csv, rows),
        ExportFormat::Jsonl => {
            let mut out = Vec::new();
            write_rows(format, &parsed.columns, rows, &mut out, None, &mut |_| {}).expect("exports");
            import_text(FileFormat::Jsonl, &out)
        }
        ExportFormat::Xlsx => {
            let file = tempfile::Builder::new().suffix(".xlsx").tempfile().expect("temp file");
            write_rows(format, &parsed.columns, rows, std::io::sink(), Some(file.path()), &mut |_| {})
                .expect("exports");
            let mut back = Vec::new();
            let parsed = parse_xlsx(file.path(), &ReadOptions::default(), &Limits::default(), &mut back, &mut |_| {})
                .unwrap_or_else(|e| panic!("XLSX import: {e}"));
            (parsed, back)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_format_gives_back_the_dataset(csv in dataset()) {
        let (original, rows) = import_text(FileFormat::Csv, csv.as_bytes());
        let expected = normalized(&original, &records(&rows));
        for format in [ExportFormat::Csv, ExportFormat::Jsonl, ExportFormat::Xlsx] {
            if format == ExportFormat::Jsonl && original.row_count == 0 {
                continue;
            }
            let (back, back_rows) = export(format, &original, &rows);
            let mut columns = original.columns.clone();
            if format == ExportFormat::Xlsx {
                for (column, came_back) in columns.iter_mut().zip(&back.columns) {
                    if (column.column_type, came_back.column_type) == (ColumnType::Decimal, ColumnType::Integer) {
                        column.column_type = ColumnType::Integer;
                    }
                }
            }
            prop_assert_eq!(&back.columns, &columns, "{:?} columns\n{}", format, csv);
            let mut want = expected.clone();
            if format == ExportFormat::Xlsx {
                want.retain(|row| row.iter().any(|v| !v.is_empty()));
            }
            prop_assert_eq!(normalized(&back, &records(&back_rows)), want, "{:?} values\n{}", format, csv);
        }
    }
}

#[test]
fn json_lines_keep_the_column_order_and_number_text() {
    let csv = "zeta,alpha,n\nz,a,1.50\n";
    let (parsed, rows) = import_text(FileFormat::Csv, csv.as_bytes());
    let mut out = Vec::new();
    write_rows(ExportFormat::Jsonl, &parsed.columns, &rows[..], &mut out, None, &mut |_| {}).expect("exports");
    assert_eq!(String::from_utf8(out).unwrap(), "{\"zeta\":\"z\",\"alpha\":\"a\",\"n\":1.50}\n");
}
