//! Path patterns, for skip patterns (paths, or gRPC `package.Service/Method`s, the layer passes
//! through untouched) and the authorization rules alike.

use std::fmt;

/// A path pattern (`*` matches any run of characters; a gRPC method is
/// `/package.Service/Method`), split once at its `*`s so matching allocates nothing.
pub(crate) struct Pattern {
    text: String,
    /// The literal pieces between the `*`s; one piece means no wildcard.
    pieces: Vec<String>,
}

impl Pattern {
    /// `pattern`, with a leading `/` added if it has none; `case_insensitive` folds it to lower
    /// case (the path must then be folded too).
    pub(crate) fn new(pattern: &str, case_insensitive: bool) -> Pattern {
        let text = if pattern.starts_with('/') {
            pattern.to_owned()
        } else {
            format!("/{pattern}")
        };
        let folded = if case_insensitive {
            text.to_ascii_lowercase()
        } else {
            text.clone()
        };
        Pattern {
            pieces: folded.split('*').map(str::to_owned).collect(),
            text,
        }
    }

    /// The pattern as written (with its leading `/`).
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// For a pattern ending in `/*` (`/admin/*`), the directory it is the contents of
    /// (`/admin`); `None` otherwise.
    pub(crate) fn directory(&self) -> Option<&str> {
        // One `*`, last, right after a `/` that is not the path's first: `/admin/*`, not `/*`.
        match self.pieces.as_slice() {
            [prefix, last] if last.is_empty() => prefix.strip_suffix('/').filter(|directory| !directory.is_empty()),
            _ => None,
        }
    }

    /// Whether this pattern matches every path `other` matches, as far as can be told from the
    /// text: the same pattern, or this one a prefix ending in its only `*` (`/*`, `/admin*`) of
    /// the other's text up to its first `*`.
    pub(crate) fn covers(&self, other: &Pattern) -> bool {
        if self.pieces == other.pieces {
            return true;
        }
        match self.pieces.as_slice() {
            [prefix, last] if last.is_empty() => other
                .pieces
                .first()
                .is_some_and(|first| first.starts_with(prefix.as_str())),
            _ => false,
        }
    }

    /// Whether the pattern matches all of `path`; allocation-free.
    pub(crate) fn matches(&self, path: &str) -> bool {
        let Some((first, rest_pieces)) = self.pieces.split_first() else {
            return false;
        };
        let Some(mut rest) = path.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some((last, middle)) = rest_pieces.split_last() else {
            return rest.is_empty();
        };
        for piece in middle {
            match rest.find(piece.as_str()) {
                Some(index) => rest = &rest[index + piece.len()..],
                None => return false,
            }
        }
        rest.ends_with(last.as_str())
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_whole_paths() {
        let pattern = |text: &str| Pattern::new(text, false);
        assert!(pattern("/health").matches("/health"));
        assert!(!pattern("/health").matches("/healthz"));
        assert!(pattern("/assets/*").matches("/assets/app.js"));
        assert!(pattern("/pkg.Service/*").matches("/pkg.Service/Method"));
        assert!(!pattern("/pkg.Service/*").matches("/pkg.Other/Method"));
        assert!(pattern("/*/public/*").matches("/v1/public/x"));
        assert!(pattern("/a*b*c").matches("/aXbYc"));
        assert!(!pattern("/a*b*c").matches("/aXcYb"));
        assert!(pattern("/admin/*").matches("/admin/users"));
        assert!(!pattern("/admin/*").matches("/administrator"));
        assert!(pattern("pkg.Service/*").matches("/pkg.Service/Method"));
    }
}
