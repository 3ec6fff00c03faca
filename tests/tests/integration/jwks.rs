//! `RemoteJwks`'s own behaviour, against a JWK Set served over HTTP on 127.0.0.1 by the test (so
//! the test can count requests, change the set, and make the server misbehave): coalesced
//! refetches on a new `kid`, `Cache-Control`, the staleness bound, keys that do not fit, and a
//! client that follows no redirect and reads a bounded body. Against a real issuer, see
//! issuers.rs.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_runtime::issuers::{JwksSource, JwtVerifier, RemoteJwks};
use auth_runtime::{Algorithm, VerifierError};
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::client::serve;
use common::clock::MovableClock;
use common::{AppSession, runtime};

use crate::common;

const ISSUER: &str = "https://issuer.example";

/// What the test server answers at `/jwks`.
#[derive(Clone)]
struct Answer {
    status: StatusCode,
    cache_control: Option<&'static str>,
    body: String,
    location: Option<&'static str>,
}

impl Answer {
    fn keys(keys: &[serde_json::Value]) -> Answer {
        Answer {
            status: StatusCode::OK,
            cache_control: None,
            body: serde_json::json!({ "keys": keys }).to_string(),
            location: None,
        }
    }
}

#[derive(Clone)]
struct Server {
    addr: SocketAddr,
    answer: Arc<Mutex<Answer>>,
    fetches: Arc<AtomicUsize>,
}

impl Server {
    fn start(answer: Answer) -> Server {
        let shared = Arc::new(Mutex::new(answer));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (serving, counting) = (Arc::clone(&shared), Arc::clone(&fetches));
        let jwks = move || {
            counting.fetch_add(1, Ordering::SeqCst);
            let answer = serving.lock().unwrap().clone();
            async move {
                let mut response: Response = (answer.status, answer.body).into_response();
                if let Some(cache_control) = answer.cache_control {
                    response
                        .headers_mut()
                        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
                }
                if let Some(location) = answer.location {
                    response
                        .headers_mut()
                        .insert(header::LOCATION, HeaderValue::from_static(location));
                }
                response
            }
        };
        let addr = serve(Router::new().route("/jwks", get(jwks)));
        Server {
            addr,
            answer: shared,
            fetches,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/jwks", self.addr)
    }

    fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// An ES256 key pair of the test keys, published as `kid`.
struct Key {
    kid: &'static str,
    private: &'static str,
    jwk: serde_json::Value,
}

fn es256(kid: &'static str) -> Key {
    let public = auth_runtime::VerificationKey::es256_pem(&common::key_pem("es256.pub.pem"))
        .expect("key")
        .with_kid(kid)
        .expect("kid");
    Key {
        kid,
        private: "es256.pem",
        jwk: serde_json::to_value(public.jwk().expect("a public JWK")).expect("JSON"),
    }
}

fn rs256(kid: &'static str) -> Key {
    let public = auth_runtime::VerificationKey::rs256_pem(&common::key_pem("rs256.pub.pem"))
        .expect("key")
        .with_kid(kid)
        .expect("kid");
    Key {
        kid,
        private: "rs256.pem",
        jwk: serde_json::to_value(public.jwk().expect("a public JWK")).expect("JSON"),
    }
}

impl Key {
    /// A token for the verifier below, signed outside our code (jsonwebtoken).
    fn token(&self) -> String {
        let (algorithm, key) = if self.private.starts_with("es") {
            (
                jsonwebtoken::Algorithm::ES256,
                jsonwebtoken::EncodingKey::from_ec_pem(&common::key_pem(self.private)).expect("EC key"),
            )
        } else {
            (
                jsonwebtoken::Algorithm::RS256,
                jsonwebtoken::EncodingKey::from_rsa_pem(&common::key_pem(self.private)).expect("RSA key"),
            )
        };
        let header = format!(r#"{{"alg":"{algorithm:?}","kid":"{}","typ":"JWT"}}"#, self.kid);
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
            + 3600;
        let payload =
            format!(r#"{{"type":"user","properties":{{"userID":"ada"}},"iss":"{ISSUER}","aud":"app","exp":{exp}}}"#);
        let message = common::message_of(&header, &payload);
        common::sign_text_with(&message, &key, algorithm)
    }
}

fn verifier(jwks: RemoteJwks) -> JwtVerifier<AppSession> {
    JwtVerifier::builder(jwks)
        .issuer(ISSUER)
        .audience("app")
        .algorithms(&[Algorithm::ES256, Algorithm::RS256])
        .build()
        .expect("verifier")
}

fn jwks(server: &Server) -> auth_runtime::issuers::RemoteJwksBuilder {
    RemoteJwks::builder(JwksSource::Url(server.url()))
}

fn refused_as(result: Result<auth_runtime::Authenticated<AppSession>, VerifierError>) -> String {
    match result {
        Ok(_) => "accepted".to_owned(),
        Err(VerifierError::BackendUnavailable(cause)) => format!("unavailable: {cause}"),
        Err(error) => format!("refused: {error}"),
    }
}

/// A key rotation race: a thousand concurrent requests name a `kid` the cached set lacks, and
/// the issuer is asked once.
#[test]
fn a_thousand_requests_with_a_new_kid_cause_one_fetch() {
    let (old, new) = (es256("old"), rs256("new"));
    let server = Server::start(Answer::keys(std::slice::from_ref(&old.jwk)));
    let verifier = verifier(jwks(&server).refetch_interval(Duration::ZERO).build().expect("jwks"));
    let runtime = runtime();
    runtime
        .block_on(verifier.verify(&old.token()))
        .expect("the old key's token");
    assert_eq!(server.fetches(), 1);

    server.set(Answer::keys(&[old.jwk.clone(), new.jwk.clone()]));
    let token = new.token();
    let results = runtime.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let (verifier, token) = (verifier.clone(), token.clone());
                tokio::spawn(async move { verifier.verify(&token).await.is_ok() })
            })
            .collect();
        let mut passed = 0;
        for task in tasks {
            passed += usize::from(task.await.expect("task"));
        }
        passed
    });
    assert_eq!(results, 1000, "every request passes once the set is fetched");
    assert_eq!(server.fetches(), 2, "one refetch for a thousand requests");
}

