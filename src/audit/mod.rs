//! Permission audits offline, from an RBAC dump and (optionally) an aggregate of audit logs:
//! which requests a subject made that the RBAC does not allow (`check`), which grants were
//! used and which not (`diff`), who may make a request (`who_can`), and every binding that
//! names a subject (`lookup`). Each returns data; `render` words it.

pub mod check;
pub mod diff;
pub mod lookup;
pub mod subjects;
pub mod who_can;
