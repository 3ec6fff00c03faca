//! The same session layer in front of a real tonic server on 127.0.0.1, called by a real tonic
//! client over HTTP/2: gRPC requests get gRPC statuses, and `use_session` works in the handler.
//!
//! The service is written by hand against tonic's server and client primitives (what
//! `tonic-build` would generate), so the test needs no `protoc`.

use crate::common;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use auth_runtime::{SessionCache, SessionLayer, Sessions, use_session};
use common::*;
use http::uri::PathAndQuery;
use tonic::{Code, Status};
use tonic_prost::ProstCodec;
use tower_layer::Layer as _;

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct WhoAmIRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct WhoAmIReply {
    #[prost(string, tag = "1")]
    pub(crate) user_id: String,
}

pub(crate) const METHOD: &str = "/test.Identity/WhoAmI";
pub(crate) const PING: &str = "/test.Identity/Ping";

/// Answers with the caller's user id, read through `use_session`.
#[derive(Clone)]
pub(crate) struct Identity;

impl tonic::server::NamedService for Identity {
    const NAME: &'static str = "test.Identity";
}

struct WhoAmI;

impl tonic::server::UnaryService<WhoAmIRequest> for WhoAmI {
    type Response = WhoAmIReply;
    type Future = Pin<Box<dyn Future<Output = Result<tonic::Response<WhoAmIReply>, Status>> + Send>>;

    fn call(&mut self, _request: tonic::Request<WhoAmIRequest>) -> Self::Future {
        let session = use_session::<AppSession>();
        Box::pin(async move {
            match session {
                Some(AppSession::User { user_id }) => Ok(tonic::Response::new(WhoAmIReply { user_id })),
                Some(_) => Err(Status::permission_denied("users only")),
                None => Ok(tonic::Response::new(WhoAmIReply {
                    user_id: "public".into(),
                })),
            }
        })
    }
}

impl tower_service::Service<http::Request<tonic::body::Body>> for Identity {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            if request.uri().path() == METHOD || request.uri().path() == PING {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::<WhoAmIReply, WhoAmIRequest>::default());
                Ok(grpc.unary(WhoAmI, request).await)
            } else {
                Ok(Status::unimplemented("no such method").into_http())
            }
        })
    }
}

/// Serves `Identity` behind `layer` on a free 127.0.0.1 port, on the current runtime: the
/// address, and the server task (abort it when done).
pub(crate) async fn serve_identity<V: auth_runtime::SessionVerifier>(
    layer: SessionLayer<V>,
) -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("address");
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(layer)
            .add_service(Identity)
            .serve_with_incoming(incoming),
    );
    (addr, server)
}

async fn call(addr: std::net::SocketAddr, path: &'static str, authorization: Option<&str>) -> Result<String, Status> {
    let metadata: Vec<(&'static str, &str)> = authorization
        .map(|value| ("authorization", value))
        .into_iter()
        .collect();
    call_with(addr, path, &metadata).await
}

/// Calls `path` with these metadata entries (`authorization`, `cookie`, ...).
pub(crate) async fn call_with(
    addr: std::net::SocketAddr,
    path: &'static str,
    metadata: &[(&'static str, &str)],
) -> Result<String, Status> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connects");
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.expect("ready");
    let mut request = tonic::Request::new(WhoAmIRequest {});
    for (key, value) in metadata {
        request.metadata_mut().insert(*key, value.parse().expect("ascii"));
    }
    let codec = ProstCodec::<WhoAmIRequest, WhoAmIReply>::default();
    client
        .unary(request, PathAndQuery::from_static(path), codec)
        .await
        .map(|reply| reply.into_inner().user_id)
}

#[test]
fn tonic_server_behind_the_session_layer() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sessions: Sessions<AppSession> = builder(hs256_key()).build().expect("valid");
        let layer = SessionLayer::builder(SessionCache::new(sessions.clone()))
            .skip("test.Identity/Pi*")
            .build()
            .expect("valid layer");
        let (addr, server) = serve_identity(layer).await;

        assert_eq!(call(addr, METHOD, None).await.expect("public call"), "public");

        let token = sessions.create(&user("ada")).expect("issues");
        let bearer = format!("Bearer {token}");
        assert_eq!(call(addr, METHOD, Some(&bearer)).await.expect("valid session"), "ada");

        let expired = sessions_at(NOW).create(&user("old")).expect("issues");
        let status = call(addr, METHOD, Some(&format!("Bearer {expired}")))
            .await
            .expect_err("expired");
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert!(status.message().contains("expired"), "{status:?}");

        let status = call(addr, METHOD, Some("Bearer not.a.token"))
            .await
            .expect_err("tampered");
        assert_eq!(status.code(), Code::Unauthenticated);

        let api = sessions
            .create(&AppSession::Api(ApiClient {
                client_id: "ci".into(),
                scopes: vec![],
            }))
            .expect("issues");
        let status = call(addr, METHOD, Some(&format!("Bearer {api}")))
            .await
            .expect_err("wrong type");
        assert_eq!(status.code(), Code::PermissionDenied);

        assert_eq!(
            call(addr, PING, Some("Bearer not.a.token"))
                .await
                .expect("skipped method"),
            "public",
            "a skip pattern on package.Service/Method, with a wildcard, lets the call through unauthenticated"
        );
        server.abort();
    });
}

