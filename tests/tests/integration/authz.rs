//! Authorization rules through the session layer, on a real axum server and a real tonic server
//! on 127.0.0.1: every kind of session against every rule, allow and deny, the default,
//! precedence, the interplay with `skip` and the landing route, the decision hook, and the path
//! tricks that must not slip past a rule.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use auth_runtime::middleware::{Condition, Decision, Grants, Rules};
use auth_runtime::{SessionCache, SessionLayer, Sessions};
use axum::Router;
use axum::routing::get;
use common::client::{get as http_get, serve};
use common::{ApiClient, AppSession, builder, hs256_key, user};

use crate::common;
use crate::grpc;

impl Grants for AppSession {
    fn has_role(&self, role: &str) -> bool {
        match self {
            AppSession::User { user_id } => match role {
                "admin" => user_id.starts_with("admin") || user_id.starts_with("intern-admin"),
                "intern" => user_id.starts_with("intern"),
                _ => false,
            },
            _ => false,
        }
    }

    fn has_scope(&self, scope: &str) -> bool {
        matches!(self, AppSession::Api(client) if client.scopes.iter().any(|granted| granted == scope))
    }
}

fn sessions() -> Sessions<AppSession> {
    builder(hs256_key()).build().expect("sessions")
}

type Decisions = Arc<Mutex<Vec<(String, Option<usize>, Decision)>>>;

fn rules(decisions: &Decisions) -> Rules<AppSession> {
    let seen = Arc::clone(decisions);
    Rules::deny_by_default()
        .public("/health")
        .public("/test.Identity/Ping")
        .deny("/admin/export", Condition::role("intern"))
        .allow("/admin", Condition::role("admin"))
        .allow("/admin/*", Condition::role("admin"))
        .allow("/reports/*", Condition::scope("reports:read"))
        .allow("/api/*", Condition::variant::<ApiClient>())
        .deny(
            "/members/*",
            Condition::when("guest", |session| matches!(session, AppSession::Guest)),
        )
        .allow("/members/*", Condition::any_session())
        .allow("/me", Condition::any_session())
        .allow("/landing", Condition::any_session())
        .allow(
            "/test.Identity/WhoAmI",
            Condition::when("a person", |session| matches!(session, AppSession::User { .. })),
        )
        .on_decision(move |decided| {
            seen.lock().unwrap().push((
                decided.path.to_owned(),
                decided.rule.map(|(index, _, _)| index),
                decided.decision,
            ));
        })
}

fn server(decisions: &Decisions) -> SocketAddr {
    let layer = SessionLayer::builder(SessionCache::new(sessions()))
        .skip("/skipped/*")
        .landing_route("/landing")
        .authorize(rules(decisions))
        .build()
        .expect("layer");
    let ok = || async { "ok" };
    let app = Router::new()
        .route("/health", get(ok))
        .route("/me", get(ok))
        .route("/admin", get(ok))
        .route("/admin/", get(ok))
        .route("/admin/{*rest}", get(ok))
        .route("/reports/{*rest}", get(ok))
        .route("/api/{*rest}", get(ok))
        .route("/members/{*rest}", get(ok))
        .route("/unlisted", get(ok))
        .route("/skipped/{*rest}", get(ok))
        .route("/landing", get(ok))
        .fallback(|| async { (http::StatusCode::NOT_FOUND, "no route") })
        .layer(layer);
    serve(app)
}

/// The sessions of the matrix, as Bearer tokens (`None`: no session).
fn callers() -> Vec<(&'static str, Option<String>)> {
    let sessions = sessions();
    let token = |session: AppSession| Some(sessions.create(&session).expect("token"));
    vec![
        ("nobody", None),
        ("alice", token(user("alice"))),
        ("admin", token(user("admin-bob"))),
        ("intern-admin", token(user("intern-admin"))),
        (
            "reader",
            token(AppSession::Api(ApiClient {
                client_id: "ci".into(),
                scopes: vec!["reports:read".into()],
            })),
        ),
        (
            "writer",
            token(AppSession::Api(ApiClient {
                client_id: "ci".into(),
                scopes: vec!["reports:write".into()],
            })),
        ),
        ("guest", token(AppSession::Guest)),
    ]
}

