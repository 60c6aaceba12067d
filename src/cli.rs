//! Command-line definitions (clap): the default generate command and the subcommands
//! (check, diff, who-can, lookup, stats, aggregate, completions, man, subjects), and the flags they
//! share. audit2rbac's flags keep working.

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "audit2role",
    version,
    about = "Least-privilege Kubernetes RBAC from API-server audit logs",
    long_about = "Reads Kubernetes API-server audit logs (JSON lines, EventLists; plain or gzip) \
and writes the Roles, ClusterRoles and bindings that allow exactly what a user or service \
account did.",
    after_help = "Examples:\n  audit2role --user alice audit.log.gz > alice.yaml\n  audit2role --serviceaccount ops:reconciler /var/log/kube-audit/ > reconciler.yaml\n  audit2role -f a.log -f b.log.gz --user bob --strict\n  cat audit.log | audit2role --user bob -\n  audit2role check --rbac alice.yaml --user alice audit.log.gz",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub generate: GenerateArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate RBAC from audit logs (the default command).
    #[command(
        after_help = "Examples:\n  audit2role generate --user alice audit.log.gz > alice.yaml\n  audit2role generate --all-subjects --exclude-subject '^system:(node|kube-)' --out-dir rbac/ logs/"
    )]
    Generate(GenerateArgs),
    /// Report every observed request that some RBAC does not allow (exit 1 if any).
    #[command(
        after_help = "Examples:\n  audit2role check --rbac alice.yaml --user alice audit.log.gz\n  kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml > rbac.yaml\n  audit2role check --rbac rbac.yaml --serviceaccount ops:reconciler logs/\n  audit2role check --rbac rbac.yaml --all-subjects -o json logs/\n\nExit 0 when every request is allowed, 1 when some are not (or no event matched)."
    )]
    Check(CheckArgs),
    /// Compare the permissions an RBAC dump grants with what the logs show being used.
    #[command(
        after_help = "Examples:\n  kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml > rbac.yaml\n  audit2role diff --rbac rbac.yaml --user alice audit.log.gz\n  audit2role diff --rbac rbac.yaml --all-subjects -o json logs/\n  audit2role diff --rbac rbac.yaml --serviceaccount ops:reconciler --suggest logs/"
    )]
    Diff(DiffArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  audit2role completions bash > /etc/bash_completion.d/audit2role\n  audit2role completions zsh > \"${fpath[1]}/_audit2role\"\n  audit2role completions fish > ~/.config/fish/completions/audit2role.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff), or write one per command into a directory.
    #[command(
        after_help = "Examples:\n  audit2role man > /usr/local/share/man/man1/audit2role.1\n  audit2role man check | man -l -\n  audit2role man --dir /usr/local/share/man/man1"
    )]
    Man(ManArgs),
    /// Which users, groups and service accounts an RBAC dump allows to make a request.
    #[command(
        after_help = "Examples:\n  audit2role who-can get secrets -n ops --rbac rbac.yaml\n  audit2role who-can list nodes --rbac rbac.yaml\n  audit2role who-can patch deployments.apps/scale -n dev --rbac rbac.yaml\n  audit2role who-can create pods/exec -n dev --name web-0 --rbac rbac.yaml -o json\n  audit2role who-can get /healthz --rbac rbac.yaml\n  audit2role who-can get pods -n dev --rbac rbac.yaml --log audit.log.gz\n\nNAMESPACE-SCOPE is * for ClusterRoleBindings (every namespace and cluster scope) and the\nnamespace of a RoleBinding otherwise. Without -n, RoleBindings of every namespace are listed."
    )]
    WhoCan(WhoCanArgs),
    /// Every binding that names a subject (directly or through its implied groups), or the
    /// subjects the bindings name, found by substring or regular expression.
    #[command(
        after_help = "Examples:\n  audit2role lookup alice --rbac rbac.yaml\n  audit2role lookup group:devs --rbac rbac.yaml\n  audit2role lookup sa:ops:reconciler --rbac rbac.yaml --rules\n  audit2role lookup system:serviceaccount:dev:deployer --rbac rbac.yaml -o json\n  audit2role lookup ops --rbac rbac.yaml\n  audit2role lookup --regex '^(dev|ops):' -k serviceaccount --rbac rbac.yaml -o yaml\n  audit2role lookup -k user --rbac rbac.yaml\n\nQUERY: NAME or user:NAME (a user), group:NAME, sa:NS:NAME (also serviceaccount:NS:NAME\nand system:serviceaccount:NS:NAME). When no binding names it exactly, every subject whose\nname contains it; with --regex, a regular expression; without it, every subject.\nExit 1 when no binding names the subject directly, or no subject matches."
    )]
    Lookup(LookupArgs),
    /// Read and aggregate every subject; print a short summary (for benchmarks).
    #[command(
        after_help = "Examples:\n  audit2role stats audit.log.gz\n  audit2role stats --threads 1 /var/log/kube-audit/"
    )]
    Stats(StatsArgs),
    /// Write the distinct requests of every subject, with their evidence, as a partial
    /// aggregate that any command reads in place of logs (for sharded jobs).
    #[command(
        after_help = "Examples:\n  audit2role aggregate --out-file shard-0.agg.gz logs/2026-11-01/\n  audit2role aggregate --out-file parts/shard-1.agg.gz logs/2026-11-02/\n  audit2role --all-subjects --out-dir rbac/ shard-0.agg.gz shard-1.agg.gz\n\nThe format is described in docs/aggregate-format.md."
    )]
    Aggregate(AggregateArgs),
    /// Every subject in the logs: kind, requests, distinct requests, first and last seen,
    /// denials.
    #[command(
        after_help = "Examples:\n  audit2role subjects audit.log.gz\n  audit2role subjects --since 2026-11-02 -n dev logs/\n  audit2role subjects --subject-regex '^system:serviceaccount:' -o json logs/\n\nKIND is user, serviceaccount (system:serviceaccount:NS:NAME), node (system:node:NAME) or\nanonymous (system:anonymous). Exit 1 when no subject is left after the filters."
    )]
    Subjects(SubjectsArgs),
    /// Run the audit webhook backend: take audit events over HTTPS, keep the aggregate
    /// durable, answer the generate questions over HTTP.
    #[command(
        after_help = "Examples:\n  audit2role serve --state-dir /tmp/a2r --listen 127.0.0.1:8080 --insecure-http\n  audit2role serve --state-dir /var/lib/audit2role --tls-cert tls.crt --tls-key tls.key --client-ca ca.crt --read-token-file read.token --retain 90d\n\nSee docs/serve.md for the API server's webhook configuration."
    )]
    Serve(ServeArgs),
}

