//! `RedisStore` against a real `redis-server` on 127.0.0.1: every store step is one atomic
//! Redis step with its expiry set in Redis under the configured prefix, concurrent callers win
//! once, invalidation events reach every store and report a lost subscription, and a stopped
//! server gives clear errors, then service again once it is back.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use auth_runtime::store::{Invalidation, RedisStore, Store, StoreError, StoreEvent, Subscription};
use common::redis_server::RedisServer;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

const MINUTE: Duration = Duration::from_secs(60);
/// Only guards against a hang: every wait below ends on an event, not on a clock.
const HANG: Duration = Duration::from_secs(30);

async fn connect(server: &RedisServer, prefix: &str) -> RedisStore {
    RedisStore::builder(server.url())
        .prefix(prefix)
        .heartbeat(Duration::from_millis(200))
        .timeout(Duration::from_millis(500))
        .connect()
        .await
        .expect("connects to the test server")
}

/// Redis's own count of the commands it ran since the last `CONFIG RESETSTAT`
/// (`INFO commandstats`: a `cmdstat_<command>:calls=<n>,...` line per command).
async fn command_stats(server: &RedisServer) -> String {
    let client = redis::Client::open(server.url()).expect("client");
    let mut connection = client.get_multiplexed_async_connection().await.expect("connects");
    redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut connection)
        .await
        .expect("INFO")
}

/// Records every event `store` delivers.
fn listen(store: &RedisStore) -> (Subscription, UnboundedReceiver<StoreEvent>) {
    let (sender, receiver) = unbounded_channel();
    let subscription = store.subscribe(Arc::new(move |event: &StoreEvent| {
        let _ = sender.send(event.clone());
    }));
    (subscription, receiver)
}

