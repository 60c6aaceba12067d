//! `audit2role serve` with TLS (rustls): certificates made here with rcgen, a real HTTPS
//! client (reqwest with rustls). Ingest takes a client certificate of the client CA or the
//! ingest bearer token; the questions take only the read token. Slow and oversized
//! requests are cut off.

mod serve_support;

use serve_support::{cli, testdata, Server};
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

struct Pki {
    ca_pem: String,
    server_cert: String,
    server_key: String,
    client_identity: String,
    stranger_identity: String,
}

fn ca(name: &str) -> (rcgen::CertificateParams, rcgen::KeyPair, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    (params, key, cert.pem())
}

fn leaf(
    names: &[&str],
    client: bool,
    issuer: &rcgen::Issuer<'_, rcgen::KeyPair>,
) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "kube-apiserver");
    params.extended_key_usages = vec![if client {
        rcgen::ExtendedKeyUsagePurpose::ClientAuth
    } else {
        rcgen::ExtendedKeyUsagePurpose::ServerAuth
    }];
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn pki() -> Pki {
    let (params, key, ca_pem) = ca("audit2role test CA");
    let issuer = rcgen::Issuer::new(params, key);
    let (server_cert, server_key) = leaf(&["localhost", "127.0.0.1"], false, &issuer);
    let (client_cert, client_key) = leaf(&[], true, &issuer);
    let (other_params, other_key, _) = ca("another CA");
    let other = rcgen::Issuer::new(other_params, other_key);
    let (stranger_cert, stranger_key) = leaf(&[], true, &other);
    Pki {
        ca_pem,
        server_cert,
        server_key,
        client_identity: format!("{client_cert}{client_key}"),
        stranger_identity: format!("{stranger_cert}{stranger_key}"),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn https(ca: &str, identity: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .https_only(true);
    if let Some(id) = identity {
        b = b.identity(reqwest::Identity::from_pem(id.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_ingest_takes_client_certificates_or_the_token_and_reading_its_own_token() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki();
    let cert = write(dir.path(), "tls.crt", &p.server_cert);
    let key = write(dir.path(), "tls.key", &p.server_key);
    let ca = write(dir.path(), "ca.crt", &p.ca_pem);
    let token = write(dir.path(), "ingest.token", "ingest-secret\n");
    let read_token = write(dir.path(), "read.token", "read-secret\n");
    let state = dir.path().join("state");
    let s = Server::start(&[
        "--state-dir",
        state.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--client-ca",
        &ca,
        "--token-file",
        &token,
        "--read-token-file",
        &read_token,
    ]);
    assert!(s.base.starts_with("https://127.0.0.1:"), "{}", s.base);
    // The server certificate names 127.0.0.1, which reqwest checks.
    let url = |path: &str| s.url(path);
    let log = std::fs::read(testdata("audit.log")).unwrap();
    let post = |c: reqwest::Client, token: Option<&'static str>| {
        let mut r = c.post(url("/v1/events")).body(log.clone());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };

    let anonymous = https(&p.ca_pem, None);
    let r = post(anonymous.clone(), None).await.unwrap();
    assert_eq!(r.status(), 401);
    let r = post(anonymous.clone(), Some("wrong")).await.unwrap();
    assert_eq!(r.status(), 401);
    let r = post(anonymous.clone(), Some("read-secret")).await.unwrap();
    assert_eq!(r.status(), 401, "the read token does not ingest");

    let with_cert = https(&p.ca_pem, Some(&p.client_identity));
    let r = post(with_cert.clone(), None).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = post(anonymous.clone(), Some("ingest-secret"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A certificate of another CA does not get through the handshake.
    let stranger = https(&p.ca_pem, Some(&p.stranger_identity));
    assert!(post(stranger, None).await.is_err());

    // The questions need the read token; the client certificate and ingest token do not do.
    let rbac = |c: &reqwest::Client, t: Option<&str>| {
        let mut r = c.get(url("/v1/rbac")).query(&[("user", "alice")]);
        if let Some(t) = t {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    assert_eq!(rbac(&with_cert, None).await.unwrap().status(), 401);
    assert_eq!(
        rbac(&anonymous, Some("ingest-secret"))
            .await
            .unwrap()
            .status(),
        401
    );
    let r = rbac(&anonymous, Some("read-secret")).await.unwrap();
    assert_eq!(r.status(), 200);
    let served = r.text().await.unwrap();
    // Two copies of the log: the counts differ from one copy, the RBAC does not.
    let expected = cli(&["--user", "alice", testdata("audit.log").to_str().unwrap()]);
    assert_eq!(served, String::from_utf8(expected.stdout).unwrap());
    let r = anonymous
        .get(url("/v1/aggregate"))
        .bearer_auth("read-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The metrics too are read with the read token only.
    let metrics = |t: Option<&str>| {
        let mut r = anonymous.get(url("/metrics"));
        if let Some(t) = t {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    assert_eq!(metrics(None).await.unwrap().status(), 401);
    assert_eq!(metrics(Some("ingest-secret")).await.unwrap().status(), 401);
    let r = metrics(Some("read-secret")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("audit2role_"));
    assert_eq!(
        anonymous
            .get(url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Plain HTTP to the TLS port gets no answer.
    let plain = reqwest::Client::new();
    let plain_url = s.base.replace("https://", "http://");
    let r = plain.get(format!("{plain_url}/healthz")).send().await;
    assert!(r.is_err() || !r.unwrap().status().is_success());
}

#[test]
fn tls_needs_a_way_to_authenticate_the_api_server() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki();
    let cert = write(dir.path(), "tls.crt", &p.server_cert);
    let key = write(dir.path(), "tls.key", &p.server_key);
    let out = cli(&[
        "serve",
        "--state-dir",
        dir.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--client-ca"));
    let bad = write(dir.path(), "bad.crt", "not a certificate\n");
    let token = write(dir.path(), "t", "x");
    let out = cli(&[
        "serve",
        "--state-dir",
        dir.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &bad,
        "--tls-key",
        &key,
        "--token-file",
        &token,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.crt"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Reads what the server sends until it closes the connection (or 10 s pass).
fn read_all(stream: &mut std::net::TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).to_string()
}

#[test]
fn slow_and_oversized_requests_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&[
        "--state-dir",
        dir.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--insecure-http",
        "--header-timeout",
        "1",
        "--body-timeout",
        "1",
    ]);
    let addr = s.base.trim_start_matches("http://").to_string();

    // Headers that never end: the connection is closed after the header timeout.
    let started = Instant::now();
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"POST /v1/events HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let answer = read_all(&mut slow);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    assert!(waited < Duration::from_secs(8), "{waited:?}");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    // A body that stops coming: 408.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"kind\"")
        .unwrap();
    let answer = read_all(&mut slow);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // Headers beyond the limit: refused.
    let mut big = std::net::TcpStream::connect(&addr).unwrap();
    let header = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200 << 10)
    );
    let _ = big.write_all(header.as_bytes());
    let answer = read_all(&mut big);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );

    // And the server still serves.
    let mut ok = std::net::TcpStream::connect(&addr).unwrap();
    ok.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert!(read_all(&mut ok).starts_with("HTTP/1.1 200"));
}
