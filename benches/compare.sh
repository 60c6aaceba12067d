#!/usr/bin/env bash
# Compares audit2role's read pipeline (the `stats` subcommand: read, decode, normalize and
# aggregate every subject) with gzip -dc, igzip -dc and DuckDB on a generated audit log.
#
#   benches/compare.sh [SIZE_MB]        (or SIZE_MB=... ; default 1024)
#   FEATURES=isal benches/compare.sh    (gzip inflated by ISA-L: needs libisal-dev)
#   REPEAT=5 benches/compare.sh         (median of 5 runs each)
#   PAIRED=7 benches/compare.sh         (also each goal's two sides run alternately 7 times)
#   SUBJECTS=300 SEED=20261129 benches/compare.sh 256   (the generator's --subjects/--seed)
#   BATCH=1 benches/compare.sh 256      (only the batch jobs users run, issue 14's goals,
#                                        zstd input included when zstd is installed)
#   BEFORE=/path/to/old/audit2role BATCH=1 benches/compare.sh   (the batch jobs of an older
#                                        build beside this one's, run in turn)
#   BIN=target/release/audit2role benches/compare.sh   (that binary; nothing is built)
#
# Data goes to $BENCH_DATA (default: bench-data/ in the checkout, git-ignored). Tools that
# are not installed are skipped: igzip is Debian's `isal`, DuckDB is PyPI's `duckdb`,
# /usr/bin/time is Debian's `time`.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
size=${1:-${SIZE_MB:-1024}}
data=${BENCH_DATA:-$here/bench-data}
gen=${GEN:-$here/../shared/tools/gen_audit_log.py}
files=${FILES:-8}
mkdir -p "$data"
log=$data/audit-${size}m${SUBJECTS:+-s$SUBJECTS}${SEED:+-seed$SEED}.log

if [ ! -x /usr/bin/time ]; then
  echo "installing time (for peak RSS)"; apt-get install -y -qq time >/dev/null
fi
if [ ! -s "$log" ]; then
  echo "generating $log ($size MiB)"
  python3 "$gen" --size-mb "$size" ${SUBJECTS:+--subjects "$SUBJECTS"} ${SEED:+--seed "$SEED"} --out "$log"
fi
[ -s "$log.gz" ] || gzip -6 -k "$log"
# Eight smaller gzip files of the same total size, for the many-files goal.
part=$data/parts-${size}m${SUBJECTS:+-s$SUBJECTS}${SEED:+-seed$SEED}
if [ -z "${BATCH:-}" ] && [ ! -d "$part" ]; then
  mkdir -p "$part"
  split -n l/"$files" -d "$log" "$part/audit-"
  for f in "$part"/audit-*; do gzip -6 "$f"; done
fi

# A build of its own per feature set, so that runs with and without FEATURES do not
# rebuild each other.
# BIN=path uses that binary instead of building one.
if [ -n "${BIN:-}" ]; then
  bin=$BIN
else
  target=$here/target/bench${FEATURES:+-$FEATURES}
  (cd "$here" && cargo build --release -q --target-dir "$target" ${FEATURES:+--features "$FEATURES"})
  bin=$target/release/audit2role
fi

# run NAME CMD... : prints wall, CPU and peak RSS (the run with the median wall of $REPEAT,
# default 1; the machine may be shared, so REPEAT=5 gives steadier figures); sets $wall.
run() {
  local name=$1; shift
  : > "$data/times.out"
  for _ in $(seq "${REPEAT:-1}"); do
    /usr/bin/time -f "%e %U %S %M" -o "$data/time.out" "$@" >/dev/null 2>"$data/stderr.out" || true
    tail -n 1 "$data/time.out" >> "$data/times.out"
  done
  read -r wall user sys rss < <(sort -n "$data/times.out" | sed -n "$(( (${REPEAT:-1} + 1) / 2 ))p")
  printf '%-42s wall %6.2f s  cpu %6.2f s  peak %6.0f MiB\n' "$name" "$wall" "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc)"
}
ratio() { printf '  ratio %-34s %.2f (goal %s)\n' "$1" "$(echo "scale=4; $2 / $3" | bc)" "$4"; }

echo "build: ${FEATURES:-default features} ($(cd "$here" && git rev-parse --short HEAD))"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "log: $log ($(du -mL "$log" | cut -f1) MiB, gz $(du -mL "$log.gz" | cut -f1) MiB)"
cat "$log" "$log.gz" > /dev/null   # page cache

