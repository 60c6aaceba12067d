//! Fuzz target: cloud export wrappers (EKS CloudWatch subscription batches, Logs Insights
//! rows, AKS diagnostic records, GKE entries). The input is decoded as it is, and also
//! embedded as the wrapped event text of each wrapper, so the inner-string decoding path
//! sees arbitrary content. Never a panic; counts add up.
#![no_main]

use audit2role::aggregate::{Aggregate, Filter};
use audit2role::decode::{sink_fn, DecodeOptions, FileReport};
use audit2role::read::blocks::decode_stream;
use audit2role::request::normalize::normalize;
use libfuzzer_sys::fuzz_target;

fn decode(bytes: &[u8]) {
    let mut report = FileReport::default();
    let mut aggregate = Aggregate::default();
    let mut accepted = 0u64;
    let result = decode_stream(bytes, &DecodeOptions::default(), &mut report, &mut sink_fn(|event, version, _line| {
        let n = normalize(event, version)?;
        aggregate.add(&n, &Filter::default());
        accepted += 1;
        Ok(())
    }));
    assert!(result.is_ok());
    assert_eq!(report.events, accepted);
}

fuzz_target!(|data: &[u8]| {
    decode(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let inner = serde_json::to_string(text).unwrap();
    let wrapped = [
        format!(r#"{{"messageType":"DATA_MESSAGE","logGroup":"/aws/eks/c/cluster","logStream":"kube-apiserver-audit-1","logEvents":[{{"id":"1","timestamp":1714550400000,"message":{inner}}}]}}"#),
        format!(r#"{{"events":[{{"logStreamName":"kube-apiserver-audit-1","timestamp":1714550400000,"message":{inner},"ingestionTime":1714550400001,"eventId":"1"}}]}}"#),
        format!(r#"{{"@timestamp":"2024-05-01 08:00:00.000","@message":{inner}}}"#),
        format!(r#"{{"records":[{{"category":"kube-audit","operationName":"Microsoft.ContainerService/managedClusters/diagnosticLogs/Read","properties":{{"log":{inner},"stream":"stdout","pod":"kube-apiserver-1"}}}}]}}"#),
        format!(r#"{{"protoPayload":{{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"k8s.io","methodName":{inner},"resourceName":{inner},"authenticationInfo":{{"principalEmail":"a@example.com"}}}},"timestamp":"2024-05-01T08:00:00Z"}}"#),
    ];
    for w in wrapped {
        decode(w.as_bytes());
    }
});
