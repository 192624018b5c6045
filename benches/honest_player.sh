#!/usr/bin/env bash
# The honest player's cost in the three-process game, beside one plain run
# of the same guest with the same engine: CPU (user+system), wall time and
# peak memory of each process, from /usr/bin/time.
#
#   cargo build --release
#   benches/honest_player.sh ELF INPUT LIE_STEP [PORT]
#
# INPUT is a file, or `bench:GUEST` for the input `cargo bench --bench jit`
# gives GUEST (written by the bench's --write-input: the same bytes on
# every machine, e.g. rust_words' 2 MB of text from the seed 0x5eed).
#
# Two games on a referee of its own (margin 0, a 20 s window, long clocks):
# a defender lying from step LIE_STEP against an honest challenger, then an
# honest defender against a challenger lying from LIE_STEP (the honest
# defender's wall time includes the window it waits out). Examples:
#
#   echo 1200000 > /tmp/loop.txt     # loop.elf: 1.04e9 steps
#   benches/honest_player.sh examples/guests/bin/loop.elf /tmp/loop.txt 500000000
#   benches/honest_player.sh examples/guests/bin/rust_words.elf bench:rust_words 100000000
set -euo pipefail
cd "$(dirname "$0")/.."
elf=$1 input=$2 lie=$3 port=${4:-4190}
bin=target/release/mswap
dir=$(mktemp -d)
referee=
trap '[ -z "$referee" ] || kill "$referee" 2>/dev/null || true; rm -rf "$dir"' EXIT
if [[ $input == bench:* ]]; then
    cargo bench -q --bench jit -- --write-input "${input#bench:}" "$dir/input" > /dev/null
    input=$dir/input
fi
[ -f "$input" ] || { echo "honest_player.sh: no input file $input" >&2; exit 2; }
t() { /usr/bin/time -f "%U %S %e %M" -o "$1" "${@:2}"; }
# (the last line: a process that exits non-zero has a line about it first)
show() { tail -n 1 "$1" | awk '{printf "%.2f s CPU, %.2f s wall, %.0f MB", $1 + $2, $3, $4 / 1024}'; }
t "$dir/plain" "$bin" run --input "$input" "$elf" > /dev/null
echo "plain run:        $(show "$dir/plain")"
"$bin" referee --listen "127.0.0.1:$port" --data "$dir/data" --margin 0 \
    --window-ms 20000 --clock-ms 600000 > "$dir/referee.log" 2>&1 &
referee=$!
sleep 1
for honest in challenger defender; do
    dlie=() clie=()
    if [ "$honest" = challenger ]; then dlie=(--lie "from:$lie"); else clie=(--lie "from:$lie"); fi
    t "$dir/d-$honest" "$bin" defend --referee "http://127.0.0.1:$port" "$elf" \
        --input "$input" "${dlie[@]}" > "$dir/defend-$honest.log" 2>&1 &
    defender=$!
    until grep -q '^game: ' "$dir/defend-$honest.log" 2>/dev/null; do sleep 0.2; done
    game=$(sed -n 's/^game: //p' "$dir/defend-$honest.log")
    t "$dir/c-$honest" "$bin" challenge --referee "http://127.0.0.1:$port" --game "$game" \
        "$elf" --input "$input" "${clie[@]}" > "$dir/challenge-$honest.log" 2>&1 || true
    wait "$defender" || true
    echo "honest $honest: defender $(show "$dir/d-$honest") | challenger $(show "$dir/c-$honest")"
    grep -h '^result' "$dir/challenge-$honest.log" "$dir/defend-$honest.log" | sed 's/^/    /'
done
