#!/usr/bin/env bash
# Builds the official riscv-tests for RV64 I, M, A and C (user level:
# rv64ui incl. ma_data and fence_i, rv64um, rv64ua, rv64uc) with the
# user-mode environment in env/ into bin/<suite>-<test>.elf, the committed
# ELFs. Usage: ./build.sh PATH-TO-riscv-tests (a checkout; these ELFs come
# from commit 34e6b6d). Needs riscv64-unknown-elf-gcc.
set -euo pipefail
cd "$(dirname "$0")"
src=${1:?usage: ./build.sh PATH-TO-riscv-tests}
CC=${CC:-riscv64-unknown-elf-gcc}
mkdir -p bin
n=0
for suite in rv64ui rv64um rv64ua rv64uc; do
    for t in "$src/isa/$suite"/*.S; do
        name=$(basename "$t" .S)
        "$CC" -march=rv64imac_zifencei -mabi=lp64 -static -mcmodel=medany \
            -fvisibility=hidden -nostdlib -nostartfiles -Wl,--build-id=none \
            -Wl,--no-warn-rwx-segments \
            -I env -I "$src/isa/macros/scalar" -T link.ld \
            -o "bin/$suite-$name.elf" "$t"
        n=$((n + 1))
    done
done
echo "$n tests built"
