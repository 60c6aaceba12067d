//! The lookup command: the subject from the flags, its bindings from `audit::lookup`, printed
//! as a table (with `--rules`, each role's rules below its binding) or JSON.

use crate::cli::{LookupArgs, ReportFormat};
use crate::cmd::load_rbac;
use audit2role::audit::lookup::{entries, Target};
use audit2role::error::{Error, Result, EXIT_OK};
use audit2role::render::lookup::{binding_label, role_label, rule_line, target_json, via};
use audit2role::render::table::table_lines;
use serde_json::{json, Value};
use std::io::Write;

fn io(e: std::io::Error) -> Error {
    Error::output(e)
}

pub fn run(args: &LookupArgs) -> Result<i32> {
    let target = Target::parse(&args.subject)?;
    let set = load_rbac(&args.rbac, false)?;
    let found = entries(&set, &target);
    let mut stdout = std::io::stdout().lock();
    match args.output {
        ReportFormat::Json => {
            let bindings: Vec<Value> = found
                .iter()
                .map(|e| {
                    let mut binding =
                        json!({"kind": e.binding_kind, "name": e.binding.metadata.name});
                    if e.binding_kind == "RoleBinding" {
                        binding["namespace"] = json!(e.binding.metadata.namespace);
                    }
                    let mut v = json!({
                        "binding": binding,
                        "role": {
                            "kind": e.binding.role_ref.kind,
                            "name": e.binding.role_ref.name,
                            "missing": e.rules.is_none(),
                        },
                        "namespaceScope": e.scope(),
                        "viaGroup": e.via_group,
                    });
                    if args.rules {
                        v["rules"] = serde_json::to_value(e.rules.unwrap_or_default())
                            .unwrap_or(Value::Null);
                    }
                    v
                })
                .collect();
            let doc = json!({
                "subject": target_json(&target),
                "impliedGroups": match target { Target::Group(_) => vec![], _ => target.groups() },
                "bindings": bindings,
            });
            let text = serde_json::to_string_pretty(&doc)?;
            writeln!(stdout, "{text}").map_err(io)?;
        }
        ReportFormat::Table => {
            if found.is_empty() {
                writeln!(
                    stdout,
                    "No binding names {} {}.",
                    target.kind(),
                    target.display()
                )
                .map_err(io)?;
                return Ok(EXIT_OK);
            }
            let header: Vec<String> = ["BINDING", "ROLE", "NAMESPACE-SCOPE", "VIA"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let mut table = vec![header];
            for e in &found {
                table.push(vec![
                    binding_label(e),
                    role_label(e),
                    e.scope().to_string(),
                    via(e),
                ]);
            }
            let lines = table_lines(&table);
            writeln!(stdout, "{}", lines[0]).map_err(io)?;
            // With --rules, each role's rules are indented right below its binding.
            for (line, e) in lines[1..].iter().zip(&found) {
                writeln!(stdout, "{line}").map_err(io)?;
                if !args.rules {
                    continue;
                }
                match e.rules {
                    None => writeln!(stdout, "    (role not found: no rules)").map_err(io)?,
                    Some([]) => writeln!(stdout, "    (no rules)").map_err(io)?,
                    Some(rules) => {
                        for r in rules {
                            writeln!(stdout, "    {}", rule_line(r)).map_err(io)?;
                        }
                    }
                }
            }
        }
    }
    Ok(EXIT_OK)
}
