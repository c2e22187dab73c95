//! JSON Lines and JSON arrays.

use super::{parse, refusal, rows};
use crate::imports::parse::{ColumnType, FileFormat};

#[test]
fn json_lines_become_rows_with_the_first_objects_keys_in_file_order() {
    let input = "{\"zeta\": 1, \"alpha\": \"a\"}\n\n{\"alpha\": \"b\"}\n{\"zeta\": 3, \"alpha\": \"c\"}\n";
    let output = parse(FileFormat::Jsonl, input);
    assert_eq!(output.types(), [("zeta", ColumnType::Integer), ("alpha", ColumnType::Text)]);
    assert_eq!(output.csv, "zeta,alpha\n1,a\n,b\n3,c\n");
}

#[test]
fn values_are_rendered_as_text() {
    let input = r#"{"s": "x, \"y\"", "n": 1.50, "e": 2E3, "t": true, "f": false, "z": null, "a": [1, {"k": "v"}], "o": {"b": 1, "a": 2}}"#;
    let output = parse(FileFormat::Jsonl, input);
    assert_eq!(
        output.parsed.preview,
        rows(&[&["x, \"y\"", "1.50", "2E3", "true", "false", "", "[1,{\"k\":\"v\"}]", "{\"b\":1,\"a\":2}"]])
    );
    assert_eq!(output.read_back().1, output.parsed.preview);
}

#[test]
fn a_json_array_is_read_element_by_element() {
    let input = "\u{feff}[\n  {\"name\": \"ann\", \"price\": 2},\n  {\"price\": 3.5, \"name\": \"bob\"}\n]\n";
    let output = parse(FileFormat::Json, input);
    assert_eq!(output.types(), [("name", ColumnType::Text), ("price", ColumnType::Decimal)]);
    assert_eq!(output.parsed.preview, rows(&[&["ann", "2"], &["bob", "3.5"]]));
    assert_eq!(output.parsed.row_count, 2);
}

#[test]
fn a_key_missing_from_the_first_object_is_refused_at_its_line() {
    let input = "[\n {\"name\": \"a\", \"price\": 1},\n {\n  \"name\": \"b\",\n  \"colour\": \"red\"\n }\n]";
    assert_eq!(
        refusal(FileFormat::Json, input.as_bytes()),
        "line 5: key \"colour\" is not in the first object's keys (name, price)"
    );
    let input = "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9}\n{\"x\":1}\n";
    assert_eq!(
        refusal(FileFormat::Jsonl, input.as_bytes()),
        "line 2: key \"x\" is not in the first object's keys (a, b, c, d, e, f, g, h, …)"
    );
}

#[test]
fn elements_that_are_not_objects_are_refused() {
    let input = "[\n{\"a\": 1},\n[1, 2]\n]";
    assert_eq!(refusal(FileFormat::Json, input.as_bytes()), "line 3: expected a JSON object, found an array");
    assert_eq!(refusal(FileFormat::Jsonl, b"{\"a\": 1}\n\"text\"\n"), "line 2: expected a JSON object, found a string");
    assert_eq!(refusal(FileFormat::Jsonl, b"42\n"), "line 1: expected a JSON object, found a number");
}

#[test]
fn malformed_json_names_line_and_column() {
    let input = "[\n{\"a\": 1},\n{\"a\": 2 \"b\": 3}\n]";
    assert_eq!(refusal(FileFormat::Json, input.as_bytes()), "line 3, column 9: expected `,` or `}`");
    let input = "{\"a\": 1}\n\n{\"a\": 2 \"b\": 3}\n";
    assert_eq!(refusal(FileFormat::Jsonl, input.as_bytes()), "line 3, column 9: expected `,` or `}`");
    assert_eq!(refusal(FileFormat::Jsonl, b"{\"a\": 1} x\n"), "line 1, column 10: trailing characters");
    assert_eq!(refusal(FileFormat::Json, b"[{\"a\": 1}"), "line 1, column 9: EOF while parsing a list");
}

#[test]
fn the_top_level_must_be_an_array_or_objects() {
    assert_eq!(
        refusal(FileFormat::Json, b"\n  \"a\""),
        "line 2, column 3: expected a JSON array of objects, found a string"
    );
}

#[test]
fn no_objects_means_an_empty_file() {
    for (format, input) in [
        (FileFormat::Json, ""),
        (FileFormat::Json, " \n "),
        (FileFormat::Json, "[]"),
        (FileFormat::Json, "[\n]\n"),
        (FileFormat::Jsonl, ""),
        (FileFormat::Jsonl, "\n  \n"),
    ] {
        assert_eq!(refusal(format, input.as_bytes()), "the file is empty", "{format:?} {input:?}");
    }
}

#[test]
fn keys_must_be_unique() {
    assert_eq!(refusal(FileFormat::Jsonl, b"{\"a\": 1, \"a\": 2}\n"), "line 1: key \"a\" appears twice in the object");
    assert_eq!(
        refusal(FileFormat::Jsonl, b"{\"a\": 1, \" a\": 2}\n"),
        "line 1: column \"a\" appears twice (columns 1 and 2)"
    );
    assert_eq!(
        refusal(FileFormat::Jsonl, b"{\"a\": 1}\n{\"a\": 1, \"a\": 2}\n"),
        "line 2: key \"a\" appears twice in the object"
    );
}

#[test]
fn an_object_without_keys_cannot_set_the_columns() {
    let message = refusal(FileFormat::Jsonl, b"{}\n");
    assert_eq!(message, "line 1: the first object has no keys, so there are no columns");
}

#[test]
fn an_object_that_never_ends_stops_at_the_record_size_limit() {
    let mut input = b"{\"a\": \"never closed".to_vec();
    input.resize(17 << 20, b'x');
    let message = refusal(FileFormat::Jsonl, &input);
    assert!(message.starts_with("line 1: the line is longer than 16 MiB"), "{message}");
    let mut input = b"[\n{\"a\": \"never closed".to_vec();
    input.resize(17 << 20, b'x');
    let message = refusal(FileFormat::Json, &input);
    assert!(message.starts_with("line 2: one element is longer than 16 MiB"), "{message}");
}

#[test]
fn a_json_file_holding_json_lines_is_read_as_json_lines() {
    let output = parse(FileFormat::Json, "\n{\"id\": 1, \"name\": \"ann\"}\n{\"id\": 2}\n");
    assert_eq!(output.csv, "id,name\n1,ann\n2,\n");
    assert_eq!(output.parsed.read_as.format, Some(FileFormat::Jsonl));
    let message = refusal(FileFormat::Json, b"{\n  \"id\": 1\n}\n");
    assert!(message.starts_with("line 2, column 0: EOF while parsing an object — this .json file"), "{message}");
    assert!(
        message.ends_with(
            "it was read as JSON Lines (one object per line); a single object is not a table: wrap the objects in [ ]"
        ),
        "{message}"
    );
}

#[test]
fn bytes_that_are_not_utf8_are_named_so() {
    let message = refusal(FileFormat::Jsonl, b"{\"a\": \"caf\xe9\"}\n");
    assert!(
        message.starts_with("line 1, column 11: not valid UTF-8 — if the file is in another encoding"),
        "{message}"
    );
}
