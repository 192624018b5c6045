#!/usr/bin/env bash
# Counts the instructions a guest executes under qemu-riscv64, from qemu's
# translation and execution log (-d in_asm,exec,nochain: one "Trace" line
# per executed translation block; the block's length comes from its "IN:"
# listing). Prints the count on stdout; the guest's stdin is this script's
# stdin, its stdout is discarded.
#   ./icount.sh bin/loop.elf < inputs/loop_small.txt    # 2000578
# Slow for long runs (about 3 minutes for loop.elf's default 1.26 * 10^9). The
# log goes through a pipe and is never stored: qemu 7.2's in_asm logger
# loops forever on some illegal words (0xffffffff in fault_illegal), so the
# count stops qemu and gives up when one block's listing passes 100000
# lines.
set -euo pipefail
if [ $# -ne 1 ]; then echo "usage: $0 GUEST.elf < INPUT" >&2; exit 2; fi
command -v qemu-riscv64 >/dev/null || { echo "icount.sh: qemu-riscv64 not found (apt-get install qemu-user)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkfifo "$dir/log"
qemu-riscv64 -d in_asm,exec,nochain -D "$dir/log" "$1" <&0 >/dev/null 2>&1 &
qemu=$!
status=0
awk -v qemu="$qemu" '
    /^Trace/ { split($0, a, "/"); total += len[a[2]]; next }
    /^IN:/   { cur = ""; n = 0; next }
    /^0x[0-9a-f]+:/ {
        pc = substr($1, 3, length($1) - 3)     # 16 hex digits, as in the Trace lines
        if (cur == "") cur = pc
        len[cur] = ++n
        if (n > 100000) {
            print "icount.sh: runaway qemu log (an illegal instruction?); stopped" > "/dev/stderr"
            system("kill -9 " qemu)
            bad = 1
            exit 1
        }
    }
    END { if (!bad) printf "%d\n", total }' < "$dir/log" || status=$?
wait "$qemu" 2>/dev/null || true
exit "$status"