/// A boolean flag value as audit2rbac's flag library (Go's `strconv.ParseBool`) reads it:
/// `1 t T TRUE true True` and `0 f F FALSE false False`. Given as `--flag=VALUE` only, so a
/// bare `--flag` never takes the next argument.
fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "{value:?} is not a boolean (true, false, 1, 0, t, f, True, False, TRUE, FALSE)"
        )),
    }
}

/// Inputs shared by every command that reads logs.
#[derive(Args, Debug, Clone, Default)]
pub struct InputArgs {
    /// Audit log files or directories (every file below, sorted); `-` reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
    /// More inputs, as audit2rbac takes them (repeatable).
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filename: Vec<String>,
    /// Stop at the first line that is not a usable audit event.
    #[arg(long)]
    pub strict_input: bool,
    /// No summaries or warnings on stderr (errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,
    /// Threads for decoding and for per-subject work (default: one per available core; 1
    /// reads and decodes in one thread). Output is the same for any number.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Follow symbolic links inside input directories (loops are detected and passed
    /// over); by default links met while walking are not read.
    #[arg(short = 'L', long)]
    pub follow: bool,
    /// Use the lines of a compressed member (gzip member, zstd frame) that fails its
    /// checksum, with a warning; by default such damage fails the run.
    #[arg(long)]
    pub keep_damaged: bool,
    /// Skip (and report) lines and multi-line documents longer than SIZE bytes without
    /// holding them in memory; K, M and G suffixes are powers of 1024 (default 128M).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_line_bytes: Option<usize>,
}

