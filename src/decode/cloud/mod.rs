//! Cloud envelopes around native audit events: GKE Cloud Logging entries (`gke`), EKS
//! CloudWatch Logs records (`eks`) and AKS diagnostic records (`aks`), each unwrapping to the
//! native event.

pub mod aks;
pub mod eks;
pub mod gke;