/// Waits for `wanted`, skipping other events.
async fn wait_for(events: &mut UnboundedReceiver<StoreEvent>, wanted: &StoreEvent) {
    let found = tokio::time::timeout(HANG, async {
        while let Some(event) = events.recv().await {
            if event == *wanted {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "no {wanted:?}");
}

#[ignore = "needs redis-server"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_is_one_redis_step_with_its_expiry_under_the_prefix() {
    let server = RedisServer::start();
    let store = connect(&server, "app1:").await;
    let other_app = connect(&server, "app2:").await;

    store.put("k", b"v".to_vec(), MINUTE).await.unwrap();
    assert_eq!(store.get("k").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(server.command("EXISTS app1:k"), ":1", "the key lives under the prefix");
    let ttl: u64 = server.command("PTTL app1:k")[1..].parse().unwrap();
    assert!(ttl > 50_000 && ttl <= 60_000, "expiry set in Redis: {ttl} ms");
    assert_eq!(other_app.get("k").await.unwrap(), None, "another prefix is another app");

    assert!(store.put_new("once", b"a".to_vec(), MINUTE).await.unwrap());
    assert!(!store.put_new("once", b"b".to_vec(), MINUTE).await.unwrap());
    assert_eq!(store.take("once").await.unwrap(), Some(b"a".to_vec()));
    assert_eq!(store.take("once").await.unwrap(), None);
    assert_eq!(server.command("EXISTS app1:once"), ":0");

    assert_eq!(store.increment("n", MINUTE).await.unwrap(), 1);
    assert_eq!(store.increment("n", Duration::from_secs(5)).await.unwrap(), 2);
    let ttl: u64 = server.command("PTTL app1:n")[1..].parse().unwrap();
    assert!(
        ttl > 50_000,
        "a counter keeps the lifetime it was created with: {ttl} ms"
    );
    assert!(matches!(
        store.increment("k", MINUTE).await,
        Err(StoreError::NotACounter { .. })
    ));
    assert_eq!(store.get("k").await.unwrap(), Some(b"v".to_vec()), "left as it was");

    store.put("short", Vec::new(), Duration::ZERO).await.unwrap();
    let ttl: i64 = server.command("PTTL app1:short")[1..].parse().unwrap();
    assert!(ttl <= 1, "a zero time to live is the shortest Redis has: {ttl}");

    store.remove("k").await.unwrap();
    assert_eq!(store.get("k").await.unwrap(), None);
    assert_eq!(server.command("EXISTS app1:k"), ":0");
}

#[ignore = "needs redis-server"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_on_two_connections_win_once() {
    let server = RedisServer::start();
    let stores = [connect(&server, "auth:").await, connect(&server, "auth:").await];
    for round in 0..20 {
        let key = format!("code:{round}");
        let puts = (0..40).map(|i| {
            let store = stores[i % 2].clone();
            let key = key.clone();
            tokio::spawn(async move { store.put_new(&key, vec![i as u8], MINUTE).await.unwrap() })
        });
        let won: Vec<bool> = futures_join(puts).await;
        assert_eq!(
            won.iter().filter(|won| **won).count(),
            1,
            "round {round}: one put_new wins"
        );

        let takes = (0..40).map(|i| {
            let store = stores[i % 2].clone();
            let key = key.clone();
            tokio::spawn(async move { store.take(&key).await.unwrap() })
        });
        let taken: Vec<Option<Vec<u8>>> = futures_join(takes).await;
        assert_eq!(taken.iter().flatten().count(), 1, "round {round}: one take gets it");
    }
}

async fn futures_join<T>(tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut results = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        results.push(task.await.expect("task"));
    }
    results
}

#[ignore = "needs redis-server"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_every_instance_and_a_lost_subscription_says_so() {
    let server = RedisServer::start();
    let a = connect(&server, "auth:").await;
    let b = connect(&server, "auth:").await;
    let (_subscription, mut events) = listen(&b);
    wait_for(&mut events, &StoreEvent::Subscribed).await;
    assert!(b.is_subscribed());

    for invalidation in [
        Invalidation::Session("jti-1".into()),
        Invalidation::Subject("ada:lovelace".into()),
        Invalidation::All,
    ] {
        a.publish(&invalidation).await.unwrap();
        wait_for(&mut events, &StoreEvent::Invalidate(invalidation)).await;
    }
    // Reported, not asserted: publish on one connection to delivery on the other, 50 times.
    let mut delays = Vec::new();
    for i in 0..50 {
        let invalidation = Invalidation::Session(format!("timed-{i}"));
        let published = std::time::Instant::now();
        a.publish(&invalidation).await.unwrap();
        wait_for(&mut events, &StoreEvent::Invalidate(invalidation)).await;
        delays.push(published.elapsed());
    }
    delays.sort();
    eprintln!(
        "publish to delivery: median {:?}, max {:?} over {} events",
        delays[delays.len() / 2],
        delays[delays.len() - 1],
        delays.len()
    );
    // A message no instance wrote reads as "forget everything".
    server.command("PUBLISH auth:invalidate something-new");
    wait_for(&mut events, &StoreEvent::Invalidate(Invalidation::All)).await;

    // Redis drops the subscriber's connection (as on `client-output-buffer-limit`): the
    // instance hears it is deaf, then re-subscribes on its own.
    assert_eq!(server.command("CLIENT KILL TYPE pubsub"), ":1");
    wait_for(&mut events, &StoreEvent::Interrupted).await;
    wait_for(&mut events, &StoreEvent::Subscribed).await;
    a.publish(&Invalidation::Session("jti-2".into())).await.unwrap();
    wait_for(
        &mut events,
        &StoreEvent::Invalidate(Invalidation::Session("jti-2".into())),
    )
    .await;

    // A silent connection (Redis paused: no reply, no close) is found by the heartbeat's PING.
    server.command("CLIENT PAUSE 2000 ALL");
    wait_for(&mut events, &StoreEvent::Interrupted).await;
    wait_for(&mut events, &StoreEvent::Subscribed).await;
}