q="SELECT \"user\".username, verb, objectRef.resource, objectRef.namespace, objectRef.name, count(*) FROM read_ndjson('%s', columns={'user': 'STRUCT(username VARCHAR)', 'verb': 'VARCHAR', 'objectRef': 'STRUCT(resource VARCHAR, namespace VARCHAR, name VARCHAR)'}) GROUP BY ALL"
has_duckdb() { python3 -c 'import duckdb' 2>/dev/null; }
duck_py="import duckdb,sys; c=duckdb.connect(); c.execute('SET threads=2'); c.execute(sys.argv[1]).fetchall()"
duck() { python3 -c "$duck_py" "$(printf "$q" "$1")"; }

# The batch jobs users run (issue 14): every subject to an output directory, diff of a
# cluster's RBAC for every subject, check of one subject; against igzip, DuckDB and the
# read alone (`stats`). The dump is the RBAC this build generates for every subject of the
# log (what a cluster that had adopted it would hold), made once.
batch() {
  local b=$1 tag=$2
  local out=$data/out-$tag dump=$data/dump-$(basename "$log").yaml
  [ -s "$dump" ] || "$b" -q --all-subjects "$log" > "$dump"
  run "$tag stats (.gz)" "$b" stats "$log.gz"; local s_gz=$wall
  run "$tag stats (plain)" "$b" stats "$log"; local s_plain=$wall
  rm -rf "$out"
  run "$tag --all-subjects --out-dir (.gz)" "$b" -q --all-subjects --out-dir "$out" "$log.gz"; local o_gz=$wall
  run "$tag --all-subjects --out-dir (plain)" "$b" -q --all-subjects --out-dir "$out" "$log"; local o_plain=$wall
  run "$tag --all-subjects --out-dir /dev/shm (plain)" "$b" -q --all-subjects --out-dir /dev/shm/audit2role-bench "$log"; local o_shm=$wall
  rm -rf /dev/shm/audit2role-bench
  run "$tag diff --rbac DUMP --all-subjects" "$b" diff --rbac "$dump" --all-subjects "$log"; local d=$wall
  local s_zst=
  if [ -n "$zs" ]; then
    run "$tag stats (.zst)" "$b" stats "$log.zst"; s_zst=$wall
    run "$tag --all-subjects --out-dir (.zst)" "$b" -q --all-subjects --out-dir "$out" "$log.zst"
  fi
  run "$tag check --rbac DUMP --user SUB" "$b" check --rbac "$dump" --user "$sub" "$log"; local c=$wall
  echo
  [ -n "$ig" ] && ratio "$tag 1. --out-dir .gz vs igzip -dc" "$o_gz" "$ig" "<= 1.25 (isal <= 1.10)"
  [ -n "$dd" ] && ratio "$tag 2. --out-dir plain vs DuckDB plain" "$o_plain" "$dd" "<= 0.5"
  ratio "$tag 3. diff --all-subjects vs stats" "$d" "$s_plain" "<= 1.2"
  ratio "$tag 3. check one subject vs stats" "$c" "$s_plain" "<= 1.2"
  ratio "$tag 4. --out-dir plain vs stats plain" "$o_plain" "$s_plain" "<= 1.11 (after-read <= 10 %)"
  ratio "$tag    --out-dir /dev/shm vs stats" "$o_shm" "$s_plain" "- (no fsync wait)"
  ratio "$tag    --out-dir .gz vs stats .gz" "$o_gz" "$s_gz" "-"
  [ -n "$s_zst" ] && ratio "$tag 6. stats .zst vs zstd -dc" "$s_zst" "$zs" "<= 1.5"
  echo "  $tag 5. peak RSS: see the 'peak' column (goal <= 64 MiB)"
  echo
}