/// `Cache-Control: max-age` decides how long the set is used, within the configured bounds; an
/// unknown `kid` inside the refetch interval does not reach the issuer.
#[test]
fn cache_control_is_honoured_within_bounds() {
    let key = es256("k1");
    let mut answer = Answer::keys(std::slice::from_ref(&key.jwk));
    answer.cache_control = Some("public, max-age=1");
    let server = Server::start(answer.clone());
    let clock = MovableClock::from_now();
    let verifier = verifier(
        jwks(&server)
            .ttl_bounds(Duration::from_millis(500), Duration::from_secs(60))
            .clock(clock.source())
            .build()
            .expect("jwks"),
    );
    let runtime = runtime();
    let token = key.token();
    for _ in 0..3 {
        runtime.block_on(verifier.verify(&token)).expect("verifies");
    }
    assert_eq!(server.fetches(), 1, "fresh for max-age");
    clock.advance(Duration::from_millis(1100));
    runtime.block_on(verifier.verify(&token)).expect("verifies");
    assert_eq!(server.fetches(), 2, "expired after max-age");

    // A max-age past the upper bound is cut to it; an unknown kid waits for the interval.
    answer.cache_control = Some("max-age=86400");
    let capped = Server::start(answer);
    let clock = MovableClock::from_now();
    let verifier = verifier_for_cap(&capped, &clock);
    runtime.block_on(verifier.verify(&token)).expect("verifies");
    let stranger = rs256("stranger").token();
    let refused = refused_as(runtime.block_on(verifier.verify(&stranger)));
    assert!(refused.starts_with("refused:"), "{refused}");
    assert_eq!(capped.fetches(), 1, "no refetch inside the interval");
    clock.advance(Duration::from_millis(1100));
    runtime.block_on(verifier.verify(&token)).expect("verifies");
    assert_eq!(capped.fetches(), 2, "max-age=86400 was capped at 1 s");
}