/// A byte count: digits with an optional K, M or G suffix (powers of 1024), at least 1.
fn parse_size(value: &str) -> Result<usize, String> {
    let (digits, shift) = match value.as_bytes().last() {
        Some(b'K' | b'k') => (&value[..value.len() - 1], 10),
        Some(b'M' | b'm') => (&value[..value.len() - 1], 20),
        Some(b'G' | b'g') => (&value[..value.len() - 1], 30),
        _ => (value, 0),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{value:?} is not a size (digits, then K, M or G)"))?;
    n.checked_mul(1usize << shift)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{value:?} is not a size between 1 byte and the address space"))
}

impl InputArgs {
    pub fn all_inputs(&self) -> Vec<String> {
        self.files.iter().chain(&self.filename).cloned().collect()
    }
}

/// Which requests count: namespace and time window.
#[derive(Args, Debug, Clone, Default)]
pub struct WindowArgs {
    /// Keep only requests in this namespace.
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Keep only requests in namespaces matching this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub namespace_regex: Option<String>,
    /// Keep only requests at or after TIME: RFC 3339, a date (2026-11-02, its start in UTC),
    /// or a duration back from now (7d, 36h).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Keep only requests before TIME: RFC 3339, a date (2026-11-02, its start in UTC), or a
    /// duration back from now (7d, 36h).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

/// Whose requests to use.
#[derive(Args, Debug, Clone, Default)]
pub struct SubjectArgs {
    /// A user name whose requests to use, exactly as the audit log has it (repeatable).
    #[arg(long, value_name = "USER")]
    pub user: Vec<String>,
    /// A service account whose requests to use, as NAMESPACE:NAME (repeatable).
    #[arg(long, value_name = "NAMESPACE:NAME")]
    pub serviceaccount: Vec<String>,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Do not assume the default bootstrap roles (discovery, health, self reviews).
    #[arg(long)]
    pub no_bootstrap_roles: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    #[default]
    Yaml,
    Json,
}

#[derive(Args, Debug, Clone, Default)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// Every subject seen in the logs (after the other filters).
    #[arg(long)]
    pub all_subjects: bool,
    /// Subjects whose user name matches this regular expression (repeatable).
    #[arg(long, value_name = "REGEX")]
    pub subject_regex: Vec<String>,
    /// Leave out subjects whose user name matches this regular expression (repeatable),
    /// e.g. '^system:(node|kube-)'.
    #[arg(long, value_name = "REGEX")]
    pub exclude_subject: Vec<String>,
    /// Write one YAML file per subject into DIR, plus DIR/summary.json.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<std::path::PathBuf>,
    /// RBAC already in place (YAML or JSON dump); only what it does not allow is generated.
    #[arg(long, value_name = "FILE")]
    pub existing: Vec<String>,
    /// The same operation in several namespaces becomes cluster-wide.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_value_t = true, default_missing_value = "true", action = ArgAction::Set, value_parser = parse_bool)]
    pub expand_multi_namespace: bool,
    /// The same operation on several names is granted for any name.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_value_t = true, default_missing_value = "true", action = ArgAction::Set, value_parser = parse_bool)]
    pub expand_multi_name: bool,
    /// Grant related verbs too (watch/list → get,list,watch; update/patch → get,update,patch).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_value_t = true, default_missing_value = "true", action = ArgAction::Set, value_parser = parse_bool)]
    pub expand_verbs: bool,
    /// Grant exactly the observed requests: no expansion of verbs, names or namespaces.
    #[arg(long)]
    pub strict: bool,
    /// Name of the generated objects; {subject} (or ${user}) is replaced by the subject.
    #[arg(long, value_name = "TEMPLATE", default_value = audit2role::generate::names::DEFAULT_NAME_TEMPLATE)]
    pub generate_name: String,
    /// Labels as k=v,k2=v2; {subject} is replaced by the subject as a label value.
    #[arg(long, value_name = "LABELS", default_value = audit2role::generate::names::DEFAULT_LABELS)]
    pub generate_labels: String,
    /// Annotations as k=v,k2=v2; {subject} is replaced by the subject, ${version} by this
    /// tool's version.
    #[arg(long, value_name = "ANNOTATIONS", default_value = "")]
    pub generate_annotations: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Yaml)]
    pub output: OutputFormat,
    /// Above each rule, a comment with the requests that justified it (count, first and
    /// last seen, denials) and what expansion widened; with -o json, a report beside the items.
    #[arg(long)]
    pub evidence: bool,
    /// Exit 3 when a generated rule is at or above this risk level (after writing it).
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub fail_on_risk: Option<audit2role::generate::risk::Level>,
    /// With --out-dir: remove the files an earlier run wrote for subjects this run did not
    /// write (without it they are listed in a warning and in summary.json's staleFiles).
    #[arg(long, requires = "out_dir")]
    pub prune: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct CheckArgs {
    /// RBAC to check against: YAML streams or JSON Lists (kubectl get ... -o yaml).
    #[arg(long, value_name = "FILE", required = true)]
    pub rbac: Vec<String>,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// Check every subject seen in the logs (each line then starts with the subject).
    #[arg(long, conflicts_with_all = ["user", "serviceaccount"])]
    pub all_subjects: bool,
    /// Output format: lines of text, or one JSON document.
    #[arg(short = 'o', long, value_enum, default_value_t = CheckFormat::Text)]
    pub output: CheckFormat,
}

