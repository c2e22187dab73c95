//! Enums stored and sent as lowercase text, parsed with an error that lists the allowed values.

/// A value outside an enum's allowed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {field} '{value}'; expected one of: {}", allowed.join(", "))]
pub struct UnknownValue {
    pub field: &'static str,
    pub value: String,
    pub allowed: &'static [&'static str],
}

/// Defines a fieldless enum whose variants map one-to-one to lowercase names, with
/// `as_str`, `ALL`, `FromStr`, `Display`, serde and OpenAPI support. Each name must be its
/// variant's name in lowercase: the OpenAPI schema derives the names that way.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident as $field:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "&'static str", rename_all = "lowercase")]
        $vis enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::text_enum::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::text_enum::UnknownValue {
                        field: $field,
                        value: $crate::text_enum::truncate_for_message(s),
                        allowed: Self::NAMES,
                    }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::text_enum::UnknownValue;
            fn try_from(s: String) -> Result<Self, Self::Error> { s.parse() }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> Self { v.as_str() }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

/// Echoing user input in an error is helpful; echoing a megabyte of it is not.
pub fn truncate_for_message(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}
