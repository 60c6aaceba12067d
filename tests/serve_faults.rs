//! Faults: the server is killed with SIGKILL at random points under load, again and again,
//! and after each restart every acknowledged event is in the state exactly once, no batch
//! is half applied, and it serves again. A full disk gives 503 with Retry-After and leaves
//! the state whole: a real full filesystem (a small tmpfs, mounted by the test, which needs
//! root: `cfg(mount_rights_missing)` ignores it elsewhere outside CI), and a limit on file
//! size (RLIMIT_FSIZE on the server process), which needs no rights and runs everywhere.

mod serve_support;

use serve_support::{event_list, metrics_text, Rng, Server};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Events per batch.
const BATCH: usize = 40;

/// The events of batch `id` of client `client`: one distinct request each (a get of a
/// configmap named after the batch and the event).
fn batch(client: usize, id: u64) -> String {
    let events: Vec<String> = (0..BATCH)
        .map(|k| {
            format!(
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{client}-{id}-{k}","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/load/configmaps/b{id}-{k}","verb":"get","user":{{"username":"load-{client}","groups":["system:authenticated"]}},"objectRef":{{"resource":"configmaps","namespace":"load","name":"b{id}-{k}","apiVersion":"v1"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"2026-11-02T10:00:00.000000Z","stageTimestamp":"2026-11-02T10:00:00.001000Z"}}"#
            )
        })
        .collect();
    let refs: Vec<&str> = events.iter().map(String::as_str).collect();
    event_list(&refs)
}

/// (subject, configmap name) → completed count, from the served partial aggregate.
async fn state_of(c: &reqwest::Client, s: &Server) -> BTreeMap<(String, String), u64> {
    let r = c.get(s.url("/v1/aggregate")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["resource"] == "configmaps" {
            let key = (
                v["subject"].as_str().unwrap().to_string(),
                v["name"].as_str().unwrap().to_string(),
            );
            *out.entry(key).or_default() += v["completed"].as_u64().unwrap();
        }
    }
    out
}

/// Checks the state against what was sent and acknowledged.
fn check(
    state: &BTreeMap<(String, String), u64>,
    sent: &BTreeSet<(usize, u64)>,
    acked: &BTreeSet<(usize, u64)>,
    run: usize,
) {
    for &(client, id) in sent {
        let present: Vec<u64> = (0..BATCH)
            .filter_map(|k| {
                state
                    .get(&(format!("load-{client}"), format!("b{id}-{k}")))
                    .copied()
            })
            .collect();
        if acked.contains(&(client, id)) {
            assert_eq!(
                present.len(),
                BATCH,
                "run {run}: acknowledged batch {client}/{id} is not whole in the state"
            );
        } else {
            assert!(
                present.is_empty() || present.len() == BATCH,
                "run {run}: unacknowledged batch {client}/{id} is half applied"
            );
        }
        assert!(
            present.iter().all(|&n| n == 1),
            "run {run}: batch {client}/{id} counted more than once: {present:?}"
        );
    }
}

/// Posts batches `ids` of client 0 until the server has refused three of them (503 with
/// `Retry-After`, "not stored"): the batches sent and those acknowledged, and how many were
/// refused (three, unless `ids` ran out first).
async fn post_until_refused(
    c: &reqwest::Client,
    s: &Server,
    ids: std::ops::Range<u64>,
) -> (BTreeSet<(usize, u64)>, BTreeSet<(usize, u64)>, usize) {
    let mut acked = BTreeSet::new();
    let mut sent = BTreeSet::new();
    let mut refused = 0;
    for id in ids {
        sent.insert((0, id));
        let r = c
            .post(s.url("/v1/events"))
            .body(batch(0, id))
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            200 => {
                acked.insert((0, id));
            }
            503 => {
                assert!(r.headers().contains_key("retry-after"));
                let text = r.text().await.unwrap();
                assert!(text.contains("not stored"), "{text}");
                refused += 1;
                if refused == 3 {
                    break;
                }
            }
            other => panic!("unexpected status {other}: {}", r.text().await.unwrap()),
        }
    }
    (sent, acked, refused)
}

