//! check: does some RBAC allow every request a subject was seen making? Each distinct request
//! is asked of the authorizer once per identity (group set) it was made as; the requests not
//! allowed come one at a time, so that millions of them are never held together.

use crate::aggregate::{Evidence, SortedRequests, SubjectAggregate};
use crate::generate::policy::Users;
use crate::rbac::authorize::UserRules;
use crate::rbac::Authorizer;
use crate::request::{RequestRef, UserInfo};

/// One subject's requests, ready to be checked.
pub struct Check<'a> {
    /// The observed requests, in request order.
    pub requests: SortedRequests<'a>,
    /// The identity of each of the subject's group sets.
    identities: Vec<UserInfo>,
}

impl<'a> Check<'a> {
    /// The requests of `subject` as `aggregate` records them.
    pub fn of(subject: &str, aggregate: &'a SubjectAggregate) -> Check<'a> {
        Check {
            requests: aggregate.requests.sorted(),
            identities: aggregate.user_infos(subject),
        }
    }

    /// The requests some identity made that `authorizer` does not allow, in request order,
    /// with their evidence.
    pub fn not_allowed<'c>(
        &'c self,
        authorizer: &'c Authorizer,
    ) -> impl Iterator<Item = (RequestRef<'a>, Evidence)> + 'c {
        let rules: Vec<UserRules<'c>> = self
            .identities
            .iter()
            .map(|u| authorizer.user_rules(u))
            .collect();
        self.requests.iter().filter_map(move |(request, entries)| {
            let users = Users {
                entries,
                identities: &self.identities,
            };
            let allowed = users.each_of(&rules).all(|r| r.allows(request));
            (!allowed).then(|| (request, entries.total()))
        })
    }
}
