//! The upload formats we accept, recognised by file name extension.

use std::path::Path;

crate::text_enum! {
    /// How an uploaded file is read.
    pub enum FileFormat as "format" {
        Csv => "csv",
        Tsv => "tsv",
        Xlsx => "xlsx",
        Jsonl => "jsonl",
        Json => "json",
    }
}

impl FileFormat {
    /// The accepted extensions, for error messages.
    pub const SUPPORTED: &'static str = ".csv, .txt, .tsv, .tab, .xlsx, .jsonl, .ndjson, .json";

    /// From the upload's file name extension, case-insensitive. `.txt` is delimited text, as
    /// Excel's "Text (Tab delimited)" and "Unicode Text" save it (the delimiter is sniffed). Anything
    /// else (no extension, .xls, …) is `None`: guessing a format from content would turn a wrong
    /// upload into odd rows.
    pub fn from_filename(name: &str) -> Option<FileFormat> {
        let extension = Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" | "txt" => Some(FileFormat::Csv),
            "tsv" | "tab" => Some(FileFormat::Tsv),
            "xlsx" => Some(FileFormat::Xlsx),
            "jsonl" | "ndjson" => Some(FileFormat::Jsonl),
            "json" => Some(FileFormat::Json),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FileFormat;

    #[test]
    fn formats_come_from_the_extension_in_any_case() {
        let cases = [
            ("data.csv", Some(FileFormat::Csv)),
            ("DATA.CSV", Some(FileFormat::Csv)),
            ("a.b.tsv", Some(FileFormat::Tsv)),
            ("x.Tab", Some(FileFormat::Tsv)),
            ("book.xlsx", Some(FileFormat::Xlsx)),
            ("rows.jsonl", Some(FileFormat::Jsonl)),
            ("rows.NDJSON", Some(FileFormat::Jsonl)),
            ("rows.json", Some(FileFormat::Json)),
            ("old.xls", None),
            ("notes.txt", Some(FileFormat::Csv)),
            ("report.TXT", Some(FileFormat::Csv)),
            ("setup.exe", None),
            ("csv", None),
            (".csv", None),
            ("", None),
        ];
        for (name, expected) in cases {
            assert_eq!(FileFormat::from_filename(name), expected, "{name}");
        }
    }

    #[test]
    fn formats_serialize_as_their_lowercase_names() {
        for format in [FileFormat::Csv, FileFormat::Tsv, FileFormat::Xlsx, FileFormat::Jsonl, FileFormat::Json] {
            let json = serde_json::to_string(&format).expect("serializes");
            assert_eq!(json, format!("\"{}\"", format.as_str()));
        }
    }
}
