//! Load client for `audit2role serve` (a benchmark, not a test): N concurrent clients post
//! EventLists of B events cut from a log, for a bounded time, and report events per
//! second, acknowledgement latency (p50, p99, max) and, with `--pid`, the server's
//! resident memory sampled over the run.
//!
//! ```text
//! cargo run --release --example serve_load -- --url http://127.0.0.1:8080 \
//!     --log bench-data/serve.log --clients 8 --batch 400 --seconds 30 --pid PID [--rate 50000]
//! ```
//!
//! Without `--rate` every client posts its next batch as soon as the last is answered (the
//! most the server takes); with `--rate N` the clients offer N events per second between
//! them on a fixed schedule, and latency is counted from when each batch was due.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    url: String,
    log: String,
    clients: usize,
    batch: usize,
    seconds: u64,
    pid: Option<u32>,
    token: Option<String>,
    /// Offered load in events per second over all clients (0: each client posts as fast
    /// as it is answered).
    rate: u64,
}

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:8080".to_string(),
        log: String::new(),
        clients: 8,
        batch: 400,
        seconds: 30,
        pid: None,
        token: None,
        rate: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--url" => a.url = value,
            "--log" => a.log = value,
            "--clients" => a.clients = value.parse().expect("--clients N"),
            "--batch" => a.batch = value.parse().expect("--batch N"),
            "--seconds" => a.seconds = value.parse().expect("--seconds N"),
            "--pid" => a.pid = Some(value.parse().expect("--pid PID")),
            "--token" => a.token = Some(value),
            "--rate" => a.rate = value.parse().expect("--rate EVENTS_PER_SECOND"),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!a.log.is_empty(), "--log FILE is needed");
    a
}

/// Resident memory of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let text = std::fs::read_to_string(&a.log).expect("the log is readable");
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with('{')).collect();
    // The bodies live as long as the run: leaked, so that each request sends them without
    // a copy.
    let bodies: Arc<Vec<&'static str>> = Arc::new(
        lines
            .chunks(a.batch)
            .filter(|c| c.len() == a.batch)
            .map(|c| {
                let body = format!(
                    "{{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{{}},\"items\":[{}]}}",
                    c.join(",")
                );
                &*Box::leak(body.into_boxed_str())
            })
            .collect(),
    );
    assert!(!bodies.is_empty(), "the log has fewer than --batch events");
    let body_bytes: usize = bodies.iter().map(|b| b.len()).sum::<usize>() / bodies.len();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.clients)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let events = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..a.clients {
        let (client, bodies, stop, events, refused, latencies) = (
            client.clone(),
            bodies.clone(),
            stop.clone(),
            events.clone(),
            refused.clone(),
            latencies.clone(),
        );
        let url = format!("{}/v1/events", a.url);
        let token = a.token.clone();
        let batch = a.batch as u64;
        // With a rate, each client posts on a fixed schedule, and latency counts from the
        // time the batch was due (so that a slow answer also delays what follows).
        let interval = (a.rate > 0)
            .then(|| Duration::from_secs_f64(a.clients as f64 * batch as f64 / a.rate as f64));
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut n = i;
            let mut due =
                Instant::now() + interval.map_or(Duration::ZERO, |d| d.mul_f64(i as f64 / 8.0));
            while !stop.load(Ordering::Relaxed) {
                let body: &'static str = bodies[n % bodies.len()];
                n += 7;
                if let Some(interval) = interval {
                    tokio::time::sleep_until(due.into()).await;
                    due += interval;
                }
                let t = match interval {
                    Some(interval) => due - interval,
                    None => Instant::now(),
                };
                let mut r = client.post(&url).body(body);
                if let Some(t) = &token {
                    r = r.bearer_auth(t);
                }
                match r.send().await {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        mine.push(t.elapsed());
                        events.fetch_add(batch, Ordering::Relaxed);
                    }
                    Ok(r) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        let _ = r.bytes().await;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(e) => panic!("request failed: {e}"),
                }
            }
            latencies.lock().unwrap().extend(mine);
        }));
    }
    let mut memory = Vec::new();
    let mut per_second = Vec::new();
    let mut last = 0;
    for _ in 0..a.seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = events.load(Ordering::Relaxed);
        per_second.push(now - last);
        last = now;
        if let Some(pid) = a.pid {
            memory.extend(rss_kib(pid));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut l = latencies.lock().unwrap().clone();
    l.sort();
    let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)];
    let total = events.load(Ordering::Relaxed);
    println!(
        "{} clients, {}-event EventLists (~{} KiB each), {:.1} s: {} events, {:.0} events/s; {} refused (429/503)",
        a.clients,
        a.batch,
        body_bytes / 1024,
        elapsed,
        total,
        total as f64 / elapsed,
        refused.load(Ordering::Relaxed)
    );
    println!(
        "ack latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} batches)",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        l.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        l.len()
    );
    println!("events/s per second: {per_second:?}");
    if !memory.is_empty() {
        let mb: Vec<u64> = memory.iter().map(|k| k / 1024).collect();
        println!("server RSS (MiB) per second: {mb:?}");
    }
}
