//! The cookie and parameter constructors, logout, and the redirect allowlist.

use crate::common;

use std::time::Duration;

use auth_runtime::{CookieError, CookieOptions, IssueOptions, RedirectError, SameSite};
use common::*;
use http::header::{CACHE_CONTROL, LOCATION, REFERRER_POLICY, SET_COOKIE};
use http::{Response, StatusCode};

fn header(response: &Response<()>, name: http::header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .expect("header present")
}

#[test]
fn cookie_response_is_pinned() {
    let sessions = sessions_at(NOW);
    let response: Response<()> = sessions.cookie(&user("123"), "/dashboard").expect("issues");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(header(&response, LOCATION), "/dashboard");
    assert_eq!(header(&response, CACHE_CONTROL), "no-store");
    assert_eq!(header(&response, REFERRER_POLICY), "no-referrer");
    let set_cookie = header(&response, SET_COOKIE);
    let (token, attributes) = set_cookie
        .strip_prefix("auth-token=")
        .and_then(|rest| rest.split_once(';'))
        .expect("auth-token=<jwt>; ...");
    assert_eq!(attributes, " HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=2592000");
    assert_eq!(
        sessions.verify(token).expect("the cookie holds a valid token").session,
        user("123")
    );

    // Parsed back by an independent cookie parser.
    let parsed = cookie::Cookie::parse(set_cookie).expect("valid Set-Cookie");
    assert_eq!(parsed.name(), "auth-token");
    assert_eq!(parsed.http_only(), Some(true));
    assert_eq!(parsed.secure(), Some(true));
    assert_eq!(parsed.same_site(), Some(cookie::SameSite::Lax));
    assert_eq!(parsed.path(), Some("/"));
    assert_eq!(parsed.max_age(), Some(cookie::time::Duration::seconds(2_592_000)));
}

#[test]
fn max_age_never_outlives_the_token() {
    let short = IssueOptions {
        lifetime: Some(Duration::from_secs(600)),
        ..IssueOptions::default()
    };
    let response: Response<()> = sessions_at(NOW).cookie_with(&user("u"), "/", &short).expect("issues");
    assert!(header(&response, SET_COOKIE).ends_with("; Max-Age=600"));

    let capped = builder(hs256_key())
        .clock(|| at(NOW))
        .cookie(CookieOptions::new().max_age(Duration::from_secs(3600 * 24 * 365)))
        .build()
        .expect("valid");
    let response: Response<()> = capped.cookie(&user("u"), "/").expect("issues");
    assert!(
        header(&response, SET_COOKIE).ends_with("; Max-Age=2592000"),
        "a longer cap does not extend the cookie"
    );

    let shorter_cap = builder(hs256_key())
        .cookie(CookieOptions::new().max_age(Duration::from_secs(60)))
        .build()
        .expect("valid");
    let response: Response<()> = shorter_cap.cookie(&user("u"), "/").expect("issues");
    assert!(header(&response, SET_COOKIE).ends_with("; Max-Age=60"));

    let longer = IssueOptions {
        lifetime: Some(Duration::from_secs(3600 * 24 * 365)),
        ..IssueOptions::default()
    };
    let issued = sessions_at(NOW).issue(&user("u"), &longer).expect("issues");
    assert_eq!(
        issued.expires_at,
        NOW + 30 * 24 * 3600,
        "a per-token lifetime cannot exceed the configured one"
    );
}

#[test]
fn cookie_name_and_attributes_are_configurable() {
    let sessions = builder(hs256_key())
        .cookie(CookieOptions::new().name("__Host-session").same_site(SameSite::Strict))
        .build()
        .expect("valid");
    let response: Response<()> = sessions.cookie(&user("u"), "/").expect("issues");
    let set_cookie = header(&response, SET_COOKIE);
    assert!(set_cookie.starts_with("__Host-session="));
    assert!(set_cookie.contains("; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age="));

    let scoped = builder(hs256_key())
        .cookie(CookieOptions::new().path("/app").domain("example.com"))
        .build()
        .expect("valid");
    let response: Response<()> = scoped.logout("/").expect("logs out");
    assert_eq!(
        header(&response, SET_COOKIE),
        "auth-token=; HttpOnly; Secure; SameSite=Lax; Path=/app; Domain=example.com; Max-Age=0"
    );
}

#[test]
fn unsafe_cookie_options_are_refused() {
    let build = |options: CookieOptions| builder(hs256_key()).cookie(options).build();
    let cases = [
        (CookieOptions::new().name(""), "empty name"),
        (CookieOptions::new().name("a b"), "space in name"),
        (CookieOptions::new().name("a;b"), "semicolon in name"),
        (CookieOptions::new().path("app"), "relative path"),
        (
            CookieOptions::new().path("/a;Domain=evil"),
            "attribute injection in path",
        ),
        (
            CookieOptions::new().domain("evil.com; Secure"),
            "attribute injection in domain",
        ),
        (
            CookieOptions::new().same_site(SameSite::None).secure(false),
            "SameSite=None without Secure",
        ),
        (
            CookieOptions::new().name("__Host-x").path("/app"),
            "__Host- with a path",
        ),
        (
            CookieOptions::new().name("__Host-x").domain("example.com"),
            "__Host- with a domain",
        ),
        (
            CookieOptions::new().name("__Secure-x").secure(false),
            "__Secure- without Secure",
        ),
    ];
    for (options, what) in cases {
        assert!(
            matches!(build(options), Err(auth_runtime::SessionsConfigError::Cookie(_))),
            "{what}"
        );
    }
    assert!(matches!(
        build(CookieOptions::new().same_site(SameSite::None).secure(false)),
        Err(auth_runtime::SessionsConfigError::Cookie(
            CookieError::SameSiteNoneWithoutSecure
        ))
    ));
}

