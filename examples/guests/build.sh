#!/usr/bin/env bash
# Builds every guest in src/ into bin/<name>.elf (symbols kept) with
# Debian's riscv64-unknown-elf-gcc (package gcc-riscv64-unknown-elf, 12.2).
# The ELF files are committed, so running and testing mswap need no cross
# compiler.
#
# Deterministic and idempotent: no debug info, no build id, no paths or
# time stamps in the output; objects are built under fixed names, so the
# same sources and compiler give the same bytes (CI rebuilds and diffs).
#
# Prints one line per guest: size, entry, and the two PT_LOAD segments
# (address, file size / memory size, flags).
set -euo pipefail
cd "$(dirname "$0")"
CC=${CC:-riscv64-unknown-elf-gcc}
READELF=${READELF:-riscv64-unknown-elf-readelf}
if ! command -v "$CC" >/dev/null; then
    echo "build.sh: the cross compiler $CC was not found." >&2
    echo "build.sh: install it with: apt-get install gcc-riscv64-unknown-elf" >&2
    exit 1
fi
CFLAGS=(-march=rv64im -mabi=lp64 -mcmodel=medany -O2 -ffreestanding -fno-builtin
        -fno-tree-loop-distribute-patterns -fno-stack-protector -fno-pic
        -fno-asynchronous-unwind-tables -fno-unwind-tables
        -ffile-prefix-map="$PWD"=. -Irt -Wall -Wextra -Wno-unused-parameter)
LDFLAGS=(-nostdlib -static -no-pie -Wl,--no-relax -Wl,-T,"$PWD/guest.ld"
         -Wl,--build-id=none -lgcc)
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT
mkdir -p bin
"$CC" "${CFLAGS[@]}" -c -o "$obj/crt0.o" rt/crt0.S
"$CC" "${CFLAGS[@]}" -c -o "$obj/rt.o" rt/rt.c
for src in src/*.c; do
    name=$(basename "$src" .c)
    "$CC" "${CFLAGS[@]}" -c -o "$obj/$name.o" "$src"
    # Linked from inside the object directory, so that only the fixed
    # object names (never the temporary directory) can reach the output.
    (cd "$obj" && "$CC" "${CFLAGS[@]}" -o "$name.elf" crt0.o rt.o "$name.o" "${LDFLAGS[@]}")
    cp "$obj/$name.elf" "bin/$name.elf.tmp"
    mv "bin/$name.elf.tmp" "bin/$name.elf"
    if command -v "$READELF" >/dev/null; then
        entry=$("$READELF" -h "bin/$name.elf" | awk '/Entry point/ {print $4}')
        segs=$("$READELF" -lW "bin/$name.elf" | awk '$1 == "LOAD" {
            flags = ""; for (i = 7; i < NF; i++) flags = flags $i
            printf "  %s %s/%s %s", $3, $5, $6, flags }')
        printf '%-31s %6d bytes  entry %s%s\n' "bin/$name.elf" "$(stat -c %s "bin/$name.elf")" "$entry" "$segs"
    else
        printf '%-31s %6d bytes\n' "bin/$name.elf" "$(stat -c %s "bin/$name.elf")"
    fi
done
