//! Sessions across services: three tonic services on 127.0.0.1 (edge -> middle -> leaf), each
//! behind the session layer, and the leaf sees the original caller's typed session.
//!
//! Run with: cargo run --example services
//!
//! - The **edge** reads tokens of two issuers at once (`issuers::Routed`, as during a migration:
//!   here this app's own and a "legacy" issuer's, each token sent to the verifier its `iss`
//!   names) and forwards the caller's token to the middle (`Propagation::forward`).
//! - The **middle** calls one leaf with a short service token of its own
//!   (`Propagation::service_token`, `aud` = the leaf) and another with identity headers
//!   (`Propagation::identity_headers`, Connectum's `propagateHeaders`, proved with a key the two
//!   share).
//! - The **leaves** answer `WhoAmI` with the session they see.
//!
//! The program starts the four services on free ports, calls the edge with a token of each issuer
//! and with a forged identity header straight at a leaf, prints what came back, and exits.
//! The services are written against tonic's primitives (what `tonic-build` generates), so the
//! example needs no `protoc`.

use std::convert::Infallible;
use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use auth_examples::quickstart::AppSession;
use auth_runtime::issuers::{JwtVerifier, KeySource, Routed};
use auth_runtime::propagation::{
    IDENTITY_HEADER, IdentityKey, Propagation, PropagationLayer, PropagationService, TrustedHeaders,
};
use auth_runtime::{
    Algorithm, CredentialSource, SessionCache, SessionLayer, SessionVerifier, Sessions, SigningKey, use_session,
};
use http::uri::PathAndQuery;
use tonic::Status;
use tonic::transport::Channel;
use tonic_prost::ProstCodec;

/// `identity.WhoAmIRequest {}`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WhoAmIRequest {}

/// `identity.WhoAmIReply { string user_id = 1; }`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WhoAmIReply {
    /// Who the service sees.
    #[prost(string, tag = "1")]
    pub user_id: String,
}

const WHO_AM_I: &str = "/identity.Identity/WhoAmI";

type Next = PropagationService<AppSession, Channel>;

/// A leaf answers with the session it sees; a relay asks its next service.
#[derive(Clone)]
enum Node {
    Leaf,
    Relay(Next),
}

impl tonic::server::NamedService for Node {
    const NAME: &'static str = "identity.Identity";
}

struct WhoAmI(Node);

impl tonic::server::UnaryService<WhoAmIRequest> for WhoAmI {
    type Response = WhoAmIReply;
    type Future = Pin<Box<dyn Future<Output = Result<tonic::Response<WhoAmIReply>, Status>> + Send>>;

    fn call(&mut self, _request: tonic::Request<WhoAmIRequest>) -> Self::Future {
        match &self.0 {
            Node::Leaf => {
                let user_id = match use_session::<AppSession>() {
                    Some(AppSession::User { user_id }) => user_id,
                    Some(AppSession::Api(client)) => format!("API client {}", client.client_id),
                    None => "nobody".to_owned(),
                };
                Box::pin(std::future::ready(Ok(tonic::Response::new(WhoAmIReply { user_id }))))
            }
            // The propagation layer reads the caller's session when the call is made: here,
            // inside the session layer's scope.
            Node::Relay(next) => {
                let mut client = tonic::client::Grpc::new(next.clone());
                Box::pin(async move {
                    client
                        .ready()
                        .await
                        .map_err(|error| Status::unavailable(error.to_string()))?;
                    let codec = ProstCodec::<WhoAmIRequest, WhoAmIReply>::default();
                    let path = PathAndQuery::from_static(WHO_AM_I);
                    client.unary(tonic::Request::new(WhoAmIRequest {}), path, codec).await
                })
            }
        }
    }
}

impl tower_service::Service<http::Request<tonic::body::Body>> for Node {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let handler = WhoAmI(self.clone());
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<WhoAmIReply, WhoAmIRequest>::default());
            Ok(grpc.unary(handler, request).await)
        })
    }
}

/// Serves `node` on a free 127.0.0.1 port behind a layer over `verifier`, reading `sources`.
async fn serve<V>(verifier: V, sources: Vec<CredentialSource>, node: Node) -> Result<String, Box<dyn Error>>
where
    V: SessionVerifier<Session = AppSession>,
{
    let layer = SessionLayer::builder(SessionCache::new(verifier))
        .credential_sources(sources)
        .build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = format!("http://{}", listener.local_addr()?);
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(layer)
            .add_service(node)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    Ok(address)
}

/// A channel to `address` that sends the next service what `propagation` says.
fn to(address: &str, propagation: Propagation<AppSession>) -> Result<Next, Box<dyn Error>> {
    let channel = tonic::transport::Endpoint::from_shared(address.to_owned())?.connect_lazy();
    Ok(tower_layer::Layer::layer(&PropagationLayer::new(propagation), channel))
}

