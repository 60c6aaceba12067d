//! Fuzz target: the RBAC dump reader behind `check`, `diff`, `who-can` and `lookup` must
//! return objects or an error for any bytes, never panic; what it reads must authorize.
#![no_main]

use audit2role::rbac::read::read_rbac_str;
use audit2role::rbac::Authorizer;
use audit2role::request::{Request, UserInfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mut set) = read_rbac_str(text, "fuzz") {
        audit2role::rbac::aggregation::resolve_aggregation(&mut set);
        let authorizer = Authorizer::new(set);
        let user = UserInfo::new("alice", &["system:authenticated"]);
        let _ = authorizer.allows(&user, Request::non_resource("get", "/healthz").as_ref());
        let _ = authorizer.bound_rules(&user);
    }
});
