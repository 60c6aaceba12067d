//! Micro-benchmarks of the read path (plain `harness = false`, std::time): decoding lines,
//! normalizing and aggregating, and the whole pipeline with 1 and N threads, on a
//! synthetic log made in memory. `cargo bench` prints MB/s per case.
//!
//! BENCH_MB sets the size of the synthetic log (default 64); BENCH_LOG=FILE reads the first
//! BENCH_MB MiB (whole lines) of a log instead, e.g. one made by gen_audit_log.py.
//! BENCH_COMPRESSED=FILE (a .gz or .zst log) also times decompressing it alone, through
//! the reader every run uses (`read::open`), into a sink: the floor of a run on that file.

use audit2role::aggregate::{Aggregate, Filter};
use audit2role::decode::native::EventDoc;
use audit2role::decode::scan::scan_event_into;
use audit2role::decode::{sink_fn, DecodeOptions, FileReport};
use audit2role::read::blocks::decode_stream;
use audit2role::read::{open, Source};
use audit2role::request::normalize::normalize;
use audit2role::{read_inputs, ReadOptions};
use std::io::Read;
use std::time::Instant;

fn event(i: usize) -> String {
    let user = format!("system:serviceaccount:ns{}:sa{}", i % 17, i % 200);
    let verb = ["get", "list", "watch", "update", "patch", "create"][i % 6];
    let stage = ["ResponseComplete", "RequestReceived"][i % 2];
    let body = if i % 10 == 0 {
        format!(
            ",\"requestObject\":{{\"data\":\"{}\"}}",
            "b".repeat(2000 + i % 1000)
        )
    } else {
        String::new()
    };
    format!(
        "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"{i:08x}-9b55-4059-a464-2b0adff31aca\",\"stage\":\"{stage}\",\"requestURI\":\"/api/v1/namespaces/ns{ns}/configmaps/cm{n}?limit=500\\u0026timeout=5s\",\"verb\":\"{verb}\",\"user\":{{\"username\":\"{user}\",\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:ns{ns}\",\"system:authenticated\"]}},\"sourceIPs\":[\"10.0.1.{ip}\"],\"userAgent\":\"controller/v1.29.4 (linux/amd64) kubernetes/55019c8\",\"objectRef\":{{\"resource\":\"configmaps\",\"namespace\":\"ns{ns}\",\"name\":\"cm{n}\",\"apiVersion\":\"v1\"}},\"responseStatus\":{{\"metadata\":{{}},\"code\":200}}{body},\"requestReceivedTimestamp\":\"2024-05-01T08:00:00.{us:06}Z\",\"stageTimestamp\":\"2024-05-01T08:00:00.{us:06}Z\",\"annotations\":{{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}}}\n",
        ns = i % 17,
        n = i % 50,
        ip = i % 250,
        us = i % 1_000_000,
    )
}

fn log(mb: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(mb << 20);
    let mut i = 0;
    while out.len() < mb << 20 {
        out.extend_from_slice(event(i).as_bytes());
        i += 1;
    }
    out
}

fn report(name: &str, bytes: usize, f: impl Fn()) {
    f(); // warm up
    let runs = 3;
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{name:<40} {:>8.1} MB/s  (best of {runs}: {:.3} s)",
        bytes as f64 / 1e6 / best,
        best
    );
}

fn main() {
    let mb: usize = std::env::var("BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let data = match std::env::var_os("BENCH_LOG") {
        Some(path) => {
            let mut data = std::fs::read(&path).expect("BENCH_LOG names a readable file");
            data.truncate(mb << 20);
            let whole = data.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
            data.truncate(whole);
            println!(
                "{}: first {} MB",
                path.to_string_lossy(),
                data.len() / 1_000_000
            );
            data
        }
        None => {
            let data = log(mb);
            println!("synthetic log: {} MB", data.len() / 1_000_000);
            data
        }
    };
    let n = data.len();

    let lines: Vec<&str> = std::str::from_utf8(&data)
        .expect("the benchmark log is UTF-8")
        .lines()
        .collect();
    report("scan only (lines split beforehand)", n, || {
        let mut events = 0u64;
        for line in &lines {
            let mut doc = EventDoc::default();
            if scan_event_into(line, &mut doc, false) {
                events += 1;
            }
        }
        assert!(events > 0);
    });
    report("decode_stream (split + decode)", n, || {
        let mut r = FileReport::default();
        let mut events = 0u64;
        decode_stream(
            &data[..],
            &DecodeOptions::default(),
            &mut r,
            &mut sink_fn(|_, _, _| {
                events += 1;
                Ok(())
            }),
        )
        .unwrap();
        assert!(events > 0);
    });
    report("decode + normalize", n, || {
        let mut r = FileReport::default();
        decode_stream(
            &data[..],
            &DecodeOptions::default(),
            &mut r,
            &mut sink_fn(|e, v, _| normalize(e, v).map(|_| ())),
        )
        .unwrap();
    });
    report("decode + normalize + aggregate", n, || {
        let mut r = FileReport::default();
        let mut agg = Aggregate::default();
        let filter = Filter::default();
        decode_stream(
            &data[..],
            &DecodeOptions::default(),
            &mut r,
            &mut sink_fn(|e, v, _| {
                agg.add(&normalize(e, v)?, &filter);
                Ok(())
            }),
        )
        .unwrap();
    });

    let path = std::env::temp_dir().join(format!("audit2role-bench-{}.log", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    let sources = vec![Source {
        name: path.display().to_string(),
        path: Some(path.clone()),
        problem: None,
    }];
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    for threads in [1, cores.max(2)] {
        report(
            &format!("read_inputs, file, {threads} thread(s)"),
            n,
            || {
                let options = ReadOptions {
                    threads,
                    ..ReadOptions::default()
                };
                read_inputs(&sources, &options).unwrap();
            },
        );
    }
    let _ = std::fs::remove_file(&path);

    if let Some(path) = std::env::var_os("BENCH_COMPRESSED") {
        let source = Source {
            name: path.to_string_lossy().into_owned(),
            path: Some(path.into()),
            problem: None,
        };
        let decompressed = std::cell::Cell::new(0usize);
        let decompress = || {
            let mut reader = open(&source).expect("BENCH_COMPRESSED names a readable log");
            let mut buffer = vec![0u8; 2 << 20];
            let mut total = 0;
            loop {
                match reader.read(&mut buffer).expect("the log decompresses") {
                    0 => break,
                    n => total += n,
                }
            }
            decompressed.set(total);
        };
        decompress();
        report(
            &format!("decompress only ({})", source.name),
            decompressed.get(),
            decompress,
        );
    }
}