fn verifier_for_cap(server: &Server, clock: &MovableClock) -> JwtVerifier<AppSession> {
    verifier(
        jwks(server)
            .ttl_bounds(Duration::from_millis(500), Duration::from_secs(1))
            .refetch_interval(Duration::from_secs(60))
            .clock(clock.source())
            .build()
            .expect("jwks"),
    )
}

/// The issuer answering errors: the last good set serves until `max_stale` past its expiry, then
/// lookups fail closed as "unavailable" (503 through the layer), never as a refused token.
#[test]
fn the_last_good_set_serves_until_the_staleness_bound() {
    let key = es256("k1");
    let server = Server::start(Answer::keys(std::slice::from_ref(&key.jwk)));
    let clock = MovableClock::from_now();
    let verifier = verifier(
        jwks(&server)
            .ttl_bounds(Duration::from_millis(300), Duration::from_millis(300))
            .max_stale(Duration::from_millis(1500))
            .refetch_interval(Duration::from_millis(100))
            .clock(clock.source())
            .build()
            .expect("jwks"),
    );
    let runtime = runtime();
    let token = key.token();
    runtime.block_on(verifier.verify(&token)).expect("verifies");
    server.set(Answer {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        cache_control: None,
        body: String::new(),
        location: None,
    });
    clock.advance(Duration::from_millis(500));
    assert_eq!(
        refused_as(runtime.block_on(verifier.verify(&token))),
        "accepted",
        "stale, within the bound"
    );
    clock.advance(Duration::from_millis(1600));
    let down = refused_as(runtime.block_on(verifier.verify(&token)));
    assert!(down.starts_with("unavailable:") && down.contains("500"), "{down}");

    // Back up: the next lookup after the interval fetches again.
    server.set(Answer::keys(std::slice::from_ref(&key.jwk)));
    clock.advance(Duration::from_millis(150));
    assert_eq!(refused_as(runtime.block_on(verifier.verify(&token))), "accepted");
}

/// Keys for another use, without `verify` among their operations, without `alg`, HMAC secrets,
/// or RSA under 2048 bits: never used, so their tokens are refused; a set of only such keys is
/// no set at all.
#[test]
fn keys_that_do_not_fit_are_never_used() {
    let good = es256("good");
    let mut misfits = Vec::new();
    for (kid, change) in [
        ("enc", serde_json::json!({"use": "enc"})),
        ("ops", serde_json::json!({"key_ops": ["encrypt"]})),
        ("no-alg", serde_json::json!({"alg": null})),
    ] {
        let mut jwk = es256(kid).jwk;
        for (name, value) in change.as_object().expect("object") {
            if value.is_null() {
                jwk.as_object_mut().expect("object").remove(name);
            } else {
                jwk[name] = value.clone();
            }
        }
        misfits.push((kid, jwk));
    }
    misfits.push((
        "hmac",
        serde_json::json!({"kty": "oct", "kid": "hmac", "alg": "HS256", "k": URL_SAFE_B64_SECRET}),
    ));
    let small = rsa_1024_jwk("small");
    misfits.push(("small", small));
    let mut keys = vec![good.jwk.clone()];
    keys.extend(misfits.iter().map(|(_, jwk)| jwk.clone()));
    let server = Server::start(Answer::keys(&keys));
    let verifier = verifier(
        jwks(&server)
            .refetch_interval(Duration::from_secs(60))
            .build()
            .expect("jwks"),
    );
    let runtime = runtime();
    runtime.block_on(verifier.verify(&good.token())).expect("the good key");
    for (kid, _) in &misfits {
        let token = Key {
            kid,
            private: "es256.pem",
            jwk: serde_json::Value::Null,
        }
        .token();
        let refused = refused_as(runtime.block_on(verifier.verify(&token)));
        assert!(refused.contains("no verification key"), "{kid}: {refused}");
    }

    let only_misfits = Server::start(Answer::keys(
        &misfits.into_iter().map(|(_, jwk)| jwk).collect::<Vec<_>>(),
    ));
    let verifier = verifier_at(&only_misfits);
    let refused = refused_as(runtime.block_on(verifier.verify(&good.token())));
    assert!(
        refused.starts_with("unavailable:") && refused.contains("none of its 5 keys is a usable signing key"),
        "{refused}"
    );
}

