//! Text uploads as UTF-8: a UTF-16 byte order mark, or the upload's `encoding` field, transcodes the
//! stream as it is read; anything else passes through untouched (and is checked for UTF-8 row by row,
//! where a bad byte can be named by its line).

use std::io::{self, Cursor, Read};

use encoding_rs_io::DecodeReaderBytesBuilder;

use super::options::Encoding;

/// The input as UTF-8, and the name of the encoding it was read as.
pub(crate) fn utf8<'a, R: Read + 'a>(
    mut input: R,
    declared: Option<Encoding>,
) -> io::Result<(Box<dyn Read + 'a>, String)> {
    let mut start = Vec::with_capacity(3);
    input.by_ref().take(3).read_to_end(&mut start)?;
    let bom = encoding_rs::Encoding::for_bom(&start).map(|(encoding, _)| encoding);
    let input = Cursor::new(start).chain(input);
    // A byte order mark says more than a form field: the program that saved the file wrote it.
    let encoding = bom.or(declared.map(|e| e.0)).unwrap_or(encoding_rs::UTF_8);
    if encoding == encoding_rs::UTF_8 {
        return Ok((Box::new(input), "utf-8".into()));
    }
    let decoded = DecodeReaderBytesBuilder::new().encoding(Some(encoding)).bom_override(true).build(input);
    Ok((Box::new(decoded), encoding.name().to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::utf8;
    use crate::imports::parse::options::Encoding;
    use std::io::Read;

    fn read(bytes: &[u8], declared: Option<&str>) -> (String, String) {
        let declared = declared.map(|label| Encoding::parse(label).expect("label"));
        let (mut reader, name) = utf8(bytes, declared).expect("reads");
        let mut text = String::new();
        reader.read_to_string(&mut text).expect("UTF-8");
        (text, name)
    }

    #[test]
    fn utf16_with_a_bom_is_decoded_either_way_round() {
        let le: Vec<u8> =
            [0xFF, 0xFE].into_iter().chain("id;prix\n1;€\n".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(read(&le, None), ("id;prix\n1;€\n".into(), "utf-16le".into()));
        let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain("a\nä\n".encode_utf16().flat_map(u16::to_be_bytes)).collect();
        assert_eq!(read(&be, None), ("a\nä\n".into(), "utf-16be".into()));
    }

    #[test]
    fn a_declared_encoding_decodes_and_utf8_passes_through() {
        assert_eq!(read(b"caf\xe9 \x80\n", Some("windows-1252")), ("café €\n".into(), "windows-1252".into()));
        assert_eq!(read("é\n".as_bytes(), None), ("é\n".into(), "utf-8".into()));
        assert_eq!(read(b"ab", None), ("ab".into(), "utf-8".into()));
        // a UTF-8 BOM outranks the field, and stays for the parser to drop
        assert_eq!(read("\u{feff}é".as_bytes(), Some("latin1")), ("\u{feff}é".into(), "utf-8".into()));
    }
}
