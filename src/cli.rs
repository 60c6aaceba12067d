//! Command-line definitions (clap): the default generate command, `check`, and the flags
//! they share. audit2rbac's flags keep working.

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
    Generate(GenerateArgs),
    /// Report every observed request that some RBAC does not allow (exit 1 if any).
    #[command(
        after_help = "Examples:\n  audit2role check --rbac alice.yaml --user alice audit.log.gz\n  kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml > rbac.yaml\n  audit2role check --rbac rbac.yaml --serviceaccount ops:reconciler logs/"
    )]
    Check(CheckArgs),
    /// Read and aggregate every subject; print a short summary (for benchmarks).
    Stats(StatsArgs),
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
    /// Decoding threads (default: one per available core; 1 reads sequentially).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

impl InputArgs {
    pub fn all_inputs(&self) -> Vec<String> {
        self.files.iter().chain(&self.filename).cloned().collect()
    }
}

/// Whose requests to use.
#[derive(Args, Debug, Clone, Default)]
pub struct SubjectArgs {
    /// The user name whose requests to use (exactly as the audit log has it).
    #[arg(long, value_name = "USER", conflicts_with = "serviceaccount")]
    pub user: Option<String>,
    /// The service account whose requests to use, as NAMESPACE:NAME.
    #[arg(long, value_name = "NAMESPACE:NAME")]
    pub serviceaccount: Option<String>,
    /// Keep only requests in this namespace.
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
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
    /// RBAC already in place (YAML or JSON dump); only what it does not allow is generated.
    #[arg(long, value_name = "FILE")]
    pub existing: Vec<String>,
    /// The same operation in several namespaces becomes cluster-wide.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = ArgAction::Set)]
    pub expand_multi_namespace: bool,
    /// The same operation on several names is granted for any name.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = ArgAction::Set)]
    pub expand_multi_name: bool,
    /// Grant related verbs too (watch/list → get,list,watch; update/patch → get,update,patch).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = ArgAction::Set)]
    pub expand_verbs: bool,
    /// Grant exactly the observed requests: no expansion of verbs, names or namespaces.
    #[arg(long)]
    pub strict: bool,
    /// Name of the generated objects; {subject} (or ${user}) is replaced by the subject.
    #[arg(long, value_name = "TEMPLATE", default_value = crate::names::DEFAULT_NAME_TEMPLATE)]
    pub generate_name: String,
    /// Labels as k=v,k2=v2; {subject} is replaced by the subject as a label value.
    #[arg(long, value_name = "LABELS", default_value = crate::names::DEFAULT_LABELS)]
    pub generate_labels: String,
    /// Annotations as k=v,k2=v2; {subject} is replaced by the subject.
    #[arg(long, value_name = "ANNOTATIONS", default_value = "")]
    pub generate_annotations: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Yaml)]
    pub output: OutputFormat,
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
}

#[derive(Args, Debug, Clone, Default)]
pub struct StatsArgs {
    #[command(flatten)]
    pub input: InputArgs,
}
