//! `wire_enum!`: declares a closed set of upper-case wire strings as a Rust
//! enum, with serde names, the list of values and parsing from text, so
//! each enum's wire spelling is written exactly once.

/// Implemented by every enum declared with `wire_enum!`.
pub trait WireEnum: Sized + Copy + 'static {
    /// Every value, in declaration order.
    const ALL: &'static [Self];
    /// The wire spelling.
    fn as_str(self) -> &'static str;
    /// Parses the exact wire spelling.
    fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == text)
    }
    /// `A, B, C`: for messages.
    fn expected_list() -> String {
        Self::ALL
            .iter()
            .map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant ),+
        }

        impl $crate::macros::WireEnum for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                <Self as $crate::macros::WireEnum>::as_str(self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                <Self as $crate::macros::WireEnum>::parse(text).ok_or_else(|| {
                    format!(
                        "unknown {} `{text}`, expected one of {}",
                        stringify!($name),
                        <Self as $crate::macros::WireEnum>::expected_list()
                    )
                })
            }
        }
    };
}

pub(crate) use wire_enum;
