#!/usr/bin/env bash
# The honest player's cost in the three-process game, beside one plain run
# of the same guest with the same engine: CPU (user+system), wall time and
# peak memory of each process, from /usr/bin/time.
#
#   cargo build --release
#   benches/honest_player.sh ELF INPUT LIE_STEP [PORT]
#   RUNS=5 benches/honest_player.sh ...   # each measured 5 times (default 3)
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
# The last line of a /usr/bin/time file (a process that exits non-zero has
# a line about it first) as "cpu wall MB".
fig() { tail -n 1 "$1" | awk '{printf "%.2f %.2f %.0f\n", $1 + $2, $3, $4 / 1024}'; }
# The median of each column of a file of figures.
median() {
    local cols
    cols=$(head -n 1 "$1" | wc -w)
    for i in $(seq "$cols"); do
        cut -d' ' -f"$i" "$1" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
    done | paste -sd' '
}
show() { echo "$1" | awk '{printf "%.2f s CPU, %.2f s wall, %.0f MB", $1, $2, $3}'; }
runs=${RUNS:-3}
"$bin" referee --listen "127.0.0.1:$port" --data "$dir/data" --margin 0 \
    --window-ms 20000 --clock-ms 600000 > "$dir/referee.log" 2>&1 &
referee=$!
sleep 1
for r in $(seq "$runs"); do
    t "$dir/plain" "$bin" run --input "$input" "$elf" > /dev/null
    fig "$dir/plain" >> "$dir/plain.all"
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
        fig "$dir/d-$honest" >> "$dir/d-$honest.all"
        fig "$dir/c-$honest" >> "$dir/c-$honest.all"
        # Every game must end as the honest side says.
        if [ "$honest" = challenger ]; then want='challenger wins'; log=challenge; else want='the claim stands'; log=defend; fi
        grep -q "^result: $want" "$dir/$log-$honest.log" || {
            echo "honest_player.sh: the honest $honest did not win:" >&2
            cat "$dir/$log-$honest.log" >&2
            exit 1
        }
    done
    echo "run $r of $runs: plain $(cut -d' ' -f1 < <(fig "$dir/plain")) s, honest challenger $(cut -d' ' -f1 < <(fig "$dir/c-challenger")) s, honest defender $(cut -d' ' -f1 < <(fig "$dir/d-defender")) s CPU"
done
plain=$(median "$dir/plain.all")
echo "plain run:          $(show "$plain")   (median of $runs)"
for honest in challenger defender; do
    h=$([ "$honest" = challenger ] && echo c || echo d)
    o=$([ "$honest" = challenger ] && echo d || echo c)
    mine=$(median "$dir/$h-$honest.all")
    theirs=$(median "$dir/$o-$honest.all")
    ratio=$(awk -v a="${mine%% *}" -v b="${plain%% *}" 'BEGIN {printf "%.2f", a / b}')
    echo "honest $honest: $(show "$mine"), ${ratio}x the plain run's CPU | its lying opponent: $(show "$theirs")"
    grep -h '^result' "$dir/challenge-$honest.log" "$dir/defend-$honest.log" | sed 's/^/    /'
done
