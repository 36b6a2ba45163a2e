//! Zap tracking throughput and latency, with the whole service in-process.
//!
//! ```text
//! cargo run --release --example zap_bench [-- --backfill 100000 --live-rate 500 --live-secs 20]
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --release --example zap_bench
//! ```
//!
//! 1. **Signature verification, raw**: the schnorr verifications per second of one core
//!    (`Event::verify_signature` on receipts), and `nip57::validate_batch` on every core, in the
//!    same run on the same machine, as the yardstick for the rest.
//! 2. **Backfill**: a nostr-relay-builder relay holding N honest receipts (stored straight into
//!    its database) and a fresh service with no cursor: the time from start-up to the last
//!    receipt committed, in valid receipts per second, into SQLite and (when
//!    `TEST_DATABASE_URL` names a PostgreSQL server) into PostgreSQL.
//! 3. **Live**: receipts published to the relay at a steady rate by an outside client; for each,
//!    the time from the client sending it (the relay then stores and forwards it) to its row
//!    being committed, and from the tracker receiving it to the commit; p50 / p99 / max.
//!
//! The relay runs on a thread of its own (its own tokio runtime), as a separate process would;
//! the service runs on the actix system thread, validation on the blocking pool. Everything
//! shares the machine's cores, so these are lower bounds for a service whose relays are remote.
//! The backfill's CPU per receipt is given for the whole process and without the relay's threads
//! (named `bench-relay`): the service's own cost, and the ratio to `validate_batch` it would
//! reach if the two cores did nothing else. `validate_batch`'s own CPU per receipt is measured
//! too: its ratio to the backfill's is the rate ratio the backfill reaches whatever share of a
//! shared machine each phase got (this VM's swings by a quarter within minutes). The backfill's
//! start-up (service start to the first receipt received) is given apart. Into a PostgreSQL
//! server on the same machine, the server's CPU (every process named `postgres`) is given
//! besides: it shares the same cores.

#[path = "../tests/common/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../tests/common/zaps.rs"]
#[allow(dead_code)]
mod zaps;

#[path = "support/bench.rs"]
#[allow(dead_code)]
mod bench;
#[path = "support/relay_thread.rs"]
mod relay_thread;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use commons_nostr::actors::supervision::ToChild;
use commons_nostr::actors::zap_tracker::{self, WatchZaps, ZapsCommitted};
use commons_nostr::nostr::nip57::{validate_batch, Zapper};
use nostr_relay_builder::prelude::{MemoryDatabase, MemoryDatabaseOptions, NostrDatabase};
use nostr_sdk::prelude::*;
use sea_orm::{ConnectionTrait, Database};

use app::TestConfig;
use relay_thread::{RelayThread, RELAY_THREAD};
use zaps::{build_many, zap_config, Zaps};

/// Honest receipts from `zaps`' provider and sender to its bot, `per_second` of them in each
/// second from `base` (`created_at`), built on every core.
fn receipts(zaps: &Zaps, count: usize, base: Timestamp, per_second: u64) -> Vec<Event> {
    build_many(count, |i| {
        let at = base + Duration::from_secs(i as u64 / per_second.max(1));
        zaps.zap_at(&zaps.target(&format!("support {i}")), at)
    })
}

/// Forwards every committed batch to a channel.
struct Collector(tokio::sync::mpsc::UnboundedSender<ZapsCommitted>);

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<ZapsCommitted> for Collector {
    type Result = ();
    fn handle(&mut self, msg: ZapsCommitted, _: &mut Context<Self>) {
        let _ = self.0.send(msg);
    }
}

fn config(db_url: &str, relay: &RelayUrl, zaps: &Zaps) -> TestConfig {
    zap_config(db_url, vec![relay.clone()], &zaps.provider.public_key())
        .with("COMMONS__LOGGING__LEVEL", "error")
}

async fn watch(
    app: &commons_nostr::startup::Application,
) -> tokio::sync::mpsc::UnboundedReceiver<ZapsCommitted> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let collector = Collector(tx).start().recipient();
    for _ in 0..1_000 {
        let sent = app
            .handles()
            .zaps
            .send(ToChild {
                name: zap_tracker::CHILD_NAME.into(),
                msg: WatchZaps(collector.clone()),
            })
            .await;
        if matches!(sent, Ok(Ok(()))) {
            return rx;
        }
        actix_rt::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("the zap tracker never started");
}