fn verifier_at(server: &Server) -> JwtVerifier<AppSession> {
    verifier(jwks(server).build().expect("jwks"))
}

const URL_SAFE_B64_SECRET: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY";

/// The 1024-bit test key as a JWK, built by hand (our own key loader refuses it).
fn rsa_1024_jwk(kid: &str) -> serde_json::Value {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&common::key_pem("rs1024.pem")).expect("RSA key");
    let mut jwk = serde_json::to_value(
        jsonwebtoken::jwk::Jwk::from_encoding_key(&key, jsonwebtoken::Algorithm::RS256).expect("a JWK"),
    )
    .expect("JSON");
    jwk["kid"] = serde_json::Value::from(kid);
    jwk
}

/// The client follows no redirect (a key set URL cannot send it elsewhere) and stops reading a
/// body past the limit.
#[test]
fn no_redirects_and_a_bounded_body() {
    let key = es256("k1");
    let runtime = runtime();
    let redirecting = Server::start(Answer {
        status: StatusCode::FOUND,
        cache_control: None,
        body: String::new(),
        location: Some("http://127.0.0.1:9/jwks"),
    });
    let refused = refused_as(runtime.block_on(verifier_at(&redirecting).verify(&key.token())));
    assert!(
        refused.starts_with("unavailable:") && refused.contains("302"),
        "{refused}"
    );

    let mut huge = Answer::keys(std::slice::from_ref(&key.jwk));
    huge.body = format!(r#"{{"keys":[{}],"padding":"{}"}}"#, key.jwk, "x".repeat(300 * 1024));
    let padded = Server::start(huge);
    let refused = refused_as(runtime.block_on(verifier_at(&padded).verify(&key.token())));
    assert!(
        refused.starts_with("unavailable:") && refused.contains("over 262144 bytes"),
        "{refused}"
    );
    let roomy = verifier(jwks(&padded).max_body(1024 * 1024).build().expect("jwks"));
    runtime
        .block_on(roomy.verify(&key.token()))
        .expect("within a larger limit");
}

/// A fifth of the freshness left: a request is answered from the current set while a refresh
/// runs beside it, so the set is renewed before it expires. The refresh failing costs nothing.
#[test]
fn the_set_is_refreshed_ahead_of_its_expiry() {
    let key = es256("k1");
    let server = Server::start(Answer::keys(std::slice::from_ref(&key.jwk)));
    let clock = MovableClock::from_now();
    let verifier = verifier(
        jwks(&server)
            .ttl_bounds(Duration::from_secs(1), Duration::from_secs(1))
            .clock(clock.source())
            .build()
            .expect("jwks"),
    );
    let runtime = runtime();
    let token = key.token();
    runtime.block_on(verifier.verify(&token)).expect("verifies");
    assert_eq!(server.fetches(), 1);
    clock.advance(Duration::from_millis(850));
    server.set(Answer {
        status: StatusCode::SERVICE_UNAVAILABLE,
        cache_control: None,
        body: String::new(),
        location: None,
    });
    // Past the refresh point, before the expiry: answered from the set in hand.
    runtime
        .block_on(verifier.verify(&token))
        .expect("served while the refresh runs");
    // Nothing asks for a key after that request: a second fetch can only be its refresh.
    for _ in 0..100 {
        if server.fetches() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.fetches(), 2, "a refresh ran beside the request");
}

/// An issuer that accepts the connection and never answers: the fetch gives up after the
/// configured timeout, and the lookup is "unavailable".
#[test]
fn a_silent_issuer_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let url = format!("http://{}/jwks", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        // Holds each connection open, reading nothing back, for the test's lifetime.
        let mut held = Vec::new();
        for stream in listener.incoming().take(4).flatten() {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let verifier = verifier(
        RemoteJwks::builder(JwksSource::Url(url))
            .timeout(Duration::from_millis(300))
            .build()
            .expect("jwks"),
    );
    let refused = refused_as(runtime().block_on(verifier.verify(&es256("k1").token())));
    assert!(
        refused.starts_with("unavailable:") && refused.contains("timed out"),
        "{refused}"
    );
}
