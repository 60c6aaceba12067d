//! audit2role: least-privilege Kubernetes RBAC from API-server audit logs.
//!
//! The pipeline: read → decode → normalize → filter → aggregate → generate → compact → render.

pub mod error;
pub mod rbac;
pub mod render;
pub mod request;
