//! The custom-verifier example over real HTTP: opaque ids looked up server-side, narrowed by
//! type, and dead the moment logout deletes the row and the cached entry.

use auth_examples::opaque_app as opaque_sessions;

use crate::common;

use std::sync::Arc;

use common::client::{get, serve};

#[test]
fn opaque_session_ids_through_the_verifier_trait() {
    let addr = serve(opaque_sessions::app(Arc::new(opaque_sessions::SessionStore::default())).expect("app"));

    assert_eq!(get(addr, "/me", &[]).status, 401);
    assert_eq!(
        get(addr, "/me", &[("Cookie", "sid=made-up")]).status,
        401,
        "an unknown id is refused"
    );

    let login = get(addr, "/login?name=ada", &[]);
    assert_eq!(login.status, 302);
    let cookie = login
        .header("set-cookie")
        .and_then(|value| value.split(';').next())
        .expect("sid cookie")
        .to_owned();
    assert!(cookie.starts_with("sid=") && cookie.len() == 4 + 43, "{cookie}");

    let me = get(addr, "/me", &[("Cookie", &cookie)]);
    assert_eq!(
        (me.status, me.body.as_str()),
        (200, r#"{"type":"user","properties":{"user_id":"ada"}}"#)
    );
    assert_eq!(
        get(addr, "/admin", &[("Cookie", &cookie)]).status,
        403,
        "a user is not an admin"
    );

    let admin_login = get(addr, "/login?name=admin", &[]);
    let admin_cookie = admin_login
        .header("set-cookie")
        .and_then(|value| value.split(';').next())
        .expect("cookie")
        .to_owned();
    let admin = get(addr, "/admin", &[("Cookie", &admin_cookie)]);
    assert_eq!((admin.status, admin.body.as_str()), (200, "hello, administrator admin"));

    let logout = get(addr, "/logout", &[("Cookie", &cookie)]);
    assert_eq!(logout.status, 302);
    let after = get(addr, "/me", &[("Cookie", &cookie)]);
    assert_eq!(
        after.status, 401,
        "the id is dead at once, not after the cache TTL: {}",
        after.body
    );
    assert_eq!(
        get(addr, "/admin", &[("Cookie", &admin_cookie)]).status,
        200,
        "other sessions live on"
    );
}
