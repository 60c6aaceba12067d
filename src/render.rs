//! Rendering RBAC objects as YAML (as kubectl writes it) or as a JSON `v1 List`.
