//! CSV and TSV.

use std::io::{self, Read, Write};

use super::{options, parse, refusal, rows, try_parse, try_read};
use crate::imports::parse::{ColumnType, FileFormat, PREVIEW_ROWS, ParseError, WarningKind, parse_stream};

#[test]
fn each_delimiter_is_sniffed() {
    for delimiter in [",", ";", "\t", "|"] {
        let input = ["id", "name", "price"].join(delimiter) + "\n" + &["1", "ann", "2.50"].join(delimiter) + "\n";
        let output = parse(FileFormat::Csv, &input);
        assert_eq!(output.csv, "id,name,price\n1,ann,2.50\n", "delimiter {delimiter:?}");
    }
}

#[test]
fn quoted_fields_keep_delimiters_line_breaks_and_doubled_quotes() {
    let output = parse(FileFormat::Csv, "a;b\n\"x;y\";\"line 1\nline 2\"\n\"say \"\"hi\"\"\";2\n");
    assert_eq!(output.parsed.preview, rows(&[&["x;y", "line 1\nline 2"], &["say \"hi\"", "2"]]));
    let (_, back) = output.read_back();
    assert_eq!(back, output.parsed.preview);
}

#[test]
fn a_bom_and_leading_blank_lines_are_dropped_but_lines_are_counted() {
    let strict = options(&[("ragged", "strict")]);
    let message =
        try_read(FileFormat::Csv, &strict, "\u{feff}\n  \nid,name\n1,ann\n2\n".as_bytes()).err().expect("refused");
    assert_eq!(message.to_string(), "line 5: 1 field, the header has 2 (ragged=strict refuses short rows)");
    let output = parse(FileFormat::Csv, "\u{feff}id,name\n1,ann\n");
    assert_eq!(output.parsed.columns[0].name, "id");
}

#[test]
fn tsv_splits_on_tabs_only() {
    let output = parse(FileFormat::Tsv, "name\tnote\nann\ta, b; c|d\n");
    assert_eq!(output.parsed.preview, rows(&[&["ann", "a, b; c|d"]]));
    assert_eq!(output.csv, "name,note\nann,\"a, b; c|d\"\n");
}

#[test]
fn blank_lines_between_rows_are_skipped() {
    let output = parse(FileFormat::Csv, "a,b\n\n1,2\n   \n\r\n3,4\n\n");
    assert_eq!(output.parsed.row_count, 2);
    assert_eq!(output.csv, "a,b\n1,2\n3,4\n");
}

#[test]
fn a_header_without_rows_is_a_dataset_of_zero_rows() {
    let output = parse(FileFormat::Csv, "id,name\n");
    assert_eq!(output.parsed.row_count, 0);
    assert_eq!(output.types(), [("id", ColumnType::Text), ("name", ColumnType::Text)]);
    assert_eq!(output.csv, "id,name\n");
}

#[test]
fn nothing_or_only_whitespace_is_an_empty_file() {
    for input in ["", "\n\n", "  \t \r\n  ", "\u{feff}", "\u{feff} \n"] {
        assert_eq!(refusal(FileFormat::Csv, input.as_bytes()), "the file is empty", "{input:?}");
        assert_eq!(refusal(FileFormat::Tsv, input.as_bytes()), "the file is empty", "{input:?}");
    }
}

#[test]
fn short_rows_are_padded_and_counted_with_the_first_line() {
    let output = parse(FileFormat::Csv, "a,b,c\n1,\"two\nlines\",3\n4,5\n6\n7,8,9\n");
    assert_eq!(output.csv, "a,b,c\n1,\"two\nlines\",3\n4,5,\n6,,\n7,8,9\n");
    let [warning] = &output.parsed.warnings[..] else { panic!("{:?}", output.parsed.warnings) };
    assert_eq!((warning.kind, warning.rows, warning.first_line), (WarningKind::Padded, 2, 4));
    assert_eq!(warning.message, "2 rows shorter than the header, padded with empty values (the first on line 4)");
    assert!(parse(FileFormat::Csv, "a,b\n1,2\n").parsed.warnings.is_empty());
}

