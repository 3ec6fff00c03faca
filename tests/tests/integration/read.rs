//! Reading a request: Bearer first, then the cookie; public, session or invalid, never a silent
//! downgrade.

use crate::common;

use auth_runtime::{RequestError, RequestSession, TokenError, TokenSource};
use common::*;
use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE, HeaderValue};

fn headers(pairs: &[(http::header::HeaderName, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            name.clone(),
            HeaderValue::from_bytes(value).expect("valid header bytes"),
        );
    }
    map
}

fn source_of(auth: &RequestSession<AppSession>) -> Option<TokenSource> {
    match auth {
        RequestSession::Session { source, .. } => Some(*source),
        _ => None,
    }
}

#[test]
fn no_token_is_public() {
    let sessions = sessions_at(NOW);
    assert!(matches!(sessions.read(&HeaderMap::new()), RequestSession::Public));
    let other_cookies = headers(&[(COOKIE, b"theme=dark; lang=en")]);
    assert!(matches!(sessions.read(&other_cookies), RequestSession::Public));
    let basic = headers(&[(AUTHORIZATION, b"Basic dXNlcjpwYXNz")]);
    assert!(
        matches!(sessions.read(&basic), RequestSession::Public),
        "another scheme is not ours"
    );
    let emptied = headers(&[(COOKIE, b"auth-token=")]);
    assert!(
        matches!(sessions.read(&emptied), RequestSession::Public),
        "a cleared cookie"
    );
}

#[test]
fn bearer_and_cookie_are_read() {
    let sessions = sessions_at(NOW);
    let bearer_token = sessions.create(&user("bearer")).expect("issues");
    let cookie_token = sessions.create(&user("cookie")).expect("issues");
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let request = headers(&[(AUTHORIZATION, format!("{scheme} {bearer_token}").as_bytes())]);
        let auth = sessions.read(&request);
        assert_eq!(auth.session(), Some(&user("bearer")), "{scheme}");
        assert_eq!(source_of(&auth), Some(TokenSource::Bearer));
    }
    let request = headers(&[(
        COOKIE,
        format!("theme=dark; auth-token={cookie_token}; lang=en").as_bytes(),
    )]);
    let auth = sessions.read(&request);
    assert_eq!(auth.session(), Some(&user("cookie")));
    assert_eq!(source_of(&auth), Some(TokenSource::Cookie));

    let both = headers(&[
        (AUTHORIZATION, format!("Bearer {bearer_token}").as_bytes()),
        (COOKIE, format!("auth-token={cookie_token}").as_bytes()),
    ]);
    assert_eq!(
        sessions.read(&both).session(),
        Some(&user("bearer")),
        "Bearer comes first"
    );

    let split_headers = headers(&[
        (COOKIE, b"theme=dark"),
        (COOKIE, format!("auth-token={cookie_token}").as_bytes()),
    ]);
    assert_eq!(sessions.read(&split_headers).session(), Some(&user("cookie")));

    let non_utf8_neighbour = headers(&[(
        COOKIE,
        [b"x=\xff\xfe; auth-token=".as_slice(), cookie_token.as_bytes()]
            .concat()
            .as_slice(),
    )]);
    assert_eq!(sessions.read(&non_utf8_neighbour).session(), Some(&user("cookie")));
}

#[test]
fn bad_credentials_are_invalid_not_public() {
    let sessions = sessions_at(NOW);
    let token = sessions.create(&user("u")).expect("issues");
    let expired = sessions_at(NOW + 400 * 24 * 3600);

    let request = headers(&[(COOKIE, format!("auth-token={token}").as_bytes())]);
    assert!(matches!(
        expired.read(&request),
        RequestSession::Invalid(RequestError::Token {
            source: TokenSource::Cookie,
            error: TokenError::Expired { .. }
        })
    ));
    let garbage = headers(&[(AUTHORIZATION, b"Bearer not.a.token")]);
    assert!(matches!(
        sessions.read(&garbage),
        RequestSession::Invalid(RequestError::Token {
            source: TokenSource::Bearer,
            error: TokenError::Malformed(_)
        })
    ));
    for value in [b"Bearer".as_slice(), b"Bearer ", b"Bearer a b", b"Bearer \xff"] {
        let request = headers(&[(AUTHORIZATION, value)]);
        assert!(
            matches!(
                sessions.read(&request),
                RequestSession::Invalid(RequestError::MalformedBearer)
            ),
            "{value:?}"
        );
    }
    let twice = headers(&[
        (AUTHORIZATION, format!("Bearer {token}").as_bytes()),
        (AUTHORIZATION, b"Bearer x"),
    ]);
    assert!(matches!(
        sessions.read(&twice),
        RequestSession::Invalid(RequestError::MultipleAuthorizationHeaders)
    ));
    let tossed = headers(&[(COOKIE, format!("auth-token={token}; auth-token={token}").as_bytes())]);
    assert!(matches!(
        sessions.read(&tossed),
        RequestSession::Invalid(RequestError::MultipleCookies(_))
    ));
    let invalid_bearer_valid_cookie = headers(&[
        (AUTHORIZATION, b"Bearer x.y.z"),
        (COOKIE, format!("auth-token={token}").as_bytes()),
    ]);
    assert!(
        matches!(sessions.read(&invalid_bearer_valid_cookie), RequestSession::Invalid(_)),
        "no fallback past a bad Bearer"
    );
}

#[test]
fn into_result_separates_the_three_outcomes() {
    let sessions = sessions_at(NOW);
    assert!(matches!(sessions.read(&HeaderMap::new()).into_result(), Ok(None)));
    let token = sessions.create(&AppSession::Guest).expect("issues");
    let request = headers(&[(AUTHORIZATION, format!("Bearer {token}").as_bytes())]);
    let verified = sessions
        .read(&request)
        .into_result()
        .expect("valid")
        .expect("a session");
    assert_eq!(verified.session, AppSession::Guest);
    let (parts, ()) = http::Request::builder()
        .header(AUTHORIZATION, "Bearer x.y.z")
        .body(())
        .expect("request")
        .into_parts();
    assert!(sessions.read_parts(&parts).into_result().is_err());
}
