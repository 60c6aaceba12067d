//! End-to-end tests of `who-can` and `lookup` against testdata/cluster-rbac.yaml, with
//! expectations worked out by hand from the dump (see the comment at its top), and their
//! exit codes.

mod common;

use common::{run, stderr, stdout, testdata};

use serde_json::Value;

/// Runs with `--rbac cluster-rbac.yaml` appended; expects exit 0 and returns stdout.
fn ok(args: &[&str]) -> String {
    let dump = testdata("cluster-rbac.yaml");
    let mut all = args.to_vec();
    all.extend(["--rbac", &dump]);
    let o = run(&all);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

/// Table rows (after the header) as vectors of cells.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn expect_rows(table: &str, want: &[&[&str]]) {
    let want: Vec<Vec<String>> = want
        .iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows(table), want, "table was:\n{table}");
}

#[test]
fn who_can_get_secrets_in_ops() {
    let out = ok(&["who-can", "get", "secrets", "-n", "ops"]);
    // admin gets secrets only through two levels of aggregation (admin <- edit <-
    // system:aggregate-to-edit); view has no secrets, so auditors are not listed.
    assert_eq!(
        out,
        "\
SUBJECT KIND    SUBJECT         NAMESPACE-SCOPE  BINDING                             ROLE
Group           ops-team        ops              RoleBinding/ops/ops-admins          ClusterRole/admin
Group           system:masters  *                ClusterRoleBinding/cluster-admin    ClusterRole/cluster-admin
ServiceAccount  ops:reconciler  ops              RoleBinding/ops/reconciler-secrets  ClusterRole/secret-reader
"
    );
}

#[test]
fn who_can_without_namespace_lists_role_bindings_of_every_namespace() {
    let out = ok(&["who-can", "get", "secrets"]);
    expect_rows(
        &out,
        &[
            &[
                "Group",
                "ops-team",
                "ops",
                "RoleBinding/ops/ops-admins",
                "ClusterRole/admin",
            ],
            &[
                "Group",
                "system:masters",
                "*",
                "ClusterRoleBinding/cluster-admin",
                "ClusterRole/cluster-admin",
            ],
            &[
                "ServiceAccount",
                "kube-system:bootstrap-signer",
                "kube-system",
                "RoleBinding/kube-system/system:controller:bootstrap-signer",
                "Role/system:controller:bootstrap-signer",
            ],
            // The subject has no namespace: the RoleBinding's (dev) is used.
            &[
                "ServiceAccount",
                "dev:deployer",
                "dev",
                "RoleBinding/dev/deployer-edit",
                "ClusterRole/edit",
            ],
            &[
                "ServiceAccount",
                "ops:reconciler",
                "ops",
                "RoleBinding/ops/reconciler-secrets",
                "ClusterRole/secret-reader",
            ],
        ],
    );
}

#[test]
fn who_can_list_nodes_only_through_cluster_role_bindings() {
    let want: &[&[&str]] = &[
        &[
            "Group",
            "system:masters",
            "*",
            "ClusterRoleBinding/cluster-admin",
            "ClusterRole/cluster-admin",
        ],
        &[
            "ServiceAccount",
            "ops:reconciler",
            "*",
            "ClusterRoleBinding/ops-nodes",
            "ClusterRole/node-reader",
        ],
    ];
    expect_rows(&ok(&["who-can", "list", "nodes"]), want);
    // Nodes are cluster-scoped: -n is ignored, with a warning.
    let dump = testdata("cluster-rbac.yaml");
    let o = run(&["who-can", "list", "nodes", "-n", "ops", "--rbac", &dump]);
    assert_eq!(o.status.code(), Some(0));
    expect_rows(&stdout(&o), want);
    assert!(stderr(&o).contains("cluster-scoped"), "{}", stderr(&o));
    // system:node allows it too but is bound to nobody; get is not list.
    expect_rows(
        &ok(&["who-can", "watch", "nodes"]),
        &[&[
            "Group",
            "system:masters",
            "*",
            "ClusterRoleBinding/cluster-admin",
            "ClusterRole/cluster-admin",
        ]],
    );
}

