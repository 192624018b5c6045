#!/usr/bin/env bash
# Builds the Rust example guests (this workspace, with the guest crate in
# ../../../guest) for riscv64imac-unknown-none-elf, and copies each into
# ../bin/rust_<name>.elf, the committed ELFs (so that running and testing
# mswap need no Rust cross toolchain).
#
# Reproducible: the toolchain is pinned (rust-toolchain.toml), the
# dependencies are locked (Cargo.lock), and the two paths that would reach
# the binary (panic locations) are remapped: the cargo home to /cargo and
# this repository to /mswap; the symbol table is stripped. CI rebuilds and diffs. A plain
# `cargo build --release` here works too (.cargo/config.toml selects the
# target and the linker script), with local paths in panic messages.
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
repo=$(cd ../../.. && pwd)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# Cargo names the guest crate (a path dependency outside this workspace)
# with a hash of its absolute path, and that hash orders the functions in
# the binary: so the sources are built from one fixed place, whatever the
# checkout's path.
fixed=${TMPDIR:-/tmp}/mswap-guests-build
rm -rf "$fixed/src"
mkdir -p "$fixed/src/examples/guests"
cp -r "$repo/guest" "$fixed/src/guest"
rm -rf "$fixed/src/guest/target"
mkdir -p "$fixed/src/examples/guests/rust"
for f in Cargo.toml Cargo.lock rust-toolchain.toml .cargo sha256 json panic words evm; do
    cp -r "$f" "$fixed/src/examples/guests/rust/"
done
cd "$fixed/src/examples/guests/rust"
export CARGO_TARGET_DIR="$fixed/target"
export RUSTFLAGS="-C link-arg=-Tmswap-guest.x --remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$fixed/src=/mswap"
# Built separately: one cargo invocation unifies the features of shared
# dependencies (serde, sha2's digest, ...), which would change the bytes.
cargo build --release --locked
names="sha256 json panic words"
if [ "${1:-}" = "--evm" ]; then
    cargo build --release --locked -p evm
    names="$names evm"
fi
for name in $names; do
    # The symbol table names each crate with a hash that depends on where
    # the repository is checked out; nothing loads it, so it is stripped.
    riscv64-unknown-elf-strip --strip-all -o "$here/../bin/rust_$name.elf.tmp" \
        "$CARGO_TARGET_DIR/riscv64imac-unknown-none-elf/release/$name"
    mv "$here/../bin/rust_$name.elf.tmp" "$here/../bin/rust_$name.elf"
    printf '%-28s %8d bytes\n' "bin/rust_$name.elf" "$(stat -c %s "$here/../bin/rust_$name.elf")"
done
