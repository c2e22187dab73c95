//! How an upload asks its file to be read (the form fields `sheet`, `delimiter`, `encoding` and
//! `ragged`), and what a parse reports about how it read the file.
//!
//! The fields are checked when the upload arrives, so a wrong one is a 422 before any byte is
//! stored; the job carries them in its metadata to the worker that parses.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FileFormat;

crate::text_enum! {
    /// What to do with a row whose field count differs from the header's.
    pub enum Ragged as "ragged" {
        Pad => "pad",
        Trim => "trim",
        Strict => "strict",
    }
}

impl Default for Ragged {
    /// Short rows padded (exporters drop trailing empty cells), extra cells holding data refused.
    fn default() -> Self {
        Ragged::Pad
    }
}

/// What splits the fields of a CSV or TSV file; kept as the name [`Delimiter::name`] gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Delimiter {
    Byte(u8),
    /// Runs of spaces and tabs, as in a column-aligned text file; leading and trailing ones ignored.
    Whitespace,
}

impl Delimiter {
    /// From the `delimiter` field: one character, or a name for one (`tab`, `space`, …), or
    /// `whitespace`.
    pub fn parse(text: &str) -> Result<Delimiter, String> {
        let named = match text.to_ascii_lowercase().as_str() {
            "tab" | "\\t" => Some(b'\t'),
            "comma" => Some(b','),
            "semicolon" => Some(b';'),
            "pipe" => Some(b'|'),
            "space" => Some(b' '),
            "whitespace" => return Ok(Delimiter::Whitespace),
            _ => None,
        };
        if let Some(byte) = named {
            return Ok(Delimiter::Byte(byte));
        }
        match text.as_bytes() {
            [byte] if *byte == b'\t' || (byte.is_ascii_punctuation() && *byte != b'"') || *byte == b' ' => {
                Ok(Delimiter::Byte(*byte))
            }
            _ => Err(format!(
                "delimiter must be one character such as , ; | or a space (not a quote, letter or digit), \
                 or one of: tab, comma, semicolon, pipe, space, whitespace (runs of spaces); got \"{}\"",
                crate::text_enum::truncate_for_message(text)
            )),
        }
    }

    /// The form a person would type back in.
    pub fn name(self) -> String {
        match self {
            Delimiter::Byte(b'\t') => "tab".into(),
            Delimiter::Byte(b' ') => "space".into(),
            Delimiter::Byte(byte) => char::from(byte).to_string(),
            Delimiter::Whitespace => "whitespace".into(),
        }
    }
}

impl TryFrom<String> for Delimiter {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Delimiter::parse(&text)
    }
}

impl From<Delimiter> for String {
    fn from(delimiter: Delimiter) -> String {
        delimiter.name()
    }
}

/// A text encoding by its WHATWG label (`windows-1252`, `latin1`, `utf-16le`, …), kept by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Encoding(pub &'static encoding_rs::Encoding);

impl Encoding {
    pub fn parse(label: &str) -> Result<Encoding, String> {
        encoding_rs::Encoding::for_label_no_replacement(label.trim().as_bytes()).map(Encoding).ok_or_else(|| {
            format!(
                "unknown encoding \"{}\": use a WHATWG label such as utf-8, windows-1252, latin1, iso-8859-15, \
                 utf-16le, shift_jis",
                crate::text_enum::truncate_for_message(label)
            )
        })
    }

    pub fn is_utf8(self) -> bool {
        self.0 == encoding_rs::UTF_8
    }

    /// The encoding's canonical name, lowercase (`windows-1252`).
    pub fn name(self) -> String {
        self.0.name().to_ascii_lowercase()
    }
}

impl TryFrom<String> for Encoding {
    type Error = String;
    fn try_from(label: String) -> Result<Self, String> {
        Encoding::parse(&label)
    }
}

impl From<Encoding> for String {
    fn from(encoding: Encoding) -> String {
        encoding.name()
    }
}

/// The upload's reading instructions, as kept in its job's metadata (`read`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadOptions {
    /// XLSX: a sheet's name, or its 1-based position. Unset: the first sheet holding a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// CSV: unset, sniffed from the start of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<Delimiter>,
    /// Text formats: unset, UTF-8 (or UTF-16 with a byte order mark).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
    #[serde(default)]
    pub ragged: Ragged,
}

