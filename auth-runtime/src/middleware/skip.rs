//! Skip patterns: paths (or gRPC `package.Service/Method`s) the layer passes through untouched.

/// Whether `pattern`, where `*` matches any run of characters, matches all of `text`.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else { return false };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(index) => rest = &rest[index + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_whole_paths() {
        assert!(wildcard_match("/health", "/health"));
        assert!(!wildcard_match("/health", "/healthz"));
        assert!(wildcard_match("/assets/*", "/assets/app.js"));
        assert!(wildcard_match("/pkg.Service/*", "/pkg.Service/Method"));
        assert!(!wildcard_match("/pkg.Service/*", "/pkg.Other/Method"));
        assert!(wildcard_match("/*/public/*", "/v1/public/x"));
        assert!(wildcard_match("/a*b*c", "/aXbYc"));
        assert!(!wildcard_match("/a*b*c", "/aXcYb"));
    }
}
