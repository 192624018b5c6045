#!/usr/bin/env bash
# Checks the built guests in bin/ (run ./build.sh first):
#
#  1. ELF header: ELF64, little endian, ET_EXEC, RISC-V, e_flags 0 (no RVC,
#     soft-float ABI; the Rust guests rust_*: 0x1, RVC), entry 0x10000.
#  2. Program headers: exactly two PT_LOAD segments, page aligned, text R+X
#     at 0x10000, data R+W; none both writable and executable; everything
#     below 4 GiB. Only the expected sections.
#  3. Code: every instruction in the executable sections is RV64IM (no
#     compressed, CSR, fence.i, atomic or floating-point instruction),
#     except the one word a fault guest executes on purpose; the Rust
#     guests' code is RV64IMAC (compressed and atomic instructions too).
#  4. Runs: every guest under qemu-riscv64, with empty input and with its
#     sample input; exit status and a hash of stdout and stderr must match
#     expected.txt (for fault guests: the first stdout line only, since
#     fault_csr prints a cycle count after it). ./check.sh --update
#     rewrites expected.txt instead.
#  5. Instruction counts (icount.sh) of a few runs quoted in the README and
#     in src/loop.c.
set -euo pipefail
cd "$(dirname "$0")"
READELF=${READELF:-riscv64-unknown-elf-readelf}
OBJDUMP=${OBJDUMP:-riscv64-unknown-elf-objdump}
for t in "$READELF" "$OBJDUMP" qemu-riscv64; do
    command -v "$t" >/dev/null || {
        echo "check.sh: $t not found (apt-get install gcc-riscv64-unknown-elf qemu-user)" >&2
        exit 1
    }
done
update=0
[ "${1:-}" = "--update" ] && update=1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The words a fault guest executes on purpose (not RV64IM).
deliberate() {
    case "$1" in
        fault_illegal) echo "ffffffff" ;;
        fault_amo_misaligned) echo "00b5252f" ;;
        fault_csr) echo "c0002573" ;;
        *) echo "" ;;
    esac
}

RV64IM="lui auipc jal jalr beq bne blt bge bltu bgeu lb lh lw ld lbu lhu lwu
sb sh sw sd addi slti sltiu xori ori andi slli srli srai addiw slliw srliw sraiw
add sub sll slt sltu xor srl sra or and addw subw sllw srlw sraw
mul mulh mulhsu mulhu div divu rem remu mulw divw divuw remw remuw ecall ebreak"
# The Rust guests may also use fence, the A extension (any aq/rl) and C.
RV64IMAC="$RV64IM fence fence.i lr.w sc.w lr.d sc.d
amoswap.w amoadd.w amoxor.w amoand.w amoor.w amomin.w amomax.w amominu.w amomaxu.w
amoswap.d amoadd.d amoxor.d amoand.d amoor.d amomin.d amomax.d amominu.d amomaxu.d
c.addi4spn c.lw c.ld c.sw c.sd c.nop c.addi c.addiw c.li c.addi16sp c.lui c.srli c.srai
c.andi c.sub c.xor c.or c.and c.subw c.addw c.j c.beqz c.bnez c.slli c.lwsp c.ldsp c.jr
c.mv c.ebreak c.jalr c.add c.swsp c.sdsp
unimp c.unimp"   # the canonical illegal instruction: rustc's trap for abort