/// Output of check.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CheckFormat {
    /// One line per request not allowed.
    #[default]
    Text,
    /// One JSON document: every subject checked and its requests not allowed.
    Json,
}

/// Output of the permission-audit commands.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReportFormat {
    /// An aligned table.
    #[default]
    Table,
    /// One JSON document.
    Json,
}

/// Output of `diff`: the report formats, and the HTML page.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiffFormat {
    /// An aligned table.
    #[default]
    Table,
    /// One JSON document.
    Json,
    /// One self-contained HTML page (overview, risks, a section per subject with the
    /// suggested RBAC, activity charts, the run's inputs); loads nothing from anywhere.
    Html,
}

#[derive(Args, Debug, Clone, Default)]
pub struct DiffArgs {
    /// The RBAC dump: YAML streams or JSON Lists (kubectl get ... -o yaml).
    #[arg(long, value_name = "FILE", required = true)]
    pub rbac: Vec<String>,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// Every subject seen in the logs.
    #[arg(long)]
    pub all_subjects: bool,
    /// Also write the least-privilege RBAC that would replace what the dump grants
    /// (the HTML page always has it).
    #[arg(long)]
    pub suggest: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = DiffFormat::Table)]
    pub output: DiffFormat,
}

#[derive(Args, Debug, Clone, Default)]
pub struct WhoCanArgs {
    /// The verb, e.g. get, list, create, impersonate.
    #[arg(value_name = "VERB")]
    pub verb: String,
    /// RESOURCE[.GROUP][/SUBRESOURCE] (deployments.apps, pods/log), or a URL path (/healthz).
    #[arg(value_name = "RESOURCE")]
    pub resource: String,
    /// The namespace of the request; without it the request is cluster-wide, and
    /// RoleBindings of every namespace are listed with their namespace.
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// The object name of the request.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The API group of RESOURCE (instead of RESOURCE.GROUP); "" is the core group.
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// The cluster's resources as `kubectl api-resources -o wide` prints them: resolves
    /// the short names, kinds and scope of custom resources.
    #[arg(long, value_name = "FILE")]
    pub api_resources: Option<String>,
    /// RBAC dump: YAML streams or JSON Lists (kubectl get ... -o yaml) (repeatable).
    #[arg(long, value_name = "FILE", required = true)]
    pub rbac: Vec<String>,
    /// Audit logs: show when each subject last made such a request (repeatable).
    #[arg(long = "log", value_name = "LOG", num_args = 1..)]
    pub logs: Vec<String>,
    /// Output format (wide adds each subject's user name and, with --log, its requests).
    #[arg(short = 'o', long, value_enum, default_value_t = AuditFormat::Table)]
    pub output: AuditFormat,
    /// No warnings on stderr (errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct LookupArgs {
    /// A subject: NAME or user:NAME, group:NAME, sa:NS:NAME (or serviceaccount:NS:NAME,
    /// system:serviceaccount:NS:NAME). When no binding names it exactly, every subject whose
    /// name contains it; without it, every subject the bindings name.
    #[arg(value_name = "QUERY")]
    pub subject: Option<String>,
    /// RBAC dump: YAML streams or JSON Lists (kubectl get ... -o yaml) (repeatable).
    #[arg(long, value_name = "FILE", required = true)]
    pub rbac: Vec<String>,
    /// Show the rules of each role (aggregated ClusterRoles resolved).
    #[arg(long)]
    pub rules: bool,
    /// Output format (wide adds the number of rules of each role).
    #[arg(short = 'o', long, value_enum, default_value_t = AuditFormat::Table)]
    pub output: AuditFormat,
    /// QUERY is a regular expression over subject names (NS:NAME for service accounts).
    #[arg(long)]
    pub regex: bool,
    /// Only subjects of this kind.
    #[arg(short = 'k', long, value_enum, value_name = "KIND")]
    pub kind: Option<LookupKind>,
}

