//! The permission-audit report as one self-contained HTML page (`diff -o html`): an
//! overview of every subject (worst first, sortable and filterable), a risk overview, and a
//! section per subject with its unused grants, used grants and their evidence, the requests
//! the dump does not allow, an activity chart (requests per UTC day) and the least-privilege
//! RBAC that would replace it; then the run's inputs and time window.
//!
//! Made from the same data as `diff -o json` ([`SubjectJson`]). The page loads nothing: no
//! network, no fonts, no images other than inline SVG drawn here. Everything that comes from
//! logs or dumps (subject, namespace, resource and binding names) is escaped for the HTML
//! context it lands in ([`escape`]: text and double-quoted attribute values alike); none of it
//! is ever put in a URL, a script or a style. The one script and the one style sheet are
//! fixed text, allowed by a Content-Security-Policy with their SHA-256 hashes and nothing
//! else.

use crate::aggregate::{DayCount, Totals};
use crate::decode::FileReport;
use crate::generate::review::describe_rule;
use crate::generate::risk::{highest, Level};
use crate::render::diff::{binding_text, SubjectJson};
use crate::request::split_service_account;
use crate::time::{format_date, format_rfc3339_micros};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::io::{self, Write};

/// What the page says about the run that made it.
#[derive(Clone, Debug, Default)]
pub struct RunInfo<'a> {
    /// The audit2role version.
    pub version: &'a str,
    /// When the report was made (µs since the epoch).
    pub generated_at: i64,
    /// The RBAC dump files.
    pub rbac: &'a [String],
    /// The inputs read, as the readers reported them.
    pub inputs: &'a [FileReport],
    /// The window asked for (`--since`, `--until`), µs since the epoch.
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// The namespace filter asked for, as given.
    pub namespace: Option<&'a str>,
}

/// At most this many rows per table of a subject's section; the rest are counted (the JSON
/// report has them all).
pub const MAX_ROWS: usize = 500;

