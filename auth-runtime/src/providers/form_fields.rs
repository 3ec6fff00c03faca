//! The form fields a step reads before anything else: whether a body is a form, and the
//! handler's own parameters (`landing_nonce`, `authorization`) taken out of the claims.

use http::header::CONTENT_TYPE;

use crate::landing::nonce::{LANDING_NONCE_PARAMETER, is_binding};

/// Takes the `landing_nonce` parameters out of `params` (it is not a claim): none, or exactly one
/// well-formed binding.
pub(crate) fn take_landing_binding(params: &mut Vec<(String, String)>) -> Result<Option<String>, ()> {
    take_one(params, LANDING_NONCE_PARAMETER)?.map_or(Ok(None), |binding| {
        if is_binding(&binding) {
            Ok(Some(binding))
        } else {
            Err(())
        }
    })
}

/// Takes the parameters called `name` out of `params` (the handler's own, never a claim): none,
/// or exactly one.
pub(crate) fn take_one(params: &mut Vec<(String, String)>, name: &str) -> Result<Option<String>, ()> {
    let mut found = Vec::new();
    params.retain(|(key, value)| {
        let ours = key == name;
        if ours {
            found.push(value.clone());
        }
        !ours
    });
    match found.as_slice() {
        [] => Ok(None),
        [value] => Ok(Some(value.clone())),
        _ => Err(()),
    }
}

/// Whether `headers` say the body is an HTML form (`application/x-www-form-urlencoded`, any
/// parameters after `;` aside).
pub(crate) fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}
