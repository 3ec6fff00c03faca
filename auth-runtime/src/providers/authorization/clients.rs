//! The client registry: who may ask for a code, where the code may go, and how a confidential
//! client proves it is itself.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

/// The shortest client secret [`ClientSecretHash::of`] takes: 32 characters. A client secret is
/// a key the server generates (see [`ClientSecretHash::generate`]), not a password a person
/// remembers, which is why one SHA-256 is a fitting hash for it.
pub const MIN_CLIENT_SECRET_LEN: usize = 32;

/// Why a client could not be registered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientConfigError {
    /// The client id is empty, longer than 128 bytes or not printable ASCII.
    #[error("client id `{0}` must be 1 to 128 printable ASCII characters without spaces")]
    ClientId(String),
    /// Two clients were registered under one id.
    #[error("two clients are registered as `{0}`")]
    DuplicateClient(String),
    /// A client has no redirect URI.
    #[error("client `{0}` has no redirect URI; add one with `redirect_uri(...)`")]
    NoRedirectUri(String),
    /// A redirect URI cannot be registered.
    #[error(
        "redirect URI `{uri}` of client `{client}` must be an absolute URL without fragment or userinfo: https, \
         http on 127.0.0.1, [::1] or localhost, or an app's private-use scheme like `com.example.app:/callback`"
    )]
    RedirectUri {
        /// The client.
        client: String,
        /// The URI.
        uri: String,
    },
    /// A CORS origin is not `scheme://host[:port]`.
    #[error("CORS origin `{origin}` of client `{client}` must be an origin like `https://app.example.com`")]
    CorsOrigin {
        /// The client.
        client: String,
        /// The origin.
        origin: String,
    },
    /// A client secret is too short to be a key.
    #[error(
        "a client secret must be at least {MIN_CLIENT_SECRET_LEN} characters; make one with `ClientSecretHash::generate`"
    )]
    ShortSecret,
    /// A stored secret hash is not one [`ClientSecretHash::as_str`] wrote.
    #[error("a client secret hash must read `sha256:` and 43 base64url characters")]
    SecretHash,
    /// The operating system's random number generator failed.
    #[error("could not draw random bytes for a client secret: {0}")]
    Random(getrandom::Error),
}

/// A confidential client's secret as the server keeps it: its SHA-256, never the secret.
/// Presented secrets are hashed and compared in constant time.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecretHash([u8; 32]);

impl fmt::Debug for ClientSecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecretHash(..)")
    }
}

impl ClientSecretHash {
    /// The hash of `secret` (at least [`MIN_CLIENT_SECRET_LEN`] characters).
    pub fn of(secret: &str) -> Result<Self, ClientConfigError> {
        if secret.chars().count() < MIN_CLIENT_SECRET_LEN {
            return Err(ClientConfigError::ShortSecret);
        }
        Ok(ClientSecretHash(Sha256::digest(secret.as_bytes()).into()))
    }

    /// A new secret of 256 random bits (43 base64url characters) to hand to the client once,
    /// and its hash to keep.
    pub fn generate() -> Result<(String, Self), ClientConfigError> {
        let secret = crate::random::random_id::<32>().map_err(ClientConfigError::Random)?;
        let hash = Self::of(&secret)?;
        Ok((secret, hash))
    }

    /// Reads a hash kept as [`as_str`](Self::as_str) wrote it.
    pub fn parse(stored: &str) -> Result<Self, ClientConfigError> {
        let encoded = stored.strip_prefix("sha256:").ok_or(ClientConfigError::SecretHash)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| ClientConfigError::SecretHash)?;
        Ok(ClientSecretHash(
            bytes.try_into().map_err(|_| ClientConfigError::SecretHash)?,
        ))
    }

    /// The hash as text to keep in configuration: `sha256:` and 43 base64url characters.
    pub fn as_str(&self) -> String {
        format!("sha256:{}", URL_SAFE_NO_PAD.encode(self.0))
    }

    /// Whether `presented` is the secret, in time that does not depend on where it differs.
    pub(crate) fn matches(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(self.0.ct_eq(&presented))
    }
}

