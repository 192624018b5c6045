#!/usr/bin/env bash
# Builds the Rust example guests (this workspace, with the guest crate in
# ../../../guest) for riscv64imac-unknown-none-elf, and copies each into
# ../bin/rust_<name>.elf, the committed ELFs (so that running and testing
# mswap need no Rust cross toolchain).
#
# Reproducible: the toolchain is pinned (rust-toolchain.toml), the
# dependencies are locked (Cargo.lock), and the two paths that would reach
# the binary (panic locations) are remapped: the cargo home to /cargo and
# this repository to /mswap. CI rebuilds and diffs. A plain
# `cargo build --release` here works too (.cargo/config.toml selects the
# target and the linker script), with local paths in panic messages.
set -euo pipefail
cd "$(dirname "$0")"
repo=$(cd ../../.. && pwd)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
export RUSTFLAGS="-C link-arg=-Tmswap-guest.x --remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$repo=/mswap"
# Built separately: one cargo invocation unifies the features of shared
# dependencies (serde, sha2's digest, ...), which would change the bytes.
cargo build --release --locked
names="sha256 json panic"
if [ "${1:-}" = "--evm" ]; then
    cargo build --release --locked -p evm
    names="$names evm"
fi
for name in $names; do
    cp "target/riscv64imac-unknown-none-elf/release/$name" "../bin/rust_$name.elf.tmp"
    mv "../bin/rust_$name.elf.tmp" "../bin/rust_$name.elf"
    printf '%-28s %8d bytes\n' "bin/rust_$name.elf" "$(stat -c %s "../bin/rust_$name.elf")"
done
