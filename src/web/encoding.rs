//! Which of the precompressed copies a client takes, from its `Accept-Encoding`.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_ENCODING;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
            Encoding::Identity => "identity",
        }
    }

    pub fn file_suffix(self) -> Option<&'static str> {
        match self {
            Encoding::Brotli => Some(".br"),
            Encoding::Gzip => Some(".gz"),
            Encoding::Identity => None,
        }
    }
}

/// The compressed encodings the client accepts, best first (brotli is smaller). A coding
/// listed with `q=0` is refused, as RFC 9110 says; `*` stands for both.
pub fn accepted(headers: &HeaderMap) -> Vec<Encoding> {
    // Each coding: None until listed by name; `*` covers only those not named.
    let (mut br, mut gzip, mut any) = (None, None, false);
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            match coding.as_str() {
                "br" => br = Some(!refused),
                "gzip" | "x-gzip" => gzip = Some(!refused),
                "*" => any = !refused,
                _ => {}
            }
        }
    }
    let (br, gzip) = (br.unwrap_or(any), gzip.unwrap_or(any));
    let mut out = Vec::with_capacity(2);
    if br {
        out.push(Encoding::Brotli);
    }
    if gzip {
        out.push(Encoding::Gzip);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn of(value: &str) -> Vec<Encoding> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        accepted(&headers)
    }

    #[test]
    fn brotli_is_preferred_and_q_zero_refuses() {
        assert_eq!(of("gzip, deflate, br, zstd"), vec![Encoding::Brotli, Encoding::Gzip]);
        assert_eq!(of("gzip;q=1.0, br;q=0"), vec![Encoding::Gzip]);
        assert_eq!(of("identity"), vec![]);
        assert_eq!(of("*"), vec![Encoding::Brotli, Encoding::Gzip]);
        assert_eq!(of("br;q=0, *"), vec![Encoding::Gzip]);
        assert_eq!(of("gzip, *;q=0"), vec![Encoding::Gzip]);
        assert_eq!(accepted(&HeaderMap::new()), vec![]);
    }
}