/// One registered client (an app that sends people here to sign in and exchanges the code).
///
/// ```
/// use auth_runtime::providers::authorization::{Client, ClientSecretHash};
///
/// // A single-page app or a mobile app: no secret, PKCE alone protects the code.
/// let spa = Client::public("web").redirect_uri("https://app.example.com/callback");
/// // A native app on the loopback interface: any port (RFC 8252 section 7.3).
/// let cli = Client::public("cli").redirect_uri("http://127.0.0.1/callback");
/// // A server-side app: its secret's hash is kept here, the secret by the app.
/// let (secret, hash) = ClientSecretHash::generate()?;
/// let backend = Client::confidential("backend", hash).redirect_uri("https://backend.example.com/auth/callback");
/// # let _ = (spa, cli, backend, secret);
/// # Ok::<(), auth_runtime::providers::authorization::ClientConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    pub(super) id: String,
    pub(super) redirect_uris: Vec<String>,
    pub(super) secret: Option<ClientSecretHash>,
    pub(super) cors_origins: Vec<String>,
}

impl Client {
    /// A public client (a browser or mobile app that cannot keep a secret): it names itself
    /// with `client_id`, and PKCE proves the code is its own.
    pub fn public(id: impl Into<String>) -> Self {
        Client {
            id: id.into(),
            redirect_uris: Vec::new(),
            secret: None,
            cors_origins: Vec::new(),
        }
    }

    /// A confidential client (a server): it authenticates at the token endpoint with its secret,
    /// by `client_secret_basic` or `client_secret_post`, and uses PKCE as well.
    pub fn confidential(id: impl Into<String>, secret: ClientSecretHash) -> Self {
        Client {
            secret: Some(secret),
            ..Client::public(id)
        }
    }

    /// Adds a redirect URI. A request's `redirect_uri` must be one of them, compared as strings,
    /// byte for byte; except that one on `http://127.0.0.1` or `http://[::1]` matches any port
    /// there (RFC 8252 section 7.3: a native app listens on whichever port is free).
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Lets a browser on `origin` (`https://app.example.com`) call the token endpoint. A client's
    /// `https` and `http` redirect URIs' origins are allowed without it.
    pub fn cors_origin(mut self, origin: impl Into<String>) -> Self {
        self.cors_origins.push(origin.into());
        self
    }

    /// The client id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the client authenticates with a secret.
    pub fn is_confidential(&self) -> bool {
        self.secret.is_some()
    }

    /// Whether `presented` is a redirect URI of this client.
    pub(crate) fn accepts_redirect(&self, presented: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|registered| registered == presented || loopback_match(registered, presented))
    }

    /// Whether `presented` is this client's secret (never, for a public client).
    pub(crate) fn authenticates(&self, presented: &str) -> bool {
        self.secret.as_ref().is_some_and(|hash| hash.matches(presented))
    }

    /// Checks the registration, and adds the redirect URIs' web origins to the CORS origins.
    fn validate(mut self) -> Result<Self, ClientConfigError> {
        let valid_id = (1..=128).contains(&self.id.len()) && self.id.bytes().all(|b| b.is_ascii_graphic());
        if !valid_id {
            return Err(ClientConfigError::ClientId(self.id));
        }
        if self.redirect_uris.is_empty() {
            return Err(ClientConfigError::NoRedirectUri(self.id));
        }
        for uri in &self.redirect_uris {
            let origin = registrable(uri).ok_or_else(|| ClientConfigError::RedirectUri {
                client: self.id.clone(),
                uri: uri.clone(),
            })?;
            if let Some(origin) = origin
                && !self.cors_origins.contains(&origin)
            {
                self.cors_origins.push(origin);
            }
        }
        for origin in &self.cors_origins {
            let parsed = Url::parse(origin).ok();
            let is_origin = parsed.is_some_and(|url| {
                matches!(url.scheme(), "http" | "https") && url.origin().ascii_serialization() == *origin
            });
            if !is_origin {
                return Err(ClientConfigError::CorsOrigin {
                    client: self.id.clone(),
                    origin: origin.clone(),
                });
            }
        }
        Ok(self)
    }
}