sub=$(grep -m1 -o '"username":"system:serviceaccount:[^"]*"' "$log" | cut -d'"' -f4)
if [ -n "${BATCH:-}" ]; then
  ig=; dd=; zs=
  if command -v igzip >/dev/null; then run "igzip -dc" igzip -dc "$log.gz"; ig=$wall; fi
  if command -v zstd >/dev/null; then
    [ -s "$log.zst" ] || zstd -q -3 -k "$log" -o "$log.zst"
    run "zstd -dc" zstd -dc "$log.zst"; zs=$wall
  fi
  if has_duckdb; then run "duckdb GROUP BY (plain, 2 threads)" python3 -c "$duck_py" "$(printf "$q" "$log")"; dd=$wall; fi
  echo
  [ -n "${BEFORE:-}" ] && batch "$BEFORE" before
  batch "$bin" after
  if [ -n "${PAIRED:-}" ]; then
    wall_of() {
      local t0 t1
      t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N)
      echo "$t1 - $t0" | bc
    }
    # paired NAME GOAL 'A' 'B' : each side a command line, run alternately $PAIRED times.
    paired() {
      local name=$1 goal=$2 a=$3 b=$4 ratios=()
      for _ in $(seq "$PAIRED"); do
        local ta tb
        ta=$(wall_of $a); tb=$(wall_of $b)
        ratios+=("$(echo "scale=4; $ta / $tb" | bc)")
      done
      printf '  paired %-40s %.2f (goal %s; all: %s)\n' "$name" \
        "$(printf '%s\n' "${ratios[@]}" | sort -n | sed -n "$(( (PAIRED + 1) / 2 ))p")" "$goal" \
        "$(printf '%s\n' "${ratios[@]}" | sort -n | tr '\n' ' ')"
    }
    duck_plain() { duck "$log"; }
    dump=$data/dump-$(basename "$log").yaml
    out=$data/out-paired
    for b in ${BEFORE:+"$BEFORE"} "$bin"; do
      tag=after; [ "$b" = "${BEFORE:-}" ] && tag=before
      [ -n "$ig" ] && paired "$tag 1. --out-dir .gz vs igzip" "<= 1.25" "$b -q --all-subjects --out-dir $out $log.gz" "igzip -dc $log.gz"
      [ -n "$dd" ] && paired "$tag 2. --out-dir plain vs DuckDB" "<= 0.5" "$b -q --all-subjects --out-dir $out $log" duck_plain
      paired "$tag 3. diff --all-subjects vs stats" "<= 1.2" "$b diff --rbac $dump --all-subjects $log" "$b stats $log"
      paired "$tag 3. check vs stats" "<= 1.2" "$b check --rbac $dump --user $sub $log" "$b stats $log"
      paired "$tag 4. --out-dir plain vs stats" "<= 1.11" "$b -q --all-subjects --out-dir $out $log" "$b stats $log"
      [ -n "$zs" ] && paired "$tag 6. stats .zst vs zstd -dc" "<= 1.5" "$b stats $log.zst" "zstd -dc $log.zst"
    done
  fi
  exit 0
fi

run "gzip -dc" gzip -dc "$log.gz"; gz=$wall
ig=
if command -v igzip >/dev/null; then run "igzip -dc" igzip -dc "$log.gz"; ig=$wall; fi
run "audit2role stats (.gz)" "$bin" stats "$log.gz"; a_gz=$wall
run "audit2role stats (plain)" "$bin" stats "$log"; a_plain=$wall
run "audit2role stats --threads 1 (.gz)" "$bin" stats --threads 1 "$log.gz"
run "audit2role stats --threads 1 (plain)" "$bin" stats --threads 1 "$log"
run "audit2role --serviceaccount (.gz)" "$bin" --quiet --user "$sub" "$log.gz"; a_user_gz=$wall
run "audit2role --serviceaccount (plain)" "$bin" --quiet --user "$sub" "$log"; a_user=$wall
# A user that no line names: the prefilter drops every line, so this is about the cost of
# inflating alone (zlib-rs), the floor of the .gz run.
# Read from stdin: a run that matches no subject reads a regular file again for its hint.
run "audit2role --user nobody (.gz: inflate)" sh -c "exec \"\$0\" --quiet --user nobody:none - < \"\$1\"" "$bin" "$log.gz"

