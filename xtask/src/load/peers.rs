//! `cargo xtask load --peers`: everything `cargo xtask load` measures (the generator check, the
//! layer against bare axum), then our layer side by side with what a team would otherwise use,
//! on the same generator, the same machine, in the same run. Every target
//! is a release build or a Node process on 127.0.0.1, started here and measured alone: requests
//! per second, p50/p99/p99.9, server CPU per request and peak resident memory (`VmHWM`).
//!
//! - **JWT in a cookie** (HS256, the same tokens and secret): `jwt-authorizer`'s layer (its latest
//!   release is built on axum 0.7, so bare axum 0.7 is measured too) against our layer with its
//!   cache, on one token and on 10 000 distinct ones, and our layer without a cache (every
//!   request verifies, as jwt-authorizer does).
//! - **Sessions in Redis** (10 000 signed-in users): `tower-sessions` (through
//!   `tower-sessions-redis-store`) with `axum-login`'s user, against our `Revocable` (JWT plus
//!   the revocation records in Redis), uncached and cached, and an opaque-id `SessionVerifier`
//!   reading one record per request.
//! - **The Node originals**: OpenAuth's client `verify` (EdDSA access tokens and the JWKS it
//!   fetches once) against our layer on the same tokens; a Connectum-style session interceptor in
//!   front of better-auth's `getSession` (memory adapter) against our opaque-id verifier on a
//!   `MemoryStore`.
//!
//! The Rust peers live in `xtask/peers` (a package of its own, with its own lock file, built
//! here with `--locked`), the Node ones in `xtask/peers/node` (`npm ci` from its lock file).
//! Needs `wrk`, `redis-server` and Node.js; a missing one is an error, never a skipped row.

use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::process::Command;

use auth_runtime::{IssueOptions, Sessions, SigningKey};

use super::measure::{Error, Figures, Target, cookie_file, micros};
use super::{LoadSession, Setup, cargo};

/// How many users are signed in for the "many" scenarios.
const USERS: usize = 10_000;

/// One row of the table: a measured target, and the row of the peer it is compared with.
struct Row {
    group: &'static str,
    name: String,
    figures: Figures,
    /// The peers' rows and the goal against each (ours ÷ peer, in requests per second).
    versus: Vec<(usize, f64)>,
}

