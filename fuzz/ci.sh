#!/usr/bin/env bash
# The fuzz targets in CI.
#   fuzz/ci.sh [runs]   builds every target with libFuzzer and runs each `runs` times
#                       (default 2000) from its committed seeds (fuzz/seeds/<target>/):
#                       a short run that fails on any crash, leak or timeout, not a
#                       search (for that, see the README, "Longer runs").
#   fuzz/ci.sh check    only type-checks the fuzz crate, for when the instrumented
#                       build is too slow; `cargo test` runs the targets' bodies over
#                       the seeds anyway (properties::the_fuzz_targets_take_their_seeds).
set -euo pipefail
cd "$(dirname "$0")"

if [ "${1:-}" = check ]; then
    # In the workspace's target directory, where clippy has type-checked most of these
    # dependencies already.
    exec cargo check --bins --locked --target-dir ../target
fi
runs=${1:-2000}

command -v cargo-fuzz >/dev/null 2>&1 ||
    { echo "error: cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2; exit 1; }

# RUSTC_BOOTSTRAP lets the stable toolchain take the sanitizer flags cargo-fuzz passes.
export RUSTC_BOOTSTRAP=1
cargo fuzz build

for target in $(cargo fuzz list); do
    seeds="seeds/$target"
    [ -n "$(ls -A "$seeds" 2>/dev/null)" ] || { echo "error: no seeds in fuzz/$seeds" >&2; exit 1; }
    # libFuzzer adds what it finds to the first folder: a scratch one, so the seeds
    # stay as committed.
    scratch=$(mktemp -d)
    echo "fuzz: $target, $runs runs from $(ls "$seeds" | wc -l) seeds"
    cargo fuzz run "$target" "$scratch" "$seeds" -- \
        -runs="$runs" -max_len=8192 -timeout=10 -print_final_stats=1 ||
        { rm -rf "$scratch"; echo "error: fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2; exit 1; }
    rm -rf "$scratch"
done
