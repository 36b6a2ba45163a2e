//! Resident memory of the whole service: idle, and while zap receipts arrive.
//!
//! ```text
//! cargo build --release --example rss_bench
//! ./target/release/examples/rss_bench                      # 4 bots, 10 relays (3 up, 7 dead)
//! ./target/release/examples/rss_bench --bots 1 --up 1 --dead 0
//! ```
//!
//! The service runs in-process, configured like the other benchmarks (`tests/common/app.rs`:
//! SQLite, supervised actors, the real relay actors and nostr-sdk clients). Its relays run in a
//! **child process** (this binary again, with `--relays-child`), so the process measured holds
//! the service and nothing else: `N` nostr-relay-builder relays that are up, and dead relays of
//! two kinds, half of them ports nobody listens on (refused) and half of them ports that accept
//! TCP and never answer (the child holds those). The child also builds the receipts (the way a
//! real LNURL provider does, `tests/common/zaps.rs`) and publishes them to every up relay.
//!
//! 1. **Idle**: once every up relay is connected and the start-up publishing and backfill are
//!    over, `VmRSS` (and the peak so far, `VmHWM`) from `/proc/self/status`.
//! 2. **Under load**: `--rate` valid receipts per second for `--secs` seconds, sampled every
//!    250 ms; the largest `VmRSS` seen, then `VmRSS` a few seconds after the last receipt is
//!    committed, and `VmHWM`.
//! 3. **Yardstick**: schnorr signature verifications per second on one core, same run.
//! 4. **Where the memory is**: the Rust heap (this binary's counting global allocator: in use,
//!    and its exact peak under load), `VmRSS` split into anonymous memory and the binary's own
//!    pages, malloc's totals (`mallinfo2`: in use, freed but kept), SQLite's own count
//!    (`sqlite3_memory_used`), and what one receipt takes on the heap (measured in the child).
//!
//! `RSS_BENCH_LOG=warn` shows the service's warnings (it logs errors only by default).
//!
//! `--probe-clients N` instead measures what the relay actors' shared nostr-sdk client and N
//! relays in it cost before they connect, and the size of what their notification channels
//! hold.
//!
//! One scenario per process: a process's resident memory never goes back to what it was, so
//! scenarios cannot share one.

#[path = "../tests/common/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../tests/common/relays.rs"]
#[allow(dead_code)]
mod relays;
#[path = "../tests/common/zaps.rs"]
#[allow(dead_code)]
mod zaps;

#[path = "support/bench.rs"]
#[allow(dead_code)]
mod bench;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use commons_nostr::actors::relay::{self, GetHealth, LinkState};
use commons_nostr::actors::supervision::ToChild;
use commons_nostr::actors::zap_tracker::{self, WatchZaps, ZapsCommitted};
use commons_nostr::startup::Application;
use nostr_sdk::prelude::*;

use app::BOTS;
use relays::{SilentRelay, TestRelay};
use zaps::{build_many, zap_config, Zaps};

/// The system allocator, counting the bytes handed out and not yet freed: the heap the service
/// actually holds, to set beside `VmRSS` (the difference is allocator overhead: freed memory
/// the allocator keeps, in its arenas, and fragmentation).
struct CountingAllocator;

static HEAP_IN_USE: AtomicUsize = AtomicUsize::new(0);
/// The most `HEAP_IN_USE` has been since [`reset_heap_peak`].
static HEAP_PEAK: AtomicUsize = AtomicUsize::new(0);

