//! Harness of the crash-consistency test (`tests/it/crash.rs`): a `koogate serve` child process
//! ([`server`]), the vendor's webhook endpoint ([`receiver`]), KooGallery's clients
//! ([`workload`]) and the checks ([`check`]). [`run`] puts them together:
//!
//! 1. start the receiver and the server, or several replicas of it on one database (SQLite file
//!    or PostgreSQL database, sandbox orders);
//! 2. load: several clients drive lifecycles, spreading calls over the replicas, while a killer
//!    sends `kill -9` to one server at random moments and restarts it on the same port and
//!    storage (the other replicas keep serving);
//! 3. wait for the outbox to drain, then `kill -9` every server once more (so every acknowledged
//!    call of the whole run goes through a crash), optionally damage the store ([`Tamper`]),
//!    restart;
//! 4. check: journal rules, final byte-identical repeats, instances, outbox and deliveries,
//!    final states.

pub mod check;
pub mod receiver;
pub mod server;
pub mod workload;

use std::io::Write;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use koogate_protocol::AccessKey;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use check::{Figures, Violation};
use receiver::Receiver;
use server::{Server, ServerSpec, TempDir};
use workload::{Run, Target};

/// How long a crashed worker's claim on a webhook event lasts (the gateway's
/// `outbox::DEFAULT_LEASE`): an event in flight at a kill is delivered again only after it.
const OUTBOX_LEASE: Duration = Duration::from_secs(60);

/// Writes a line to the real stderr: the test harness captures `eprintln!` of passing tests,
/// and the figures (or a SKIPPED notice) must be seen.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Damage done to the store between the final kill and the final restart, to prove that the
/// checks catch what a broken server would lose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Deletes the instance row of the first acknowledged purchase and the delivered
    /// `instance.provision` event of the second, straight in the database.
    LoseInstanceAndEvent,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub backend: &'static str,
    /// `None`: SQLite in the data directory.
    pub database_url: Option<String>,
    /// How many random kills during the load.
    pub kills: RangeInclusive<u32>,
    pub clients: usize,
    /// `koogate serve` processes on one database, each on its own port; the clients spread their
    /// calls and the duplicates of each call over them in turn, and each kill hits one of them
    /// at random while the others keep serving. More than one needs PostgreSQL.
    pub replicas: usize,
    /// Clients stop taking new purchases once this many calls were answered (and the killer
    /// is done), or once `load_cap` has passed.
    pub min_answered: usize,
    pub load_cap: Duration,
    pub tamper: Option<Tamper>,
}

#[derive(Debug)]
pub struct Report {
    pub violations: Vec<Violation>,
    pub figures: Figures,
    /// The data directory with the server logs: removed with the report, kept if a test panics
    /// while holding it.
    dir: TempDir,
}

impl Report {
    /// Panics with the violations (counted by kind, at most five shown of each) unless there
    /// are none.
    pub fn assert_clean(&self) {
        if self.violations.is_empty() {
            return;
        }
        let all: Vec<String> = self.violations.iter().map(|v| format!("{v}\n")).collect();
        let listing = self.dir.path().join("violations.txt");
        let _ = std::fs::write(&listing, all.concat());
        let mut by_kind: std::collections::BTreeMap<&str, Vec<&Violation>> = Default::default();
        for v in &self.violations {
            by_kind.entry(v.kind).or_default().push(v);
        }
        let mut text = String::new();
        for (kind, found) in &by_kind {
            text.push_str(&format!("{} x {kind}\n", found.len()));
            for v in found.iter().take(5) {
                text.push_str(&format!("  - {}\n", v.detail));
            }
        }
        panic!(
            "crash test [{}] found {} violation(s) (all in {}):\n{text}{}",
            self.figures.backend,
            self.violations.len(),
            listing.display(),
            self.figures
        );
    }

    pub fn has(&self, kind: &str) -> bool {
        self.violations.iter().any(|v| v.kind == kind)
    }
}

