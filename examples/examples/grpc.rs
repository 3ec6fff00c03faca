//! A gRPC service (tonic) behind the same session layer as the web app: the caller's typed
//! session reaches the handler through `use_session()`, and bad tokens get gRPC statuses.
//!
//! Run with: cargo run --example grpc
//!
//! The program serves `identity.Identity/WhoAmI` on 127.0.0.1:50051 (`GRPC_ADDR` to change it),
//! then calls it with a tonic client three ways and prints what came back: without a token
//! (`Unauthenticated` from the handler, which requires a session), with a user's token (the user
//! id), and with a broken token (`Unauthenticated` from the layer, with the reason). It exits
//! when the calls are done.
//!
//! The service is written against tonic's server and client primitives, which is what
//! `tonic-build` generates from a `.proto`, so the example needs no `protoc`.

use std::convert::Infallible;
use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use auth_examples::quickstart::AppSession;
use auth_runtime::{NoSession, SessionCache, SessionLayer, Sessions, SigningKey, require_session};
use tonic::Status;

use http::uri::PathAndQuery;
use tonic_prost::ProstCodec;

/// `identity.WhoAmIRequest {}`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WhoAmIRequest {}

/// `identity.WhoAmIReply { string user_id = 1; }`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WhoAmIReply {
    /// The caller's user id.
    #[prost(string, tag = "1")]
    pub user_id: String,
}

const WHO_AM_I: &str = "/identity.Identity/WhoAmI";

/// The `identity.Identity` service.
#[derive(Clone)]
struct Identity;

impl tonic::server::NamedService for Identity {
    const NAME: &'static str = "identity.Identity";
}

/// `WhoAmI`: the caller's user id, from the session the layer verified.
struct WhoAmI;

impl tonic::server::UnaryService<WhoAmIRequest> for WhoAmI {
    type Response = WhoAmIReply;
    type Future = Pin<Box<dyn Future<Output = Result<tonic::Response<WhoAmIReply>, Status>> + Send>>;

    fn call(&mut self, _request: tonic::Request<WhoAmIRequest>) -> Self::Future {
        // Read in `call`, which runs inside the layer's task-local scope.
        let session = require_session::<AppSession>();
        Box::pin(async move {
            match session {
                Ok(AppSession::User { user_id }) => Ok(tonic::Response::new(WhoAmIReply { user_id })),
                Ok(AppSession::Api(_)) => Err(Status::permission_denied("people only")),
                // A service the layer does not wrap is a programming error, not an anonymous caller.
                Err(NoSession::LayerMissing) => Err(Status::internal(NoSession::LayerMissing.to_string())),
                Err(no_session) => Err(Status::unauthenticated(no_session.to_string())),
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
            if request.uri().path() == WHO_AM_I {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::<WhoAmIReply, WhoAmIRequest>::default());
                Ok(grpc.unary(WhoAmI, request).await)
            } else {
                Ok(Status::unimplemented("no such method").into_http())
            }
        })
    }
}

/// Calls `WhoAmI` with `authorization` as metadata, if given.
async fn who_am_i(endpoint: &str, authorization: Option<&str>) -> Result<Result<String, Status>, Box<dyn Error>> {
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())?
        .connect()
        .await?;
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await?;
    let mut request = tonic::Request::new(WhoAmIRequest {});
    if let Some(value) = authorization {
        request.metadata_mut().insert("authorization", value.parse()?);
    }
    let codec = ProstCodec::<WhoAmIRequest, WhoAmIReply>::default();
    let reply = client.unary(request, PathAndQuery::from_static(WHO_AM_I), codec).await;
    Ok(reply.map(|reply| reply.into_inner().user_id))
}

fn show(label: &str, reply: Result<String, Status>) {
    match reply {
        Ok(user_id) => println!("{label}: user_id = {user_id}"),
        Err(status) => println!("{label}: {:?}: {}", status.code(), status.message()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    auth_examples::exit_with("grpc", run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    let sessions: Sessions<AppSession> = Sessions::builder()
        .signing_key(SigningKey::generate_ed25519()?)
        .issuer("http://localhost:50051")
        .audience("grpc-example")
        .build()?;
    let layer = SessionLayer::builder(SessionCache::new(sessions.clone())).build()?;

    let addr = std::env::var("GRPC_ADDR").unwrap_or_else(|_| "127.0.0.1:50051".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    println!("identity.Identity listening on {endpoint}");
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(layer)
            .add_service(Identity)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    show("no token", who_am_i(&endpoint, None).await?);
    let token = sessions.create(&AppSession::User {
        user_id: "ada".to_owned(),
    })?;
    show(
        "user token",
        who_am_i(&endpoint, Some(&format!("Bearer {token}"))).await?,
    );
    show("broken token", who_am_i(&endpoint, Some("Bearer not.a.token")).await?);

    server.abort();
    Ok(())
}
