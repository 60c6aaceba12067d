//! RBAC: object types, the authorizer that decides as the API server's RBAC authorizer does,
//! compaction of generated rules, and reading RBAC from YAML or JSON dumps.

pub mod aggregation;
pub mod authorize;
pub mod bootstrap;
pub mod compact;
pub mod load;
pub mod read;
pub mod resources;
pub mod strict_value;
pub mod types;

pub use aggregation::resolve_aggregation;
pub use authorize::Authorizer;
pub use types::*;
