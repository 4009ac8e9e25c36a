//! One field list, two types: a settings-like struct with defaults, and its partial form.
//!
//! Scenario files, profiles and the mock's admin API change only the fields they name, so each of
//! [`crate::settings::Settings`] and [`crate::quirks::Quirks`] has a patch type whose fields are
//! all optional. The macro keeps the two in step: a field is declared once.

/// Declare `$name` (every field with a default) and `$patch` (every field optional) from one list.
#[macro_export]
macro_rules! patchable {
    (
        $(#[$m:meta])*
        pub struct $name:ident / $patch:ident {
            $( $(#[$fm:meta])* $field:ident : $ty:ty = $default:expr ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $( $(#[$fm])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $( $field: $default, )* }
            }
        }

        /// The partial form: only the fields given are changed by `apply`.
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $patch {
            $(
                $(#[$fm])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }

        impl $name {
            /// Change the fields that `patch` gives; leave the others.
            pub fn apply(&mut self, patch: &$patch) {
                $( if let Some(v) = &patch.$field { self.$field = v.clone(); } )*
            }

            /// A patch that sets every field to this value.
            pub fn to_patch(&self) -> $patch {
                $patch { $( $field: Some(self.$field.clone()), )* }
            }
        }

        impl $patch {
            /// Layer `later` over this patch: fields `later` gives win.
            pub fn merge(&mut self, later: &$patch) {
                $( if later.$field.is_some() { self.$field = later.$field.clone(); } )*
            }
        }
    };
}
