//! Sessions across services: three tonic services on 127.0.0.1 (edge -> middle -> leaf), each
//! behind the session layer, each calling the next with a `PropagationLayer` on its client
//! channel. The leaf sees the original caller's typed session whether the middle sends a service
//! token of its own or identity headers (Connectum's `propagateHeaders`); identity headers from
//! anyone without the shared key are refused.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use auth_runtime::issuers::{JwtVerifier, KeySource};
use auth_runtime::propagation::{
    IDENTITY_HEADER, IDENTITY_PROOF_HEADER, IdentityKey, Propagation, PropagationLayer, TrustedHeaders,
};
use auth_runtime::{CredentialSource, SessionCache, SessionLayer, SessionVerifier, Sessions, SigningKey};
use http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_prost::ProstCodec;
use tower_layer::Layer as _;

use crate::common::{self, AppSession};
use crate::grpc::{Identity, METHOD, WhoAmIReply, WhoAmIRequest, call_with};

const SHARED: &[u8] = b"a key the middle and the leaf share, 32+ bytes";

type Next = auth_runtime::propagation::PropagationService<AppSession, Channel>;

/// A service whose `WhoAmI` asks the next service, with the caller's identity propagated.
#[derive(Clone)]
struct Relay {
    next: Next,
}

impl tonic::server::NamedService for Relay {
    const NAME: &'static str = "test.Identity";
}

struct Ask(Next);

impl tonic::server::UnaryService<WhoAmIRequest> for Ask {
    type Response = WhoAmIReply;
    type Future = Pin<Box<dyn Future<Output = Result<tonic::Response<WhoAmIReply>, Status>> + Send>>;

    fn call(&mut self, _request: tonic::Request<WhoAmIRequest>) -> Self::Future {
        let mut client = tonic::client::Grpc::new(self.0.clone());
        Box::pin(async move {
            client
                .ready()
                .await
                .map_err(|error| Status::unavailable(error.to_string()))?;
            let codec = ProstCodec::<WhoAmIRequest, WhoAmIReply>::default();
            client
                .unary(
                    tonic::Request::new(WhoAmIRequest {}),
                    PathAndQuery::from_static(METHOD),
                    codec,
                )
                .await
        })
    }
}

impl tower_service::Service<http::Request<tonic::body::Body>> for Relay {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let ask = Ask(self.next.clone());
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<WhoAmIReply, WhoAmIRequest>::default());
            Ok(grpc.unary(ask, request).await)
        })
    }
}

/// A free 127.0.0.1 listener and its address.
async fn listener() -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("address");
    (listener, addr)
}

/// A channel to `addr` that sends what `propagation` says.
fn channel_to(addr: std::net::SocketAddr, propagation: Propagation<AppSession>) -> Next {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_lazy();
    PropagationLayer::new(propagation).layer(channel)
}

/// Serves `service` behind a layer over `verifier` reading `sources`.
async fn serve<V, Svc>(verifier: V, sources: Vec<CredentialSource>, service: Svc) -> std::net::SocketAddr
where
    V: SessionVerifier<Session = AppSession>,
    Svc: tonic::server::NamedService
        + tower_service::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    Svc::Future: Send + 'static,
{
    let layer = SessionLayer::builder(SessionCache::new(verifier))
        .credential_sources(sources)
        .build()
        .expect("layer");
    let (listener, addr) = listener().await;
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(layer)
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    addr
}