/// A fresh database: an SQLite file, or a new database on the PostgreSQL server.
struct BenchDb {
    url: String,
    label: &'static str,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl BenchDb {
    fn sqlite() -> BenchDb {
        let dir = tempfile::tempdir().expect("temp dir");
        BenchDb {
            url: format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()),
            label: "SQLite",
            _dir: Some(dir),
            postgres: None,
        }
    }

    async fn postgres(admin: &str, tag: &str) -> BenchDb {
        let name = format!("zap_bench_{tag}_{}", std::process::id());
        let conn = Database::connect(admin).await.expect("postgres");
        conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create database");
        let _ = conn.close().await;
        let mut url = url::Url::parse(admin).expect("url");
        url.set_path(&format!("/{name}"));
        BenchDb {
            url: url.to_string(),
            label: "PostgreSQL",
            _dir: None,
            postgres: Some((admin.to_owned(), name)),
        }
    }

    async fn drop_database(&self) {
        if let Some((admin, name)) = &self.postgres {
            if let Ok(conn) = Database::connect(admin.as_str()).await {
                let _ = conn
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
                let _ = conn.close().await;
            }
        }
    }
}

async fn backfill(db: &BenchDb, count: usize, zaps: &Zaps, bot_keys: &Keys) -> Rate {
    let database = Arc::new(MemoryDatabase::with_opts(MemoryDatabaseOptions {
        events: true,
        max_events: Some(count * 2),
    }));
    let base = Timestamp::now() - Duration::from_secs(2 * count as u64);
    let events = receipts(zaps, count, base, 1);
    for event in &events {
        database.save_event(event).await.expect("stored");
    }
    drop(events);
    let relay = RelayThread::start(database);
    let mut cfg = config(&db.url, &relay.url, zaps);
    cfg.bot_keys.insert("gov".into(), bot_keys.clone());

    eprintln!("backfill starts ({} receipts held by the relay)", count);
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let relay_cpu_before = thread_cpu_seconds(RELAY_THREAD);
    let server_cpu_before = database_server_cpu_seconds(db);
    let app = cfg.start().await;
    let mut commits = watch(&app).await;
    let mut recorded = 0usize;
    let mut last = started;
    let mut first_received: Option<Instant> = None;
    while recorded < count {
        match tokio::time::timeout(Duration::from_secs(120), commits.recv()).await {
            Ok(Some(batch)) => {
                recorded += batch.outcome.recorded.len();
                last = batch.committed_at;
                if let Some(earliest) = batch.outcome.recorded.iter().map(|z| z.received_at).min() {
                    first_received = Some(first_received.map_or(earliest, |f| f.min(earliest)));
                }
            }
            _ => panic!("backfill stalled at {recorded} of {count}"),
        }
    }
    let seconds = last.duration_since(started).as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let relay_cpu = thread_cpu_seconds(RELAY_THREAD) - relay_cpu_before;
    let server_cpu = database_server_cpu_seconds(db)
        .zip(server_cpu_before)
        .map(|(after, before)| after - before);
    app.stop().await;
    drop(relay);
    let start_up = first_received.map_or(Duration::ZERO, |at| at.duration_since(started));
    Rate {
        per_second: count as f64 / seconds,
        start_up,
        steady_per_second: count as f64 / (seconds - start_up.as_secs_f64()).max(1e-3),
        cpu_ms_per_receipt: cpu * 1e3 / count as f64,
        relay_cpu_ms_per_receipt: relay_cpu * 1e3 / count as f64,
        server_cpu_ms_per_receipt: server_cpu.map(|cpu| cpu * 1e3 / count as f64),
    }
}

/// CPU time every process named `postgres` on this machine has used (`/proc/*/stat`), when the
/// bench writes to PostgreSQL: the server's share of the same two cores. `None` for SQLite, or
/// when no such process is visible (a server on another machine).
fn database_server_cpu_seconds(db: &BenchDb) -> Option<f64> {
    db.postgres.as_ref()?;
    let processes = std::fs::read_dir("/proc").ok()?;
    let cpu: Vec<f64> = processes
        .flatten()
        .filter(|p| {
            std::fs::read_to_string(p.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end() == "postgres")
        })
        .map(|p| {
            stat_cpu_seconds(&std::fs::read_to_string(p.path().join("stat")).unwrap_or_default())
        })
        .collect();
    (!cpu.is_empty()).then(|| cpu.iter().sum())
}

/// CPU time (user + system) this process has used, every thread included (Linux
/// `/proc/self/stat`, in clock ticks of 1/100 s). Independent of what else runs on the machine.
fn cpu_seconds() -> f64 {
    stat_cpu_seconds(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default())
}

/// CPU time the live threads named `name` have used (`/proc/self/task/*/stat`; the kernel
/// keeps the first 15 bytes of a thread's name).
fn thread_cpu_seconds(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let short = &name[..name.len().min(15)];
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end() == short)
        })
        .map(|task| {
            stat_cpu_seconds(&std::fs::read_to_string(task.path().join("stat")).unwrap_or_default())
        })
        .sum()
}