/// The loopback hosts a native app's redirect URI may name with any port.
const LOOPBACK: [&str; 2] = ["http://127.0.0.1", "http://[::1]"];

/// RFC 8252 section 7.3: `presented` is `registered` on another port of the same loopback IP
/// literal. Matched on the text itself (`http://127.0.0.1`, an optional `:port` of digits, then
/// exactly the registered path and query), so no parser's normalisation can widen it.
fn loopback_match(registered: &str, presented: &str) -> bool {
    LOOPBACK.iter().any(|host| {
        let (Some(registered_rest), Some(presented_rest)) =
            (registered.strip_prefix(host), presented.strip_prefix(host))
        else {
            return false;
        };
        let without_port = |rest: &str| -> Option<String> {
            match rest.strip_prefix(':') {
                Some(after) => {
                    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                    let port: u16 = after.get(..digits)?.parse().ok()?;
                    (port > 0).then(|| after.get(digits..).map(str::to_owned))?
                }
                None => Some(rest.to_owned()),
            }
        };
        let (Some(registered_path), Some(presented_path)) =
            (without_port(registered_rest), without_port(presented_rest))
        else {
            return false;
        };
        registered_path.starts_with('/') && registered_path == presented_path
    })
}

/// Whether `uri` may be registered; `Some(Some(origin))` for a web redirect URI whose origin a
/// browser would send, `Some(None)` for an app's private-use scheme.
fn registrable(uri: &str) -> Option<Option<String>> {
    let url = Url::parse(uri).ok()?;
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() || uri.contains('#') {
        return None;
    }
    match url.scheme() {
        "https" => url.host().is_some().then(|| Some(url.origin().ascii_serialization())),
        "http" => {
            let local = matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
            local.then(|| Some(url.origin().ascii_serialization()))
        }
        // RFC 8252 section 7.1: a reverse domain name the app owns, like `com.example.app`.
        scheme if scheme.contains('.') => Some(None),
        _ => None,
    }
}

/// The registered clients, by id.
///
/// ```
/// use auth_runtime::providers::authorization::{Client, Clients};
///
/// let clients = Clients::new()
///     .client(Client::public("web").redirect_uri("https://app.example.com/callback"))
///     .client(Client::public("cli").redirect_uri("http://127.0.0.1/callback"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Clients {
    pending: Vec<Client>,
}

impl Clients {
    /// No clients yet.
    pub fn new() -> Self {
        Clients::default()
    }

    /// Registers `client` (checked when the handler is built).
    pub fn client(mut self, client: Client) -> Self {
        self.pending.push(client);
        self
    }

    /// Checks every registration.
    pub(crate) fn build(self) -> Result<Registry, ClientConfigError> {
        let mut clients = BTreeMap::new();
        for client in self.pending {
            let client = client.validate()?;
            if clients.contains_key(&client.id) {
                return Err(ClientConfigError::DuplicateClient(client.id));
            }
            clients.insert(client.id.clone(), client);
        }
        Ok(Registry { clients })
    }
}

/// The checked registry the handler serves.
#[derive(Debug)]
pub(crate) struct Registry {
    clients: BTreeMap<String, Client>,
}

impl Registry {
    /// The client called `id`.
    pub(crate) fn get(&self, id: &str) -> Option<&Client> {
        self.clients.get(id)
    }

    /// Whether `origin` is a CORS origin of some client.
    pub(crate) fn allows_origin(&self, origin: &[u8]) -> bool {
        self.clients
            .values()
            .any(|client| client.cors_origins.iter().any(|allowed| allowed.as_bytes() == origin))
    }