sum=0
for f in "$part"/*.gz; do
  run "  single part $(basename "$f")" "$bin" stats "$f"
  sum=$(echo "$sum + $wall" | bc)
done
run "audit2role stats ($files .gz files)" "$bin" stats "$part"; a_many=$wall

dd=
if python3 -c 'import duckdb' 2>/dev/null; then
  q="SELECT \"user\".username, verb, objectRef.resource, objectRef.namespace, objectRef.name, count(*) FROM read_ndjson('%s', columns={'user': 'STRUCT(username VARCHAR)', 'verb': 'VARCHAR', 'objectRef': 'STRUCT(resource VARCHAR, namespace VARCHAR, name VARCHAR)'}) GROUP BY ALL"
  run "duckdb GROUP BY (.gz, 2 threads)" python3 -c "import duckdb,sys; c=duckdb.connect(); c.execute('SET threads=2'); c.execute(sys.argv[1]).fetchall()" "$(printf "$q" "$log.gz")"; dd_gz=$wall
  run "duckdb GROUP BY (plain, 2 threads)" python3 -c "import duckdb,sys; c=duckdb.connect(); c.execute('SET threads=2'); c.execute(sys.argv[1]).fetchall()" "$(printf "$q" "$log")"; dd=$wall
fi

# CONCAT=4: the .gz concatenated 4 times (a multi-member gzip of 4x the size, same
# distinct requests), for peak memory on a larger input.
if [ -n "${CONCAT:-}" ]; then
  big=$data/audit-${size}m-x$CONCAT.log.gz
  [ -s "$big" ] || for _ in $(seq "$CONCAT"); do cat "$log.gz"; done > "$big"
  run "audit2role stats (.gz x$CONCAT)" "$bin" stats "$big"
fi

echo
[ -n "$ig" ] && ratio "1. .gz vs igzip -dc" "$a_gz" "$ig" "<= 1.25"
ratio "   .gz vs gzip -dc" "$a_gz" "$gz" "-"
[ -n "$dd" ] && ratio "2. plain vs DuckDB plain" "$a_plain" "$dd" "<= 0.5"
echo "  3. peak RSS: see the 'peak' column (goal <= 64 MiB)"
ratio "4. $files files vs sum of singles" "$a_many" "$sum" "<= 0.6"
ratio "5. --user vs all subjects (.gz)" "$a_user_gz" "$a_gz" "< 1"
ratio "   --user vs all subjects (plain)" "$a_user" "$a_plain" "< 1"

# PAIRED=N: each goal's two sides run alternately, N times, and the median of the N ratios
# of adjacent runs is printed. On a shared VM whose speed drifts by up to ±25 % from one
# minute to the next, adjacent runs see the same machine, so these ratios are steadier than
# ratios of medians taken minutes apart.
if [ -n "${PAIRED:-}" ]; then
  # wall CMD... : the wall time of CMD in seconds.
  wall_of() {
    local t0 t1
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
  }
  singles() { for f in "$part"/*.gz; do "$bin" stats "$f"; done; }
  duck_plain() {
    python3 -c "import duckdb,sys; c=duckdb.connect(); c.execute('SET threads=2'); c.execute(sys.argv[1]).fetchall()" "$(printf "$q" "$log")"
  }
  # paired NAME GOAL A B : A and B are commands (functions or words) without arguments.
  paired() {
    local name=$1 goal=$2 a=$3 b=$4 ratios=()
    for _ in $(seq "$PAIRED"); do
      local ta tb
      ta=$(wall_of $a); tb=$(wall_of $b)
      ratios+=("$(echo "scale=4; $ta / $tb" | bc)")
    done
    local sorted
    sorted=$(printf '%s\n' "${ratios[@]}" | sort -n | tr '\n' ' ')
    printf '  paired %-33s %.2f (goal %s; all: %s)\n' "$name" \
      "$(printf '%s\n' "${ratios[@]}" | sort -n | sed -n "$(( (PAIRED + 1) / 2 ))p")" "$goal" "$sorted"
  }
  ours_gz() { "$bin" stats "$log.gz"; }
  ours_plain() { "$bin" stats "$log"; }
  ours_parts() { "$bin" stats "$part"; }
  ours_user_gz() { "$bin" --quiet --user "$sub" "$log.gz"; }
  igzip_dc() { igzip -dc "$log.gz"; }
  echo
  [ -n "$ig" ] && paired "1. .gz vs igzip -dc" "<= 1.25" ours_gz igzip_dc
  [ -n "$dd" ] && paired "2. plain vs DuckDB plain" "<= 0.5" ours_plain duck_plain
  paired "4. $files files vs sum of singles" "<= 0.6" ours_parts singles
  paired "5. --user vs all subjects (.gz)" "< 1" ours_user_gz ours_gz
fi
