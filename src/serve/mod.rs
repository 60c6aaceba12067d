//! `audit2role serve`: an audit webhook backend. The API server (or a log forwarder) posts
//! batches of audit events; each batch is decoded by the CLI's decoder ([`ingest`]), its
//! effect journaled and fsynced, with one fsync for every batch waiting (group commit,
//! [`state`] and [`journal`]), and only then acknowledged. The state is one aggregate per
//! UTC day, snapshotted in the partial-aggregate format, so that retention drops old days
//! and questions take a window. The questions ([`http`]) are answered with the CLI's
//! library calls, so the answers are the CLI's on the same events. TLS and client
//! certificates are in [`tls`], metrics in [`metrics`]. See docs/serve.md.

pub mod http;
pub mod ingest;
pub mod journal;
pub mod metrics;
pub mod state;
pub mod tls;

use crate::error::{Error, Result};
use http::{Access, App, Conn, Limits};
use hyper_util::rt::{TokioIo, TokioTimer};
use state::{Shared, Store, WriterOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// How the server runs (the `serve` flags).
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub state_dir: PathBuf,
    pub listen: SocketAddr,
    /// Plain HTTP, on a loopback address only.
    pub insecure_http: bool,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub client_ca: Option<PathBuf>,
    pub token_file: Option<PathBuf>,
    pub read_token_file: Option<PathBuf>,
    /// Largest request body as sent, in bytes.
    pub max_body: usize,
    /// Largest body once decompressed, in bytes.
    pub max_decompressed: u64,
    /// Batches waiting for the writer; more are answered 429.
    pub queue: usize,
    /// Bodies being received and decoded at once; more are answered 429. Memory for
    /// bodies stays under `max_in_flight × (max_body + max_decompressed)`.
    pub max_in_flight: usize,
    /// Compact the journal into a snapshot past this many bytes.
    pub snapshot_bytes: u64,
    /// Keep this many UTC days; `None` keeps all.
    pub retain_days: Option<i64>,
    /// Time to receive request headers, and (separately) a body.
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    /// Time in-flight requests get to finish at SIGTERM.
    pub drain_timeout: Duration,
    /// Runtime worker threads (0: one per core).
    pub threads: usize,
    /// RBAC dump files for `GET /v1/report` (none: the report is not served).
    pub rbac: Vec<String>,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            state_dir: PathBuf::from("state"),
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            insecure_http: false,
            tls_cert: None,
            tls_key: None,
            client_ca: None,
            token_file: None,
            read_token_file: None,
            max_body: 16 << 20,
            max_decompressed: 64 << 20,
            max_in_flight: 16,
            queue: 64,
            snapshot_bytes: 64 << 20,
            retain_days: None,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(25),
            threads: 0,
            rbac: Vec::new(),
        }
    }
}

/// Reads a token file: its text without surrounding white space, never empty.
fn read_token(path: &Option<PathBuf>, flag: &str) -> Result<Option<String>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        action: "read",
        source,
    })?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(Error::Usage(format!(
            "{flag} {}: the file is empty",
            path.display()
        )));
    }
    Ok(Some(token))
}

/// Checks that the flags fit together (before anything is opened).
pub fn validate(options: &ServeOptions) -> Result<()> {
    if options.insecure_http {
        if !options.listen.ip().is_loopback() {
            return Err(Error::Usage(format!(
                "--insecure-http serves plain HTTP on loopback addresses only (127.0.0.1, ::1), not {}; use --tls-cert and --tls-key",
                options.listen
            )));
        }
        if options.tls_cert.is_some() || options.tls_key.is_some() || options.client_ca.is_some() {
            return Err(Error::Usage(
                "--insecure-http takes no --tls-cert, --tls-key or --client-ca".to_string(),
            ));
        }
    } else {
        if options.tls_cert.is_none() || options.tls_key.is_none() {
            return Err(Error::Usage(
                "serve needs --tls-cert and --tls-key (or --insecure-http on a loopback address for development)".to_string(),
            ));
        }
        if options.client_ca.is_none() && options.token_file.is_none() {
            return Err(Error::Usage(
                "say how the API server authenticates: --client-ca (client certificates) or --token-file (bearer token)".to_string(),
            ));
        }
    }
    if options.max_body == 0 || options.queue == 0 || options.max_in_flight == 0 {
        return Err(Error::Usage(
            "--max-body-mb, --queue and --max-in-flight must be at least 1".to_string(),
        ));
    }
    Ok(())
}