#[test]
fn extra_cells_are_dropped_when_empty_and_refused_with_the_line_when_not() {
    let output = parse(FileFormat::Csv, "a,b\n1,2,,\n3,4, \n");
    assert_eq!(output.csv, "a,b\n1,2\n3,4\n");
    assert_eq!(output.parsed.warnings[0].kind, WarningKind::Trimmed);
    assert_eq!(
        output.parsed.warnings[0].message,
        "2 rows had empty cells past the header's columns, dropped (the first on line 2)"
    );
    let message = refusal(FileFormat::Csv, b"a,b\n1,2\n3,4,,note\n");
    assert_eq!(
        message,
        "line 3: 4 fields, the header has 2, and field 4 holds \"note\" — add its column to the header, or send \
         ragged=trim to drop cells past the header's columns"
    );
    let trimmed = try_read(FileFormat::Csv, &options(&[("ragged", "trim")]), b"a,b\n1,2,x\n3\n").expect("trims");
    assert_eq!(trimmed.csv, "a,b\n1,2\n3,\n");
    let kinds: Vec<_> = trimmed.parsed.warnings.iter().map(|w| (w.kind, w.rows)).collect();
    assert_eq!(kinds, [(WarningKind::Padded, 1), (WarningKind::Trimmed, 1)]);
}

#[test]
fn invalid_utf8_names_line_and_column_and_the_encoding_field() {
    let hint = " — if the file is in another encoding, name it in the upload's encoding field (for example \
                encoding=windows-1252, which Excel uses for CSV on Western European Windows)";
    let message = refusal(FileFormat::Csv, b"id,name\n1,ok\n2,caf\xe9\n");
    assert_eq!(message, format!("line 3, column \"name\": not valid UTF-8{hint}"));
    let message = refusal(FileFormat::Csv, b"id,n\xe4me\n1,2\n");
    assert_eq!(message, format!("line 1, column 2: not valid UTF-8{hint}"));
}

#[test]
fn a_named_encoding_is_decoded() {
    let output = try_read(FileFormat::Csv, &options(&[("encoding", "windows-1252")]), b"id;name\n1;caf\xe9 \x80\n")
        .expect("decodes");
    assert_eq!(output.csv, "id,name\n1,café €\n");
    assert_eq!(output.parsed.read_as.encoding.as_deref(), Some("windows-1252"));
    assert_eq!(output.parsed.read_as.delimiter.as_deref(), Some(";"));
}

#[test]
fn utf16_with_a_bom_is_decoded_without_being_asked() {
    let text = "id\tprix\n1\t2,50 €\n";
    let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let output = try_parse(FileFormat::Tsv, &le).expect("decodes");
    assert_eq!(output.csv, "id,prix\n1,\"2,50 €\"\n");
    assert_eq!(output.parsed.read_as.encoding.as_deref(), Some("utf-16le"));
    let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect();
    assert_eq!(try_parse(FileFormat::Csv, &be).expect("decodes").csv, output.csv);
}

#[test]
fn a_given_delimiter_is_used_and_aligned_columns_split_on_runs_of_spaces() {
    let output = try_read(FileFormat::Csv, &options(&[("delimiter", "~")]), b"id~name\n1~a,b\n").expect("splits");
    assert_eq!(output.parsed.preview, rows(&[&["1", "a,b"]]));
    let aligned = b"  id   name    price\n  1    ann     2.50\n  22   bob     3 \n";
    let message = refusal(FileFormat::Csv, aligned);
    assert!(message.contains("send delimiter=whitespace"), "{message}");
    let output = try_read(FileFormat::Csv, &options(&[("delimiter", "whitespace")]), aligned).expect("splits");
    assert_eq!(output.csv, "id,name,price\n1,ann,2.50\n22,bob,3\n");
    assert_eq!(output.parsed.read_as.delimiter.as_deref(), Some("whitespace"));
}

#[test]
fn header_names_are_trimmed_numbered_and_unique() {
    let output = parse(FileFormat::Csv, " id ,,price\n1,2,3\n");
    let names: Vec<&str> = output.types().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["id", "column_2", "price"]);
    let message = refusal(FileFormat::Csv, b"id,price,a,b,price\n");
    assert_eq!(message, "line 1: column \"price\" appears twice (columns 2 and 5)");
}

#[test]
fn column_types_are_inferred() {
    let output = parse(
        FileFormat::Csv,
        "n,x,ok,day,name,blank\n1,1.5,yes,2024-01-02,ann,\n-2,3,No,2024-01-03T10:00,bob,\n,,,,,\n",
    );
    assert_eq!(
        output.types(),
        [
            ("n", ColumnType::Integer),
            ("x", ColumnType::Decimal),
            ("ok", ColumnType::Boolean),
            ("day", ColumnType::Date),
            ("name", ColumnType::Text),
            ("blank", ColumnType::Text),
        ]
    );
}

#[test]
fn output_reads_back_to_the_same_values() {
    let input = "text,n\n\"a,b\",1\n\"quote \"\"q\"\"\",2\n\"multi\nline\",3\n ,4\n";
    let output = parse(FileFormat::Csv, input);
    let (header, back) = output.read_back();
    assert_eq!(header, ["text", "n"]);
    assert_eq!(back, rows(&[&["a,b", "1"], &["quote \"q\"", "2"], &["multi\nline", "3"], &[" ", "4"]]));
    assert_eq!(back, output.parsed.preview);
}