fn count_alloc(size: usize) {
    let now = HEAP_IN_USE.fetch_add(size, Ordering::Relaxed) + size;
    HEAP_PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` with the caller's layout unchanged; the counter
// is only arithmetic on the sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        HEAP_IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            HEAP_IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
            count_alloc(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// glibc's `struct mallinfo2` (malloc.h): what the C allocator holds, in bytes.
#[repr(C)]
#[derive(Default)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

extern "C" {
    /// glibc 2.33+.
    fn mallinfo2() -> MallInfo2;
    /// SQLite's own count of the memory it holds (the bundled SQLite sqlx links in).
    fn sqlite3_memory_used() -> i64;
}

/// Where the C heap's bytes are, in KiB: (in use, by anyone: Rust and SQLite alike; free but
/// kept by malloc; SQLite's share of "in use").
fn c_heap_kib() -> (u64, u64, u64) {
    // SAFETY: both are plain C calls with no arguments; mallinfo2 returns a struct by value.
    let (info, sqlite) = unsafe { (mallinfo2(), sqlite3_memory_used()) };
    (
        ((info.uordblks + info.hblkhd) / 1024) as u64,
        (info.fordblks / 1024) as u64,
        (sqlite.max(0) / 1024) as u64,
    )
}

/// The Rust heap in use, in KiB.
fn heap_kib() -> u64 {
    (HEAP_IN_USE.load(Ordering::Relaxed) / 1024) as u64
}

/// The most the Rust heap held since the last call, in KiB; starts a new period.
fn reset_heap_peak() -> u64 {
    let now = HEAP_IN_USE.load(Ordering::Relaxed);
    (HEAP_PEAK.swap(now, Ordering::Relaxed) / 1024) as u64
}

fn arg_str(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

/// A field of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: &str, name: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn memory_kib(pid: &str) -> (u64, u64) {
    (status_kib(pid, "VmRSS:"), status_kib(pid, "VmHWM:"))
}

/// Of `VmRSS`: the anonymous part (heap, stacks: what the service allocated) and the
/// file-backed part (the binary's code and data as mapped, shared with any other process
/// running it), in KiB.
fn rss_parts_kib() -> (u64, u64) {
    (
        status_kib("self", "RssAnon:"),
        status_kib("self", "RssFile:"),
    )
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

// --- the child: relays and a publisher ---------------------------------------------------------

/// Runs the up relays and the silent ones, builds the receipts, and publishes them on `go`.
/// Protocol on stdout: `up <url>`, `silent <url>`, `receipt <bytes>` (what one receipt takes
/// on the heap, measured there), `provider <hex>`, `ready`, then after `go`
/// on stdin `sent <n>`. Exits when stdin closes.
fn relays_child() {
    let up = bench::arg("--up", 3) as usize;
    let silent = bench::arg("--silent", 0) as usize;
    let rate = bench::arg("--rate", 1_000).max(1);
    let secs = bench::arg("--secs", 20);
    let bot = PublicKey::from_hex(&arg_str("--bot").expect("--bot")).expect("bot key");
    let receipt_bytes = receipt_size(&bot);
    let zaps = Zaps::new(bot);
    let count = usize::try_from(rate * secs).unwrap_or(usize::MAX);
    // Created from 5 s from now on, `rate` per second of `created_at`, as they will be sent.
    let base = Timestamp::now() + Duration::from_secs(5);
    let receipts = build_many(count, |i| {
        let at = base + Duration::from_secs(i as u64 / rate);
        zaps.zap_at(&zaps.target(&format!("support {i}")), at)
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let mut up_relays = Vec::new();
        for _ in 0..up {
            up_relays.push(TestRelay::start().await);
        }
        let mut silent_relays = Vec::new();
        for _ in 0..silent {
            silent_relays.push(SilentRelay::start().await);
        }
        let urls: Vec<RelayUrl> = up_relays.iter().map(TestRelay::url).collect();
        {
            let mut out = std::io::stdout().lock();
            for url in &urls {
                writeln!(out, "up {url}").expect("stdout");
            }
            for relay in &silent_relays {
                writeln!(out, "silent {}", relay.url()).expect("stdout");
            }
            writeln!(out, "receipt {receipt_bytes}").expect("stdout");
            writeln!(out, "provider {}", zaps.provider.public_key().to_hex()).expect("stdout");
            writeln!(out, "ready").expect("stdout");
        }
        loop {
            let line = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map(|n| (n, line))
            })
            .await;
            let line = match line {
                Ok(Ok((n, line))) if n > 0 => line,
                _ => break, // stdin closed: the parent is done
            };
            if line.trim() != "go" {
                continue;
            }
            let client = Client::default();
            for url in &urls {
                client.add_relay(url.clone()).await.expect("add relay");
            }
            client.connect().await;
            client.wait_for_connection(Duration::from_secs(5)).await;
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut sends = Vec::with_capacity(receipts.len());
            for event in &receipts {
                tick.tick().await;
                let client = client.clone();
                let event = event.clone();
                sends.push(tokio::spawn(async move { client.send_event(&event).await }));
            }
            let mut sent = 0usize;
            for send in sends {
                if matches!(send.await, Ok(Ok(_))) {
                    sent += 1;
                }
            }
            client.shutdown().await;
            println!("sent {sent}");
        }
    });
}

// --- the parent: the service -------------------------------------------------------------------

struct Child {
    process: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Child {
    fn start(up: usize, silent: usize, bot: &PublicKey, rate: u64, secs: u64) -> Child {
        let mut process = Command::new(std::env::current_exe().expect("this binary"))
            .args(["--relays-child", "--bot", &bot.to_hex()])
            .args(["--up", &up.to_string(), "--silent", &silent.to_string()])
            .args(["--rate", &rate.to_string(), "--secs", &secs.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("relay process");
        let stdin = process.stdin.take().expect("stdin");
        let stdout = process.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Child {
            process,
            stdin,
            lines,
        }
    }

    fn line(&self, timeout: Duration) -> String {
        self.lines
            .recv_timeout(timeout)
            .expect("relay process answers")
    }

    fn pid(&self) -> String {
        self.process.id().to_string()
    }
}

/// Forwards every committed batch's size to a channel.
struct Collector(tokio::sync::mpsc::UnboundedSender<usize>);

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<ZapsCommitted> for Collector {
    type Result = ();
    fn handle(&mut self, msg: ZapsCommitted, _: &mut Context<Self>) {
        let _ = self.0.send(msg.outcome.recorded.len());
    }
}

async fn watch(app: &Application) -> tokio::sync::mpsc::UnboundedReceiver<usize> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let collector = Collector(tx).start().recipient();
    for _ in 0..5_000 {
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

/// Waits until every relay in `up` reports `connected`.
async fn wait_connected(app: &Application, up: &[RelayUrl]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut connected = 0;
        for url in up {
            let health = app
                .handles()
                .relays
                .send(ToChild {
                    name: url.to_string(),
                    msg: GetHealth,
                })
                .await;
            if matches!(health, Ok(Ok(h)) if h.state == LinkState::Connected) {
                connected += 1;
            }
        }
        if connected == up.len() {
            return;
        }
        assert!(Instant::now() < deadline, "relays never connected");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What one zap receipt (as the tracker holds it, an `Event`) takes on the heap, in bytes.
fn receipt_size(bot: &PublicKey) -> usize {
    let zaps = Zaps::new(*bot);
    let before = HEAP_IN_USE.load(Ordering::Relaxed);
    let receipts = build_many(1_000, |i| {
        zaps.zap_at(&zaps.target(&format!("size {i}")), Timestamp::now())
    });
    let held = HEAP_IN_USE.load(Ordering::Relaxed).saturating_sub(before);
    drop(receipts);
    held / 1_000
}

/// A loopback port nobody listens on (taken from the system, then let go).
fn refused_url() -> RelayUrl {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = listener.local_addr().expect("bound address");
    RelayUrl::parse(&format!("ws://{addr}")).expect("url")
}

/// The yardstick: schnorr verifications per second on one core.
fn yardstick() -> f64 {
    let zaps = Zaps::new(Keys::generate().public_key());
    let sample = build_many(4_000, |i| zaps.honest(&format!("y {i}")));
    bench::schnorr_rate(&sample, 5)
}

/// What relays cost before they connect: the shared client the relay actors use, then `n`
/// relays added to it as each relay actor adds its own (ports nobody listens on).
fn probe_clients(n: usize) {
    println!(
        "size of one slot's value: RelayNotification {} B, RelayPoolNotification {} B",
        std::mem::size_of::<RelayNotification>(),
        std::mem::size_of::<RelayPoolNotification>()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let keys = Keys::generate();
        let (before, _) = memory_kib("self");
        let client = relay::relay_client(&keys);
        let (with_client, _) = memory_kib("self");
        for _ in 0..n {
            client
                .pool()
                .add_relay(refused_url(), relay::relay_options())
                .await
                .expect("add relay");
        }
        let (after, _) = memory_kib("self");
        println!(
            "the shared relay client: VmRSS {:.1} -> {:.1} MB; {n} relays added (not connected): \
             -> {:.1} MB, {:.0} KiB each",
            mb(before),
            mb(with_client),
            mb(after),
            (after - with_client) as f64 / n as f64
        );
    });
}

fn main() {
    if std::env::args().any(|a| a == "--relays-child") {
        relays_child();
        return;
    }
    if let Some(n) = arg_str("--probe-clients") {
        probe_clients(n.parse().expect("--probe-clients N"));
        return;
    }
    let bots = (bench::arg("--bots", 4) as usize).clamp(1, BOTS.len());
    let up = bench::arg("--up", 3) as usize;
    let dead = bench::arg("--dead", 7) as usize;
    let rate = bench::arg("--rate", 1_000).max(1);
    let secs = bench::arg("--secs", 20);
    let silent = dead / 2;
    let refused = dead - silent;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "machine: {cores} cores; scenario: {bots} bots, {} relays ({up} up, {refused} refused, \
         {silent} silent); load {rate} receipts/s for {secs} s",
        up + dead
    );

    let bot_keys = Keys::generate();
    let mut child = Child::start(up, silent, &bot_keys.public_key(), rate, secs);
    let mut up_urls = Vec::new();
    let mut dead_urls = Vec::new();
    let mut receipt_bytes = 0;
    let provider = loop {
        let line = child.line(Duration::from_secs(300));
        match line.split_once(' ') {
            Some(("receipt", bytes)) => receipt_bytes = bytes.parse().expect("receipt size"),
            Some(("up", url)) => up_urls.push(RelayUrl::parse(url).expect("url")),
            Some(("silent", url)) => dead_urls.push(RelayUrl::parse(url).expect("url")),
            Some(("provider", hex)) => break PublicKey::from_hex(hex).expect("provider key"),
            _ => panic!("relay process: {line}"),
        }
    };
    assert_eq!(child.line(Duration::from_secs(30)), "ready");
    dead_urls.extend((0..refused).map(|_| refused_url()));

    let count = rate * secs;
    actix_rt::System::new().block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
        let mut relays = up_urls.clone();
        relays.extend(dead_urls);
        let mut cfg = zap_config(&db_url, relays, &provider)
            .with(
                "COMMONS__LOGGING__LEVEL",
                &std::env::var("RSS_BENCH_LOG").unwrap_or_else(|_| "error".into()),
            )
            // The default development settings: dead relays retried up to once a minute.
            .with("COMMONS__NOSTR__RECONNECT__INITIAL_BACKOFF_MS", "500")
            .with("COMMONS__NOSTR__RECONNECT__MAX_BACKOFF_MS", "60000");
        cfg.bot_keys.insert("gov".into(), bot_keys.clone());
        for bot in &BOTS[bots..] {
            cfg.bot_keys.remove(*bot);
            cfg = cfg.with(
                &format!("COMMONS__NOSTR__BOTS__{}__ENABLED", bot.to_uppercase()),
                "false",
            );
        }

        let (before, _) = memory_kib("self");
        let app = cfg.start().await;
        let mut commits = watch(&app).await;
        wait_connected(&app, &up_urls).await;
        // Start-up publishing (profiles, relay lists, status) and the first backfill.
        actix_rt::time::sleep(Duration::from_secs(5)).await;
        let (idle, idle_hwm) = memory_kib("self");
        let idle_heap = heap_kib();
        reset_heap_peak();
        let (idle_anon, idle_file) = rss_parts_kib();
        let idle_threads = threads();

        child.stdin.write_all(b"go\n").expect("go");
        child.stdin.flush().expect("flush");
        let started = Instant::now();
        let mut recorded = 0u64;
        let mut peak = 0u64;
        let mut peak_heap = 0u64;
        let mut samples = Vec::new();
        let mut sample = actix_rt::time::interval(Duration::from_millis(250));
        let deadline = started + Duration::from_secs(secs + 60);
        while recorded < count && Instant::now() < deadline {
            tokio::select! {
                batch = commits.recv() => recorded += batch.unwrap_or(0) as u64,
                _ = sample.tick() => {
                    let (rss, _) = memory_kib("self");
                    peak = peak.max(rss);
                    peak_heap = peak_heap.max(heap_kib());
                    samples.push(rss);
                }
            }
        }
        let load_secs = started.elapsed().as_secs_f64();
        let load_heap_peak = reset_heap_peak();
        let sent = child.line(Duration::from_secs(60));
        let load_threads = threads();
        actix_rt::time::sleep(Duration::from_secs(5)).await;
        let (after, hwm) = memory_kib("self");
        let after_heap = heap_kib();
        let (c_used, c_free, sqlite) = c_heap_kib();
        let (after_anon, after_file) = rss_parts_kib();
        let (child_rss, _) = memory_kib(&child.pid());
        app.stop().await;
        let mean = samples.iter().sum::<u64>() / samples.len().max(1) as u64;

        println!(
            "schnorr signature verification, 1 core: {:>9.0} /s",
            yardstick()
        );
        println!("harness before the service     VmRSS {:>6.1} MB", mb(before));
        println!("one zap receipt held in memory  {receipt_bytes} B");
        println!(
            "idle (relays settled)          VmRSS {:>6.1} MB  VmHWM {:>6.1} MB  heap {:>6.1} MB  threads {idle_threads}",
            mb(idle),
            mb(idle_hwm),
            mb(idle_heap)
        );
        println!(
            "  of which anonymous {:>6.1} MB, the binary's pages {:>6.1} MB",
            mb(idle_anon),
            mb(idle_file)
        );
        println!(
            "under load: {recorded} of {count} receipts committed in {load_secs:.1} s ({sent} to {up} relays)"
        );
        println!(
            "during load                    VmRSS max {:>6.1} MB  mean {:>6.1} MB  heap max {:>6.1} MB (sampled) {:>6.1} MB (exact)  threads {load_threads}",
            mb(peak),
            mb(mean),
            mb(peak_heap),
            mb(load_heap_peak)
        );
        println!(
            "5 s after the load             VmRSS {:>6.1} MB  VmHWM {:>6.1} MB  heap {:>6.1} MB",
            mb(after),
            mb(hwm),
            mb(after_heap)
        );
        println!(
            "  of which anonymous {:>6.1} MB, the binary's pages {:>6.1} MB",
            mb(after_anon),
            mb(after_file)
        );
        println!(
            "  malloc: in use {:>6.1} MB (SQLite's {:>5.1} MB), free but kept {:>6.1} MB",
            mb(c_used),
            mb(sqlite),
            mb(c_free)
        );
        println!(
            "(the relays and the publisher, in their own process: VmRSS {:.1} MB, not counted)",
            mb(child_rss)
        );
    });
    drop(child.stdin);
    let _ = child.process.wait();
}
