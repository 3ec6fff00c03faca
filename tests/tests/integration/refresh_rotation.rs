//! `Store::rotate_refresh`, the one step a refresh's writes take, on every store: what it
//! writes, what refuses it (a revoked family by id or by subject, a full counter, a lost claim)
//! and that a refusal writes nothing but the counters. Redis runs it as one script; the others
//! take the default, step by step; the contract is the same. On Redis a whole refresh is two
//! round trips, counted by Redis itself.

use std::sync::Arc;
use std::time::Duration;

use auth_runtime::store::{RefreshRotation, RotationCounter, RotationOutcome, RotationRecord, Store, StoreError};

use crate::common::backends::{Backend, Engine};

const MINUTE: Duration = Duration::from_secs(60);

/// The keys of one rotation, numbered so that rounds do not share records.
struct Keys {
    fresh: String,
    claim: String,
    marker: String,
    retire: String,
}

impl Keys {
    fn round(round: u32) -> Keys {
        Keys {
            fresh: format!("refresh:fresh-{round}"),
            claim: format!("refresh-next:old-{round}"),
            marker: format!("refresh-retired:old-{round}"),
            retire: format!("refresh:old-{round}"),
        }
    }

    fn rotation<'a>(&'a self, subject: Option<(&'a str, u64)>, counters: &'a [(String, u64)]) -> RefreshRotation<'a> {
        let mut rotation = RefreshRotation::new(
            "revoked:family-1",
            RotationRecord::new(&self.fresh, b"fresh".to_vec(), MINUTE),
            RotationRecord::new(&self.claim, b"claim".to_vec(), MINUTE),
            RotationRecord::new(&self.marker, b"marker".to_vec(), MINUTE),
            &self.retire,
        );
        if let Some((key, started_at)) = subject {
            rotation = rotation.subject_revoked(key, started_at);
        }
        for (key, max) in counters {
            rotation = rotation.counter(RotationCounter::new(key, MINUTE, *max));
        }
        rotation
    }

    /// The four records as the store holds them: fresh, claim, marker, the retired one.
    async fn read(&self, store: &Arc<dyn Store>) -> [Option<Vec<u8>>; 4] {
        let get = |key: &str| {
            let store = Arc::clone(store);
            let key = key.to_owned();
            async move { store.get(&key).await.expect("reads") }
        };
        [
            get(&self.fresh).await,
            get(&self.claim).await,
            get(&self.marker).await,
            get(&self.retire).await,
        ]
    }
}

fn some(bytes: &[u8]) -> Option<Vec<u8>> {
    Some(bytes.to_vec())
}

async fn rotates_or_refuses_writing_nothing(engine: Engine) {
    let backend = Backend::start(engine);
    let store = backend.instance().await;
    let counters = [
        ("rate:rotate-client:0:a".to_owned(), 3),
        ("rate:rotate-family:0:b".to_owned(), 100),
    ];
    let untouched = |keys: &Keys| [None, None, None, some(format!("live-{}", &keys.retire).as_bytes())];
    let prepare = |round: u32| {
        let store = Arc::clone(&store);
        async move {
            let keys = Keys::round(round);
            let live = format!("live-{}", keys.retire).into_bytes();
            store.put(&keys.retire, live, MINUTE).await.expect("the live record");
            keys
        }
    };

    // Rotated: every record written, the retired one gone, each counter at one.
    let keys = prepare(1).await;
    let outcome = store.rotate_refresh(keys.rotation(None, &counters)).await;
    assert_eq!(outcome.expect("answers"), RotationOutcome::Rotated, "{engine:?}");
    assert_eq!(
        keys.read(&store).await,
        [some(b"fresh"), some(b"claim"), some(b"marker"), None],
        "{engine:?}"
    );

    // Taken: the claim is another rotation's; nothing of this one stays.
    let mut second = Keys::round(1);
    second.fresh = "refresh:fresh-lost".to_owned();
    let outcome = store.rotate_refresh(second.rotation(None, &counters)).await;
    assert_eq!(outcome.expect("answers"), RotationOutcome::Taken, "{engine:?}");
    assert_eq!(
        store.get(&second.fresh).await.expect("reads"),
        None,
        "{engine:?}: the loser's record"
    );
    assert_eq!(
        store.get(&keys.claim).await.expect("reads"),
        some(b"claim"),
        "{engine:?}: the winner's claim"
    );

    // Limited: the client's counter (max 3) is at 3 after this third call; the fourth is
    // refused, with the counter's index, and writes nothing.
    let keys = prepare(2).await;
    let outcome = store.rotate_refresh(keys.rotation(None, &counters)).await;
    assert_eq!(
        outcome.expect("answers"),
        RotationOutcome::Rotated,
        "{engine:?}: the third"
    );
    let keys = prepare(3).await;
    let outcome = store.rotate_refresh(keys.rotation(None, &counters)).await;
    assert_eq!(outcome.expect("answers"), RotationOutcome::Limited(0), "{engine:?}");
    assert_eq!(keys.read(&store).await, untouched(&keys), "{engine:?}: limited");
    let counters = [(format!("rate:rotate-family:0:{engine:?}"), 100)];

    // Revoked by the subject's record: a family started in or before the revocation's second,
    // or a record that is not a number; a family started after it rotates.
    store
        .put("revoked-sub:ada", b"1000".to_vec(), MINUTE)
        .await
        .expect("a subject revocation");
    store
        .put("revoked-sub:bob", b"not a second".to_vec(), MINUTE)
        .await
        .expect("a foreign record");
    for (round, subject, started_at, revoked) in [
        (4, "revoked-sub:ada", 999, true),
        (5, "revoked-sub:ada", 1000, true),
        (6, "revoked-sub:bob", 5000, true),
        (7, "revoked-sub:ada", 1001, false),
        (8, "revoked-sub:nobody", 1, false),
    ] {
        let keys = prepare(round).await;
        let outcome = store
            .rotate_refresh(keys.rotation(Some((subject, started_at)), &counters))
            .await
            .expect("answers");
        if revoked {
            assert_eq!(outcome, RotationOutcome::Revoked, "{engine:?} {subject} {started_at}");
            assert_eq!(keys.read(&store).await, untouched(&keys), "{engine:?}: revoked");
        } else {
            assert_eq!(outcome, RotationOutcome::Rotated, "{engine:?} {subject} {started_at}");
        }
    }

    // Revoked by the session's record, which wins over a full counter.
    store
        .put("revoked:family-1", Vec::new(), MINUTE)
        .await
        .expect("a revocation");
    let keys = prepare(9).await;
    let full = [(counters[0].0.clone(), 0)];
    let outcome = store.rotate_refresh(keys.rotation(None, &full)).await;
    assert_eq!(outcome.expect("answers"), RotationOutcome::Revoked, "{engine:?}");
    assert_eq!(keys.read(&store).await, untouched(&keys), "{engine:?}: revoked by id");
    assert_eq!(
        store.increment(&counters[0].0, MINUTE).await.expect("a counter"),
        7,
        "{engine:?}: every call counted, refused or not (six rounds, 4 to 9, then this one)"
    );

    // A counter's key that holds something else is an error, not a pass.
    store.remove("revoked:family-1").await.expect("removed");
    store.put("rate:odd", b"x".to_vec(), MINUTE).await.expect("a record");
    let keys = prepare(10).await;
    let odd = [("rate:odd".to_owned(), 100)];
    let refused = store.rotate_refresh(keys.rotation(None, &odd)).await;
    assert!(
        matches!(&refused, Err(StoreError::NotACounter { key }) if key == "rate:odd"),
        "{engine:?}: {refused:?}"
    );
    assert_eq!(keys.read(&store).await, untouched(&keys), "{engine:?}: not a counter");
}

