#!/usr/bin/env bash
# Builds the release archives of audit2role for the targets this machine can build, writes
# SHA256SUMS, and fills the krew manifest from docs/krew/audit2role.yaml.in.
#
#   scripts/release.sh --base-url URL --homepage URL [--out DIR] [--profile P]
#                      [--target TRIPLE|host]... [--target-dir DIR] [--features F]
#                      [--binary PATH]
#
# --base-url: where the archives will be downloaded from (the manifest's uri is
#   BASE-URL/ARCHIVE); also RELEASE_BASE_URL. --homepage: the project's page; also
#   RELEASE_HOMEPAGE. Both are required: the manifest is never written with a placeholder.
# --target: a Rust target triple (repeatable). Default: the host (x86_64-unknown-linux-gnu),
#   and x86_64-unknown-linux-musl (static) when its standard library is installed
#   (`rustup target add x86_64-unknown-linux-musl`).
# --profile: the cargo profile (default release; tests use dev to stay fast).
# --features: cargo features of the build (default none: zlib-rs, no system library).
# --binary: package this already built binary for the one --target instead of building
#   (tests use it: a build there would replace the binary the other tests run).
#
# Each archive, audit2role-VERSION-TRIPLE.tar.gz, holds one folder of the same name with the
# binary (stripped, except in the dev profile), LICENSE, README.md, completions/ (bash, zsh,
# fish) and man/man1/ (one page per command). Archives are reproducible: sorted names, owner 0, the commit's time as mtime.
set -euo pipefail
cd "$(dirname "$0")/.."

base_url=${RELEASE_BASE_URL:-}
homepage=${RELEASE_HOMEPAGE:-}
out=dist
profile=release
targets=()
target_dir=${CARGO_TARGET_DIR:-target}
features=""
prebuilt=""
while [ $# -gt 0 ]; do
  case "$1" in
    --base-url) base_url=$2; shift 2 ;;
    --homepage) homepage=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --target-dir) target_dir=$2; shift 2 ;;
    --features) features=$2; shift 2 ;;
    --binary) prebuilt=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "release.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for pair in "--base-url:$base_url" "--homepage:$homepage"; do
  flag=${pair%%:*}
  value=${pair#*:}
  case "$value" in
    https://*) ;;
    *) echo "release.sh: $flag must be an https:// URL (got '${value}')" >&2; exit 2 ;;
  esac
  case "$value" in
    *example.invalid*|*example.com*) echo "release.sh: $flag is a placeholder: $value" >&2; exit 2 ;;
  esac
done
base_url=${base_url%/}