echo "== static checks"
for elf in bin/*.elf; do
    name=$(basename "$elf" .elf)
    hdr=$("$READELF" -hW "$elf")
    grep -q 'Class: *ELF64' <<<"$hdr" || fail "$name: not ELF64"
    grep -q "little endian" <<<"$hdr" || fail "$name: not little endian"
    grep -q 'Type: *EXEC' <<<"$hdr" || fail "$name: not ET_EXEC"
    grep -q 'Machine: *RISC-V' <<<"$hdr" || fail "$name: not RISC-V"
    flags='0x0'
    [[ "$name" == rust_* ]] && flags='0x1, RVC, soft-float ABI'
    grep -q "Flags: *$flags\$" <<<"$hdr" || fail "$name: e_flags not $flags: $(grep Flags <<<"$hdr")"
    grep -q 'Entry point address: *0x10000$' <<<"$hdr" || fail "$name: entry not 0x10000"

    "$READELF" -lW "$elf" | awk -v n="$name" '
        function hex(s,   i, v) {
            s = tolower(s); sub(/^0x/, "", s); v = 0
            for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return v
        }
        $1 == "LOAD" {
            loads++
            flags = ""; for (i = 7; i < NF; i++) flags = flags $i
            va = hex($3); memsz = hex($6); align = hex($NF)
            if (flags ~ /W/ && flags ~ /E/) { print "FAIL: " n ": W+X segment at " $3; bad++ }
            if (va % 4096 != 0 || align < 4096) { print "FAIL: " n ": segment at " $3 " not page aligned"; bad++ }
            if (va + memsz > 4294967296) { print "FAIL: " n ": segment beyond 4 GiB"; bad++ }
            if (loads == 1 && (va != 65536 || flags != "RE")) { print "FAIL: " n ": first segment is not R+X at 0x10000"; bad++ }
            if (loads == 2 && flags != "RW") { print "FAIL: " n ": second segment is not R+W"; bad++ }
        }
        END { if (loads != 2) { print "FAIL: " n ": " loads " PT_LOAD segments"; bad++ } exit bad > 0 }' \
        || fails=$((fails + 1))

    sections=$("$READELF" -SW "$elf" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) .*/\1/p' | sort | tr '\n' ' ')
    for s in $sections; do
        case "$s" in
            .text|.rodata|.data|.bss|.noinit|.symtab|.strtab|.shstrtab) ;;
            .stack|.heap|.riscv.attributes) [[ "$name" == rust_* ]] || fail "$name: unexpected section $s" ;;
            *) fail "$name: unexpected section $s" ;;
        esac
    done

    allowed=$(deliberate "$name")
    isa=$RV64IM
    [[ "$name" == rust_* ]] && isa=$RV64IMAC
    bad=$("$OBJDUMP" -d -M no-aliases "$elf" | awk -v ok="$isa" -v allowed="$allowed" '
        BEGIN { n = split(ok, a, /[ \n]+/); for (i = 1; i <= n; i++) good[a[i]] = 1 }
        /^ +[0-9a-f]+:\t/ {
            split($0, f, "\t"); enc = f[2]; gsub(/ /, "", enc)
            m = f[3]; sub(/ .*/, "", m); sub(/\.(aq|rl|aqrl)$/, "", m)
            if (length(enc) != 8 && !(m in good)) { print $0; next }  # compressed
            if (m in good) next
            if (enc == allowed) { seen++; next }
            print $0
        }
        END { if (allowed != "" && seen != 1) print "deliberate word " allowed " seen " seen + 0 " times" }')
    [ -z "$bad" ] || fail "$name: outside its instruction set:"$'\n'"$bad"
done
echo "   $(ls bin/*.elf | wc -l) ELF files checked"

sample() {
    case "$1" in
        sort) echo inputs/sort.txt ;;
        echo|sha256|keccak|rust_sha256|rust_panic) echo inputs/text.txt ;;
        rust_json) echo "inputs/people.json inputs/bad.json" ;;
        rust_evm) echo "inputs/evm_add11.bin inputs/evm_invalid.bin" ;;
        loop) echo inputs/loop_small.txt ;;
        collatz) echo inputs/collatz_small.txt ;;
        *) echo "" ;;
    esac
}

echo "== runs under qemu-riscv64"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
results="$out/expected.txt"
{
    echo "# guest input exit stdout-sha256 stderr-sha256 (written by ./check.sh --update)"
    for elf in bin/*.elf; do
        name=$(basename "$elf" .elf)
        inputs="/dev/null $(sample "$name")"
        for input in $inputs; do
            set +e
            { timeout 60 qemu-riscv64 "$elf" <"$input" >"$out/stdout" 2>"$out/stderr"; } 2>/dev/null
            code=$?
            set -e
            if [[ "$name" == fault_* ]]; then
                head -n 1 "$out/stdout" >"$out/stdout.1"
                mv "$out/stdout.1" "$out/stdout"
                : >"$out/stderr"   # qemu's own messages, if any
            fi
            label=$input
            [ "$input" = /dev/null ] && label=empty
            echo "$name $label $code $(sha256sum <"$out/stdout" | cut -c1-16) $(sha256sum <"$out/stderr" | cut -c1-16)"
        done
    done
} >"$results"
if [ "$update" = 1 ]; then
    cp "$results" expected.txt
    echo "   expected.txt updated ($(grep -vc '^#' expected.txt) runs)"
elif ! diff -u expected.txt "$results"; then
    fail "qemu runs differ from expected.txt (./check.sh --update after a deliberate change)"
else
    echo "   $(grep -vc '^#' expected.txt) runs as expected"
fi

echo "== instruction counts (icount.sh)"
count() {  # name input expected
    local got
    got=$(./icount.sh "bin/$1.elf" <"$2")
    if [ "$got" = "$3" ]; then echo "   $1 < $2: $got"; else fail "$1 < $2: $got instructions, expected $3"; fi
}
count hello /dev/null 46
count collatz /dev/null 993098
count collatz inputs/collatz_small.txt 63406
count loop inputs/loop_small.txt 2000578

if [ "$fails" -gt 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all checks passed"
