//! Fetching a provider's discovery document and keys, and Microsoft's multi-tenant issuers: a
//! `common` or `organizations` document names its issuer as a template
//! (`https://login.microsoftonline.com/{tenantid}/v2.0`), and each ID token's `iss` is that
//! template with the token's own `tid` in it.

use std::error::Error;

use openidconnect::{IssuerUrl, JsonWebKeySet};
use url::Url;

use super::Metadata;
use crate::http_client::{describe, read_limited};
use crate::providers::error::FlowError;

/// The placeholder Microsoft's multi-tenant documents put in their issuer.
pub(super) const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// The most bytes of a discovery document read.
const MAX_DOCUMENT: usize = 256 * 1024;

type BoxError = Box<dyn Error + Send + Sync>;

/// Why discovery failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// The issuer is not a URL.
    #[error("issuer `{0}` is not a URL")]
    Issuer(String),
    /// The HTTP client could not be built (no TLS backend).
    #[error("the HTTP client could not be built: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// The discovery document or the JWKS could not be fetched or did not validate (the issuer
    /// in the document must equal the one asked for).
    #[error("OpenID Connect discovery at `{issuer}` failed: {source}")]
    Discovery {
        /// The issuer asked for.
        issuer: String,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The discovery document and keys of `issuer`. The document must name `issuer` as its issuer;
/// with `tenant_template`, it may instead name a template on the same origin with
/// [`TENANT_PLACEHOLDER`] in its path (Microsoft's `common`, `organizations`), which each ID
/// token is then checked against with its `tid`.
pub(super) async fn fetch(
    issuer: &IssuerUrl,
    http: &reqwest::Client,
    tenant_template: bool,
) -> Result<Metadata, BoxError> {
    if !tenant_template {
        return Ok(Metadata::discover_async(issuer.clone(), http).await?);
    }
    let url = issuer.join(".well-known/openid-configuration")?;
    let response = http
        .get(url.as_str())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|error| format!("discovery: {}", describe(error)))?;
    if !response.status().is_success() {
        return Err(format!("discovery answered {}", response.status()).into());
    }
    let body = read_limited(response, MAX_DOCUMENT, "discovery").await?;
    let metadata: Metadata = serde_json::from_slice(&body)?;
    let named = metadata.issuer().as_str();
    let same_origin = Url::parse(named).is_ok_and(|named| named.origin() == issuer.url().origin());
    let acceptable = named == issuer.as_str() || (same_origin && named.contains(TENANT_PLACEHOLDER));
    if !acceptable {
        return Err(format!(
            "unexpected issuer `{named}` (expected `{}` or a tenant template)",
            issuer.as_str()
        )
        .into());
    }
    let jwks = JsonWebKeySet::fetch_async(metadata.jwks_uri(), http).await?;
    Ok(metadata.set_jwks(jwks))
}

/// Whether `iss` is the tenant template `named` with some tenant id in it.
pub(super) fn is_tenant_issuer(named: &str, iss: &str) -> bool {
    let Some((before, after)) = named.split_once(TENANT_PLACEHOLDER) else {
        return false;
    };
    iss.strip_prefix(before)
        .and_then(|rest| rest.strip_suffix(after))
        .is_some_and(is_tenant_id)
}

/// A tenant id as it may stand in an issuer: letters, digits, `-` and `.` (a GUID, or a domain).
fn is_tenant_id(tid: &str) -> bool {
    !tid.is_empty() && tid.len() <= 253 && tid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Checks an ID token's issuer `iss` and tenant `tid` against the document's `named` issuer (a
/// template or not) and the tenants allowed, if any.
pub(super) fn check_tenant(
    named: &str,
    iss: &str,
    tid: Option<&str>,
    allowed: Option<&[String]>,
) -> Result<(), FlowError> {
    let refuse = |why: &str| Err(FlowError::Upstream(why.to_owned().into()));
    if named.contains(TENANT_PLACEHOLDER) {
        // A `tid` that is not a plain tenant id could write another issuer into the template.
        let Some(tid) =
            tid.filter(|tid| !tid.is_empty() && tid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        else {
            return refuse("the ID token has no valid `tid` for the issuer's tenant template");
        };
        if iss != named.replace(TENANT_PLACEHOLDER, tid) {
            return refuse("the ID token's `iss` is not its tenant's issuer");
        }
    } else if iss != named {
        return refuse("the ID token's `iss` is not the provider's issuer");
    }
    if let Some(allowed) = allowed
        && !tid.is_some_and(|tid| allowed.iter().any(|allowed| allowed.eq_ignore_ascii_case(tid)))
    {
        return refuse("the ID token's tenant is not one this app accepts");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
    const TID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

    #[test]
    fn a_tenant_template_takes_the_tokens_own_tenant() {
        let iss = format!("https://login.microsoftonline.com/{TID}/v2.0");
        assert!(check_tenant(TEMPLATE, &iss, Some(TID), None).is_ok());
        // Another tenant's issuer with this tenant's id, or none.
        let other = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";
        assert!(check_tenant(TEMPLATE, other, Some(TID), None).is_err());
        assert!(check_tenant(TEMPLATE, &iss, None, None).is_err());
        // A `tid` that would write a path into the template.
        assert!(
            check_tenant(
                TEMPLATE,
                "https://login.microsoftonline.com/x/y/v2.0",
                Some("x/y"),
                None
            )
            .is_err()
        );
        assert!(is_tenant_issuer(TEMPLATE, &iss));
        assert!(!is_tenant_issuer(
            TEMPLATE,
            "https://login.microsoftonline.com/a/b/v2.0"
        ));
        assert!(!is_tenant_issuer(TEMPLATE, "https://evil.example.com/x/v2.0"));
        // Restricted to some tenants.
        let allowed = [TID.to_uppercase()];
        assert!(check_tenant(TEMPLATE, &iss, Some(TID), Some(&allowed)).is_ok());
        assert!(check_tenant(TEMPLATE, &iss, Some(TID), Some(&["other".to_owned()])).is_err());
    }
}
