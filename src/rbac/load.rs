//! The RBAC a command reasons about, loaded the same way for every command: RBAC files (a
//! cluster's dump, or generated output), the bootstrap roles every cluster has when asked
//! for, and aggregated ClusterRoles resolved (an aggregated role whose rules are empty in
//! the files, as GitOps manifests and `kubectl get -o yaml` of a bootstrap-style role show
//! it, gets the rules of the roles it selects, as the API server's controller fills them).

use super::bootstrap::bootstrap_rbac;
use super::read::read_rbac_file;
use super::{resolve_aggregation, RbacSet};
use crate::error::Result;

/// What to load besides the files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Add the bootstrap roles and bindings (discovery, basic-user, ...) that every cluster
    /// has: for RBAC that is only what was generated or written by hand. A dump of a
    /// cluster has its own.
    pub bootstrap: bool,
}

/// Every RBAC object of `files`, with the bootstrap roles when asked for, and aggregated
/// ClusterRoles resolved.
pub fn load(files: &[String], options: &LoadOptions) -> Result<RbacSet> {
    Ok(prepare(read_files(files)?, options))
}

/// Every RBAC object of `files`, as the files have them: for a caller that needs the same
/// files loaded with more than one [`LoadOptions`] ([`prepare`] each), read once.
pub fn read_files(files: &[String]) -> Result<RbacSet> {
    let mut set = RbacSet::default();
    for f in files {
        set.extend(read_rbac_file(f)?);
    }
    Ok(set)
}

/// What [`load`] makes of the objects `from_files`: the bootstrap roles first when asked
/// for, then the files' objects, aggregated ClusterRoles resolved.
pub fn prepare(from_files: RbacSet, options: &LoadOptions) -> RbacSet {
    let mut set = if options.bootstrap {
        let mut set = bootstrap_rbac();
        set.extend(from_files);
        set
    } else {
        from_files
    };
    resolve_aggregation(&mut set);
    set
}
