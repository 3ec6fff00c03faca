//! Properties over generated sessions and tokens (proptest):
//!
//! - sign then verify gives back the same session, for every variant kind and every algorithm;
//! - any single-byte change of a token is refused;
//! - the cache never serves a session at or after its `exp`: from then on every accepted answer
//!   comes from the verifier itself.

use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use auth_runtime::{
    Authenticated, SessionCache, SessionVerifier, Sessions, SigningKey, TokenError, VerifiedToken, VerifierError,
};
use common::*;
use proptest::prelude::*;

/// Sessions with the clock at [`NOW`], one per algorithm (RSA key parsing is slow: built once).
static SESSIONS: LazyLock<Vec<Sessions<AppSession>>> = LazyLock::new(|| {
    let keys = [
        hs256_key(),
        SigningKey::ed25519_pem(&key_pem("ed25519.pem")).expect("Ed25519"),
        SigningKey::es256_pem(&key_pem("es256.pem")).expect("P-256"),
        SigningKey::rs256_pem(&key_pem("rs256.pem")).expect("RSA"),
    ];
    keys.into_iter()
        .map(|key| builder(key).clock(|| at(NOW)).build().expect("valid"))
        .collect()
});

fn any_session() -> impl Strategy<Value = AppSession> {
    prop_oneof![
        any::<String>().prop_map(|user_id| AppSession::User { user_id }),
        (any::<String>(), prop::collection::vec(any::<String>(), 0..4))
            .prop_map(|(client_id, scopes)| AppSession::Api(ApiClient { client_id, scopes })),
        Just(AppSession::Guest),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sign_then_verify_returns_the_same_session(session in any_session(), algorithm in 0..4usize) {
        let sessions = &SESSIONS[algorithm];
        let token = sessions.create(&session).expect("issues");
        let verified = sessions.verify(&token).expect("verifies");
        prop_assert_eq!(verified.session, session);
    }

    #[test]
    fn any_single_byte_change_is_refused(
        session in any_session(),
        algorithm in 0..4usize,
        position in any::<prop::sample::Index>(),
        replacement in 0x20u8..0x7f,
    ) {
        let sessions = &SESSIONS[algorithm];
        let token = sessions.create(&session).expect("issues");
        let at = position.index(token.len());
        prop_assume!(token.as_bytes()[at] != replacement);
        let mut bytes = token.into_bytes();
        bytes[at] = replacement;
        let changed = String::from_utf8(bytes).expect("still ASCII");
        prop_assert!(sessions.verify(&changed).is_err(), "accepted after changing byte {}", at);
    }
}

/// `Sessions` on a moving clock, counting how often the cache asks it.
struct Counting {
    sessions: Sessions<AppSession>,
    calls: AtomicU64,
}

impl SessionVerifier for Counting {
    type Session = AppSession;
    type Output = VerifiedToken<AppSession>;

    async fn verify_session(&self, token: &str, _: &http::HeaderMap) -> Result<Self::Output, VerifierError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.sessions.verify(token).map_err(VerifierError::failed)
    }

    fn map_session(&self, verified: Self::Output) -> Result<Authenticated<AppSession>, VerifierError> {
        Ok(verified.into())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_cache_never_serves_a_session_after_its_exp(
        lifetime in 1u64..5000,
        mut steps in prop::collection::vec(0u64..10_000, 1..12),
    ) {
        steps.sort_unstable();
        let now = Arc::new(AtomicU64::new(NOW));
        let clock = Arc::clone(&now);
        let sessions = builder(hs256_key())
            .lifetime(std::time::Duration::from_secs(lifetime + 60))
            .clock(move || at(clock.load(Ordering::SeqCst)))
            .build()
            .expect("valid");
        let token = sessions.create(&user("ada")).expect("issues");
        let expires_at = sessions.verify(&token).expect("fresh").claims.expires_at;
        let verifier = Arc::new(Counting { sessions, calls: AtomicU64::new(0) });
        let cache_clock = Arc::clone(&now);
        let cache = SessionCache::builder(Arc::clone(&verifier))
            .clock(move || at(cache_clock.load(Ordering::SeqCst)))
            .build();
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let headers = http::HeaderMap::new();
        runtime.block_on(async {
            for step in steps {
                now.store(NOW + step, Ordering::SeqCst);
                let before = verifier.calls.load(Ordering::SeqCst);
                let answer = cache.verify(&token, &headers).await;
                let asked = verifier.calls.load(Ordering::SeqCst) > before;
                if NOW + step >= expires_at && answer.is_ok() {
                    prop_assert!(asked, "served from the cache at {} past exp {}", NOW + step, expires_at);
                }
                if let Err(error) = &answer {
                    let expired = matches!(
                        error.as_ref(),
                        VerifierError::VerificationFailed(cause)
                            if matches!(cause.downcast_ref::<TokenError>(), Some(TokenError::Expired { .. }))
                    );
                    prop_assert!(expired, "only expiry refuses it: {:?}", error);
                }
            }
            Ok(())
        })?;
    }
}
