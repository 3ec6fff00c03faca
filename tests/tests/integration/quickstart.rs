//! Drives the quickstart app over real HTTP on 127.0.0.1: sign in, read `/me` with the cookie
//! and with a Bearer token, refuse a bad token and an open redirect, log out (revoking the session).

use auth_examples::quickstart_app as quickstart;

use crate::common;

use common::client::{get, serve};

#[test]
fn quickstart_signs_in_reads_back_and_logs_out() {
    let outbox: quickstart::Outbox = std::sync::Arc::new(|_| {});
    let sessions = quickstart::development_sessions().expect("sessions");
    let addr = serve(quickstart::app(sessions, "http://localhost:3000", outbox).expect("app"));

    let anonymous = get(addr, "/me", &[]);
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.body.contains("no session"), "{}", anonymous.body);

    let login = get(addr, "/login?name=alice", &[]);
    assert_eq!(login.status, 302);
    assert_eq!(login.header("location"), Some("/me"));
    let set_cookie = login.header("set-cookie").expect("a session cookie");
    assert!(
        set_cookie.contains("; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age="),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().expect("name=value");

    let me = get(addr, "/me", &[("Cookie", cookie)]);
    assert_eq!(me.status, 200, "{}", me.body);
    let body: serde_json::Value = serde_json::from_str(&me.body).expect("JSON");
    assert_eq!(
        body["session"],
        serde_json::json!({"type": "user", "properties": {"userID": "alice"}})
    );
    assert_eq!(body["subject"], "alice");

    let token = get(addr, "/token?name=bob", &[]).body;
    let bearer = get(addr, "/me", &[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(bearer.status, 200);
    assert!(bearer.body.contains("\"bob\""), "{}", bearer.body);

    let tampered = format!("Bearer {}x", token);
    let rejected = get(addr, "/me", &[("Authorization", &tampered)]);
    assert_eq!(
        rejected.status, 401,
        "the session layer refuses it before the handler runs"
    );
    assert_eq!(rejected.json()["error"], "invalid_token");

    let parameter = get(addr, "/login?name=carol&via=parameter", &[]);
    assert_eq!(parameter.status, 302);
    let location = parameter.header("location").expect("a redirect").to_owned();
    assert!(location.starts_with("/me?token="), "{location}");
    let landing = get(addr, &location, &[]);
    assert_eq!(landing.status, 302, "the landing route moves the token into the cookie");
    assert_eq!(landing.header("location"), Some("/me"));
    let landed_cookie = landing
        .header("set-cookie")
        .and_then(|value| value.split(';').next())
        .expect("cookie");
    let me = get(addr, "/me", &[("Cookie", landed_cookie)]);
    assert!(me.body.contains("\"carol\""), "{}", me.body);

    let open_redirect = get(addr, "/login?name=eve&redirect=//evil.example", &[]);
    assert_eq!(open_redirect.status, 400);
    assert!(open_redirect.header("set-cookie").is_none());

    let logout = get(addr, "/logout", &[("Cookie", cookie)]);
    assert_eq!(logout.status, 302);
    assert_eq!(
        logout.header("set-cookie"),
        Some("auth-token=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0")
    );

    // Logout revoked the session: a copy of the cookie no longer signs anyone in.
    let replayed = get(addr, "/", &[("Cookie", cookie)]);
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    assert!(
        replayed.json()["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("revoked"))
    );
    let other = get(addr, "/me", &[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(other.status, 200, "other sessions go on");
}
