#!/usr/bin/env bash
# Builds every guest in src/ into bin/<name>.elf with Debian's
# riscv64-unknown-elf-gcc (package gcc-riscv64-unknown-elf). The ELF files
# are committed, so running and testing mswap need no cross compiler.
# Deterministic: the same sources give the same bytes.
set -euo pipefail
cd "$(dirname "$0")"
CC=${CC:-riscv64-unknown-elf-gcc}
if ! command -v "$CC" >/dev/null; then
    echo "build.sh: $CC not found; install it with: apt-get install gcc-riscv64-unknown-elf" >&2
    exit 1
fi
CFLAGS=(-march=rv64im -mabi=lp64 -mcmodel=medany -O2 -ffreestanding -fno-builtin
        -fno-tree-loop-distribute-patterns -fno-stack-protector -fno-pic
        -ffile-prefix-map="$PWD"=. -Irt -Wall -Wextra -Wno-unused-parameter)
LDFLAGS=(-nostdlib -static -no-pie -Wl,--no-relax -Wl,-T,guest.ld -Wl,--build-id=none -lgcc)
# Objects get fixed names (no temporary file names end up in the symbols).
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT
mkdir -p bin
"$CC" "${CFLAGS[@]}" -c -o "$obj/crt0.o" rt/crt0.S
"$CC" "${CFLAGS[@]}" -c -o "$obj/rt.o" rt/rt.c
for src in src/*.c; do
    name=$(basename "$src" .c)
    "$CC" "${CFLAGS[@]}" -c -o "$obj/$name.o" "$src"
    (cd "$obj" && "$CC" "${CFLAGS[@]}" -o "$OLDPWD/bin/$name.elf" crt0.o rt.o "$name.o" "${LDFLAGS[@]/guest.ld/$OLDPWD/guest.ld}")
    printf '%-32s %7d bytes\n' "bin/$name.elf" "$(stat -c %s "bin/$name.elf")"
done
