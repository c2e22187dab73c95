//! What a name people give a supplier or a schedule may be: one rule for both, checked by their
//! services and stated in the OpenAPI document as a JSON Schema, so a client (or a fuzzer) can
//! tell a name that will be taken from one that will not.

use utoipa::openapi::{Object, ObjectBuilder, Type};

/// Longest name, in characters as sent.
pub const MAX_CHARS: usize = 200;

/// The rule as a pattern: no control character (Unicode `Cc`: U+0000–001F, U+007F–009F), and
/// at least one character that is neither a control nor whitespace (`char::is_whitespace`: the
/// space, U+00A0, U+1680, U+2000–200A, U+2028, U+2029, U+202F, U+205F, U+3000).
pub const PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$";

/// The name to store — `raw` trimmed — if `raw` is one: 1 to [`MAX_CHARS`] characters as sent,
/// not blank, without control characters.
pub fn parse(raw: &str) -> Option<&str> {
    let name = raw.trim();
    let fits = raw.chars().count() <= MAX_CHARS;
    (fits && !name.is_empty() && !raw.chars().any(char::is_control)).then_some(name)
}

/// The schema of a name field (`#[schema(schema_with = names::schema)]`).
pub fn schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_CHARS))
        .pattern(Some(PATTERN))
        .description(Some(format!(
            "1 to {MAX_CHARS} characters, not blank, without control characters; stored without surrounding whitespace"
        )))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded_as_sent() {
        assert_eq!(parse("  Acme "), Some("Acme"));
        assert_eq!(parse(&"é".repeat(MAX_CHARS)), Some("é".repeat(MAX_CHARS).as_str()), "characters, not bytes");
        assert_eq!(parse(&"a".repeat(MAX_CHARS + 1)), None);
        assert_eq!(parse(&format!("{} ", "a".repeat(MAX_CHARS))), None, "the length as sent counts");
        for bad in ["", "   ", "\u{3000}", "a\tb", "a\u{85}", "tab\t"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    /// The pattern's character classes are written out by hand: they must be exactly the
    /// characters `parse` refuses (controls) and trims (whitespace).
    #[test]
    fn the_pattern_lists_exactly_the_controls_and_the_whitespace() {
        let controls = |c: char| matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}');
        let spaces = [' ', '\u{a0}', '\u{1680}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}'];
        let listed_space = |c: char| spaces.contains(&c) || ('\u{2000}'..='\u{200a}').contains(&c);
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            assert_eq!(c.is_control(), controls(c), "{c:?}");
            assert_eq!(c.is_whitespace() && !c.is_control(), listed_space(c), "{c:?}");
        }
        for escape in
            [r"\x00-\x1f\x7f-\x9f", r"\x00-\x20\x7f-\xa0", r"\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"]
        {
            assert!(PATTERN.contains(escape), "{escape}");
        }
    }
}