#[ignore = "needs redis-server"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_is_an_error_and_a_restarted_one_is_used_again() {
    let mut server = RedisServer::start();
    let store = connect(&server, "auth:").await;
    let (_subscription, mut events) = listen(&store);
    wait_for(&mut events, &StoreEvent::Subscribed).await;
    store.put("k", b"v".to_vec(), MINUTE).await.unwrap();

    server.stop();
    wait_for(&mut events, &StoreEvent::Interrupted).await;
    for _ in 0..3 {
        let error = store.get("k").await.expect_err("no server");
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
        assert!(error.to_string().starts_with("the store is unavailable"), "{error}");
        assert!(store.put_new("n", Vec::new(), MINUTE).await.is_err());
        assert!(store.take("n").await.is_err());
        assert!(store.increment("c", MINUTE).await.is_err());
        assert!(store.publish(&Invalidation::All).await.is_err());
    }

    server.restart();
    wait_for(&mut events, &StoreEvent::Subscribed).await;
    // The restarted server is empty; the first command after it is back already succeeds.
    assert_eq!(store.get("k").await.unwrap(), None);
    store.put("k", b"again".to_vec(), MINUTE).await.unwrap();
    assert_eq!(store.get("k").await.unwrap(), Some(b"again".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_reported_at_start() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let error = RedisStore::builder(format!("redis://127.0.0.1:{port}/"))
        .timeout(Duration::from_millis(300))
        .connect()
        .await
        .expect_err("nothing listens there");
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    let error = RedisStore::connect("http://not-redis/")
        .await
        .expect_err("not a Redis URL");
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
}

/// A Redis that evicts under memory pressure could drop a revocation or a used-link marker (all
/// carry a time to live, so `volatile-*` policies evict them first): refused at start-up unless
/// the application says it accepts that, and a `CONFIG GET` that is refused counts as evicting.
#[ignore = "needs redis-server"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_evicts_keys_is_refused_at_start() {
    let server = RedisServer::start();
    assert!(
        RedisStore::connect(server.url()).await.is_ok(),
        "noeviction, the default"
    );
    for policy in ["volatile-lru", "allkeys-lru", "volatile-ttl"] {
        assert_eq!(server.command(&format!("CONFIG SET maxmemory-policy {policy}")), "+OK");
        let error = RedisStore::connect(server.url()).await.expect_err("an evicting Redis");
        assert!(
            matches!(&error, StoreError::Evicts { policy: found } if found == policy),
            "{error:?}"
        );
        assert!(error.to_string().contains("noeviction"), "{error}");
        let accepted = RedisStore::builder(server.url()).accept_eviction_risk().connect().await;
        assert!(accepted.is_ok(), "the risk, accepted: {accepted:?}");
    }
    // A Redis whose CONFIG command is renamed away (as managed services do) cannot say.
    assert_eq!(server.command("CONFIG SET maxmemory-policy noeviction"), "+OK");
    let locked = RedisServer::start_with(&["--rename-command", "CONFIG", ""]);
    let error = RedisStore::connect(locked.url()).await.expect_err("policy unknown");
    assert!(
        matches!(&error, StoreError::Evicts { policy } if policy.starts_with("unknown")),
        "{error:?}"
    );
}

/// A revocation is one step: the record and its event together, or neither. A Redis that
/// refuses `PUBLISH` inside the transaction (here: the command renamed away) leaves no record
/// behind, so no instance is left holding a session the others were never told of.
#[ignore = "needs redis-server"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_is_written_and_published_in_one_step() {
    use auth_runtime::revocation::Revocations;
    let server = RedisServer::start();
    let store = Arc::new(connect(&server, "ok:").await);
    let (_subscription, mut events) = listen(&store);
    wait_for(&mut events, &StoreEvent::Subscribed).await;
    let revocations = Revocations::new(Arc::clone(&store) as Arc<dyn Store>);
    revocations.revoke("jti-1", None).await.expect("revoked");
    wait_for(
        &mut events,
        &StoreEvent::Invalidate(Invalidation::Session("jti-1".to_owned())),
    )
    .await;
    assert!(revocations.is_revoked("jti-1").await.expect("reads"));

    let no_publish = RedisServer::start_with(&["--rename-command", "PUBLISH", ""]);
    let store: Arc<dyn Store> = Arc::new(connect(&no_publish, "np:").await);
    let revocations = Revocations::new(Arc::clone(&store));
    assert!(
        revocations.revoke("jti-2", None).await.is_err(),
        "the transaction is refused"
    );
    assert!(
        !revocations.is_revoked("jti-2").await.expect("reads"),
        "no record without its event"
    );
    assert_eq!(no_publish.command("EXISTS np:revoked:jti-2"), ":0");
}