/// Levels from worst to least.
const LEVELS: [Level; 4] = [Level::Critical, Level::High, Level::Medium, Level::Low];

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header,main,footer{max-width:1200px;margin:0 auto;padding:0 20px}
header{padding-top:18px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 8px;word-break:break-all}
h3{font-size:15px;margin:16px 0 6px}
h3 .muted{font-weight:400;font-size:13px}
.muted{color:#5c6773}
.card{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 16px;margin:14px 0}
section.subject{content-visibility:auto;contain-intrinsic-size:auto 1200px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e6e9ed;vertical-align:top}
td{word-break:break-word}
td.kind{white-space:nowrap}
td.t{word-break:normal;min-width:6em}
td.scope{min-width:6em}
#overview td.subject{min-width:13em;word-break:normal;overflow-wrap:anywhere}
#overview th{white-space:normal}
.card>h2:first-child{margin-top:4px}
th{background:#eef1f4;font-weight:600;white-space:nowrap}
#overview th{cursor:pointer;user-select:none}
#overview th[aria-sort=ascending]::after{content:" \25B2"}
#overview th[aria-sort=descending]::after{content:" \25BC"}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.risk{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px;font-weight:600}
.risk-critical{background:#8b1a1a}.risk-high{background:#c2410c}.risk-medium{background:#a16207}.risk-low{background:#3b6ea5}.risk-none{background:#6b7280}
svg .critical{fill:#8b1a1a}svg .high{fill:#c2410c}svg .medium{fill:#a16207}svg .low{fill:#3b6ea5}svg .none{fill:#9ca3af}
svg .bar{fill:#3b6ea5}svg .deny{fill:#c2410c}svg .axis{stroke:#9aa3ad;stroke-width:1}
svg text{font-size:11px;fill:#4b5563}
pre{background:#1f2430;color:#e6e6e6;padding:10px;border-radius:4px;overflow:auto;max-height:420px;font-size:12px}
input[type=search]{padding:5px 8px;width:320px;max-width:100%;border:1px solid #c5ccd3;border-radius:4px}
button.copy{float:right;font-size:12px}
.score{font-weight:600}
.pair{display:flex;flex-wrap:wrap;gap:8px 48px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}
dt{color:#5c6773}dd{margin:0;word-break:break-all}
"#;

const SCRIPT: &str = r#"
(function(){
document.documentElement.classList.add('js');
var t=document.getElementById('overview');if(!t)return;
var body=t.tBodies[0],heads=t.tHead.rows[0].cells;
var q=document.getElementById('filter'),shown=document.getElementById('shown');
q.addEventListener('input',function(){
 var s=q.value.toLowerCase(),n=0;
 for(var r of body.rows){var m=r.textContent.toLowerCase().indexOf(s)>=0;r.hidden=!m;if(m)n++;}
 shown.textContent=n;});
Array.prototype.forEach.call(heads,function(h,i){h.addEventListener('click',function(){
 var dir=h.getAttribute('aria-sort')==='ascending'?-1:1;
 for(var o of heads)o.removeAttribute('aria-sort');
 h.setAttribute('aria-sort',dir>0?'ascending':'descending');
 var num=h.classList.contains('num'),rows=Array.prototype.slice.call(body.rows);
 rows.sort(function(x,y){var a=x.cells[i],b=y.cells[i];
  return dir*(num?parseFloat(a.dataset.v)-parseFloat(b.dataset.v):a.textContent.localeCompare(b.textContent));});
 for(var r of rows)body.appendChild(r);});});
document.querySelectorAll('button.copy').forEach(function(b){b.addEventListener('click',function(){
 var pre=document.getElementById(b.dataset.target);
 if(pre&&navigator.clipboard)navigator.clipboard.writeText(pre.textContent);});});
})();
"#;

/// `s` escaped for HTML text and double-quoted attribute values: `& < > " '` as character
/// references, and control characters (which no name should carry) as U+FFFD.
pub fn escape(s: &str) -> Cow<'_, str> {
    let needs = |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'') || is_control(c);
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_control(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn is_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// The CSP source for fixed inline text: `'sha256-…'`.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The Content-Security-Policy of the page: nothing but its own style sheet and script.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src 'none'; base-uri 'none'; form-action 'none'",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    )
}

/// How the overview and the risk picture see one subject.
struct Summary {
    kind: &'static str,
    totals: Totals,
    granted: usize,
    used: usize,
    /// As the JSON report rounds it.
    score: f64,
    not_allowed: usize,
    highest_unused: Option<Level>,
    /// Unused grants per level, as [`LEVELS`].
    unused_by_level: [usize; 4],
    unused: usize,
}

fn kind_of(subject: &str) -> &'static str {
    if split_service_account(subject).is_some() {
        "ServiceAccount"
    } else if subject.starts_with("system:node:") {
        "Node"
    } else {
        "User"
    }
}

fn summary(s: &SubjectJson<'_, '_>) -> Summary {
    let d = s.diff;
    let mut unused_by_level = [0; 4];
    let mut highest_unused = None;
    let mut unused = 0;
    for g in d.grants.iter().filter(|g| g.evidence.distinct == 0) {
        unused += 1;
        if let Some(level) = highest(&g.risks) {
            highest_unused = highest_unused.max(Some(level));
            if let Some(i) = LEVELS.iter().position(|&l| l == level) {
                unused_by_level[i] += 1;
            }
        }
    }
    Summary {
        kind: kind_of(&d.subject),
        totals: d.totals(),
        granted: d.grants.len(),
        used: d.used(),
        score: (d.score() * 10.0).round() / 10.0,
        not_allowed: d.not_allowed.len(),
        highest_unused,
        unused_by_level,
        unused,
    }
}

fn level_rank(level: Option<Level>) -> u8 {
    match level {
        None => 0,
        Some(Level::Low) => 1,
        Some(Level::Medium) => 2,
        Some(Level::High) => 3,
        Some(Level::Critical) => 4,
    }
}

fn risk_badge(level: Option<Level>) -> String {
    match level {
        Some(l) => format!("<span class=\"risk risk-{0}\">{0}</span>", l.as_str()),
        None => "<span class=\"risk risk-none\">none</span>".to_string(),
    }
}

/// A time cell: `YYYY-MM-DD HH:MM:SS` (UTC, to the second; it wraps between date and time).
fn time_cell(t: Option<i64>) -> String {
    match t {
        None => "<td class=\"t\">-</td>".to_string(),
        Some(t) => {
            let full = format_rfc3339_micros(t);
            format!("<td class=\"t\">{} {}</td>", &full[..10], &full[11..19])
        }
    }
}

fn time_text(t: Option<i64>) -> String {
    t.map(format_rfc3339_micros)
        .unwrap_or_else(|| "-".to_string())
}

/// Writes the report for `subjects` (in the order given; the overview puts the worst
/// first) made by `run` to `out`, section by section as it is made. This is the page's one
/// entry point, for `diff -o html` and for any other caller (a server's report endpoint):
/// the diffs with their suggestions, what to say about the run, and a writer.
pub fn write(
    subjects: &[SubjectJson<'_, '_>],
    run: &RunInfo<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let summaries: Vec<Summary> = subjects.iter().map(summary).collect();
    // Worst first: the highest unused risk, then more unused grants, then the lower score.
    let mut order: Vec<usize> = (0..subjects.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&summaries[a], &summaries[b]);
        level_rank(y.highest_unused)
            .cmp(&level_rank(x.highest_unused))
            .then(y.unused.cmp(&x.unused))
            .then(x.score.total_cmp(&y.score))
            .then(subjects[a].diff.subject.cmp(&subjects[b].diff.subject))
    });
    let mut window = Totals::default();
    let mut days: Option<(i64, i64)> = None;
    for (s, sum) in subjects.iter().zip(&summaries) {
        window.requests += sum.totals.requests;
        window.denied += sum.totals.denied;
        for t in [sum.totals.first, sum.totals.last].into_iter().flatten() {
            window.first = Some(window.first.map_or(t, |f| f.min(t)));
            window.last = Some(window.last.map_or(t, |l| l.max(t)));
        }
        let a = s.diff.activity().days();
        if let (Some(first), Some(last)) = (a.first(), a.last()) {
            days = Some(match days {
                None => (first.day, last.day),
                Some((lo, hi)) => (lo.min(first.day), hi.max(last.day)),
            });
        }
    }

    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"audit2role {}\">\n\
         <title>Permission audit: {} subjects</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        content_security_policy(),
        escape(run.version),
        subjects.len()
    )?;
    writeln!(
        out,
        "<header><h1>Permission audit</h1><p class=\"muted\">{} subjects, {} requests from {} to {}; made by audit2role {} at {}.</p></header>\n<main>",
        subjects.len(),
        window.requests,
        time_text(window.first),
        time_text(window.last),
        escape(run.version),
        format_rfc3339_micros(run.generated_at)
    )?;

    // Overview.
    writeln!(
        out,
        "<section class=\"card\" id=\"overview-section\"><h2>Overview</h2>\n\
         <p class=\"muted\">Worst first: highest risk among unused grants, then unused grants, then score (used rules / granted rules). Click a column to sort.</p>\n\
         <p><input type=\"search\" id=\"filter\" placeholder=\"Filter subjects\" aria-label=\"Filter subjects\"> <span class=\"muted\"><span id=\"shown\">{}</span> shown</span></p>",
        subjects.len()
    )?;
    writeln!(
        out,
        "<table id=\"overview\"><thead><tr><th>Subject</th><th>Kind</th><th class=\"num\">Requests</th><th class=\"num\">Granted rules</th><th class=\"num\">Used rules</th><th class=\"num\">Score %</th><th class=\"num\">Highest unused risk</th><th>Unused grants by risk</th><th class=\"num\">Not allowed</th></tr></thead><tbody>"
    )?;
    for &i in &order {
        let (s, sum) = (&subjects[i], &summaries[i]);
        let by_level: Vec<String> = LEVELS
            .iter()
            .zip(sum.unused_by_level)
            .filter(|(_, n)| *n > 0)
            .map(|(l, n)| format!("<span class=\"risk risk-{0}\">{n} {0}</span>", l.as_str()))
            .collect();
        writeln!(
            out,
            "<tr class=\"subject-row\"><td class=\"subject\"><a href=\"#s{i}\">{}</a></td><td class=\"kind\">{}</td>\
             <td class=\"num requests\" data-v=\"{req}\">{req}</td><td class=\"num granted\" data-v=\"{g}\">{g}</td>\
             <td class=\"num used\" data-v=\"{u}\">{u}</td><td class=\"num score\" data-v=\"{sc}\">{sc}</td>\
             <td class=\"num highest\" data-v=\"{rank}\">{badge}</td><td class=\"by-risk\">{by}</td>\
             <td class=\"num not-allowed\" data-v=\"{na}\">{na}</td></tr>",
            escape(&s.diff.subject),
            sum.kind,
            req = sum.totals.requests,
            g = sum.granted,
            u = sum.used,
            sc = sum.score,
            rank = level_rank(sum.highest_unused),
            badge = risk_badge(sum.highest_unused),
            by = by_level.join(" "),
            na = sum.not_allowed,
        )?;
    }
    writeln!(out, "</tbody></table></section>")?;

    write_risk_overview(out, &summaries)?;

    for &i in &order {
        write_subject(out, i, &subjects[i], &summaries[i], days)?;
    }
    write_run(out, run, &window, days)?;
    writeln!(out, "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>")
}

/// Subjects by the highest risk among their unused grants, and unused grants by risk, as
/// horizontal bars.
fn write_risk_overview(out: &mut dyn Write, summaries: &[Summary]) -> io::Result<()> {
    let mut subjects_at = [0usize; 5];
    let mut grants_at = [0usize; 5];
    for s in summaries {
        let i = match s.highest_unused {
            Some(l) => LEVELS.iter().position(|&x| x == l).unwrap_or(4),
            None => 4,
        };
        subjects_at[i] += 1;
        for (k, n) in s.unused_by_level.iter().enumerate() {
            grants_at[k] += n;
        }
        grants_at[4] += s.unused - s.unused_by_level.iter().sum::<usize>();
    }
    writeln!(
        out,
        "<section class=\"card\" id=\"risk-overview\"><h2>Risk overview</h2><div class=\"pair\">"
    )?;
    for (title, counts, id) in [
        (
            "Subjects by their highest unused risk",
            &subjects_at,
            "risk-subjects",
        ),
        ("Unused grants by risk", &grants_at, "risk-grants"),
    ] {
        let max = counts.iter().copied().max().unwrap_or(0).max(1);
        let (w, row) = (300.0, 20.0);
        writeln!(
            out,
            "<div><h3>{title}</h3><svg id=\"{id}\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{title}\">",
            w + 120.0,
            row * 5.0 + 4.0,
            w + 120.0,
            row * 5.0 + 4.0
        )?;
        let names = ["critical", "high", "medium", "low", "none"];
        for (k, (&n, name)) in counts.iter().zip(names).enumerate() {
            let y = k as f64 * row + 2.0;
            let len = if n == 0 {
                0.0
            } else {
                (w * n as f64 / max as f64).max(2.0)
            };
            writeln!(
                out,
                "<text x=\"0\" y=\"{:.0}\">{name}</text><rect class=\"{name}\" x=\"70\" y=\"{y:.0}\" width=\"{len:.1}\" height=\"{:.0}\"><title>{name}: {n}</title></rect><text x=\"{:.1}\" y=\"{:.0}\">{n}</text>",
                y + 14.0,
                row - 6.0,
                76.0 + len,
                y + 14.0
            )?;
        }
        writeln!(out, "</svg></div>")?;
    }
    writeln!(out, "</div></section>")
}

/// The activity chart of one subject: requests per day (denied ones in their own colour)
/// over `span`, the days of the whole report, so that every chart has the same axis.
fn write_activity(
    out: &mut dyn Write,
    days: &[DayCount],
    span: Option<(i64, i64)>,
) -> io::Result<()> {
    let Some((lo, hi)) = span.filter(|_| !days.is_empty()) else {
        return writeln!(
            out,
            "<p class=\"muted activity-none\">No requests per day recorded (no event had a time, or the input was a version 1 partial aggregate).</p>"
        );
    };
    // At most 180 bars: days are grouped when the window is longer.
    let width_days = hi - lo + 1;
    let group = (width_days + 179) / 180;
    let bars = ((width_days + group - 1) / group) as usize;
    let mut requests = vec![0u64; bars];
    let mut denied = vec![0u64; bars];
    for d in days {
        let b = ((d.day - lo) / group) as usize;
        if let (Some(r), Some(x)) = (requests.get_mut(b), denied.get_mut(b)) {
            *r += d.requests();
            *x += d.denied;
        }
    }
    let max = requests.iter().copied().max().unwrap_or(0).max(1);
    let (left, top, w, h) = (56.0, 8.0, 640.0, 100.0);
    let step = w / bars as f64;
    writeln!(
        out,
        "<svg class=\"activity\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"Requests per day\">",
        left + w + 10.0,
        top + h + 24.0,
        left + w + 10.0,
        top + h + 24.0
    )?;
    writeln!(
        out,
        "<line class=\"axis\" x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/><line class=\"axis\" x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\
         <text x=\"{left}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        top + h,
        left + w,
        top + h,
        top + h,
        left - 4.0,
        top + 10.0,
        left - 4.0,
        top + h,
        top + h + 16.0,
        format_date(lo),
        left + w,
        top + h + 16.0,
        format_date(hi)
    )?;
    for b in 0..bars {
        if requests[b] == 0 {
            continue;
        }
        let x = left + b as f64 * step;
        let bw = (step * 0.8).clamp(1.0, 40.0);
        let bh = (h * requests[b] as f64 / max as f64).max(1.0);
        let first = lo + b as i64 * group;
        let label = if group == 1 {
            format_date(first)
        } else {
            format!(
                "{} to {}",
                format_date(first),
                format_date((first + group - 1).min(hi))
            )
        };
        write!(
            out,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\"><title>{label}: {} requests, {} denied</title></rect>",
            top + h - bh,
            requests[b],
            denied[b]
        )?;
        if denied[b] > 0 {
            let dh = (h * denied[b] as f64 / max as f64).max(1.0);
            write!(
                out,
                "<rect class=\"deny\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{dh:.1}\"/>",
                top + h - dh
            )?;
        }
    }
    writeln!(out, "\n</svg>")
}

/// One subject's section.
fn write_subject(
    out: &mut dyn Write,
    index: usize,
    s: &SubjectJson<'_, '_>,
    sum: &Summary,
    span: Option<(i64, i64)>,
) -> io::Result<()> {
    let d = s.diff;
    writeln!(
        out,
        "<section class=\"card subject\" id=\"s{index}\"><h2>{}</h2>\n<p><span class=\"muted\">{}</span> · {} requests ({} distinct, {} denied) from {} to {} · \
         <span class=\"score\">{} of {} granted rules used (score {}%)</span> · highest unused risk {} · {} observed requests not allowed</p>",
        escape(&d.subject),
        sum.kind,
        sum.totals.requests,
        sum.totals.distinct,
        sum.totals.denied,
        time_text(sum.totals.first),
        time_text(sum.totals.last),
        sum.used,
        sum.granted,
        sum.score,
        risk_badge(sum.highest_unused),
        sum.not_allowed
    )?;
    writeln!(
        out,
        "<h3>Requests per day <span class=\"muted\">(UTC; a day counts the events of its most-logged stage: requests logged only at RequestReceived or ResponseStarted may be missing)</span></h3>"
    )?;
    write_activity(out, d.activity().days(), span)?;

    let scope = |scope: &str| {
        if scope.is_empty() {
            "cluster".to_string()
        } else {
            format!("namespace {}", escape(scope))
        }
    };

    // Unused grants, worst first.
    let mut unused: Vec<_> = d
        .grants
        .iter()
        .filter(|g| g.evidence.distinct == 0)
        .collect();
    unused.sort_by_key(|g| std::cmp::Reverse(level_rank(highest(&g.risks))));
    writeln!(out, "<h3>Unused grants ({})</h3>", unused.len())?;
    if !unused.is_empty() {
        writeln!(
            out,
            "<table class=\"unused\"><thead><tr><th>Risk</th><th>Rule</th><th>Scope</th><th>Granted by</th></tr></thead><tbody>"
        )?;
        for g in unused.iter().take(MAX_ROWS) {
            let reasons: Vec<String> = g
                .risks
                .iter()
                .map(|r| format!("{}: {}", r.level, escape(&r.reason)))
                .collect();
            writeln!(
                out,
                "<tr><td>{}<br><span class=\"muted\">{}</span></td><td>{}</td><td class=\"scope\">{}</td><td>{}</td></tr>",
                risk_badge(highest(&g.risks)),
                reasons.join("<br>"),
                escape(&describe_rule(&g.bound.rule)),
                scope(&g.bound.scope),
                escape(&binding_text(&g.bound))
            )?;
        }
        writeln!(out, "</tbody></table>")?;
        more(out, unused.len())?;
    }

    let used: Vec<_> = d
        .grants
        .iter()
        .filter(|g| g.evidence.distinct > 0)
        .collect();
    writeln!(out, "<h3>Used grants ({})</h3>", used.len())?;
    if !used.is_empty() {
        writeln!(
            out,
            "<table class=\"used\"><thead><tr><th>Rule</th><th>Scope</th><th>Granted by</th><th class=\"num\">Requests</th><th class=\"num\">Distinct</th><th class=\"num\">Denied</th><th>First seen (UTC)</th><th>Last seen (UTC)</th></tr></thead><tbody>"
        )?;
        for g in used.iter().take(MAX_ROWS) {
            let e = &g.evidence;
            writeln!(
                out,
                "<tr><td>{}</td><td class=\"scope\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{}{}</tr>",
                escape(&describe_rule(&g.bound.rule)),
                scope(&g.bound.scope),
                escape(&binding_text(&g.bound)),
                e.requests,
                e.distinct,
                e.denied,
                time_cell(e.first),
                time_cell(e.last)
            )?;
        }
        writeln!(out, "</tbody></table>")?;
        more(out, used.len())?;
    }

    writeln!(
        out,
        "<h3>Observed requests the dump does not allow ({})</h3>",
        sum.not_allowed
    )?;
    if sum.not_allowed > 0 {
        writeln!(
            out,
            "<table class=\"not-allowed\"><thead><tr><th>Request</th><th class=\"num\">Requests</th><th class=\"num\">Denied</th><th>First seen (UTC)</th><th>Last seen (UTC)</th></tr></thead><tbody>"
        )?;
        for (request, e) in d.not_allowed().take(MAX_ROWS) {
            writeln!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{}{}</tr>",
                escape(&request.to_string()),
                e.count(),
                e.denied,
                time_cell(e.first),
                time_cell(e.last)
            )?;
        }
        writeln!(out, "</tbody></table>")?;
        more(out, sum.not_allowed)?;
    }

    writeln!(out, "<h3>Least-privilege replacement</h3>")?;
    match s.suggested {
        Some(set) => {
            let yaml = crate::render::to_yaml(set, &crate::render::RuleComments::new());
            writeln!(
                out,
                "<p class=\"muted\">The RBAC that allows what was observed (bootstrap roles assumed), ready to apply in place of the grants above. <button class=\"copy\" type=\"button\" data-target=\"y{index}\">Copy</button></p><pre id=\"y{index}\">{}</pre>",
                escape(&yaml)
            )?;
        }
        None => writeln!(out, "<p class=\"muted\">Not computed.</p>")?,
    }
    writeln!(out, "</section>")
}

/// "N more not shown" under a table cut to [`MAX_ROWS`].
fn more(out: &mut dyn Write, total: usize) -> io::Result<()> {
    if total > MAX_ROWS {
        writeln!(
            out,
            "<p class=\"muted\">{} more not shown; <code>diff -o json</code> lists them all.</p>",
            total - MAX_ROWS
        )?;
    }
    Ok(())
}

/// The run: inputs, dump, window.
fn write_run(
    out: &mut dyn Write,
    run: &RunInfo<'_>,
    window: &Totals,
    days: Option<(i64, i64)>,
) -> io::Result<()> {
    writeln!(
        out,
        "<section class=\"card\" id=\"run\"><h2>This run</h2><dl>"
    )?;
    let asked = |t: Option<i64>| t.map_or_else(|| "not limited".to_string(), format_rfc3339_micros);
    writeln!(
        out,
        "<dt>Made by</dt><dd>audit2role {} at {}</dd>\
         <dt>Window asked</dt><dd>since {}, until {}</dd>\
         <dt>Requests seen</dt><dd>{} from {} to {} ({} denied)</dd>\
         <dt>Days with activity</dt><dd>{}</dd>\
         <dt>Namespace filter</dt><dd>{}</dd>",
        escape(run.version),
        format_rfc3339_micros(run.generated_at),
        asked(run.since),
        asked(run.until),
        window.requests,
        time_text(window.first),
        time_text(window.last),
        window.denied,
        days.map_or_else(
            || "none recorded".to_string(),
            |(lo, hi)| format!("{} to {}", format_date(lo), format_date(hi))
        ),
        run.namespace.map_or(Cow::Borrowed("none"), escape)
    )?;
    let rbac: Vec<String> = run.rbac.iter().map(|f| escape(f).into_owned()).collect();
    writeln!(out, "<dt>RBAC dump</dt><dd>{}</dd></dl>", rbac.join("<br>"))?;
    writeln!(
        out,
        "<h3>Inputs ({})</h3><table class=\"inputs\"><thead><tr><th>Input</th><th class=\"num\">Bytes</th><th class=\"num\">Lines</th><th class=\"num\">Events</th><th class=\"num\">Skipped</th><th>Read error</th></tr></thead><tbody>",
        run.inputs.len()
    )?;
    for r in run.inputs {
        writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&r.name),
            r.bytes,
            r.lines,
            r.events,
            r.skipped_total(),
            r.read_error.as_deref().map_or(Cow::Borrowed(""), escape)
        )?;
    }
    writeln!(out, "</tbody></table></section>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_text_and_attribute_contexts() {
        assert_eq!(escape("plain name"), "plain name");
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape("\"><img src=x onerror='a'>&"),
            "&quot;&gt;&lt;img src=x onerror=&#39;a&#39;&gt;&amp;"
        );
        assert_eq!(escape("a\u{1b}[31m\0b\nc"), "a\u{FFFD}[31m\u{FFFD}b\nc");
    }

    #[test]
    fn the_policy_allows_only_the_page_own_style_and_script() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
        // SHA-256 is 32 bytes: 44 characters of base64.
        let hashes: Vec<&str> = csp.split("'sha256-").skip(1).collect();
        assert_eq!(hashes.len(), 2);
        for h in hashes {
            assert_eq!(h.find('\'').unwrap(), 44, "{csp}");
        }
        assert!(!csp.contains("unsafe"));
        assert_ne!(csp_hash(STYLE), csp_hash(SCRIPT));
    }
}