#[test]
fn who_can_get_a_url() {
    expect_rows(
        &ok(&["who-can", "get", "/healthz"]),
        &[
            &[
                "Group",
                "system:authenticated",
                "*",
                "ClusterRoleBinding/system:discovery",
                "ClusterRole/system:discovery",
            ],
            &[
                "Group",
                "system:authenticated",
                "*",
                "ClusterRoleBinding/system:public-info-viewer",
                "ClusterRole/system:public-info-viewer",
            ],
            &[
                "Group",
                "system:masters",
                "*",
                "ClusterRoleBinding/cluster-admin",
                "ClusterRole/cluster-admin",
            ],
            &[
                "Group",
                "system:unauthenticated",
                "*",
                "ClusterRoleBinding/system:public-info-viewer",
                "ClusterRole/system:public-info-viewer",
            ],
        ],
    );
    // Only system:discovery has /apis/*; only cluster-admin has other verbs.
    expect_rows(
        &ok(&["who-can", "get", "/apis/apps/v1"]),
        &[
            &[
                "Group",
                "system:authenticated",
                "*",
                "ClusterRoleBinding/system:discovery",
                "ClusterRole/system:discovery",
            ],
            &[
                "Group",
                "system:masters",
                "*",
                "ClusterRoleBinding/cluster-admin",
                "ClusterRole/cluster-admin",
            ],
        ],
    );
}

#[test]
fn who_can_follows_aggregation_chains_and_groups() {
    // view feeds edit (edit carries its rules), admin does not feed edit.
    expect_rows(
        &ok(&["who-can", "list", "deployments.apps", "-n", "dev"]),
        &[
            &[
                "Group",
                "auditors",
                "*",
                "ClusterRoleBinding/auditors-view",
                "ClusterRole/view",
            ],
            &[
                "Group",
                "system:masters",
                "*",
                "ClusterRoleBinding/cluster-admin",
                "ClusterRole/cluster-admin",
            ],
            &[
                "ServiceAccount",
                "dev:deployer",
                "dev",
                "RoleBinding/dev/deployer-edit",
                "ClusterRole/edit",
            ],
            &[
                "ServiceAccount",
                "kube-system:deployment-controller",
                "*",
                "ClusterRoleBinding/system:controller:deployment-controller",
                "ClusterRole/system:controller:deployment-controller",
            ],
        ],
    );
    // --group is the same as the dotted form; admin's own rules (roles) reach ops-team only.
    let a = ok(&[
        "who-can",
        "create",
        "roles",
        "--group",
        "rbac.authorization.k8s.io",
        "-n",
        "ops",
    ]);
    let b = ok(&[
        "who-can",
        "create",
        "roles.rbac.authorization.k8s.io",
        "-n",
        "ops",
    ]);
    assert_eq!(a, b);
    expect_rows(
        &a,
        &[
            &[
                "Group",
                "ops-team",
                "ops",
                "RoleBinding/ops/ops-admins",
                "ClusterRole/admin",
            ],
            &[
                "Group",
                "system:masters",
                "*",
                "ClusterRoleBinding/cluster-admin",
                "ClusterRole/cluster-admin",
            ],
        ],
    );
    // A named get of a subresource: pods/exec is in edit, not in view or app-reader.
    expect_rows(
        &ok(&[
            "who-can",
            "get",
            "pods/exec",
            "-n",
            "dev",
            "--name",
            "web-0",
        ]),
        &[
            &[
                "Group",
                "system:masters",
                "*",
                "ClusterRoleBinding/cluster-admin",
                "ClusterRole/cluster-admin",
            ],
            &[
                "ServiceAccount",
                "dev:deployer",
                "dev",
                "RoleBinding/dev/deployer-edit",
                "ClusterRole/edit",
            ],
        ],
    );
}