/// A cache miss reads the session's and the subject's revocation records in one `MGET`: one
/// round trip, counted by Redis itself.
#[ignore = "needs redis-server"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_reads_both_revocation_records_in_one_round_trip() {
    use auth_runtime::revocation::{Revocable, Revocations};
    use auth_runtime::{SessionVerifier, Sessions};
    let server = RedisServer::start();
    let store: Arc<dyn Store> = Arc::new(connect(&server, "rt:").await);
    let sessions: Sessions<common::AppSession> = common::builder(common::hs256_key())
        .subject_from(|_| Some("ada".to_owned()))
        .build()
        .expect("sessions");
    let revocable = Revocable::new(sessions.clone(), Revocations::new(Arc::clone(&store)));
    let token = sessions.create(&common::user("ada")).expect("token");
    assert_eq!(server.command("CONFIG RESETSTAT"), "+OK");
    revocable
        .verify_session(&token, &http::HeaderMap::new())
        .await
        .expect("not revoked");
    let stats = command_stats(&server).await;
    assert!(stats.contains("cmdstat_mget:calls=1,"), "{stats}");
    assert!(!stats.contains("cmdstat_get:"), "no single GET: {stats}");

    Revocations::new(Arc::clone(&store))
        .revoke_subject("ada")
        .await
        .expect("revoked");
    let refused = revocable.verify_session(&token, &http::HeaderMap::new()).await;
    assert!(
        refused.is_err(),
        "the subject's record, read by the same MGET, refuses it"
    );
}

/// A refresh on Redis is two round trips: the `MGET` of the token's records, then one script
/// (the revocation check, both rate counters, the claim, the new record, the marker and the
/// deletion). Counted by the store's own meter (two calls) and by Redis (`EVAL` and `MGET` once
/// each).
#[ignore = "needs redis-server"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_is_two_round_trips() {
    use auth_runtime::refresh::RefreshTokens;
    use auth_runtime::store::MeteredStore;
    let server = RedisServer::start();
    let metered = MeteredStore::new(connect(&server, "two:").await);
    let sessions = common::builder(common::hs256_key())
        .subject_from(|_| Some("ada".to_owned()))
        .build()
        .expect("sessions");
    let tokens = RefreshTokens::builder(sessions, metered.clone())
        .build()
        .expect("refresh tokens");
    let pair = tokens.issue(&common::user("ada")).await.expect("a pair");
    let before = metered.stats();
    assert_eq!(server.command("CONFIG RESETSTAT"), "+OK");
    let next = tokens.refresh(&pair.refresh_token).await.expect("rotates");
    let after = metered.stats();

    let calls = |stats: &auth_runtime::store::StoreStats| {
        [
            stats.put.calls,
            stats.put_new.calls,
            stats.get.calls,
            stats.take.calls,
            stats.increment.calls,
            stats.remove.calls,
            stats.publish.calls,
            stats.get_many.calls,
            stats.put_and_publish.calls,
            stats.rotate_refresh.calls,
        ]
    };
    let made: Vec<u64> = calls(&after)
        .iter()
        .zip(calls(&before))
        .map(|(after, before)| after - before)
        .collect();
    assert_eq!(made, [0, 0, 0, 0, 0, 0, 0, 1, 0, 1], "one get_many, one rotate_refresh");

    let stats = command_stats(&server).await;
    assert!(stats.contains("cmdstat_mget:calls=1,"), "{stats}");
    assert!(stats.contains("cmdstat_eval:calls=1,"), "{stats}");

    // What the script wrote is what the step-by-step store writes: the new token rotates, the
    // old one within the grace window gets the same successor.
    let replay = tokens.refresh(&pair.refresh_token).await.expect("the grace window");
    assert_eq!(replay.refresh_token, next.refresh_token);
    tokens
        .refresh(&next.refresh_token)
        .await
        .expect("the new token rotates");
}