/// The kind of subject `lookup -k` keeps.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupKind {
    User,
    Group,
    #[value(alias = "sa")]
    Serviceaccount,
}

/// Output of who-can and lookup.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuditFormat {
    /// An aligned table.
    #[default]
    Table,
    /// The table with more columns.
    Wide,
    /// One JSON document.
    Json,
    /// The JSON document as YAML.
    Yaml,
}

#[derive(Args, Debug, Clone, Default)]
pub struct StatsArgs {
    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Args, Debug, Clone, Default)]
pub struct AggregateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Deprecated spelling of --out-file (-o is the output format in every other command).
    #[arg(
        short = 'o',
        long,
        value_name = "FILE",
        required_unless_present = "out_file",
        conflicts_with = "out_file"
    )]
    pub output: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Where to write the partial aggregate (`.gz` compresses it; `-` is stdout); missing
    /// parent directories are created.
    #[arg(long, value_name = "FILE")]
    pub out_file: Option<std::path::PathBuf>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct SubjectsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Only subjects whose user name matches this regular expression (repeatable).
    #[arg(long, value_name = "REGEX")]
    pub subject_regex: Vec<String>,
    /// Leave out subjects whose user name matches this regular expression (repeatable).
    #[arg(long, value_name = "REGEX")]
    pub exclude_subject: Vec<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = ReportFormat::Table)]
    pub output: ReportFormat,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ManArgs {
    /// The command whose page to print (check, diff, ...); the main page without it.
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    pub command: Option<String>,
    /// Write every page (audit2role.1, audit2role-check.1, ...) into DIR, created if missing.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ServeArgs {
    /// Where the state is kept (snapshot and journal); created if missing.
    #[arg(long, value_name = "DIR", required = true)]
    pub state_dir: std::path::PathBuf,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:8443")]
    pub listen: String,
    /// Plain HTTP without credentials, for development: only on a loopback address.
    #[arg(long)]
    pub insecure_http: bool,
    /// Server certificate chain (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// Server private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<std::path::PathBuf>,
    /// CA whose client certificates may post events (as the API server's webhook
    /// kubeconfig presents one).
    #[arg(long, value_name = "FILE")]
    pub client_ca: Option<std::path::PathBuf>,
    /// File holding the bearer token that may post events.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<std::path::PathBuf>,
    /// File holding the bearer token for the questions (/v1/subjects, /v1/rbac,
    /// /v1/aggregate).
    #[arg(long, value_name = "FILE")]
    pub read_token_file: Option<std::path::PathBuf>,
    /// Keep this many UTC days of activity (e.g. 90d); older days are dropped.
    #[arg(long, value_name = "DAYS")]
    pub retain: Option<String>,
    /// Largest request body as sent, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 16)]
    pub max_body_mb: usize,
    /// Batches waiting to be written; past it requests get 429 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub queue: usize,
    /// Bodies received and decoded at once; past it requests get 429 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub max_in_flight: usize,
    /// Compact the journal into a snapshot once it has this many MiB (fractions allowed).
    #[arg(long, value_name = "MIB", default_value_t = 64.0)]
    pub snapshot_mb: f64,
    /// Seconds a client has to send its request headers (and to finish the TLS handshake).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds a client has to send a request body.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub body_timeout: u64,
    /// Worker threads (default: one per available core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// RBAC dump (kubectl get ... -o yaml) in place: `GET /v1/report` compares the activity
    /// with it, as `diff --all-subjects -o html` does, and `GET /v1/rbac?existing=true`
    /// generates only what it does not allow, as `--existing` does (repeatable).
    #[arg(long, value_name = "FILE")]
    pub rbac: Vec<String>,
}