/// Runs the server until SIGTERM or SIGINT: recovers the state, serves, then drains
/// in-flight requests and stops after the last batch is synced.
pub fn run(options: &ServeOptions) -> Result<()> {
    validate(options)?;
    let access = Access {
        ingest_token: read_token(&options.token_file, "--token-file")?,
        client_certs: options.client_ca.is_some(),
        read_token: read_token(&options.read_token_file, "--read-token-file")?,
        insecure: options.insecure_http,
    };
    let acceptor = match (&options.tls_cert, &options.tls_key) {
        (Some(cert), Some(key)) => Some(
            tls::acceptor(&tls::TlsFiles {
                cert,
                key,
                client_ca: options.client_ca.as_deref(),
            })
            .map_err(Error::Usage)?,
        ),
        _ => None,
    };
    let (store, journal, journal_generation, mut days, recovery) = Store::open(&options.state_dir)
        .map_err(|e| Error::Input {
            path: options.state_dir.display().to_string(),
            line: None,
            reason: e.to_string(),
        })?;
    if let Some(retain) = options.retain_days {
        days.retain_from(state::first_kept_day(
            retain,
            crate::request::select::now_micros(),
        ));
    }
    if recovery.dropped_bytes > 0 {
        eprintln!(
            "audit2role serve: the journal ended in {} bytes of a torn or damaged record (never acknowledged); dropped",
            recovery.dropped_bytes
        );
    }
    eprintln!(
        "audit2role serve: state recovered: generation {}, {} snapshot days, {} journal records",
        recovery.generation, recovery.snapshot_days, recovery.journal_records
    );
    let shared = Arc::new(Shared {
        days: std::sync::RwLock::new(days),
        metrics: metrics::Metrics::new(),
        healthy: AtomicBool::new(true),
    });
    shared
        .metrics
        .torn_tail_bytes
        .inc_by(recovery.dropped_bytes);
    shared.metrics.journal_bytes.set(journal.len() as i64);
    shared
        .metrics
        .snapshot_bytes
        .set(store.snapshot_bytes() as i64);
    let (queue, rx) = std::sync::mpsc::sync_channel(options.queue);
    let writer_options = WriterOptions {
        snapshot_bytes: options.snapshot_bytes,
        retain_days: options.retain_days,
        max_group: options.queue,
    };
    let writer = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("journal-writer".to_string())
            .spawn(move || {
                state::writer(
                    store,
                    journal,
                    journal_generation,
                    rx,
                    shared,
                    writer_options,
                )
            })
            .map_err(|e| Error::Usage(format!("cannot start the writer thread: {e}")))?
    };
    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        options.threads
    };
    // The dump is read once: as it is for `GET /v1/report` (as `diff --rbac` loads it), and
    // with the bootstrap roles for `/v1/rbac?existing=true` (as `--existing` loads it).
    let (report_rbac, existing_rbac) = if options.rbac.is_empty() {
        (None, None)
    } else {
        use crate::rbac::load::{prepare, read_files, LoadOptions};
        let from_files = read_files(&options.rbac)?;
        let existing = prepare(from_files.clone(), &LoadOptions { bootstrap: true });
        let report = prepare(from_files, &LoadOptions::default());
        (
            Some((
                Arc::new(crate::rbac::Authorizer::new(report)),
                options.rbac.clone(),
            )),
            Some(Arc::new(crate::rbac::Authorizer::new(existing))),
        )
    };
    let app = Arc::new(App {
        shared,
        queue: queue.clone(),
        access,
        limits: Limits {
            max_body: options.max_body,
            max_decompressed: options.max_decompressed,
            body_timeout: options.body_timeout,
            max_in_flight: options.max_in_flight,
        },
        in_flight: tokio::sync::Semaphore::new(options.max_in_flight),
        closing: AtomicBool::new(false),
        retain_days: options.retain_days,
        report_rbac,
        existing_rbac,
        bootstrap_rbac: Arc::new(crate::rbac::Authorizer::new(
            crate::rbac::bootstrap::bootstrap_rbac(),
        )),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the runtime: {e}")))?;
    let served = runtime.block_on(serve(options, app.clone(), acceptor));
    app.closing.store(true, Ordering::SeqCst);
    // Everything in flight has been answered or cut off; the writer stores what is queued
    // before it, then stops.
    let _ = queue.send(state::Message::Stop);
    drop(app);
    drop(queue);
    runtime.shutdown_timeout(Duration::from_secs(1));
    let _ = writer.join();
    eprintln!("audit2role serve: stopped; the journal is synced");
    served
}

/// Waits for SIGTERM or SIGINT.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

async fn serve(
    options: &ServeOptions,
    app: Arc<App>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| Error::Io {
            path: options.listen.to_string(),
            action: "listen on",
            source,
        })?;
    let local = listener.local_addr().map_err(|source| Error::Io {
        path: options.listen.to_string(),
        action: "listen on",
        source,
    })?;
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    eprintln!("audit2role serve: listening on {scheme}://{local}");
    let router = http::router(app.clone());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    let header_timeout = options.header_timeout;
    loop {
        let (tcp, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => {
                    // Out of file descriptors and the like: wait a little, go on.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            match acceptor {
                None => {
                    let conn = Conn::default();
                    serve_connection(TokioIo::new(tcp), conn, router, watcher, header_timeout)
                        .await;
                }
                Some(acceptor) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let client_cert = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .is_some_and(|c| !c.is_empty());
                    let conn = Conn { client_cert };
                    serve_connection(TokioIo::new(stream), conn, router, watcher, header_timeout)
                        .await;
                }
            }
        });
    }
    drop(listener);
    app.closing.store(true, Ordering::SeqCst);
    eprintln!("audit2role serve: shutting down; draining requests in flight");
    let _ = tokio::time::timeout(options.drain_timeout, graceful.shutdown()).await;
    Ok(())
}

async fn serve_connection<I>(
    io: TokioIo<I>,
    conn: Conn,
    router: axum::Router,
    watcher: hyper_util::server::graceful::Watcher,
    header_timeout: Duration,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = router.map_request(
        move |mut request: axum::http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(conn);
            request
        },
    );
    let service = hyper_util::service::TowerToHyperService::new(service);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(64 << 10)
        .keep_alive(true);
    let connection = builder.serve_connection(io, service);
    let _ = watcher.watch(connection).await;
}