impl ReadOptions {
    /// Sets one form field; `Ok(false)` when `name` is not a reading field.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let value = value.trim_matches(['\r', '\n']);
        match name {
            "sheet" => {
                let sheet = value.trim();
                if sheet.is_empty() || sheet.chars().any(char::is_control) {
                    return Err("sheet must name a sheet or give its position (1 for the first), without \
                                control characters"
                        .into());
                }
                self.sheet = Some(sheet.to_owned());
            }
            "delimiter" => self.delimiter = Some(Delimiter::parse(value)?),
            "encoding" => self.encoding = Some(Encoding::parse(value)?),
            "ragged" => {
                self.ragged = value.trim().parse().map_err(|e: crate::text_enum::UnknownValue| e.to_string())?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Refuses fields that do not apply to the file's format, rather than ignoring them.
    pub fn check_for(&self, format: FileFormat) -> Result<(), String> {
        let text = !matches!(format, FileFormat::Xlsx);
        if self.sheet.is_some() && text {
            return Err(format!("sheet applies to XLSX files only, and this is a {} file", format.as_str()));
        }
        if self.delimiter.is_some() && !matches!(format, FileFormat::Csv | FileFormat::Tsv) {
            return Err(format!("delimiter applies to CSV and TSV files only, and this is a {} file", format.as_str()));
        }
        if self.encoding.is_some() && !text {
            return Err("encoding applies to text files only: an XLSX file says its own".into());
        }
        if self.ragged != Ragged::Pad && !matches!(format, FileFormat::Csv | FileFormat::Tsv | FileFormat::Xlsx) {
            return Err(format!(
                "ragged applies to CSV, TSV and XLSX files only, and this is a {} file",
                format.as_str()
            ));
        }
        Ok(())
    }
}

/// How the file was read, as the dataset records it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReadAs {
    /// The format the content was read as: `jsonl` for a `.json` file holding JSON Lines.
    #[schema(value_type = Option<String>, example = "csv")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<FileFormat>,
    /// XLSX: the sheet's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// CSV and TSV: what split the fields (`,`, `;`, `tab`, `whitespace`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Text formats: the encoding decoded from (`utf-8`, `utf-16le`, `windows-1252`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

crate::text_enum! {
    /// A kind of change made to rows while reading them.
    pub enum WarningKind as "warning" {
        Padded => "padded",
        Trimmed => "trimmed",
    }
}

/// Something the parse changed so the file could be read: rows padded or trimmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Warning {
    /// `padded`: rows shorter than the header, filled with empty values; `trimmed`: extra cells
    /// dropped (empty ones always, ones holding data with `ragged=trim`).
    #[schema(value_type = String, example = "padded")]
    pub kind: WarningKind,
    /// How many rows.
    pub rows: u64,
    /// The first such row's line (CSV, TSV) or row number (XLSX).
    pub first_line: u64,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::{Delimiter, Encoding, Ragged, ReadOptions};
    use crate::imports::parse::FileFormat;

    #[test]
    fn delimiters_are_one_character_or_a_name() {
        assert_eq!(Delimiter::parse(";"), Ok(Delimiter::Byte(b';')));
        assert_eq!(Delimiter::parse("\t"), Ok(Delimiter::Byte(b'\t')));
        assert_eq!(Delimiter::parse("TAB"), Ok(Delimiter::Byte(b'\t')));
        assert_eq!(Delimiter::parse(" "), Ok(Delimiter::Byte(b' ')));
        assert_eq!(Delimiter::parse("whitespace"), Ok(Delimiter::Whitespace));
        for bad in ["", "ab", "\"", "x", "7", "é", "\n"] {
            assert!(Delimiter::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Delimiter::Byte(b'\t').name(), "tab");
        assert_eq!(Delimiter::Byte(b';').name(), ";");
    }

    #[test]
    fn encodings_are_whatwg_labels() {
        assert_eq!(Encoding::parse("latin1").map(Encoding::name), Ok("windows-1252".into()));
        assert_eq!(Encoding::parse(" UTF-16LE ").map(Encoding::name), Ok("utf-16le".into()));
        assert!(Encoding::parse("klingon").unwrap_err().contains("unknown encoding \"klingon\""));
        // the "replacement" encoding decodes everything to one error character
        assert!(Encoding::parse("iso-2022-kr").is_err());
    }

    #[test]
    fn fields_are_checked_against_the_format() {
        let mut options = ReadOptions::default();
        assert_eq!(options.set("sheet", "Prices"), Ok(true));
        assert_eq!(options.set("supplier_id", "x"), Ok(false));
        assert!(options.check_for(FileFormat::Xlsx).is_ok());
        assert!(options.check_for(FileFormat::Csv).unwrap_err().starts_with("sheet applies to XLSX"));
        let mut options = ReadOptions::default();
        options.set("ragged", "trim").expect("valid");
        assert_eq!(options.ragged, Ragged::Trim);
        assert!(options.check_for(FileFormat::Json).is_err());
        assert!(options.set("ragged", "loose").unwrap_err().contains("expected one of: pad, trim, strict"));
        // PostgreSQL cannot keep a NUL in the job's metadata
        assert!(options.set("sheet", "a\u{0}b").unwrap_err().contains("without control characters"));
    }

    #[test]
    fn options_survive_the_job_metadata() {
        let mut options = ReadOptions::default();
        options.set("delimiter", "tab").expect("valid");
        options.set("encoding", "cp1252").expect("valid");
        let json = serde_json::to_value(&options).expect("serializes");
        assert_eq!(json, serde_json::json!({"delimiter": "tab", "encoding": "windows-1252", "ragged": "pad"}));
        assert_eq!(serde_json::from_value::<ReadOptions>(json).expect("reads back"), options);
    }
}
