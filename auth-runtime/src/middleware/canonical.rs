//! The one form of a request path that a router and every proxy agree on: skip patterns and
//! authorization rules are only matched against paths in it.

/// Whether `path` is in the one form a router and every proxy agree on: no empty, `.` or `..`
/// segment, no backslash, and no percent-encoded `/`, `\`, `.` or unreserved character.
pub(crate) fn is_canonical(path: &str) -> bool {
    if !path.starts_with('/') || path.contains('\\') {
        return false;
    }
    let body = &path[1..];
    if !body.is_empty() {
        let segments = body.split('/').count();
        let bad = body.split('/').enumerate().any(|(index, segment)| {
            // One trailing slash leaves an empty last segment, which is fine.
            (segment.is_empty() && index + 1 != segments) || segment == "." || segment == ".."
        });
        if bad {
            return false;
        }
    }
    let bytes = path.as_bytes();
    let mut index = 0;
    while let Some(offset) = bytes[index..].iter().position(|&byte| byte == b'%') {
        let at = index + offset;
        let Some(hex) = path.get(at + 1..at + 3) else {
            return false;
        };
        let Ok(byte) = u8::from_str_radix(hex, 16) else {
            return false;
        };
        if byte == b'/' || byte == b'\\' || byte == b'%' || byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            return false;
        }
        index = at + 3;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_paths_pass() {
        for path in [
            "/",
            "/admin",
            "/admin/",
            "/a/b.c/d",
            "/pkg.Service/Method",
            "/caf%C3%A9",
            "/a%20b",
        ] {
            assert!(is_canonical(path), "{path}");
        }
        for path in [
            "//admin",
            "/admin//x",
            "/admin/../admin",
            "/./admin",
            "/admin/.",
            "/admin/..",
            "/admin%2Fx",
            "/admin%2fx",
            "/admin%5Cx",
            "/adm%69n",
            "/%2e%2e/admin",
            "/a\\b",
            "/a%",
            "/a%2",
            "/a%zz",
            "admin",
        ] {
            assert!(!is_canonical(path), "{path}");
        }
    }
}