/// Concurrent rotations of one token on two instances: one claim wins, every loser leaves
/// nothing behind.
async fn one_of_many_concurrent_rotations_wins(engine: Engine) {
    let backend = Backend::start(engine);
    let instances = [backend.instance().await, backend.instance().await];
    for round in 0..5_u32 {
        let keys = Keys::round(100 + round);
        instances[0]
            .put(&keys.retire, b"live".to_vec(), MINUTE)
            .await
            .expect("the live record");
        let tasks: Vec<_> = (0..12_usize)
            .map(|task| {
                let store = Arc::clone(&instances[task % 2]);
                let claim = keys.claim.clone();
                let marker = keys.marker.clone();
                let retire = keys.retire.clone();
                tokio::spawn(async move {
                    let fresh = format!("refresh:fresh-{round}-{task}");
                    let rotation = RefreshRotation::new(
                        "revoked:family-2",
                        RotationRecord::new(&fresh, vec![task as u8], MINUTE),
                        RotationRecord::new(&claim, vec![task as u8], MINUTE),
                        RotationRecord::new(&marker, Vec::new(), MINUTE),
                        &retire,
                    );
                    let outcome = store.rotate_refresh(rotation).await.expect("answers");
                    let kept = store.get(&fresh).await.expect("reads");
                    (task, outcome, kept)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (task, outcome, kept) = task.await.expect("task");
            match outcome {
                RotationOutcome::Rotated => {
                    assert_eq!(kept, Some(vec![task as u8]), "{engine:?}: the winner's record");
                    winners.push(task);
                }
                RotationOutcome::Taken => assert_eq!(kept, None, "{engine:?}: a loser's record"),
                other => panic!("{engine:?}: {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "{engine:?} round {round}: {winners:?}");
        let claimed = instances[1].get(&keys.claim).await.expect("reads");
        assert_eq!(
            claimed,
            Some(vec![winners[0] as u8]),
            "{engine:?}: the claim is the winner's"
        );
    }
}

macro_rules! engines {
    ($($store:ident: $engine:expr $(, $ignore:literal)?;)*) => {
        $(
            mod $store {
                $(#[ignore = $ignore])?
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn rotates_or_refuses_writing_nothing() {
                    super::rotates_or_refuses_writing_nothing($engine).await;
                }

                $(#[ignore = $ignore])?
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn one_of_many_concurrent_rotations_wins() {
                    super::one_of_many_concurrent_rotations_wins($engine).await;
                }
            }
        )*
    };
}

engines! {
    memory: super::Engine::Memory;
    redis: super::Engine::Redis, "needs redis-server";
    sqlite: super::Engine::Sqlite;
    postgres: super::Engine::Postgres, "needs PostgreSQL (initdb, pg_ctl)";
}
