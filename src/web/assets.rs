//! The embedded build: each file with the compressed copies `web/scripts/after-build.mjs`
//! writes beside it (`.br`, `.gz`), so a response is never compressed per request.

use super::encoding::Encoding;
use rust_embed::RustEmbed;
use std::borrow::Cow;

/// In debug builds rust-embed reads the folder at run time, so `make web` shows without a
/// rebuild of the binary; release builds carry the files.
#[derive(RustEmbed)]
#[folder = "web/dist"]
struct Built;

/// One representation of a built file, ready to send.
pub struct Asset {
    pub body: Cow<'static, [u8]>,
    pub content_type: String,
    pub encoding: Encoding,
    /// A strong validator: the content's hash and the encoding.
    pub etag: String,
}

/// The built file at `path` (no leading slash) in the best encoding the client accepts.
/// Compressed copies are never served under their own names.
pub fn find(path: &str, accepted: &[Encoding]) -> Option<Asset> {
    if path.ends_with(".br") || path.ends_with(".gz") {
        return None;
    }
    let plain = Built::get(path)?;
    let content_type = plain.metadata.mimetype().to_string();
    let hash = hex::encode(&plain.metadata.sha256_hash()[..12]);
    for &encoding in accepted {
        if let Some(suffix) = encoding.file_suffix()
            && let Some(file) = Built::get(&format!("{path}{suffix}"))
        {
            let etag = format!("\"{hash}-{}\"", encoding.token());
            return Some(Asset { body: file.data, content_type, encoding, etag });
        }
    }
    Some(Asset { body: plain.data, content_type, encoding: Encoding::Identity, etag: format!("\"{hash}\"") })
}