fn random_token(rng: &mut StdRng, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Runs a scenario end to end; the server is killed when this returns (or unwinds).
pub async fn run(scenario: Scenario) -> Report {
    koogate_gateway::tls::install_default_crypto_provider();
    let seed: u64 = std::env::var("KOOGATE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    say(&format!(
        "crash test [{}]: seed {seed} (KOOGATE_CRASH_SEED={seed} repeats the workload's choices)",
        scenario.backend
    ));
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let dir = TempDir::new("koogate-crash");
    let hook_secret = format!("crash-hook-{}", random_token(&mut rng, 24));
    let receiver = Receiver::start(&hook_secret).await;
    let ports = server::free_ports(scenario.replicas);
    let spec = ServerSpec {
        name: "server".to_owned(),
        data_dir: dir.path().to_owned(),
        port: ports[0],
        database_url: scenario.database_url.clone(),
        hook_url: receiver.url.clone(),
        hook_secret,
        access_key: random_token(&mut rng, 32),
        api_token: random_token(&mut rng, 40),
        sandbox_orders: 4000,
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap_or_else(|e| panic!("HTTP client: {e}"));
    let target = Target::new(
        ports
            .iter()
            .map(|port| format!("http://127.0.0.1:{port}"))
            .collect(),
        AccessKey::new(&spec.access_key),
        spec.api_token.clone(),
        http.clone(),
    );
    let mut servers: Vec<Server> = ports
        .iter()
        .enumerate()
        .map(|(i, &port)| {
            let name = match scenario.replicas {
                1 => spec.name.clone(),
                _ => format!("replica-{i}"),
            };
            Server::new(ServerSpec {
                name,
                port,
                ..spec.clone()
            })
        })
        .collect();
    // One after the other: the first start generates the secrets file the others then read.
    start_all(&mut servers, &http).await;

    // Load, with kills.
    let run = Arc::new(Run::new(
        target.clone(),
        spec.sandbox_orders,
        scenario.min_answered,
        scenario.load_cap,
    ));
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..scenario.clients {
        clients.spawn(workload::client(run.clone(), client, rng.random()));
    }
    let kills = rng.random_range(scenario.kills.clone());
    let plan: Vec<Kill> = (0..kills)
        .map(|i| {
            // Early in the load: an event in flight at the last kill holds up the final drain
            // for the outbox lease, counted from that kill.
            let gap = if i == 0 {
                rng.random_range(500..2000)
            } else {
                rng.random_range(800..2200)
            };
            Kill {
                gap: Duration::from_millis(gap),
                pause: Duration::from_millis(rng.random_range(50..500)),
                replica: rng.random_range(0..servers.len()),
            }
        })
        .collect();
    let killed_replicas: Vec<usize> = plan.iter().map(|k| k.replica).collect();
    let killer = tokio::spawn(killer(servers, run.clone(), http.clone(), plan));
    let mut purchases = Vec::new();
    // Purchases already started when the load cap passes are finished; a minute is plenty.
    let load_limit = scenario.load_cap + Duration::from_secs(60);
    let load_deadline = tokio::time::Instant::now() + load_limit;
    while let Some(joined) = tokio::time::timeout_at(load_deadline, clients.join_next())
        .await
        .unwrap_or_else(|_| panic!("clients still busy after {load_limit:?}"))
    {
        purchases.extend(joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
    }
    let (mut servers, kill_times) = killer
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let kill_times = kill_times.unwrap_or_else(|e| panic!("{e}"));
    let load_secs = run.elapsed().as_secs_f64();
    purchases.sort_by(|a, b| a.order_id.cmp(&b.order_id));

    // Let the outbox drain, so that the worker is idle at the final kill. An event in flight at
    // a kill waits for its lease to expire.
    let last_kill = kill_times.last().copied().unwrap_or_default();
    let drain_deadline =
        run.started + Duration::from_secs_f64(last_kill) + OUTBOX_LEASE + Duration::from_secs(30);
    let drain_deadline = drain_deadline.max(Instant::now() + Duration::from_secs(30));
    let ids = all_instances(&target, &purchases).await;
    let _ = check::drain(&target, &receiver, &ids, drain_deadline).await;

    for server in &mut servers {
        server.kill();
    }
    if let Some(tamper) = scenario.tamper {
        damage(tamper, &servers[0], &purchases).await;
    }
    start_all(&mut servers, &http).await;

    // Checks.
    let journal = run.journal();
    let mut violations = check::journal_rules(&journal);
    violations.extend(run.problems().into_iter().map(|p| Violation {
        kind: check::kind::CLIENT,
        detail: p,
    }));
    let final_repeats = check::final_repeats(&target, &purchases, &mut violations).await;
    let instance_ids = all_instances(&target, &purchases).await;
    let drained = check::drain(&target, &receiver, &instance_ids, drain_deadline)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let drain_secs = run.elapsed().as_secs_f64();
    if !drained.settled {
        say("crash test: the outbox did not drain in time; undelivered events follow");
    }
    let instances = check::list_instances(&target)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    check::check_instances(&instances, &purchases, &mut violations);
    let arrivals = receiver.arrivals();
    violations.extend(receiver.problems().into_iter().map(|p| Violation {
        kind: check::kind::WEBHOOK,
        detail: p,
    }));
    check::check_events(&drained, &arrivals, &purchases, &mut violations);
    check::check_state(&instances, &purchases, &mut violations);

    let mut figures = Figures {
        backend: scenario.backend.to_owned(),
        replicas: scenario.replicas,
        clients: scenario.clients,
        purchases: purchases.len(),
        instances: instances.len(),
        events: drained.events.values().map(Vec::len).sum(),
        deliveries: arrivals.len(),
        kill_times,
        killed_replicas,
        final_repeats,
        load_secs,
        drain_secs,
        ..Figures::default()
    };
    let distinct: std::collections::HashSet<&str> =
        arrivals.iter().map(|a| a.webhook_id.as_str()).collect();
    figures.redeliveries = arrivals.len() - distinct.len();
    figures.count_journal(&journal, &purchases, kills);
    figures.total_secs = started.elapsed().as_secs_f64();
    say(&figures.to_string());
    drop(servers);
    Report {
        violations,
        figures,
        dir,
    }
}

/// The ids of every acknowledged instance and of every instance the server has: the outbox
/// sweep covers both, so that an event of an instance nobody acknowledged is not mistaken for a
/// lost one.
async fn all_instances(target: &Target, purchases: &[workload::Purchase]) -> Vec<String> {
    let listed = check::list_instances(target)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ids: std::collections::BTreeSet<String> = listed.into_keys().collect();
    ids.extend(purchases.iter().filter_map(|p| p.instance_id.clone()));
    ids.into_iter().collect()
}

async fn start_all(servers: &mut [Server], http: &reqwest::Client) {
    for server in servers {
        server.start().unwrap_or_else(|e| panic!("{e}"));
        server
            .wait_ready(http)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// One planned `kill -9`: after `gap`, replica `replica` dies and is restarted after `pause`.
#[derive(Debug, Clone, Copy)]
struct Kill {
    gap: Duration,
    pause: Duration,
    replica: usize,
}

/// The killer: at each planned moment, `kill -9` of one replica (the others keep serving), a
/// short pause, restart on the same port and storage, wait until ready. Returns the servers and
/// the kill times (seconds into the run).
async fn killer(
    mut servers: Vec<Server>,
    run: Arc<Run>,
    http: reqwest::Client,
    plan: Vec<Kill>,
) -> (Vec<Server>, Result<Vec<f64>, String>) {
    let mut times = Vec::new();
    for Kill {
        gap,
        pause,
        replica,
    } in plan
    {
        tokio::time::sleep(gap).await;
        times.push(run.elapsed().as_secs_f64());
        let server = &mut servers[replica];
        server.kill();
        run.kills.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(pause).await;
        let restarted = match server.start() {
            Ok(()) => server.wait_ready(&http).await,
            Err(err) => Err(err),
        };
        if let Err(err) = restarted {
            run.aborted.store(true, Ordering::SeqCst);
            run.killer_done.store(true, Ordering::SeqCst);
            return (servers, Err(format!("restart after kill -9 failed: {err}")));
        }
    }
    run.killer_done.store(true, Ordering::SeqCst);
    (servers, Ok(times))
}

/// Damages the stopped server's store (see [`Tamper`]).
async fn damage(tamper: Tamper, server: &Server, purchases: &[workload::Purchase]) {
    use sqlx::Connection;
    let Tamper::LoseInstanceAndEvent = tamper;
    let ids: Vec<&String> = purchases
        .iter()
        .filter_map(|p| p.instance_id.as_ref())
        .take(2)
        .collect();
    let [lost_instance, lost_event_of] = ids[..] else {
        panic!(
            "tampering needs two acknowledged purchases, have {}",
            ids.len()
        );
    };
    let spec = server.spec();
    let url = spec
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", spec.data_dir.join("koogate.db").display()));
    let delete_instance = "DELETE FROM instances WHERE instance_id = $1";
    let delete_event =
        "DELETE FROM outbox WHERE ordering_key = $1 AND event_type = 'instance.provision'";
    let deleted = if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        let a = sqlx::query(delete_instance)
            .bind(lost_instance.as_str())
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .rows_affected();
        let b = sqlx::query(delete_event)
            .bind(lost_event_of.as_str())
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .rows_affected();
        let _ = conn.close().await;
        (a, b)
    } else {
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("open the test database: {e}"));
        let a = sqlx::query(delete_instance)
            .bind(lost_instance.as_str())
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .rows_affected();
        let b = sqlx::query(delete_event)
            .bind(lost_event_of.as_str())
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .rows_affected();
        let _ = conn.close().await;
        (a, b)
    };
    assert_eq!(deleted, (1, 1), "tampering deleted (instances, events)");
    say(&format!(
        "crash test: tampered with the store: deleted instance {lost_instance} and the \
         instance.provision event of {lost_event_of}"
    ));
}
