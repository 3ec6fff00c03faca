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

#[derive(Clone, PartialEq, prost::Message)]
struct WhoAmIRequest {}

#[derive(Clone, PartialEq, prost::Message)]
struct WhoAmIReply {
    #[prost(string, tag = "1")]
    user_id: String,
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