/// After the three refusals of [`post_until_refused`]: the server still answers with every
/// acknowledged batch and counts the refusals; killed and started again on `args`, it
/// holds exactly the acknowledged batches. The new server.
async fn answers_then_recovers(
    c: &reqwest::Client,
    s: Server,
    args: &[&str],
    sent: &BTreeSet<(usize, u64)>,
    acked: &BTreeSet<(usize, u64)>,
) -> Server {
    let full = state_of(c, &s).await;
    check(&full, sent, acked, 0);
    let m = metrics_text(c, &s).await;
    assert!(
        m.contains("audit2role_rejects_total{reason=\"store failed\"} 3\n"),
        "{m}"
    );
    s.kill();
    let s = Server::start(args);
    let after = state_of(c, &s).await;
    check(&after, sent, acked, 1);
    let stored: BTreeSet<String> = after.keys().map(|(_, n)| n.clone()).collect();
    assert_eq!(stored.len(), acked.len() * BATCH);
    s
}

fn start(state: &std::path::Path) -> Server {
    Server::start(&[
        "--state-dir",
        state.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--insecure-http",
        // Small, so that kills also land in snapshots.
        "--snapshot-mb",
        "0.3",
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_no_acknowledged_event() {
    const RUNS: usize = 20;
    const CLIENTS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let c = reqwest::Client::new();
    let mut rng = Rng(0xfa17_5eed);
    let sent: Arc<Mutex<BTreeSet<(usize, u64)>>> = Arc::default();
    let acked: Arc<Mutex<BTreeSet<(usize, u64)>>> = Arc::default();
    let mut next_id = 0u64;
    let started = Instant::now();
    for run in 0..RUNS {
        let s = start(&state);
        // It serves again, with everything acknowledged before.
        let before = state_of(&c, &s).await;
        check(&before, &sent.lock().unwrap(), &acked.lock().unwrap(), run);
        let mut tasks = Vec::new();
        for client in 0..CLIENTS {
            let (c, url, sent, acked) =
                (c.clone(), s.url("/v1/events"), sent.clone(), acked.clone());
            let first = next_id + client as u64 * 1_000_000;
            tasks.push(tokio::spawn(async move {
                for id in first.. {
                    sent.lock().unwrap().insert((client, id));
                    match c.post(&url).body(batch(client, id)).send().await {
                        Ok(r) if r.status() == 200 => {
                            acked.lock().unwrap().insert((client, id));
                        }
                        Ok(r) if r.status() == 429 => {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        // 503 while closing, or the connection cut by the kill.
                        _ => break,
                    }
                }
            }));
        }
        next_id += 10_000;
        tokio::time::sleep(Duration::from_millis(rng.range(20, 250))).await;
        s.kill();
        for t in tasks {
            let _ = t.await;
        }
    }
    let s = start(&state);
    let last = state_of(&c, &s).await;
    let acked = acked.lock().unwrap();
    check(&last, &sent.lock().unwrap(), &acked, RUNS);
    assert!(
        acked.len() > RUNS * 2,
        "too little load: {} batches",
        acked.len()
    );
    let counted: u64 = last.values().sum();
    assert!(counted >= (acked.len() * BATCH) as u64);
    eprintln!(
        "{RUNS} kills, {} batches acknowledged, {} events in the state, {:?}",
        acked.len(),
        counted,
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gives_503_and_keeps_the_state_whole() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let args = [
        "--state-dir",
        state.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--insecure-http",
    ];
    // Files the server writes may not grow past 64 KiB: writes past it fail (EFBIG) as
    // they would on a full disk. SIGXFSZ is ignored so that the write fails instead.
    let s = Server::start_with(&args, |command| unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 64 << 10,
                rlim_max: 64 << 10,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    });
    let c = reqwest::Client::new();
    let (sent, acked, refused) = post_until_refused(&c, &s, 0..200).await;
    assert_eq!(refused, 3, "the limit was never reached");
    assert!(!acked.is_empty());
    // Still answering questions, from what was stored; with room again, the state is
    // whole: every acknowledged batch, nothing else.
    let s = answers_then_recovers(&c, s, &args, &sent, &acked).await;
    let r = c
        .post(s.url("/v1/events"))
        .body(batch(0, 999))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// A tmpfs mounted on a directory, unmounted when dropped (also when the test fails).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`4m`) on `dir`. Panics when the mount is refused: the test
    /// is ignored where the rights are missing (`cfg(mount_rights_missing)`, not root outside
    /// CI), so a refusal here is a failure, never a silent pass.
    fn mount(dir: &std::path::Path, size: &str) -> Tmpfs {
        use std::ffi::CString;
        std::fs::create_dir_all(dir).unwrap();
        let target = CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
        let source = CString::new("tmpfs").unwrap();
        let options = CString::new(format!("size={size}")).unwrap();
        let rc = unsafe {
            libc::mount(
                source.as_ptr(),
                target.as_ptr(),
                source.as_ptr(),
                0,
                options.as_ptr().cast(),
            )
        };
        assert_eq!(
            rc,
            0,
            "cannot mount a tmpfs on {} ({}): the real full-disk test needs root (CAP_SYS_ADMIN)",
            dir.display(),
            std::io::Error::last_os_error()
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = std::ffi::CString::new(self.0.as_os_str().as_encoded_bytes()).unwrap();
        // Lazily, so that a server still holding files cannot keep it mounted.
        unsafe {
            libc::umount2(target.as_ptr(), libc::MNT_DETACH);
        }
    }
}

/// A real full filesystem: a 4 MiB tmpfs, most of it taken by a filler file. The server
/// answers 503 with `Retry-After` once the journal cannot grow, keeps answering questions
/// with every acknowledged batch; killed and started again on the same full filesystem it
/// recovers exactly the acknowledged batches; with the filler removed it accepts again.
#[cfg_attr(mount_rights_missing, ignore)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_tmpfs_gives_503_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let tmpfs = Tmpfs::mount(&mnt, "4m");
    let filler = mnt.join("filler");
    std::fs::write(&filler, vec![0u8; 3 << 20]).unwrap();
    let state = mnt.join("state");
    let args = [
        "--state-dir",
        state.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--insecure-http",
    ];
    let s = Server::start(&args);
    let c = reqwest::Client::new();
    let (mut sent, mut acked, refused) = post_until_refused(&c, &s, 0..5000).await;
    assert_eq!(refused, 3, "the filesystem never filled up");
    assert!(acked.len() > 10, "only {} batches stored", acked.len());
    eprintln!("{} batches stored before the tmpfs was full", acked.len());
    let free = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        let path = std::ffi::CString::new(mnt.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(libc::statvfs(path.as_ptr(), &mut st), 0);
        st.f_bavail as u64 * st.f_frsize as u64
    };
    assert!(
        free < 64 << 10,
        "the filesystem is not full: {free} bytes free"
    );
    // Started again on the same full filesystem: every acknowledged batch, nothing else.
    let s = answers_then_recovers(&c, s, &args, &sent, &acked).await;
    // Still full: refused, not lost.
    let r = c
        .post(s.url("/v1/events"))
        .body(batch(0, 9_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));

    // Room again: accepted, and the state has it beside everything before.
    std::fs::remove_file(&filler).unwrap();
    let r = c
        .post(s.url("/v1/events"))
        .body(batch(0, 9_001))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    acked.insert((0, 9_001));
    sent.insert((0, 9_000));
    sent.insert((0, 9_001));
    let last = state_of(&c, &s).await;
    check(&last, &sent, &acked, 2);
    s.terminate();
    let s = Server::start(&args);
    check(&state_of(&c, &s).await, &sent, &acked, 3);
    drop(s);
    drop(tmpfs);
}
