//! The serve command: the flags become `ServeOptions`; the server is the library's
//! (`audit2role::serve`).

use crate::cli::ServeArgs;
use audit2role::error::{Error, Result, EXIT_OK};
use audit2role::serve::ServeOptions;

/// `--retain 90d`: a number of days.
fn retain_days(value: &str) -> Result<i64> {
    let digits = value.strip_suffix('d').unwrap_or(value);
    match digits.parse::<i64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(Error::Usage(format!(
            "--retain {value:?}: a number of days, e.g. 90d"
        ))),
    }
}

pub fn run(args: &ServeArgs) -> Result<i32> {
    let listen = args.listen.parse().map_err(|_| {
        Error::Usage(format!(
            "--listen {:?}: expected ADDRESS:PORT, e.g. 127.0.0.1:8080 or [::1]:8080",
            args.listen
        ))
    })?;
    let options = ServeOptions {
        state_dir: args.state_dir.clone(),
        listen,
        insecure_http: args.insecure_http,
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
        client_ca: args.client_ca.clone(),
        token_file: args.token_file.clone(),
        read_token_file: args.read_token_file.clone(),
        max_body: args.max_body_mb.saturating_mul(1 << 20),
        queue: args.queue,
        max_in_flight: args.max_in_flight,
        snapshot_bytes: (args.snapshot_mb.max(0.0) * f64::from(1u32 << 20)).max(1.0) as u64,
        retain_days: args.retain.as_deref().map(retain_days).transpose()?,
        header_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
        body_timeout: std::time::Duration::from_secs(args.body_timeout.max(1)),
        threads: args.threads.unwrap_or(0),
        rbac: args.rbac.clone(),
        ..ServeOptions::default()
    };
    audit2role::serve::run(&options)?;
    Ok(EXIT_OK)
}