version=v$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
host=$(rustc -vV | sed -n 's/^host: //p')
if [ ${#targets[@]} -eq 0 ]; then
  targets=("$host")
  if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    targets+=(x86_64-unknown-linux-musl)
  else
    echo "release.sh: x86_64-unknown-linux-musl is not installed (rustup target add x86_64-unknown-linux-musl): no static build" >&2
  fi
fi
if [ -n "$prebuilt" ] && [ ${#targets[@]} -ne 1 ]; then
  echo "release.sh: --binary needs exactly one --target" >&2
  exit 2
fi
for i in "${!targets[@]}"; do
  if [ "${targets[$i]}" = host ]; then targets[$i]=$host; fi
done
build=(cargo build --locked --profile "$profile" --target-dir "$target_dir" --bin audit2role)
if [ -n "$features" ]; then build+=(--features "$features"); fi
# gzip -6 for releases; the dev profile (tests) has a large unstripped binary: -1.
case "$profile" in
  dev) profile_dir=debug; level=-1 ;;
  *) profile_dir=$profile; level=-6 ;;
esac
# The archives' time: RELEASE_EPOCH, SOURCE_DATE_EPOCH, or the last commit's. Not exported:
# rustc reads SOURCE_DATE_EPOCH, and a new value would make cargo build everything again.
epoch=${RELEASE_EPOCH:-${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}}

mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
platforms=""
krew_done=""
: > "$stage/SHA256SUMS"
for target in "${targets[@]}"; do
  # The host target builds where `cargo build` puts it (no --target), so a test reuses
  # the binary cargo test built.
  if [ -n "$prebuilt" ]; then
    bin=$prebuilt
  elif [ "$target" = "$host" ]; then
    "${build[@]}"
    bin="$target_dir/$profile_dir/audit2role"
  else
    "${build[@]}" --target "$target"
    bin="$target_dir/$target/$profile_dir/audit2role"
  fi
  name="audit2role-$version-$target"
  dir="$stage/$name"
  mkdir -p "$dir/completions" "$dir/man/man1"
  cp "$bin" "$dir/audit2role"
  # The release profile keeps line tables for profiling (Cargo.toml); archives ship without.
  if [ "$profile" != dev ] && command -v strip >/dev/null 2>&1; then
    strip "$dir/audit2role"
  fi
  cp LICENSE README.md "$dir/"
  # Completions and man pages come from the binary itself; a binary for another machine
  # cannot run here, so the host's build writes them (they are the same for every target).
  runner="$dir/audit2role"
  if [ -n "$prebuilt" ]; then
    runner=$prebuilt
  elif ! "$runner" --version >/dev/null 2>&1; then
    "${build[@]}"
    runner="$target_dir/$profile_dir/audit2role"
  fi
  "$runner" completions bash > "$dir/completions/audit2role.bash"
  "$runner" completions zsh > "$dir/completions/_audit2role"
  "$runner" completions fish > "$dir/completions/audit2role.fish"
  "$runner" man --dir "$dir/man/man1"
  chmod -R u=rwX,go=rX "$dir"
  find "$dir" -exec touch -h -d "@$epoch" {} +
  (cd "$stage" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
    -cf - "$name" | gzip -n "$level" > "$out/$name.tar.gz")
  sum=$(cd "$out" && sha256sum "$name.tar.gz")
  echo "$sum" >> "$stage/SHA256SUMS"
  echo "release.sh: $out/$name.tar.gz"

  # krew: one platform per os/arch; the static build is preferred for linux/amd64.
  case "$target" in
    x86_64-unknown-linux-*) selector="os: linux
        arch: amd64" ;;
    aarch64-unknown-linux-*) selector="os: linux
        arch: arm64" ;;
    x86_64-apple-darwin) selector="os: darwin
        arch: amd64" ;;
    aarch64-apple-darwin) selector="os: darwin
        arch: arm64" ;;
    *) continue ;;
  esac
  key=$(echo "$selector" | tr -d ' \n')
  if [[ "$target" != *musl ]] && printf '%s\n' "${targets[@]}" | grep -q "^${target%-*}-musl$"; then
    continue
  fi
  if [[ " $krew_done " == *" $key "* ]]; then
    continue
  fi
  krew_done="$krew_done $key"
  platforms+="  - selector:
      matchLabels:
        $selector
    uri: $base_url/$name.tar.gz
    sha256: \"${sum%% *}\"
    bin: audit2role
    files:
    - from: $name/audit2role
      to: .
    - from: $name/LICENSE
      to: .
"
done
mv "$stage/SHA256SUMS" "$out/SHA256SUMS"

# The manifest: the template with the placeholders filled.
template=docs/krew/audit2role.yaml.in
{
  while IFS= read -r line; do
    case "$line" in
      @PLATFORMS@) printf '%s' "$platforms" ;;
      *) line=${line//@VERSION@/$version}; echo "${line//@HOMEPAGE@/$homepage}" ;;
    esac
  done < "$template"
} > "$out/audit2role.yaml"
if grep -q '@[A-Z]*@' "$out/audit2role.yaml"; then
  echo "release.sh: a placeholder is left in $out/audit2role.yaml" >&2
  exit 1
fi
echo "release.sh: $out/SHA256SUMS, $out/audit2role.yaml"
