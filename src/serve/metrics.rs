//! The server's metrics, in the Prometheus text format (`GET /metrics`): events and batches
//! stored, rejects by reason, journal and snapshot bytes, subjects and distinct requests,
//! and the latency of fsyncs and of requests per route.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of rejected requests.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: String,
}

/// Labels of request latencies.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Route {
    pub route: String,
}

fn latency_histogram() -> Histogram {
    // 100 µs to about 3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// Every metric, registered once.
pub struct Metrics {
    registry: Registry,
    pub events: Counter,
    pub batches: Counter,
    pub skipped_lines: Counter,
    pub rejects: Family<Reason, Counter>,
    pub journal_bytes: Gauge,
    pub snapshot_bytes: Gauge,
    pub torn_tail_bytes: Counter,
    pub subjects: Gauge,
    pub distinct_requests: Gauge,
    pub fsync_seconds: Histogram,
    pub group_batches: Histogram,
    pub request_seconds: Family<Route, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("audit2role");
        let m = Metrics {
            registry: Registry::default(),
            events: Counter::default(),
            batches: Counter::default(),
            skipped_lines: Counter::default(),
            rejects: Family::default(),
            journal_bytes: Gauge::default(),
            snapshot_bytes: Gauge::default(),
            torn_tail_bytes: Counter::default(),
            subjects: Gauge::default(),
            distinct_requests: Gauge::default(),
            fsync_seconds: latency_histogram(),
            group_batches: Histogram::new(exponential_buckets(1.0, 2.0, 8)),
            request_seconds: Family::new_with_constructor(latency_histogram),
        };
        registry.register("events", "Audit events stored", m.events.clone());
        registry.register("batches", "Request bodies stored", m.batches.clone());
        registry.register(
            "skipped_lines",
            "Lines or events of stored bodies that were not usable",
            m.skipped_lines.clone(),
        );
        registry.register("rejects", "Requests refused, by reason", m.rejects.clone());
        registry.register(
            "journal_bytes",
            "Bytes of whole records in the journal",
            m.journal_bytes.clone(),
        );
        registry.register(
            "snapshot_bytes",
            "Bytes of the current snapshot",
            m.snapshot_bytes.clone(),
        );
        registry.register(
            "journal_torn_tail_bytes",
            "Bytes of torn journal tails dropped at start",
            m.torn_tail_bytes.clone(),
        );
        registry.register(
            "subjects",
            "Subjects in the state (all days)",
            m.subjects.clone(),
        );
        registry.register(
            "distinct_requests",
            "Distinct requests in the state (all days)",
            m.distinct_requests.clone(),
        );
        registry.register(
            "fsync_seconds",
            "Time of one journal append and fsync (one per group of batches)",
            m.fsync_seconds.clone(),
        );
        registry.register(
            "group_batches",
            "Batches made durable by one fsync",
            m.group_batches.clone(),
        );
        registry.register(
            "request_seconds",
            "Time from request to answer, by route",
            m.request_seconds.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Counts one refused request.
    pub fn reject(&self, reason: &str) {
        self.rejects
            .get_or_create(&Reason {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Records the time a request on `route` took.
    pub fn observe_request(&self, route: &str, seconds: f64) {
        self.request_seconds
            .get_or_create(&Route {
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// The text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_names_every_metric() {
        let m = Metrics::new();
        m.events.inc_by(3);
        m.reject("too large");
        m.observe_request("events", 0.002);
        let text = m.encode();
        assert!(text.contains("audit2role_events_total 3\n"), "{text}");
        assert!(
            text.contains("audit2role_rejects_total{reason=\"too large\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("audit2role_request_seconds_count{route=\"events\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE audit2role_fsync_seconds histogram\n"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