/// The leaf for each mode, the middle in front of it, the edge in front of the middle; the
/// edge's address, and the leaf's.
async fn three_services(mode: &str) -> (std::net::SocketAddr, std::net::SocketAddr) {
    let users = common::builder(common::hs256_key()).build().expect("user sessions");
    let bearer = vec![CredentialSource::Bearer];
    let (leaf, to_leaf) = match mode {
        "service token" => {
            let middle_key = SigningKey::generate_ed25519().expect("key");
            let leaf_verifier =
                JwtVerifier::<AppSession>::builder(KeySource::fixed([middle_key.verification_key().clone()]))
                    .issuer("https://middle.internal")
                    .audience("leaf")
                    .algorithms(&[auth_runtime::Algorithm::EdDSA])
                    .token_types(&["session+jwt"])
                    .build()
                    .expect("the leaf's verifier");
            let middle_sessions: Sessions<AppSession> = Sessions::builder()
                .signing_key(middle_key)
                .issuer("https://middle.internal")
                .audience("leaf")
                .build()
                .expect("the middle's sessions");
            let leaf = serve(leaf_verifier, bearer.clone(), Identity).await;
            (
                leaf,
                Propagation::service_token(middle_sessions, Duration::from_secs(30)),
            )
        }
        _ => {
            let key = IdentityKey::new(SHARED).expect("key");
            let trusted = TrustedHeaders::<AppSession>::new(key.clone(), "leaf");
            let leaf = serve(trusted, vec![CredentialSource::header(IDENTITY_HEADER)], Identity).await;
            (leaf, Propagation::identity_headers(key, "leaf"))
        }
    };
    let middle = serve(
        users.clone(),
        bearer.clone(),
        Relay {
            next: channel_to(leaf, to_leaf),
        },
    )
    .await;
    let edge = serve(
        users,
        bearer,
        Relay {
            next: channel_to(middle, Propagation::forward()),
        },
    )
    .await;
    (edge, leaf)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn the_leaf_sees_the_callers_session_through_both_modes() {
    runtime().block_on(async {
        let users = common::builder(common::hs256_key()).build().expect("user sessions");
        let ada = format!("Bearer {}", users.create(&common::user("ada")).expect("issues"));
        for mode in ["service token", "identity headers"] {
            let (edge, leaf) = three_services(mode).await;
            let who = call_with(edge, METHOD, &[("authorization", &ada)]).await;
            assert_eq!(who.expect(mode), "ada", "{mode}");
            if mode == "service token" {
                // The leaf takes only the middle's tokens: the user's own is for another audience.
                let direct = call_with(leaf, METHOD, &[("authorization", &ada)]).await;
                assert_eq!(
                    direct.expect_err("a user token at the leaf").code(),
                    Code::Unauthenticated
                );
            }
            let refused = call_with(edge, METHOD, &[("authorization", "Bearer not.a.token")]).await;
            assert_eq!(refused.expect_err(mode).code(), Code::Unauthenticated, "{mode}");
        }
    });
}

/// Identity headers from outside: without a proof, with one made with another key, for another
/// service, or for another session, the leaf refuses them.
#[test]
fn identity_headers_from_outside_are_refused() {
    runtime().block_on(async {
        let (_edge, leaf) = three_services("identity headers").await;
        use base64::Engine as _;
        let session = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"type":"user","properties":{"userID":"mallory"}}"#);
        let refused = call_with(leaf, METHOD, &[(IDENTITY_HEADER, &session)]).await;
        assert_eq!(refused.expect_err("no proof").code(), Code::Unauthenticated);

        // Proofs made the right way, by `Propagation` itself, with the wrong key or audience.
        for (key, audience) in [
            (b"another key that nobody shares, 32+ bytes".as_slice(), "leaf"),
            (SHARED, "elsewhere"),
        ] {
            let headers = forged_headers(key, audience).await;
            let metadata: Vec<(&'static str, &str)> =
                headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
            let refused = call_with(leaf, METHOD, &metadata).await;
            assert_eq!(refused.expect_err(audience).code(), Code::Unauthenticated, "{audience}");
        }
        // A proof for one session does not carry another.
        let mut headers = forged_headers(SHARED, "leaf").await;
        let metadata: Vec<(&'static str, &str)> = headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
        assert_eq!(call_with(leaf, METHOD, &metadata).await.expect("the real thing"), "ada");
        headers[0].1 = session;
        let metadata: Vec<(&'static str, &str)> = headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let refused = call_with(leaf, METHOD, &metadata).await;
        assert_eq!(refused.expect_err("another session").code(), Code::Unauthenticated);
    });
}

/// Runs `handler` as the handler of a request that carries ada's token, behind a session layer
/// (where a service makes its downstream calls); its answer, and ada's token.
async fn inside_adas_request<F>(handler: F) -> (String, String)
where
    F: Fn() -> String + Clone + Send + Sync + 'static,
{
    let users = common::builder(common::hs256_key()).build().expect("user sessions");
    let layer = SessionLayer::builder(SessionCache::new(users.clone()))
        .build()
        .expect("layer");
    let route = axum::routing::get(move || std::future::ready(handler()));
    let mut app = axum::Router::new().route("/", route).layer(layer);
    let token = users.create(&common::user("ada")).expect("issues");
    let request = http::Request::builder()
        .uri("/")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let response = tower_service::Service::call(&mut app, request).await.expect("served");
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .expect("body");
    (String::from_utf8(body.to_vec()).expect("utf-8"), token)
}

/// The identity headers `Propagation` makes for ada's session with `key` for `audience`, made
/// inside a session layer's scope as a service would.
async fn forged_headers(key: &[u8], audience: &str) -> Vec<(&'static str, String)> {
    let propagation = Propagation::<AppSession>::identity_headers(IdentityKey::new(key).expect("key"), audience);
    let (body, _) = inside_adas_request(move || {
        let headers = propagation.headers().expect("headers");
        let lines: Vec<String> = headers
            .iter()
            .map(|(name, value)| format!("{name}={}", value.to_str().expect("ascii")))
            .collect();
        lines.join("\n")
    })
    .await;
    let value = |name: &str| {
        body.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}=")))
            .map(str::to_owned)
            .expect("made")
    };
    vec![
        (IDENTITY_HEADER, value(IDENTITY_HEADER)),
        (IDENTITY_PROOF_HEADER, value(IDENTITY_PROOF_HEADER)),
    ]
}

/// The tonic interceptor forwards the caller's token from inside a handler, and fails a call
/// made with no session to send.
#[test]
fn the_tonic_interceptor_forwards_the_callers_token() {
    runtime().block_on(async {
        use tonic::service::Interceptor as _;
        let propagation = Propagation::<AppSession>::forward();
        let mut outside = propagation.interceptor();
        let refused = outside.call(tonic::Request::new(())).expect_err("no session here");
        assert_eq!(refused.code(), Code::Unauthenticated);
        let (sent, token) = inside_adas_request(move || {
            let mut interceptor = propagation.interceptor();
            let request = interceptor.call(tonic::Request::new(())).expect("a session to send");
            request
                .metadata()
                .get("authorization")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        })
        .await;
        assert_eq!(sent, format!("Bearer {token}"));
    });
}