/// A native gRPC client (HTTP/2, `application/grpc`) may carry the session cookie: it sends no
/// `Origin`, and no browser can send its content type to another origin without a preflight, so
/// the CSRF check lets it through. gRPC-Web, which a page on another site can send with the
/// cookie, is still checked, and its refusal is written in gRPC-Web's own format: tonic-web's
/// client reads it as `PermissionDenied`.
#[test]
fn native_grpc_with_a_cookie_passes_and_cross_site_grpc_web_is_refused_in_its_format() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sessions: Sessions<AppSession> = builder(hs256_key()).build().expect("valid");
        let layer = SessionLayer::builder(SessionCache::new(sessions.clone()))
            .build()
            .expect("valid layer");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("address");
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .accept_http1(true)
                .layer(layer)
                .layer(tonic_web::GrpcWebLayer::new())
                .add_service(Identity)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        let token = sessions.create(&user("ada")).expect("issues");
        let cookie = format!("auth-token={token}");

        // Native gRPC over HTTP/2 with the cookie and no Origin (was 403 before).
        let who = call_with(addr, METHOD, &[("cookie", &cookie)]).await;
        assert_eq!(who.expect("a native gRPC call with the cookie"), "ada");

        // gRPC-Web over HTTP/1.1 through tonic-web's client.
        let web = |origin: String| {
            let cookie = cookie.clone();
            async move {
                let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<tonic_web::GrpcWebCall<tonic::body::Body>>();
                let service = tonic_web::GrpcWebClientLayer::new().layer(http);
                let origin_uri: http::Uri = format!("http://{addr}").parse().expect("uri");
                let mut client = tonic::client::Grpc::with_origin(service, origin_uri);
                client.ready().await.expect("ready");
                let mut request = tonic::Request::new(WhoAmIRequest {});
                request.metadata_mut().insert("cookie", cookie.parse().expect("ascii"));
                request.metadata_mut().insert("origin", origin.parse().expect("ascii"));
                let codec = ProstCodec::<WhoAmIRequest, WhoAmIReply>::default();
                client
                    .unary(request, PathAndQuery::from_static(METHOD), codec)
                    .await
                    .map(|reply| reply.into_inner().user_id)
            }
        };
        let own = web(format!("http://{addr}")).await;
        assert_eq!(own.expect("gRPC-Web from the service's own origin"), "ada");
        let refused = web("https://evil.example".to_owned())
            .await
            .expect_err("gRPC-Web from another site with the cookie");
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        assert!(refused.message().contains("cross-site"), "{refused:?}");
        // The same refusal on the wire, for `application/grpc-web-text`: HTTP 200 and a body that
        // is the base64 of one trailer frame (flag 0x80, length, lines), no status in headers.
        let raw = tokio::task::spawn_blocking(move || {
            let headers = [
                ("content-type", "application/grpc-web-text"),
                ("x-grpc-web", "1"),
                ("origin", "https://evil.example"),
                ("cookie", cookie.as_str()),
            ];
            crate::common::client::send_body(addr, "POST", METHOD, &headers, "AAAAAAA=")
        })
        .await
        .expect("the raw call");
        assert_eq!(raw.status, 200);
        assert_eq!(raw.header("content-type"), Some("application/grpc-web-text+proto"));
        assert_eq!(raw.header("grpc-status"), None);
        use base64::Engine as _;
        let frame = base64::engine::general_purpose::STANDARD
            .decode(raw.body.trim())
            .expect("base64");
        let trailers =
            b"grpc-status:7\r\ngrpc-message:cross%2Dsite%20request%20with%20the%20session%20cookie%20refused\r\n";
        let mut expected = vec![0x80];
        expected.extend_from_slice(&u32::try_from(trailers.len()).expect("short").to_be_bytes());
        expected.extend_from_slice(trailers);
        assert_eq!(frame, expected);
        server.abort();
    });
}
