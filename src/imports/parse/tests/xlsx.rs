//! XLSX, with workbooks written by rust_xlsxwriter into temporary files.

use std::io::Write;
use std::path::PathBuf;

use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook, Worksheet};

use super::{read_back, rows};
use crate::imports::parse::{ColumnType, Limits, ParseError, Parsed, ReadOptions, parse_xlsx};

/// A file under the temp directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> Self {
        let path = std::env::temp_dir().join(format!("jobwatch-parse-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).expect("temp file written");
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn workbook(name: &str, fill: impl FnOnce(&mut Worksheet) -> Result<(), rust_xlsxwriter::XlsxError>) -> TempFile {
    let mut book = Workbook::new();
    fill(book.add_worksheet()).expect("cells written");
    TempFile::new(name, &book.save_to_buffer().expect("workbook saved"))
}

fn try_parse(file: &TempFile, limits: &Limits) -> Result<(Parsed, String), ParseError> {
    try_read(file, &ReadOptions::default(), limits)
}

fn try_read(file: &TempFile, options: &ReadOptions, limits: &Limits) -> Result<(Parsed, String), ParseError> {
    let mut csv = Vec::new();
    let mut progress = Vec::new();
    let parsed = parse_xlsx(&file.0, options, limits, &mut csv, &mut |f| progress.push(f))?;
    assert_eq!(progress.last(), Some(&1.0));
    Ok((parsed, String::from_utf8(csv).expect("UTF-8")))
}

fn refusal(file: &TempFile, limits: &Limits) -> String {
    match try_parse(file, limits) {
        Err(ParseError::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn cells_become_text_and_types_are_inferred() {
    let file = workbook("values.xlsx", |sheet| {
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        for (col, name) in ["name", "count", "price", "ok", "day", "at"].into_iter().enumerate() {
            sheet.write_string(0, col as u16, name)?;
        }
        sheet.write_string(1, 0, "ann")?;
        sheet.write_number(1, 1, 3.0)?;
        sheet.write_number(1, 2, 2.25)?;
        sheet.write_boolean(1, 3, true)?;
        sheet.write_datetime_with_format(1, 4, &ExcelDateTime::from_ymd(2024, 2, 29)?, &date)?;
        let at = ExcelDateTime::from_ymd(2024, 1, 15)?.and_hms(10, 30, 5)?;
        sheet.write_datetime_with_format(1, 5, &at, &stamp)?;
        sheet.write_string(2, 0, "bob, jr")?;
        sheet.write_number(2, 1, -7.0)?;
        sheet.write_number(2, 2, 0.1)?;
        sheet.write_boolean(2, 3, false)?;
        let midnight = ExcelDateTime::from_ymd(2024, 3, 1)?;
        sheet.write_datetime_with_format(2, 5, &midnight, &stamp)?;
        Ok(())
    });
    let (parsed, csv) = try_parse(&file, &Limits::default()).expect("parses");
    let expected = rows(&[
        &["ann", "3", "2.25", "true", "2024-02-29", "2024-01-15T10:30:05"],
        &["bob, jr", "-7", "0.1", "false", "", "2024-03-01"],
    ]);
    assert_eq!(parsed.preview, expected);
    assert_eq!(read_back(&csv).1, expected);
    let types: Vec<ColumnType> = parsed.columns.iter().map(|c| c.column_type).collect();
    use ColumnType::*;
    assert_eq!(types, [Text, Integer, Decimal, Boolean, Date, Date]);
}

#[test]
fn short_rows_are_padded_and_empty_rows_skipped() {
    let file = workbook("padding.xlsx", |sheet| {
        sheet.write_string(1, 0, "a")?;
        sheet.write_string(1, 2, "c")?;
        sheet.write_string(2, 0, "1")?;
        sheet.write_string(4, 1, "2")?;
        sheet.write_blank(5, 2, &Format::new().set_bold())?;
        Ok(())
    });
    let (parsed, csv) = try_parse(&file, &Limits::default()).expect("parses");
    assert_eq!(csv, "a,column_2,c\n1,,\n,2,\n");
    assert_eq!(parsed.row_count, 2);
}

#[test]
fn an_error_cell_is_refused_by_its_name() {
    let file = workbook("error.xlsx", |sheet| {
        sheet.write_string(0, 0, "a")?;
        sheet.write_string(0, 2, "c")?;
        sheet.write_formula(6, 2, Formula::new("=1/0").set_result("#DIV/0!"))?;
        Ok(())
    });
    assert_eq!(refusal(&file, &Limits::default()), "cell C7: the cell holds the error #DIV/0!");
}

#[test]
fn a_value_beyond_the_header_is_refused_unless_trimmed() {
    let file = workbook("wide.xlsx", |sheet| {
        for col in 0..4 {
            sheet.write_string(0, col, format!("h{col}"))?;
        }
        sheet.write_number(3, 0, 1.0)?;
        sheet.write_number(3, 5, 1.0)?;
        sheet.write_string(8, 5, "only a note")?;
        Ok(())
    });
    assert_eq!(
        refusal(&file, &Limits::default()),
        "cell F4: a value in column F, but the header has only 4 columns — add its column to the header, or \
         send ragged=trim to drop cells past the header's columns"
    );
    let mut trim = ReadOptions::default();
    trim.set("ragged", "trim").expect("valid");
    let (parsed, csv) = try_read(&file, &trim, &Limits::default()).expect("trims");
    assert_eq!(csv, "h0,h1,h2,h3\n1,,,\n");
    assert_eq!((parsed.warnings[0].rows, parsed.warnings[0].first_line), (2, 4));
}

/// A workbook of several sheets, each given as (name, its cells as rows of text).
fn book(name: &str, sheets: &[(&str, &[&[&str]])]) -> TempFile {
    let mut book = Workbook::new();
    for (sheet_name, cells) in sheets {
        let sheet = book.add_worksheet().set_name(*sheet_name).expect("sheet named");
        for (r, row) in cells.iter().enumerate() {
            for (c, text) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, *text).expect("cell written");
            }
        }
    }
    TempFile::new(name, &book.save_to_buffer().expect("workbook saved"))
}

#[test]
fn the_first_sheet_holding_a_value_is_read_and_recorded() {
    let file =
        book("sheets.xlsx", &[("Cover", &[]), ("Prices", &[&["sku", "price"], &["a1", "2"]]), ("Notes", &[&["x"]])]);
    let (parsed, csv) = try_parse(&file, &Limits::default()).expect("parses");
    assert_eq!(csv, "sku,price\na1,2\n");
    assert_eq!(parsed.read_as.sheet.as_deref(), Some("Prices"));
    let empty = book("blank.xlsx", &[("One", &[]), ("Two", &[])]);
    assert_eq!(
        refusal(&empty, &Limits::default()),
        "the file is empty: none of its 2 sheets (\"One\", \"Two\") holds a value"
    );
}

#[test]
fn a_sheet_is_chosen_by_name_or_position_and_an_unknown_one_lists_them() {
    let file = book("pick.xlsx", &[("Prices", &[&["a"], &["1"]]), ("Stock", &[&["b"], &["2"]])]);
    for wanted in ["Stock", "stock", "2"] {
        let mut options = ReadOptions::default();
        options.set("sheet", wanted).expect("valid");
        let (parsed, csv) = try_read(&file, &options, &Limits::default()).expect("parses");
        assert_eq!((csv.as_str(), parsed.read_as.sheet.as_deref()), ("b\n2\n", Some("Stock")), "{wanted}");
    }
    let mut options = ReadOptions::default();
    options.set("sheet", "3").expect("valid");
    let message = match try_read(&file, &options, &Limits::default()) {
        Err(ParseError::Invalid(message)) => message,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        message,
        "no sheet \"3\" in this file: its sheets are \"Prices\", \"Stock\" (name one, or give its position, 1 to 2)"
    );
}

#[test]
fn duplicate_header_names_are_refused_with_the_row() {
    let file = workbook("dup.xlsx", |sheet| {
        sheet.write_string(2, 0, "x")?;
        sheet.write_string(2, 1, "x ")?;
        Ok(())
    });
    assert_eq!(refusal(&file, &Limits::default()), "row 3: column \"x\" appears twice (columns 1 and 2)");
}

#[test]
fn a_sheet_without_values_is_an_empty_file() {
    let file = workbook("empty.xlsx", |_| Ok(()));
    assert_eq!(refusal(&file, &Limits::default()), "the file is empty");
}

#[test]
fn a_file_that_is_not_a_zip_is_unreadable() {
    let file = TempFile::new("garbage.xlsx", b"name,price\n1,2\n");
    let message = refusal(&file, &Limits::default());
    assert!(message.starts_with("not a readable XLSX file: "), "{message}");
}

/// A zip with one entry of zeros, which deflate shrinks about a thousandfold.
fn zeros_zip(name: &str, size: usize) -> TempFile {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("xl/worksheets/sheet1.xml", options).expect("entry started");
    zip.write_all(&vec![0u8; size]).expect("entry written");
    TempFile::new(name, &zip.finish().expect("zip finished").into_inner())
}

#[test]
fn a_highly_compressed_entry_is_refused_as_a_possible_zip_bomb() {
    let file = zeros_zip("bomb.xlsx", 8 << 20);
    let message = refusal(&file, &Limits::default());
    assert!(message.contains("unpacks from") && message.contains("to 8.0 MiB"), "{message}");
    assert!(message.ends_with("it may be a zip bomb or damaged"), "{message}");
}

#[test]
fn a_file_unpacking_past_the_limit_is_refused() {
    let file = workbook("big.xlsx", |sheet| sheet.write_string(0, 0, "a").map(|_| ()));
    let limits = Limits { xlsx_max_unpacked: 1024, ..Limits::default() };
    let message = refusal(&file, &limits);
    assert!(message.contains("more than the 1.0 KiB allowed — it may be a zip bomb or damaged"), "{message}");
}

#[test]
fn too_many_distinct_texts_to_hold_are_refused_with_a_way_out() {
    let file = workbook("texts.xlsx", |sheet| {
        (0..100).try_for_each(|r| sheet.write_string(r, 0, format!("text number {r}")).map(|_| ()))
    });
    let limits = Limits { xlsx_max_shared_strings: 100, ..Limits::default() };
    let message = refusal(&file, &limits);
    assert!(message.contains("distinct texts") && message.contains("save the sheet as CSV"), "{message}");
}