    /// Whether the client `id` must authenticate (it is confidential, or unknown).
    pub(crate) fn must_authenticate(&self, id: &str) -> bool {
        self.get(id).is_none_or(Client::is_confidential)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(uri: &str) -> Client {
        Client::public("c").redirect_uri(uri)
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let registered = client("https://app.example.com/callback");
        assert!(registered.accepts_redirect("https://app.example.com/callback"));
        for presented in [
            "https://app.example.com/callback/",
            "https://app.example.com/callbac",
            "https://app.example.com/callback?x=1",
            "https://APP.example.com/callback",
            "https://app.example.com/Callback",
            "https://app.example.com/%63allback",
            "https://user@app.example.com/callback",
            "https://app.example.com:443/callback",
            "https://app.example.com.evil.com/callback",
            "http://app.example.com/callback",
        ] {
            assert!(!registered.accepts_redirect(presented), "{presented}");
        }
    }

    #[test]
    fn loopback_redirects_match_any_port_and_nothing_else() {
        let registered = client("http://127.0.0.1/callback");
        assert!(registered.accepts_redirect("http://127.0.0.1/callback"));
        assert!(registered.accepts_redirect("http://127.0.0.1:51234/callback"));
        for presented in [
            "http://127.0.0.1:51234/callback/x",
            "http://127.0.0.1:51234@evil.com/callback",
            "http://127.0.0.1:0/callback",
            "http://127.0.0.1:99999/callback",
            "http://127.0.0.1:/callback",
            "http://127.0.0.1.evil.com/callback",
            "http://[::1]:5000/callback",
            "http://localhost:5000/callback",
        ] {
            assert!(!registered.accepts_redirect(presented), "{presented}");
        }
        let v6 = client("http://[::1]/cb");
        assert!(v6.accepts_redirect("http://[::1]:8080/cb"));
        // `localhost` is matched exactly, port included (RFC 8252 recommends the IP literals).
        let localhost = client("http://localhost:4000/cb");
        assert!(localhost.accepts_redirect("http://localhost:4000/cb"));
        assert!(!localhost.accepts_redirect("http://localhost:4001/cb"));
    }

    #[test]
    fn registrations_are_checked() {
        let bad = [
            "http://app.example.com/callback",
            "https://app.example.com/callback#fragment",
            "https://user:pass@app.example.com/callback",
            "javascript:alert(1)",
            "/relative",
        ];
        for uri in bad {
            assert!(Clients::new().client(client(uri)).build().is_err(), "{uri}");
        }
        let registry = Clients::new()
            .client(client("https://app.example.com/callback"))
            .build()
            .map_err(|error| error.to_string());
        assert!(registry.is_ok());
        let native = Clients::new().client(client("com.example.app:/callback")).build();
        assert!(native.is_ok());
        let duplicate = Clients::new()
            .client(client("https://a.example.com/cb"))
            .client(client("https://b.example.com/cb"))
            .build();
        assert!(matches!(duplicate, Err(ClientConfigError::DuplicateClient(_))));
    }

    #[test]
    fn cors_origins_default_to_the_redirect_uris_origins() -> Result<(), ClientConfigError> {
        let registry = Clients::new()
            .client(client("https://app.example.com/callback").cors_origin("https://other.example.com"))
            .build()?;
        assert!(registry.allows_origin(b"https://app.example.com"));
        assert!(registry.allows_origin(b"https://other.example.com"));
        assert!(!registry.allows_origin(b"https://evil.example.com"));
        assert!(!registry.allows_origin(b"null"));
        Ok(())
    }

    #[test]
    fn secrets_are_kept_hashed_and_compared_whole() -> Result<(), ClientConfigError> {
        let (secret, hash) = ClientSecretHash::generate()?;
        assert_eq!(secret.len(), 43);
        let kept = ClientSecretHash::parse(&hash.as_str())?;
        assert_eq!(kept, hash);
        assert!(!hash.as_str().contains(&secret));
        let client = Client::confidential("c", kept);
        assert!(client.authenticates(&secret));
        assert!(!client.authenticates(&secret[..42]));
        assert!(!client.authenticates(""));
        assert!(!Client::public("p").authenticates(&secret));
        assert!(matches!(
            ClientSecretHash::of("short"),
            Err(ClientConfigError::ShortSecret)
        ));
        Ok(())
    }
}
