#!/usr/bin/env bash
# Makes the example HTML report and the screenshot in docs/report.png: a week of generated
# audit logs (one log a day, nodes left out to keep the page short), an RBAC dump made of
# what the first day's requests need plus testdata/cluster-rbac.yaml and two broad grants,
# then `diff -o html` and a headless Chromium screenshot.
# Usage: docs/report-example.sh [OUT_DIR]   (needs ../shared, python3, chromium; AUDIT2ROLE=BIN
# uses that binary instead of building the release one)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}
mkdir -p "$out"
bin=${AUDIT2ROLE:-target/release/audit2role}
[ -n "${AUDIT2ROLE:-}" ] || cargo build --release --quiet
: > "$out/week.log"
for day in 1 2 3 4 5 6 7; do
  python3 ../shared/tools/gen_audit_log.py --subjects 12 --events $((600 + day * 150)) \
      --seed "$day" --body-ratio 0 2>/dev/null |
    grep -v '"username":"system:node:' |
    sed "s/2024-05-01T/2024-05-0${day}T/g" >> "$out/week.log"
done
head -n 600 "$out/week.log" > "$out/day1.log"
"$bin" -q --all-subjects "$out/day1.log" > "$out/day1-rbac.yaml"
cat > "$out/broad-rbac.yaml" <<'YAML'
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: alice-admin}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
  subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice@example.com}]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata: {name: prometheus-edit, namespace: monitoring}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
  subjects: [{kind: ServiceAccount, name: prometheus-k8s, namespace: monitoring}]
YAML
"$bin" diff -q --rbac "$out/day1-rbac.yaml" --rbac testdata/cluster-rbac.yaml \
  --rbac "$out/broad-rbac.yaml" --all-subjects -o html "$out/week.log" > "$out/audit.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$out/chromium-profile" --window-size=1000,1180 \
  --screenshot="$out/report.png" "file://$(realpath "$out/audit.html")" 2>/dev/null
echo "$out/audit.html $out/report.png"