#[test]
fn logout_clears_the_same_cookie() {
    let response: Response<()> = sessions_at(NOW).logout("/signed-out").expect("logs out");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(header(&response, LOCATION), "/signed-out");
    assert_eq!(
        header(&response, SET_COOKIE),
        "auth-token=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0"
    );
    assert!(matches!(
        sessions_at(NOW).logout::<()>("//evil.com"),
        Err(auth_runtime::IssueError::Redirect(_))
    ));
}

fn token_of(location: &str) -> String {
    let url = url::Url::parse("https://base.invalid")
        .and_then(|base| base.join(location))
        .expect("parses");
    let tokens: Vec<String> = url
        .query_pairs()
        .filter(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
        .collect();
    assert_eq!(tokens.len(), 1, "exactly one token parameter in {location}");
    tokens.into_iter().next().unwrap_or_default()
}

#[test]
fn parameter_adds_the_token_to_the_query() {
    let sessions = builder(hs256_key())
        .allow_redirect_origin("https://app.example.com")
        .build()
        .expect("valid");
    let cases = [
        ("/landing", "/landing?token="),
        ("/landing?next=%2Fhome&a=1", "/landing?next=%2Fhome&a=1&token="),
        ("/landing#section", "/landing?token="),
        ("/landing?a=b#frag", "/landing?a=b&token="),
        (
            "https://app.example.com/cb?state=x#top",
            "https://app.example.com/cb?state=x&token=",
        ),
        ("/landing?token=attacker&keep=1", "/landing?keep=1&token="),
    ];
    for (redirect, prefix) in cases {
        let response: Response<()> = sessions.parameter(&user("p"), redirect).expect("issues");
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = header(&response, LOCATION);
        assert!(location.starts_with(prefix), "{redirect} -> {location}");
        if let Some((_, fragment)) = redirect.split_once('#') {
            assert!(location.ends_with(&format!("#{fragment}")), "fragment kept: {location}");
        }
        assert!(response.headers().get(SET_COOKIE).is_none());
        assert_eq!(header(&response, REFERRER_POLICY), "no-referrer");
        let token = token_of(location);
        assert_eq!(sessions.verify(&token).expect("valid token").session, user("p"));
    }
}

#[test]
fn redirects_outside_the_allowlist_are_refused() {
    let sessions = builder(hs256_key())
        .allow_redirect_origin("https://app.example.com")
        .build()
        .expect("valid");
    for redirect in OPEN_REDIRECTS {
        let response = sessions.cookie::<()>(&user("u"), redirect);
        assert!(
            matches!(response, Err(auth_runtime::IssueError::Redirect(_))),
            "{redirect:?} must be refused"
        );
        assert!(
            sessions.parameter::<()>(&user("u"), redirect).is_err(),
            "{redirect:?} must be refused"
        );
    }
    let long = format!("/{}", "a".repeat(2048));
    assert!(matches!(
        sessions.check_redirect(&long),
        Err(RedirectError::TooLong { .. })
    ));
    assert!(matches!(
        sessions.check_redirect("https://app@evil.com"),
        Err(RedirectError::Credentials(_))
    ));
    assert!(
        matches!(sessions.check_redirect("https://evil.com"), Err(RedirectError::OriginNotAllowed(origin)) if origin == "https://evil.com")
    );
    assert!(matches!(
        sessions.check_redirect("/%2F%2Fevil.com"),
        Err(RedirectError::SchemeRelative(_))
    ));
    assert!(matches!(
        sessions.check_redirect("/%5Cevil.com"),
        Err(RedirectError::Backslash(_))
    ));

    let allowed = [
        ("/", "/"),
        ("/home", "/home"),
        ("/a/b?c=d#e", "/a/b?c=d#e"),
        ("/caf%C3%A9", "/caf%C3%A9"),
        ("https://app.example.com/welcome", "https://app.example.com/welcome"),
        ("HTTPS://APP.EXAMPLE.COM/x", "https://app.example.com/x"),
        ("https://app.example.com:443/x", "https://app.example.com/x"),
    ];
    for (redirect, location) in allowed {
        let response: Response<()> = sessions.cookie(&user("u"), redirect).expect("allowed");
        assert_eq!(header(&response, LOCATION), location, "{redirect}");
    }
}

#[test]
fn allowed_origins_must_be_origins() {
    for origin in [
        "app.example.com",
        "ftp://app.example.com",
        "https://app.example.com/path",
        "https://u@app.example.com",
        "https://app.example.com/?q",
    ] {
        let result = builder(hs256_key()).allow_redirect_origin(origin).build();
        assert!(
            matches!(result, Err(auth_runtime::SessionsConfigError::RedirectOrigin(_))),
            "{origin}"
        );
    }
}

#[test]
fn a_redirect_policy_is_built_with_consuming_setters() {
    let policy = auth_runtime::RedirectPolicy::new()
        .allow_origin("https://app.example.com")
        .and_then(|policy| policy.allow_origin("http://localhost:3000"))
        .expect("two origins");
    assert!(policy.check("https://app.example.com/x").is_ok());
    assert!(policy.check("http://localhost:3000/").is_ok());
    assert!(policy.check("/relative").is_ok());
    assert!(matches!(
        policy.check("https://evil.example/"),
        Err(auth_runtime::RedirectError::OriginNotAllowed(_))
    ));
    assert!(
        auth_runtime::RedirectPolicy::new()
            .allow_origin("app.example.com")
            .is_err()
    );
}