/// Calls `WhoAmI` at `address` with these metadata entries.
async fn who_am_i(address: &str, metadata: &[(&'static str, &str)]) -> Result<String, Box<dyn Error>> {
    let channel = tonic::transport::Endpoint::from_shared(address.to_owned())?
        .connect()
        .await?;
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await?;
    let mut request = tonic::Request::new(WhoAmIRequest {});
    for (name, value) in metadata {
        request.metadata_mut().insert(*name, value.parse()?);
    }
    let codec = ProstCodec::<WhoAmIRequest, WhoAmIReply>::default();
    Ok(
        match client.unary(request, PathAndQuery::from_static(WHO_AM_I), codec).await {
            Ok(reply) => format!("sees {}", reply.into_inner().user_id),
            Err(status) => format!("refused: {:?}: {}", status.code(), status.message()),
        },
    )
}

fn sessions(key: SigningKey, issuer: &str, audience: &str) -> Result<Sessions<AppSession>, Box<dyn Error>> {
    Ok(Sessions::builder()
        .signing_key(key)
        .issuer(issuer)
        .audience(audience)
        .build()?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    auth_examples::exit_with("services", run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    let bearer = || vec![CredentialSource::Bearer];
    // The users' tokens: this app's, and a legacy issuer's during a migration.
    let ours = sessions(SigningKey::generate_ed25519()?, "https://auth.example.com", "services")?;
    let legacy = sessions(
        SigningKey::generate_ed25519()?,
        "https://legacy.example.com",
        "services",
    )?;
    let users = || -> Result<Routed<AppSession>, Box<dyn Error>> {
        Ok(Routed::builder()
            .issuer("https://auth.example.com", ours.clone())
            .issuer("https://legacy.example.com", legacy.clone())
            .build()?)
    };

    // Leaf 1 takes the middle's service tokens only: its key, its issuer, `aud` = leaf-1.
    let middle_key = SigningKey::generate_ed25519()?;
    let middle_tokens = JwtVerifier::<AppSession>::builder(KeySource::fixed([middle_key.verification_key().clone()]))
        .issuer("https://middle.internal")
        .audience("leaf-1")
        .algorithms(&[Algorithm::EdDSA])
        .token_types(&["session+jwt"])
        .build()?;
    let leaf_1 = serve(middle_tokens, bearer(), Node::Leaf).await?;
    // Leaf 2 takes identity headers proved with the key it shares with the middle.
    let shared = IdentityKey::new(b"the key the middle and leaf 2 share (32+ bytes)")?;
    let trusted = TrustedHeaders::<AppSession>::new(shared.clone(), "leaf-2");
    let leaf_2 = serve(trusted, vec![CredentialSource::header(IDENTITY_HEADER)], Node::Leaf).await?;

    let service_token = Propagation::service_token(
        sessions(middle_key, "https://middle.internal", "leaf-1")?,
        Duration::from_secs(30),
    );
    let middle_1 = serve(users()?, bearer(), Node::Relay(to(&leaf_1, service_token)?)).await?;
    let headers = Propagation::identity_headers(shared, "leaf-2");
    let middle_2 = serve(users()?, bearer(), Node::Relay(to(&leaf_2, headers)?)).await?;
    let edge_1 = serve(users()?, bearer(), Node::Relay(to(&middle_1, Propagation::forward())?)).await?;
    let edge_2 = serve(users()?, bearer(), Node::Relay(to(&middle_2, Propagation::forward())?)).await?;

    let ada = format!("Bearer {}", ours.create(&AppSession::User { user_id: "ada".into() })?);
    let grace = format!(
        "Bearer {}",
        legacy.create(&AppSession::User {
            user_id: "grace".into()
        })?
    );
    for (label, edge) in [("service token", &edge_1), ("identity headers", &edge_2)] {
        println!(
            "edge -> middle -> leaf ({label}), ada's token:   leaf {}",
            who_am_i(edge, &[("authorization", &ada)]).await?
        );
        println!(
            "edge -> middle -> leaf ({label}), legacy token:  leaf {}",
            who_am_i(edge, &[("authorization", &grace)]).await?
        );
    }
    let forged = "eyJ0eXBlIjoidXNlciIsInByb3BlcnRpZXMiOnsidXNlcklEIjoibWFsbG9yeSJ9fQ";
    println!(
        "a forged x-session straight at leaf 2:               {}",
        who_am_i(&leaf_2, &[(IDENTITY_HEADER, forged)]).await?
    );
    Ok(())
}