/// `cargo xtask load` (the generator check, the layer against bare axum), then the peers, in
/// one run; whether every target and goal was met.
pub(crate) fn run(root: &Path) -> Result<bool, Error> {
    let setup = Setup::new(root)?;
    let against_bare = super::against_bare(&setup)?;
    for (tool, why) in [
        ("node", "Node.js runs OpenAuth's and better-auth's servers"),
        ("redis-server", "the session scenarios keep their sessions in Redis"),
    ] {
        if Command::new(tool).arg("--version").output().is_err() {
            return Err(format!("`{tool}` is not installed: {why}").into());
        }
    }
    let peers_dir = root.join("xtask").join("peers");
    let peers_target = setup.target_dir.join("peers");
    let manifest = peers_dir.join("Cargo.toml");
    cargo(
        root,
        &[
            "build",
            "--release",
            "--locked",
            "--manifest-path",
            &manifest.to_string_lossy(),
            "--target-dir",
            &peers_target.to_string_lossy(),
        ],
    )?;
    let node_dir = peers_dir.join("node");
    if !node_dir.join("node_modules").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&node_dir)
            .status()?;
        if !status.success() {
            return Err("`npm ci` in xtask/peers/node failed".into());
        }
    }
    let peer_binary = peers_target.join("release").join("load-peers");
    let peer = |mode: &str, env: &[(&str, &str)]| {
        let mut command = Command::new(&peer_binary);
        command
            .env("PEER_MODE", mode)
            .env("LOAD_SECRET", super::measure::SECRET)
            .envs(env.iter().copied());
        Target::spawn(command, mode)
    };
    let node = |script: &str, env: &[(&str, &str)]| {
        let mut command = Command::new("node");
        command.arg(script).current_dir(&node_dir).envs(env.iter().copied());
        Target::spawn(command, script)
    };
    // Every request of every row is a signed-in one: a row with refusals would measure the
    // refusal path (a broken token file, a peer set up wrongly), so it stops the run.
    let answered = |figures: Figures, label: &str| -> Result<Figures, Error> {
        match figures.errors {
            0 => Ok(figures),
            errors => Err(format!("{label}: {errors} requests were not answered 200").into()),
        }
    };
    let measure = |target: Target, cookies: &Path| -> Result<Figures, Error> {
        let figures = setup.wrk.measure(&target, cookies)?;
        answered(figures, &target.addr.to_string())
    };
    let redis = xtask::redis_server::RedisServer::start(&[])?;
    let redis_url = redis.url();
    let (one, many) = (setup.one.as_path(), setup.many.as_path());
    let mut rows: Vec<Row> = Vec::new();
    let mut add = |group: &'static str, name: &str, figures: Figures, versus: &[(usize, f64)]| {
        rows.push(Row {
            group,
            name: name.to_owned(),
            figures,
            versus: versus.to_vec(),
        });
        rows.len() - 1
    };

    const JWT: &str = "JWT (HS256) in a cookie, Rust";
    add(
        JWT,
        "bare axum 0.8 (no check)",
        measure(setup.ours("bare", &[])?, one)?,
        &[],
    );
    add(
        JWT,
        "bare axum 0.7 (no check)",
        measure(peer("bare-axum07", &[])?, one)?,
        &[],
    );
    let peer_one = add(
        JWT,
        "jwt-authorizer, one token",
        measure(peer("jwt-authorizer", &[])?, one)?,
        &[],
    );
    add(
        JWT,
        "ours, one token (cache hits)",
        measure(setup.ours("layer", &[])?, one)?,
        &[(peer_one, 1.0)],
    );
    let peer_many = add(
        JWT,
        "jwt-authorizer, 10 000 tokens",
        measure(peer("jwt-authorizer", &[])?, many)?,
        &[],
    );
    add(
        JWT,
        "ours, 10 000 tokens (cache)",
        measure(setup.ours("layer", &[])?, many)?,
        &[(peer_many, 1.0)],
    );
    add(
        JWT,
        "ours, 10 000 tokens, no cache (every request verifies)",
        measure(setup.ours("layer-uncached", &[])?, many)?,
        &[(peer_many, 1.0)],
    );

    const REDIS: &str = "sessions in Redis, 10 000 users, Rust";
    let sessions_file = setup.work.join("tower-sessions");
    let sessions_count = USERS.to_string();
    let tower = peer(
        "tower-sessions",
        &[
            ("PEER_REDIS_URL", &redis_url),
            ("PEER_SESSIONS", &sessions_count),
            ("PEER_COOKIES", &sessions_file.to_string_lossy()),
        ],
    )?;
    let tower = add(
        REDIS,
        "tower-sessions + axum-login",
        measure(tower, &sessions_file)?,
        &[],
    );
    let with_redis = [("LOAD_REDIS_URL", redis_url.as_str())];
    add(
        REDIS,
        "ours, Revocable (JWT + revocation records), no cache",
        measure(setup.ours("redis", &with_redis)?, many)?,
        &[(tower, 1.0)],
    );
    add(
        REDIS,
        "ours, Revocable, cache hearing revocations",
        measure(setup.ours("redis-cached", &with_redis)?, many)?,
        &[(tower, 1.0)],
    );
    let ids = opaque_ids(USERS);
    let ids_file = cookie_file(&setup.work, "opaque-ids", &ids)?;
    let id_cookies: Vec<String> = ids.iter().map(|id| format!("auth-token={id}")).collect();
    let id_cookies_file = cookie_file(&setup.work, "opaque-cookies", &id_cookies)?;
    let ids_path = ids_file.to_string_lossy().into_owned();
    add(
        REDIS,
        "ours, opaque ids (one Redis GET each), no cache",
        measure(
            setup.ours(
                "opaque-redis",
                &[("LOAD_REDIS_URL", &redis_url), ("LOAD_OPAQUE_IDS", &ids_path)],
            )?,
            &id_cookies_file,
        )?,
        &[(tower, 1.0)],
    );

    const EDDSA: &str = "EdDSA access tokens in OpenAuth's format, keys from the issuer's JWKS";
    let jwks_file = setup.work.join("jwks.json");
    let pem_path = root.join("tests").join("keys").join("ed25519.pem");
    let key = SigningKey::ed25519_pem(&std::fs::read(&pem_path)?)?;
    let with_issuer = |issuer: &str| -> Result<Sessions<LoadSession>, Error> {
        Ok(Sessions::builder()
            .signing_key(key.clone())
            .issuer(issuer)
            .audience("web")
            .subject_from(|LoadSession::User { user_id }| Some(user_id.clone()))
            .build()?)
    };
    std::fs::write(&jwks_file, serde_json::to_vec(&with_issuer("jwks-only")?.jwks())?)?;
    // OpenAuth's server plays the issuer for every row of this group: it serves the JWKS that
    // jwt-authorizer and OpenAuth's client fetch (once each), and is idle until its own row.
    let openauth = node("openauth-verify.mjs", &[("PEER_JWKS", &jwks_file.to_string_lossy())])?;
    let issuer = format!("http://{}", openauth.addr);
    let access = IssueOptions {
        mode: Some("access".to_owned()),
        ..IssueOptions::default()
    };
    let user = LoadSession::User {
        user_id: "user-0".into(),
    };
    let access_token = with_issuer(&issuer)?.issue(&user, &access)?.token;
    let access_file = cookie_file(&setup.work, "openauth", &[format!("auth-token={access_token}")])?;
    let jwks_url = format!("{issuer}/.well-known/jwks.json");
    let by_jwks = add(
        EDDSA,
        "jwt-authorizer (JWKS from the URL)",
        measure(
            peer(
                "jwt-authorizer-jwks",
                &[("PEER_JWKS_URL", &jwks_url), ("PEER_ISSUER", &issuer)],
            )?,
            &access_file,
        )?,
        &[],
    );
    let pem_path = pem_path.to_string_lossy();
    let openauth_env = [
        ("LOAD_ED25519_PEM", pem_path.as_ref()),
        ("LOAD_ISSUER", issuer.as_str()),
    ];
    let ours_cached = measure(setup.ours("openauth", &openauth_env)?, &access_file)?;
    let ours_uncached = measure(setup.ours("openauth-uncached", &openauth_env)?, &access_file)?;
    let by_node = add(
        EDDSA,
        "OpenAuth client verify (Node)",
        answered(setup.wrk.measure(&openauth, &access_file)?, "OpenAuth")?,
        &[],
    );
    drop(openauth);
    add(
        EDDSA,
        "ours (cache hits)",
        ours_cached,
        &[(by_jwks, 1.0), (by_node, 3.0)],
    );
    add(
        EDDSA,
        "ours, no cache (every request verifies)",
        ours_uncached,
        &[(by_jwks, 1.0), (by_node, 3.0)],
    );

    const NODE: &str = "a session looked up on every request";
    let better_auth_cookie = setup.work.join("better-auth");
    let better_auth = node(
        "better-auth-session.mjs",
        &[("PEER_COOKIES", &better_auth_cookie.to_string_lossy())],
    )?;
    let better_auth = add(
        NODE,
        "Connectum-style interceptor + better-auth getSession (Node)",
        measure(better_auth, &better_auth_cookie)?,
        &[],
    );
    let one_id = cookie_file(&setup.work, "opaque-one-id", &ids[..1])?;
    add(
        NODE,
        "ours, opaque id in a MemoryStore, no cache",
        measure(
            setup.ours("opaque-memory", &[("LOAD_OPAQUE_IDS", &one_id.to_string_lossy())])?,
            &cookie_file(&setup.work, "opaque-one-cookie", &id_cookies[..1])?,
        )?,
        &[(better_auth, 3.0)],
    );
    drop(redis);
    Ok(print(&rows) && against_bare)
}

