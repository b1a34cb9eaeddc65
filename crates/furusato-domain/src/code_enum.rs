//! Closed sets of codes stored in the database as snake_case ASCII, with Japanese labels.

/// Why a text is not one of the codes of an enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind}")]
pub struct UnknownCode {
    /// What was being read ("role", "portal", …).
    pub kind: &'static str,
}

impl UnknownCode {
    /// A short Japanese message for screens.
    pub fn message_ja(&self) -> &'static str {
        "選択肢にない値です。"
    }
}

/// Defines a fieldless enum with `ALL`, `as_str` (snake_case, the database value), `label_ja`,
/// `parse` (the code, case-insensitive, or the exact Japanese label), `Display` (the code),
/// `FromStr`, and serde as the code string.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($kind:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $code:literal, $label:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];

            /// The code stored in the database (snake_case ASCII).
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            /// The label for screens and documents.
            pub const fn label_ja(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }

            /// Reads a code ("bank_transfer", case-insensitive, surrounding spaces ignored)
            /// or the exact Japanese label.
            pub fn parse(s: &str) -> Result<$name, $crate::code_enum::UnknownCode> {
                let t = s.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| t.eq_ignore_ascii_case(v.as_str()) || t == v.label_ja())
                    .ok_or($crate::code_enum::UnknownCode { kind: $kind })
            }
        }

        /// The database code.
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::code_enum::UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = ::std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                $name::parse(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use code_enum;

/// Shared checks for every `code_enum!` type, used by their modules' tests.
#[cfg(test)]
pub(crate) fn check_code_enum<T>(all: &[T])
where
    T: Copy
        + PartialEq
        + std::fmt::Debug
        + std::fmt::Display
        + std::str::FromStr
        + serde::Serialize,
    T: serde::de::DeserializeOwned,
    <T as std::str::FromStr>::Err: std::fmt::Debug,
{
    let mut seen = std::collections::HashSet::new();
    for &v in all {
        let code = v.to_string();
        assert!(seen.insert(code.clone()), "duplicate code {code}");
        assert!(
            !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{code}"
        );
        assert_eq!(code.parse::<T>().ok(), Some(v));
        assert_eq!(code.to_uppercase().parse::<T>().ok(), Some(v));
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, format!("\"{code}\""));
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), v);
    }
    assert!("no_such_code".parse::<T>().is_err());
    assert!("".parse::<T>().is_err());
}