/// utime + stime of a `stat` line, in seconds.
fn stat_cpu_seconds(stat: &str) -> f64 {
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Receipts per second, and CPU milliseconds per receipt: the whole process's, and the part
/// of it the bench's relay spent serving them (a remote relay's, in production).
struct Rate {
    per_second: f64,
    /// From the service's start to the first receipt reaching the tracker (migrations, the
    /// relay link, the first page).
    start_up: Duration,
    /// Receipts per second from the first receipt received to the last committed.
    steady_per_second: f64,
    cpu_ms_per_receipt: f64,
    relay_cpu_ms_per_receipt: f64,
    /// The PostgreSQL server's processes on this machine (`None`: SQLite, or a remote server).
    server_cpu_ms_per_receipt: Option<f64>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Latency {
    publish_to_commit: Vec<Duration>,
    receive_to_commit: Vec<Duration>,
}

async fn live(db: &BenchDb, rate: u64, secs: u64, zaps: &Zaps, bot_keys: &Keys) -> Latency {
    let count = usize::try_from(rate * secs).unwrap_or(usize::MAX);
    let events = receipts(zaps, count, Timestamp::now() + Duration::from_secs(5), rate);
    let relay = RelayThread::start(Arc::new(MemoryDatabase::with_opts(MemoryDatabaseOptions {
        events: true,
        max_events: Some(count * 2),
    })));
    let mut cfg = config(&db.url, &relay.url, zaps);
    cfg.bot_keys.insert("gov".into(), bot_keys.clone());
    let app = cfg.start().await;
    let mut commits = watch(&app).await;
    // Let the relay link come up and the (empty) backfill finish.
    actix_rt::time::sleep(Duration::from_millis(500)).await;

    // The publisher: an outside client on the relay's thread, one receipt every 1/rate s.
    let sent_at: Arc<Mutex<HashMap<EventId, Instant>>> = Arc::default();
    let publisher = {
        let sent_at = sent_at.clone();
        let url = relay.url.clone();
        relay.runtime.spawn(async move {
            let client = Client::default();
            client.add_relay(url).await.expect("add relay");
            client.connect().await;
            client.wait_for_connection(Duration::from_secs(5)).await;
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut sends = Vec::with_capacity(events.len());
            for event in events {
                tick.tick().await;
                if let Ok(mut map) = sent_at.lock() {
                    map.insert(event.id, Instant::now());
                }
                let client = client.clone();
                sends.push(tokio::spawn(async move { client.send_event(&event).await }));
            }
            for send in sends {
                let _ = send.await;
            }
            client.shutdown().await;
        })
    };

    let mut latency = Latency {
        publish_to_commit: Vec::with_capacity(count),
        receive_to_commit: Vec::with_capacity(count),
    };
    while latency.publish_to_commit.len() < count {
        match tokio::time::timeout(Duration::from_secs(60), commits.recv()).await {
            Ok(Some(batch)) => {
                let sent = sent_at.lock().map(|m| m.clone()).unwrap_or_default();
                for zap in &batch.outcome.recorded {
                    if let Some(at) = sent.get(&zap.receipt_id) {
                        latency
                            .publish_to_commit
                            .push(batch.committed_at.saturating_duration_since(*at));
                        latency.receive_to_commit.push(
                            batch
                                .committed_at
                                .saturating_duration_since(zap.received_at),
                        );
                    }
                }
            }
            _ => panic!(
                "live stalled at {} of {count}",
                latency.publish_to_commit.len()
            ),
        }
    }
    let _ = publisher.await;
    app.stop().await;
    drop(relay);
    latency
}

fn report_backfill(count: usize, label: &str, rate: &Rate, cores: usize, yardstick: &Yardstick) {
    let validate_rate = yardstick.rate;
    println!(
        "backfill {count} receipts -> {label:<10}  {:>7.0} valid receipts/s   CPU {:.3} ms/receipt \
         (all threads; {:.0}/s if {cores} cores did nothing else)   {:.2} x validate_batch",
        rate.per_second,
        rate.cpu_ms_per_receipt,
        cores as f64 * 1e3 / rate.cpu_ms_per_receipt,
        rate.per_second / validate_rate
    );
    println!(
        "    of which start-up (service start to the first receipt received) {:.0} ms; after it {:.0} receipts/s, {:.2} x validate_batch",
        ms(rate.start_up),
        rate.steady_per_second,
        rate.steady_per_second / validate_rate
    );
    let service = rate.cpu_ms_per_receipt - rate.relay_cpu_ms_per_receipt;
    println!(
        "    of which the bench's relay serving them {:.3} ms/receipt; the service alone {service:.3} ms/receipt \
         ({:.2} x validate_batch if {cores} cores did nothing else)",
        rate.relay_cpu_ms_per_receipt,
        cores as f64 * 1e3 / service / validate_rate
    );
    // Whatever share of the machine each phase got: validation's CPU per receipt over the
    // backfill's, the ratio the backfill reaches when both get the same share.
    println!(
        "    validate_batch's CPU per receipt over the backfill's: {:.2} (all threads), {:.2} (the service alone)",
        yardstick.cpu_ms_per_receipt / rate.cpu_ms_per_receipt,
        yardstick.cpu_ms_per_receipt / service
    );
    if let Some(server) = rate.server_cpu_ms_per_receipt {
        let both = rate.cpu_ms_per_receipt + server;
        println!(
            "    the PostgreSQL server on this machine besides: {server:.3} ms/receipt; with it {both:.3} ms/receipt, \
             validate_batch's CPU over it {:.2}",
            yardstick.cpu_ms_per_receipt / both
        );
    }
}

/// `nip57::validate_batch` on every core, measured at the start of the run.
struct Yardstick {
    rate: f64,
    cpu_ms_per_receipt: f64,
}

fn main() {
    // `RUST_LOG=commons_nostr::actors::zap_tracker=debug` shows each batch written, with its time.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let backfill_count = usize::try_from(bench::arg("--backfill", 100_000)).unwrap_or(100_000);
    let rate = bench::arg("--live-rate", 500).max(1);
    let live_secs = bench::arg("--live-secs", 20).max(1);
    let postgres = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());

    let bot_keys = Keys::generate();
    let zaps = Zaps::new(bot_keys.public_key());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {cores} cores");

    let only_backfill = std::env::args().any(|a| a == "--only-backfill");

    // 1. The yardstick.
    // `--sample`: fewer receipts for the yardstick (under valgrind, say).
    let sample_size = usize::try_from(bench::arg("--sample", 20_000)).unwrap_or(20_000);
    let sample = receipts(&zaps, sample_size.max(1), Timestamp::now(), 1);
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let verified = sample.iter().filter(|e| e.verify_signature()).count();
    let sig_rate = verified as f64 / started.elapsed().as_secs_f64();
    let sig_cpu_rate = verified as f64 / (cpu_seconds() - cpu).max(0.01);
    let recipients = HashMap::from([(
        bot_keys.public_key(),
        Zapper::Known(zaps.provider.public_key()),
    )]);
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let valid = validate_batch(&sample, &recipients)
        .iter()
        .filter(|r| r.is_ok())
        .count();
    let validate_rate = valid as f64 / started.elapsed().as_secs_f64();
    let yardstick = Yardstick {
        rate: validate_rate,
        cpu_ms_per_receipt: (cpu_seconds() - cpu) * 1e3 / valid.max(1) as f64,
    };
    println!(
        "schnorr signature verification, 1 core:      {sig_rate:>9.0} /s   ({sig_cpu_rate:.0} per CPU second)"
    );
    println!(
        "nip57::validate_batch (6 rules), {cores} cores:    {validate_rate:>9.0} receipts/s   CPU {:.3} ms/receipt",
        yardstick.cpu_ms_per_receipt
    );
    drop(sample);

    actix_rt::System::new().block_on(async move {
        // 2. Backfill.
        let sqlite = BenchDb::sqlite();
        let r = backfill(&sqlite, backfill_count, &zaps, &bot_keys).await;
        report_backfill(backfill_count, sqlite.label, &r, cores, &yardstick);
        let mut dbs = vec![sqlite];
        if let Some(admin) = &postgres {
            let pg = BenchDb::postgres(admin, "backfill").await;
            let r = backfill(&pg, backfill_count, &zaps, &bot_keys).await;
            report_backfill(backfill_count, pg.label, &r, cores, &yardstick);
            pg.drop_database().await;
        } else {
            println!("backfill -> PostgreSQL: skipped (set TEST_DATABASE_URL)");
        }
        dbs.clear();
        if only_backfill {
            return;
        }

        // 3. Live.
        let mut live_dbs = vec![BenchDb::sqlite()];
        if let Some(admin) = &postgres {
            live_dbs.push(BenchDb::postgres(admin, "live").await);
        }
        for db in &live_dbs {
            let mut lat = live(db, rate, live_secs, &zaps, &bot_keys).await;
            lat.publish_to_commit.sort();
            lat.receive_to_commit.sort();
            for (what, l) in [
                ("client send -> row committed", &lat.publish_to_commit),
                ("tracker receipt -> row committed", &lat.receive_to_commit),
            ] {
                println!(
                    "live {rate}/s for {live_secs}s, {:<10} {what:<33} p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms",
                    db.label,
                    ms(percentile(l, 50.0)),
                    ms(percentile(l, 99.0)),
                    ms(l[l.len() - 1]),
                );
            }
            db.drop_database().await;
        }
    });
}