#[test]
fn a_single_empty_column_survives_the_round_trip() {
    let output = parse(FileFormat::Csv, "only\n\"\"\nx\n");
    assert_eq!(output.parsed.row_count, 2);
    assert_eq!(output.read_back().1, rows(&[&[""], &["x"]]));
}

#[test]
fn the_preview_holds_the_first_rows_only() {
    let input: String = std::iter::once("n\n".to_string()).chain((0..120).map(|i| format!("{i}\n"))).collect();
    let output = parse(FileFormat::Csv, &input);
    assert_eq!(output.parsed.row_count, 120);
    assert_eq!(output.parsed.preview.len(), PREVIEW_ROWS);
    assert_eq!(output.parsed.preview[49], ["49"]);
}

#[test]
fn progress_rises_to_one() {
    let mut input = String::from("id,text\n");
    while input.len() < 3 << 20 {
        input.push_str("12345,some text to fill the file\n");
    }
    let output = parse(FileFormat::Csv, &input);
    assert!(output.progress.len() >= 3, "{:?}", output.progress);
    assert!(output.progress.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(output.progress.last(), Some(&1.0));
    assert_eq!(output.progress.iter().filter(|&&f| f == 1.0).count(), 1);
}

#[test]
fn an_unclosed_quote_stops_at_the_record_size_limit() {
    let mut input = b"a,b\n1,\"never closed".to_vec();
    input.resize(17 << 20, b'x');
    let message = refusal(FileFormat::Csv, &input);
    assert!(message.starts_with("line 2: one row is longer than 16 MiB"), "{message}");
}

struct Failing;

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("disk gone"))
    }
}

impl Write for Failing {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("disk full"))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn storage_failures_are_io_errors_not_the_files_fault() {
    let result = parse_stream(FileFormat::Csv, &Default::default(), Failing, 10, Vec::new(), &mut |_| {});
    assert!(matches!(result, Err(ParseError::Io(_))), "{result:?}");
    let result = parse_stream(FileFormat::Csv, &Default::default(), &b"a\n1\n"[..], 4, Failing, &mut |_| {});
    assert!(matches!(result, Err(ParseError::Io(_))), "{result:?}");
}

#[test]
fn xlsx_is_not_parsed_as_a_stream() {
    assert!(matches!(try_parse(FileFormat::Xlsx, b"PK"), Err(ParseError::Invalid(_))));
}

#[test]
fn lines_are_counted_right_in_files_ending_lines_with_crlf() {
    let strict = options(&[("ragged", "strict")]);
    let input = b"a;b\r\n1;\"x\r\ny\"\r\n\r\n3\r\n";
    let message = try_read(FileFormat::Csv, &strict, input).err().expect("refused").to_string();
    assert!(message.starts_with("line 5: 1 field"), "{message}");
    let message = refusal(FileFormat::Csv, b"\r\na;b\r\n1;caf\xe9\r\n");
    assert!(message.starts_with("line 3, column \"b\""), "{message}");
}

#[test]
fn lines_after_blank_lines_and_at_the_end_are_named_right() {
    let strict = options(&[("ragged", "strict")]);
    let refused = |input: &[u8]| try_read(FileFormat::Csv, &strict, input).err().expect("refused").to_string();
    assert!(refused(b"a;b\n\n\n3\n").starts_with("line 4: "));
    assert!(refused(b"a;b\n1;2\n3").starts_with("line 3: "));
    assert!(refused(b"a;b\n\"x\ny\"\n").starts_with("line 2: "));
    assert!(refused(b"a;b\r\n1;2\r\n3").starts_with("line 3: "));
}

#[test]
fn comma_rows_are_kept_as_read_and_changed_rows_rewritten_in_order() {
    let output = parse(FileFormat::Csv, "a,b\r\n\"x\",y\r\n1\r\n\r\n\"q\"\"\",2");
    // the header is written anew; rows that need no change keep their quotes and line ends
    assert_eq!(output.csv, "a,b\n\"x\",y\r\n1,\n\"q\"\"\",2\n");
    let (header, rows) = output.read_back();
    assert_eq!(header, ["a", "b"]);
    assert_eq!(rows, [["x", "y"], ["1", ""], ["q\"", "2"]]);
    // other delimiters are always written anew, with commas
    assert_eq!(parse(FileFormat::Csv, "a;b\n\"x;1\";\"y,2\"\n").csv, "a,b\nx;1,\"y,2\"\n");
}