#[test]
fn who_can_with_logs_shows_last_use_and_group_only_users() {
    let log = testdata("audit.log");
    let out = ok(&[
        "who-can", "list", "pods", "-n", "dev", "--log", &log, "--quiet",
    ]);
    assert_eq!(
        out,
        "\
SUBJECT KIND    SUBJECT         NAMESPACE-SCOPE  BINDING                           ROLE                       LAST-SEEN
Group           auditors        *                ClusterRoleBinding/auditors-view  ClusterRole/view           -
Group           devs            dev              RoleBinding/dev/app-reader        Role/app-reader            -
Group           system:masters  *                ClusterRoleBinding/cluster-admin  ClusterRole/cluster-admin  -
ServiceAccount  dev:deployer    dev              RoleBinding/dev/deployer-edit     ClusterRole/edit           never
User            alice           dev              RoleBinding/dev/app-reader        Role/app-reader            2026-11-02T09:01:00Z
"
    );
    // bob got a pod in dev; only his group devs allows it.
    let out = ok(&["who-can", "get", "pods", "-n", "dev", "--log", &log, "-q"]);
    let (_, group_part) = out
        .split_once("\nSeen in the logs, allowed only through a group:\n")
        .unwrap_or_else(|| panic!("no group section in:\n{out}"));
    expect_rows(
        group_part,
        &[&[
            "User",
            "bob",
            "devs",
            "dev",
            "RoleBinding/dev/app-reader",
            "Role/app-reader",
            "2026-11-02T09:19:00Z",
        ]],
    );
    // alice never did a plain get on pods.
    assert!(out.contains("User            alice           dev              RoleBinding/dev/app-reader        Role/app-reader            never"), "{out}");

    let json: Value = serde_json::from_str(&ok(&[
        "who-can", "get", "pods", "-n", "dev", "--log", &log, "-q", "-o", "json",
    ]))
    .unwrap();
    assert_eq!(json["request"]["namespace"], "dev");
    let seen = &json["seenThroughGroups"][0];
    assert_eq!(seen["subject"]["name"], "bob");
    assert_eq!(seen["group"], "devs");
    assert_eq!(seen["seen"]["lastSeen"], "2026-11-02T09:19:00Z");
    assert_eq!(seen["seen"]["requests"], 1);
}

#[test]
fn who_can_json() {
    let json: Value = serde_json::from_str(&ok(&[
        "who-can", "get", "secrets", "-n", "ops", "-o", "json",
    ]))
    .unwrap();
    assert_eq!(json["request"]["verb"], "get");
    assert_eq!(json["request"]["resource"], "secrets");
    let subjects = json["subjects"].as_array().unwrap();
    assert_eq!(subjects.len(), 3);
    let sa = &subjects[2];
    assert_eq!(sa["subject"]["kind"], "ServiceAccount");
    assert_eq!(sa["subject"]["namespace"], "ops");
    assert_eq!(sa["subject"]["name"], "reconciler");
    assert_eq!(sa["namespaceScope"], "ops");
    assert_eq!(sa["binding"]["kind"], "RoleBinding");
    assert_eq!(sa["binding"]["namespace"], "ops");
    assert_eq!(sa["binding"]["name"], "reconciler-secrets");
    assert_eq!(sa["role"]["kind"], "ClusterRole");
    assert_eq!(sa["role"]["name"], "secret-reader");
    assert!(sa.get("seen").is_none(), "no logs, no evidence");
    assert!(json.get("seenThroughGroups").is_none());
    let url: Value =
        serde_json::from_str(&ok(&["who-can", "get", "/healthz", "-o", "json"])).unwrap();
    assert_eq!(url["request"]["nonResourceURL"], "/healthz");
}