fn status(addr: SocketAddr, path: &str, token: Option<&str>) -> u16 {
    let authorization = token.map(|token| format!("Bearer {token}"));
    let headers: Vec<(&str, &str)> = authorization
        .iter()
        .map(|value| ("Authorization", value.as_str()))
        .collect();
    http_get(addr, path, &headers).status
}

#[test]
fn every_session_against_every_rule_on_axum() {
    let decisions = Decisions::default();
    let addr = server(&decisions);
    // Columns: nobody, alice, admin, intern-admin, reader, writer, guest.
    let matrix: [(&str, [u16; 7]); 11] = [
        ("/health", [200, 200, 200, 200, 200, 200, 200]),
        ("/me", [401, 200, 200, 200, 200, 200, 200]),
        ("/admin", [401, 403, 200, 200, 403, 403, 403]),
        ("/admin/users", [401, 403, 200, 200, 403, 403, 403]),
        // A deny rule above the allow: an admin who is an intern is refused the export only.
        ("/admin/export", [401, 403, 200, 403, 403, 403, 403]),
        ("/reports/q1", [401, 403, 403, 403, 200, 403, 403]),
        ("/api/items", [401, 403, 403, 403, 200, 200, 403]),
        ("/members/home", [401, 200, 200, 200, 200, 200, 403]),
        // No rule: the default denies.
        ("/unlisted", [401, 403, 403, 403, 403, 403, 403]),
        // Skipped paths are outside the layer: no session is read, no rule applies.
        ("/skipped/status", [200, 200, 200, 200, 200, 200, 200]),
        // No route either: refused before the router says 404.
        ("/nowhere", [401, 403, 403, 403, 403, 403, 403]),
    ];
    let callers = callers();
    let mut wrong = Vec::new();
    for (path, expected) in matrix {
        for ((who, token), expected) in callers.iter().zip(expected) {
            let got = status(addr, path, token.as_deref());
            if got != expected {
                wrong.push(format!("{who} {path}: {got}, expected {expected}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    // The hook heard which rule decided: `/me` is rule 9, `/unlisted` the default.
    let decisions = decisions.lock().unwrap();
    assert!(
        decisions.contains(&("/me".to_owned(), Some(9), Decision::Allow)),
        "{decisions:?}"
    );
    assert!(
        decisions.contains(&("/unlisted".to_owned(), None, Decision::Deny)),
        "{decisions:?}"
    );
    assert!(
        !decisions.iter().any(|(path, _, _)| path.starts_with("/skipped")),
        "skipped paths never reach the rules"
    );
}

/// Paths a router or a proxy could read as `/admin` (or as something under it) never slip past
/// the rule that protects it: not canonical is 400, other spellings match the rule or nothing.
#[test]
fn path_tricks_do_not_slip_past_a_rule() {
    let decisions = Decisions::default();
    let addr = server(&decisions);
    let callers = callers();
    let alice = callers[1].1.as_deref();
    let admin = callers[2].1.as_deref();
    for path in [
        "/admin/../admin",
        "/health/../admin",
        "//admin",
        "/admin//users",
        "/./admin",
        "/admin/%2e%2e/admin",
        "/admin%2Fusers",
        "/health%2F..%2Fadmin",
        "/%61dmin",
        "/admin%5Cusers",
    ] {
        assert_eq!(status(addr, path, alice), 400, "{path}");
        assert_eq!(status(addr, path, None), 400, "{path}");
        assert_eq!(status(addr, path, admin), 400, "even for an admin: {path}");
    }
    // A trailing slash is the same route to the rule.
    assert_eq!(status(addr, "/admin/", alice), 403);
    assert_eq!(status(addr, "/admin/", admin), 200);
    // axum routes by case: `/ADMIN` is no route, and no rule allows it either.
    assert_eq!(status(addr, "/ADMIN", alice), 403);
    assert_eq!(status(addr, "/ADMIN", admin), 403);
    // A query never changes the path a rule sees.
    assert_eq!(status(addr, "/health?next=/admin", None), 200);
    assert_eq!(status(addr, "/admin?x=/health", alice), 403);
}

/// The landing route turns `?token=` into the cookie before any rule (its page and redirect are
/// the layer's own); the page it redirects to is then under the rules like any other.
#[test]
fn the_landing_route_and_the_rules() {
    let decisions = Decisions::default();
    let addr = server(&decisions);
    let token = sessions().create(&user("alice")).expect("token");
    let page = http_get(addr, &format!("/landing?token={token}"), &[]);
    assert_eq!(page.status, 200, "the confirmation page: {}", page.body);
    let cookie = format!("auth-token={token}");
    assert_eq!(http_get(addr, "/landing", &[("Cookie", &cookie)]).status, 200);
    assert_eq!(http_get(addr, "/landing", &[]).status, 401);
}

/// The same rules on gRPC methods, through a real tonic server: Unauthenticated without a session,
/// PermissionDenied with the wrong one, a public method open.
#[test]
fn rules_on_grpc_methods() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let decisions = Decisions::default();
    let callers = callers();
    runtime.block_on(async {
        let layer = SessionLayer::builder(SessionCache::new(sessions()))
            .authorize(rules(&decisions))
            .build()
            .expect("layer");
        let (addr, server) = grpc::serve_identity(layer).await;
        let bearer = |index: usize| callers[index].1.as_ref().map(|token| format!("Bearer {token}"));
        let call = |path: &'static str, authorization: Option<String>| async move {
            let metadata: Vec<(&'static str, &str)> = authorization
                .as_deref()
                .map(|value| ("authorization", value))
                .into_iter()
                .collect();
            grpc::call_with(addr, path, &metadata).await
        };
        // Every caller against the rule for WhoAmI (people only), and the public Ping.
        let who_am_i = [
            Err(tonic::Code::Unauthenticated),
            Ok("alice"),
            Ok("admin-bob"),
            Ok("intern-admin"),
            Err(tonic::Code::PermissionDenied),
            Err(tonic::Code::PermissionDenied),
            Err(tonic::Code::PermissionDenied),
        ];
        for (index, expected) in who_am_i.into_iter().enumerate() {
            let got = call(grpc::METHOD, bearer(index)).await;
            match (expected, got) {
                (Ok(name), Ok(got)) => assert_eq!(got, name, "{}", callers[index].0),
                (Err(code), Err(status)) => assert_eq!(status.code(), code, "{}: {status:?}", callers[index].0),
                (expected, got) => panic!("{}: {got:?}, expected {expected:?}", callers[index].0),
            }
            // The handler itself serves people only; the rules never refuse the public method.
            if let Err(status) = call(grpc::PING, bearer(index)).await {
                assert!(
                    !status.message().contains("authorization rules"),
                    "Ping is public: {status:?}"
                );
                assert_eq!(status.message(), "users only", "{status:?}");
            }
        }
        server.abort();
    });
}

/// The table a user writes to guard `/admin` and let sessions into the rest of the app. With
/// Connectum's `allow` it guards nothing (a signed-in user without the role got 200 on
/// `/admin/users`: the admin rule's condition failed, so the catch-all allowed): the layer now
/// refuses to build it and says what to write instead. With `require`, the pattern decides.
#[test]
fn a_section_guarded_by_an_allow_that_a_catch_all_undoes_is_refused_at_build() {
    let trap = Rules::<AppSession>::deny_by_default()
        .allow("/admin/*", Condition::role("admin"))
        .allow("*", Condition::any_session());
    let refused = SessionLayer::builder(SessionCache::new(sessions()))
        .authorize(trap)
        .build();
    let Err(error) = refused else {
        panic!("a rule table whose admin rule guards nothing was accepted");
    };
    let message = error.to_string();
    assert!(
        message.contains("rule 0 (`allow /admin/*` when role admin) guards nothing"),
        "{message}"
    );
    assert!(message.contains("require(\"/admin/*\""), "{message}");

    let anyone_after = Rules::<AppSession>::deny_by_default()
        .allow("/reports/*", Condition::scope("reports:read"))
        .public("/*");
    assert!(anyone_after.check().is_err(), "a public catch-all undoes it too");
    let narrower_after = Rules::<AppSession>::deny_by_default()
        .allow("/admin/*", Condition::role("admin"))
        .allow("/me", Condition::any_session());
    assert!(narrower_after.check().is_ok());

    let layer = SessionLayer::builder(SessionCache::new(sessions()))
        .authorize(
            Rules::deny_by_default()
                .require("/admin/*", Condition::role("admin"))
                .allow("*", Condition::any_session()),
        )
        .build()
        .expect("the require form builds");
    let ok = || async { "ok" };
    let app = Router::new()
        .route("/admin", get(ok))
        .route("/admin/{*rest}", get(ok))
        .route("/orders", get(ok))
        .layer(layer);
    let addr = serve(app);
    let sessions = sessions();
    let bearer = |id: &str| format!("Bearer {}", sessions.create(&user(id)).expect("token"));
    let status = |path: &str, id: Option<&str>| {
        let authorization = id.map(bearer);
        let headers: Vec<(&str, &str)> = authorization
            .as_deref()
            .map(|value| vec![("Authorization", value)])
            .unwrap_or_default();
        http_get(addr, path, &headers).status
    };
    assert_eq!(status("/admin/users", Some("alice")), 403, "no role, no admin");
    assert_eq!(status("/admin", Some("alice")), 403, "`/admin/*` covers `/admin` too");
    assert_eq!(status("/admin/", Some("alice")), 403);
    assert_eq!(status("/admin/users", None), 401);
    assert_eq!(status("/admin/users", Some("admin-bob")), 200);
    assert_eq!(status("/admin", Some("admin-bob")), 200);
    assert_eq!(
        status("/orders", Some("alice")),
        200,
        "the catch-all still lets sessions in"
    );
    assert_eq!(status("/orders", None), 401);
}

/// Under axum's `nest`, rules and skip patterns match the path the client asked for
/// (`OriginalUri`), and a path that is not canonical is never skipped.
#[test]
fn rules_inside_a_nest_match_the_full_path_and_skip_wants_canonical_paths() {
    let layer = SessionLayer::builder(SessionCache::new(sessions()))
        .skip("/api/public/*")
        .authorize(
            Rules::deny_by_default()
                .require("/api/admin/*", Condition::role("admin"))
                .allow("*", Condition::any_session()),
        )
        .build()
        .expect("layer");
    let ok = || async { "ok" };
    let api = Router::new()
        .route("/admin/{*rest}", get(ok))
        .route("/public/{*rest}", get(ok))
        .layer(layer);
    let addr = serve(Router::new().nest("/api", api));
    let sessions = sessions();
    let alice = format!("Bearer {}", sessions.create(&user("alice")).expect("token"));
    assert_eq!(
        http_get(addr, "/api/admin/users", &[("Authorization", &alice)]).status,
        403,
        "the rule on /api/admin/* applies inside the nest"
    );
    assert_eq!(http_get(addr, "/api/public/page", &[]).status, 200, "skipped");
    assert_eq!(
        http_get(addr, "/api/public/../admin/users", &[]).status,
        400,
        "a dot segment is refused before skip"
    );
}
