//! Case conversion for tags and property names, with serde's rule names and serde's results, so
//! `#[session(rename_all = "...")]` renames exactly as `#[serde(rename_all = "...")]` would.

use self::RenameRule::*;

/// A `rename_all` rule.
#[allow(clippy::enum_variant_names, reason = "the names mirror serde's rule names")]
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) enum RenameRule {
    LowerCase,
    UpperCase,
    PascalCase,
    CamelCase,
    SnakeCase,
    ScreamingSnakeCase,
    KebabCase,
    ScreamingKebabCase,
}

const RULES: &[(&str, RenameRule)] = &[
    ("lowercase", LowerCase),
    ("UPPERCASE", UpperCase),
    ("PascalCase", PascalCase),
    ("camelCase", CamelCase),
    ("snake_case", SnakeCase),
    ("SCREAMING_SNAKE_CASE", ScreamingSnakeCase),
    ("kebab-case", KebabCase),
    ("SCREAMING-KEBAB-CASE", ScreamingKebabCase),
];

impl RenameRule {
    /// Parses a serde rule name.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        RULES
            .iter()
            .find(|(rule_name, _)| *rule_name == name)
            .map(|(_, rule)| *rule)
    }

    /// The accepted names, quoted, for error messages.
    pub(crate) fn names() -> String {
        let quoted: Vec<String> = RULES.iter().map(|(name, _)| format!("\"{name}\"")).collect();
        quoted.join(", ")
    }

    /// Renames a variant written in PascalCase.
    pub(crate) fn apply_to_variant(self, variant: &str) -> String {
        match self {
            PascalCase => variant.to_owned(),
            LowerCase => variant.to_ascii_lowercase(),
            UpperCase => variant.to_ascii_uppercase(),
            CamelCase => {
                let mut chars = variant.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                    None => String::new(),
                }
            }
            SnakeCase => {
                let mut snake = String::new();
                for (i, ch) in variant.char_indices() {
                    if i > 0 && ch.is_uppercase() {
                        snake.push('_');
                    }
                    snake.push(ch.to_ascii_lowercase());
                }
                snake
            }
            ScreamingSnakeCase => SnakeCase.apply_to_variant(variant).to_ascii_uppercase(),
            KebabCase => SnakeCase.apply_to_variant(variant).replace('_', "-"),
            ScreamingKebabCase => ScreamingSnakeCase.apply_to_variant(variant).replace('_', "-"),
        }
    }

    /// Renames a field written in snake_case.
    pub(crate) fn apply_to_field(self, field: &str) -> String {
        match self {
            LowerCase | SnakeCase => field.to_owned(),
            UpperCase | ScreamingSnakeCase => field.to_ascii_uppercase(),
            PascalCase => {
                let mut pascal = String::new();
                let mut capitalize = true;
                for ch in field.chars() {
                    if ch == '_' {
                        capitalize = true;
                    } else if capitalize {
                        pascal.push(ch.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        pascal.push(ch);
                    }
                }
                pascal
            }
            CamelCase => {
                let pascal = PascalCase.apply_to_field(field);
                let mut chars = pascal.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                    None => String::new(),
                }
            }
            KebabCase => field.replace('_', "-"),
            ScreamingKebabCase => ScreamingSnakeCase.apply_to_field(field).replace('_', "-"),
        }
    }
}

/// The snake_case form of a Rust identifier, for generated method names (`ApiClient` -> `api_client`,
/// `HTTPClient` -> `http_client`).
pub(crate) fn method_snake_case(ident: &str) -> String {
    let chars: Vec<char> = ident.chars().collect();
    let mut snake = String::new();
    for (i, &ch) in chars.iter().enumerate() {
        if ch.is_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|c| c.is_lowercase());
            if previous != '_' && (previous.is_lowercase() || previous.is_ascii_digit() || next_is_lower) {
                snake.push('_');
            }
        }
        snake.extend(ch.to_lowercase());
    }
    snake
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_rename_like_serde() {
        let cases = [
            ("ApiClient", SnakeCase, "api_client"),
            ("APIClient", SnakeCase, "a_p_i_client"),
            ("ApiClient", CamelCase, "apiClient"),
            ("ApiClient", KebabCase, "api-client"),
            ("ApiClient", ScreamingSnakeCase, "API_CLIENT"),
            ("ApiClient", ScreamingKebabCase, "API-CLIENT"),
            ("ApiClient", LowerCase, "apiclient"),
            ("ApiClient", UpperCase, "APICLIENT"),
            ("ApiClient", PascalCase, "ApiClient"),
        ];
        for (input, rule, expected) in cases {
            assert_eq!(rule.apply_to_variant(input), expected, "{input}");
        }
    }

    #[test]
    fn fields_rename_like_serde() {
        let cases = [
            ("user_id", CamelCase, "userId"),
            ("user_id", PascalCase, "UserId"),
            ("user_id", KebabCase, "user-id"),
            ("user_id", ScreamingSnakeCase, "USER_ID"),
            ("user_id", ScreamingKebabCase, "USER-ID"),
            ("user_id", SnakeCase, "user_id"),
        ];
        for (input, rule, expected) in cases {
            assert_eq!(rule.apply_to_field(input), expected, "{input}");
        }
    }

    #[test]
    fn method_names_are_snake_case() {
        assert_eq!(method_snake_case("ApiClient"), "api_client");
        assert_eq!(method_snake_case("HTTPClient"), "http_client");
        assert_eq!(method_snake_case("User"), "user");
        assert_eq!(method_snake_case("V2Client"), "v2_client");
    }
}