#[test]
fn who_can_nobody_is_success() {
    let dir = common::scratch_dir("whocan");
    let dump = dir.join("small.yaml");
    std::fs::write(
        &dump,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\nrules:\n- apiGroups: [\"\"]\n  resources: [pods]\n  verbs: [get]\n",
    )
    .unwrap();
    let o = run(&["who-can", "get", "pods", "--rbac", dump.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "No subject is allowed to get pods (cluster).\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lookup_a_user() {
    assert_eq!(
        ok(&["lookup", "alice"]),
        "\
BINDING                                       ROLE                                   NAMESPACE-SCOPE  VIA
RoleBinding/dev/app-reader                    Role/app-reader                        dev              direct
ClusterRoleBinding/system:basic-user          ClusterRole/system:basic-user          *                group system:authenticated
ClusterRoleBinding/system:discovery           ClusterRole/system:discovery           *                group system:authenticated
ClusterRoleBinding/system:public-info-viewer  ClusterRole/system:public-info-viewer  *                group system:authenticated
"
    );
    assert_eq!(ok(&["lookup", "user:alice"]), ok(&["lookup", "alice"]));
    let with_rules = ok(&["lookup", "alice", "--rules"]);
    assert!(with_rules.starts_with(
        "\
BINDING                                       ROLE                                   NAMESPACE-SCOPE  VIA
RoleBinding/dev/app-reader                    Role/app-reader                        dev              direct
    verbs=[get list watch] apiGroups=[\"\"] resources=[pods pods/log]
    verbs=[get list] apiGroups=[\"\"] resources=[configmaps]
ClusterRoleBinding/system:basic-user "
    ));
    assert!(with_rules.contains(
        "    verbs=[get] nonResourceURLs=[/healthz /livez /readyz /version /version/]\n"
    ));
}

#[test]
fn lookup_a_group() {
    assert_eq!(
        ok(&["lookup", "group:devs"]),
        "\
BINDING                     ROLE             NAMESPACE-SCOPE  VIA
RoleBinding/dev/app-reader  Role/app-reader  dev              direct
"
    );
    // A group lookup lists the group's own bindings only.
    expect_rows(
        &ok(&["lookup", "group:system:authenticated"]),
        &[
            &[
                "ClusterRoleBinding/system:basic-user",
                "ClusterRole/system:basic-user",
                "*",
                "direct",
            ],
            &[
                "ClusterRoleBinding/system:discovery",
                "ClusterRole/system:discovery",
                "*",
                "direct",
            ],
            &[
                "ClusterRoleBinding/system:public-info-viewer",
                "ClusterRole/system:public-info-viewer",
                "*",
                "direct",
            ],
        ],
    );
    // A subject that no binding names says so, and exits 1 (issue 16).
    let dump = testdata("cluster-rbac.yaml");
    let o = run(&["lookup", "group:nobody", "--rbac", &dump]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "No binding names Group nobody.\n");
}

#[test]
fn lookup_a_service_account() {
    let want = "\
BINDING                                       ROLE                                   NAMESPACE-SCOPE  VIA
ClusterRoleBinding/ops-nodes                  ClusterRole/node-reader                *                direct
RoleBinding/ops/reconciler-secrets            ClusterRole/secret-reader              ops              direct
ClusterRoleBinding/system:basic-user          ClusterRole/system:basic-user          *                group system:authenticated
ClusterRoleBinding/system:discovery           ClusterRole/system:discovery           *                group system:authenticated
ClusterRoleBinding/system:public-info-viewer  ClusterRole/system:public-info-viewer  *                group system:authenticated
";
    for form in [
        "sa:ops:reconciler",
        "serviceaccount:ops:reconciler",
        "system:serviceaccount:ops:reconciler",
    ] {
        assert_eq!(ok(&["lookup", form]), want, "{form}");
    }
    let with_rules = ok(&["lookup", "sa:ops:reconciler", "--rules"]);
    assert!(with_rules.starts_with(
        "\
BINDING                                       ROLE                                   NAMESPACE-SCOPE  VIA
ClusterRoleBinding/ops-nodes                  ClusterRole/node-reader                *                direct
    verbs=[get list] apiGroups=[\"\"] resources=[nodes]
RoleBinding/ops/reconciler-secrets            ClusterRole/secret-reader              ops              direct
    verbs=[get list watch] apiGroups=[\"\"] resources=[secrets]
"
    ));
    // The binding names the SA without a namespace: the RoleBinding's namespace applies;
    // --rules shows edit as aggregation resolved it (edit's own rules are empty in the dump).
    let deployer = ok(&["lookup", "sa:dev:deployer", "--rules"]);
    assert!(deployer.starts_with(
        "\
BINDING                                       ROLE                                   NAMESPACE-SCOPE  VIA
RoleBinding/dev/deployer-edit                 ClusterRole/edit                       dev              direct
    verbs=[get list watch] apiGroups=[\"\"] resources=[pods/exec secrets]
    verbs=[create delete patch update] apiGroups=[\"\"] resources=[configmaps pods pods/exec secrets services]
    verbs=[create delete patch update] apiGroups=[apps] resources=[deployments deployments/scale]
    verbs=[get list watch] apiGroups=[\"\"] resources=[configmaps pods pods/log services]
    verbs=[get list watch] apiGroups=[apps] resources=[deployments deployments/scale]
"
    ), "{deployer}");
}

#[test]
fn lookup_shows_missing_roles() {
    let out = ok(&["lookup", "carol", "--rules"]);
    assert!(out.contains(
        "RoleBinding/dev/release-managers              Role/release-manager (missing)         dev              direct\n    (role not found: no rules)\n"
    ), "{out}");
    let json: Value = serde_json::from_str(&ok(&["lookup", "carol", "-o", "json"])).unwrap();
    let first = &json["bindings"][0];
    assert_eq!(first["role"]["name"], "release-manager");
    assert_eq!(first["role"]["missing"], true);
    assert_eq!(first["viaGroup"], Value::Null);
    assert!(first.get("rules").is_none());
}

#[test]
fn lookup_json() {
    let json: Value = serde_json::from_str(&ok(&[
        "lookup",
        "sa:ops:reconciler",
        "-o",
        "json",
        "--rules",
    ]))
    .unwrap();
    assert_eq!(json["subject"]["kind"], "ServiceAccount");
    assert_eq!(json["subject"]["namespace"], "ops");
    assert_eq!(
        json["impliedGroups"],
        serde_json::json!([
            "system:authenticated",
            "system:serviceaccounts",
            "system:serviceaccounts:ops"
        ])
    );
    let bindings = json["bindings"].as_array().unwrap();
    assert_eq!(bindings.len(), 5);
    assert_eq!(bindings[1]["binding"]["namespace"], "ops");
    assert_eq!(bindings[1]["rules"][0]["resources"][0], "secrets");
    assert_eq!(bindings[4]["viaGroup"], "system:authenticated");
}

#[test]
fn exit_codes_for_bad_usage() {
    let dump = testdata("cluster-rbac.yaml");
    for args in [
        vec!["lookup", "sa:ops", "--rbac", &dump],
        vec!["lookup", "group:", "--rbac", &dump],
        vec!["lookup", "alice"],
        vec!["who-can", "get", "pods"],
        vec!["who-can", "get"],
        vec!["who-can", "get", "/healthz", "-n", "x", "--rbac", &dump],
        vec![
            "who-can",
            "get",
            "deployments.apps",
            "--group",
            "apps",
            "--rbac",
            &dump,
        ],
        vec!["who-can", "get", "pods/log/x", "--rbac", &dump],
        vec!["who-can", "get", "pods", "-o", "xml", "--rbac", &dump],
        vec!["who-can", "get", "pods", "--rbac", "/nonexistent/rbac.yaml"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
}

#[test]
fn lookup_rules_of_a_chained_aggregated_role() {
    // admin = edit's rules (system:aggregate-to-edit's, then view's), then
    // system:aggregate-to-admin's: matching roles in name order, as the controller does.
    assert_eq!(
        ok(&["lookup", "group:ops-team", "--rules"]),
        "\
BINDING                     ROLE               NAMESPACE-SCOPE  VIA
RoleBinding/ops/ops-admins  ClusterRole/admin  ops              direct
    verbs=[get list watch] apiGroups=[\"\"] resources=[pods/exec secrets]
    verbs=[create delete patch update] apiGroups=[\"\"] resources=[configmaps pods pods/exec secrets services]
    verbs=[create delete patch update] apiGroups=[apps] resources=[deployments deployments/scale]
    verbs=[get list watch] apiGroups=[\"\"] resources=[configmaps pods pods/log services]
    verbs=[get list watch] apiGroups=[apps] resources=[deployments deployments/scale]
    verbs=[create] apiGroups=[authorization.k8s.io] resources=[localsubjectaccessreviews]
    verbs=[create delete get list update] apiGroups=[rbac.authorization.k8s.io] resources=[rolebindings roles]
"
    );
}