/// `count` random opaque session ids (128 bits, hex).
fn opaque_ids(count: usize) -> Vec<String> {
    let random = RandomState::new();
    (0..count)
        .map(|n| format!("{:016x}{:016x}", random.hash_one((n, 0)), random.hash_one((n, 1))))
        .collect()
}

/// A peer's name without what the row adds after a comma or a parenthesis.
fn short(name: &str) -> &str {
    name.split([',', '(']).next().unwrap_or(name).trim()
}

/// Prints the table; whether every goal was met.
fn print(rows: &[Row]) -> bool {
    println!(
        "\nwrk -t1 -c{}, {} s per measurement after {} s of warm-up, GET /me, one process at a time\n",
        super::measure::CONNECTIONS,
        super::measure::MEASURE.as_secs(),
        super::measure::WARM_UP.as_secs()
    );
    let mut met = true;
    let mut group = "";
    for row in rows {
        if row.group != group {
            group = row.group;
            println!("{group}");
            println!(
                "  {:<58} {:>9} {:>8} {:>8} {:>8} {:>11} {:>10} {:>8}  ours ÷ peer",
                "", "req/s", "p50", "p99", "p99.9", "CPU/req", "peak RSS", "non-2xx"
            );
        }
        let figures = &row.figures;
        let versus: Vec<String> = row
            .versus
            .iter()
            .filter_map(|&(peer, goal)| {
                let peer = rows.get(peer)?;
                let ratio = figures.per_second() / peer.figures.per_second();
                met &= ratio >= goal;
                let mark = if ratio >= goal { "" } else { " (<goal)" };
                Some(format!("{ratio:.2}x {}{mark}", short(&peer.name)))
            })
            .collect();
        println!(
            "  {:<58} {:>9.0} {:>8} {:>8} {:>8} {:>11} {:>10} {:>8}  {}",
            row.name,
            figures.per_second(),
            micros(figures.p50),
            micros(figures.p99),
            micros(figures.p999),
            figures
                .cpu
                .map_or_else(|| "-".to_owned(), |cpu| format!("{:.2} µs", cpu.as_secs_f64() * 1e6)),
            figures
                .peak_kib
                .map_or_else(|| "-".to_owned(), |kib| format!("{:.1} MiB", kib as f64 / 1024.0)),
            figures.errors,
            versus.join(", "),
        );
    }
    println!(
        "\ngoals: ours at 1.0x or more of every Rust peer, 3x or more of the Node ones (requests per second): {}",
        if met {
            "met"
        } else {
            "not all met (see the rows marked <goal)"
        }
    );
    met
}
