#!/usr/bin/env bash
# The double-check per core, this build's against another mswap binary's
# (an older build, say), side by side on the same guests and inputs: the
# CPU time (user+system) of `mswap check GUEST --threads 1 --max-steps N`,
# the best of RUNS alternating runs of each, and their ratio. With
# MODE=run, machine A's default engine instead: `mswap run GUEST` to its
# end (translation, start-up and all), e.g. a JIT change against the
# build before it.
#
#   cargo build --release
#   benches/double_check.sh OTHER_MSWAP [RUNS] [MAX_STEPS]
#   MODE=run benches/double_check.sh OTHER_MSWAP 9
#
# e.g. the build before multiply/divide became micro-ops (a = 11):
#   git worktree add /tmp/old 9aecce8 && (cd /tmp/old && cargo build --release)
#   benches/double_check.sh /tmp/old/target/release/mswap 3
#
# Inputs: the jit bench's (`cargo bench --bench jit -- --write-input GUEST
# FILE`: the same bytes on every machine) where it has one, else none; the
# text guests read rust_words' 2 MB of text. Both binaries must accept the
# same `check` options.
set -euo pipefail
cd "$(dirname "$0")/.."
other=$1 runs=${2:-3} max=${3:-3000000} mode=${MODE:-check}
new=target/release/mswap
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
input_of() {
    local g=$1 f=$dir/$1.input
    [ -e "$f" ] || cargo bench -q --bench jit -- --write-input "$g" "$f" > /dev/null 2>&1 || : > "$f"
    echo "$f"
}
# CPU seconds of one run of binary $1 on guest $2 with input $3.
cpu() {
    local TIMEFORMAT='%U %S' t
    local args=(check "examples/guests/bin/$2.elf" --input "$3" --threads 1 --max-steps "$max")
    [ "$mode" = run ] && args=(run --input "$3" "examples/guests/bin/$2.elf")
    # (`run` exits with the guest's own code: echo's is its line count.)
    t=$( { time "$1" "${args[@]}" > /dev/null 2>&1; } 2>&1 ) || [ "$mode" = run ] \
        || { echo "$1 $mode $2 failed: $t" >&2; exit 1; }
    awk '{ printf "%.3f", $1 + $2 }' <<< "$t"
}
words=$(input_of rust_words)
printf '%-12s %10s %10s %8s\n' guest other_s this_s other/this
for g in numeric sort collatz loop alu keccak sha256 echo rust_sha256 rust_words rust_json rust_evm; do
    case $g in
    sha256 | echo | rust_sha256 | rust_words) input=$words ;;
    *) input=$(input_of "$g") ;;
    esac
    best_o= best_n=
    for _ in $(seq "$runs"); do
        o=$(cpu "$other" "$g" "$input")
        n=$(cpu "$new" "$g" "$input")
        best_o=$(awk -v a="$o" -v b="${best_o:-$o}" 'BEGIN { print (a < b ? a : b) }')
        best_n=$(awk -v a="$n" -v b="${best_n:-$n}" 'BEGIN { print (a < b ? a : b) }')
    done
    awk -v g="$g" -v o="$best_o" -v n="$best_n" 'BEGIN { printf "%-12s %10.3f %10.3f %7.2fx\n", g, o, n, (n > 0 ? o / n : 0) }'
done
