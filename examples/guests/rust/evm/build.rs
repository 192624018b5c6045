//! A state test may grow the EVM's memory far beyond the guest crate's
//! 64 MiB heap: `static_Call1MB1024Calldepth` keeps 1 MB of memory in each
//! of 1024 nested frames, and revm's shared buffer then asks for 1 GB at
//! once. So the heap is 2 GiB less 16 MiB: the code reaches its symbols
//! pc-relatively (the medany code model, within 2 GiB), and the heap's end
//! is one of them. Memory that the guest never touches costs mswap
//! nothing (its memory is sparse).
fn main() {
    println!("cargo:rustc-link-arg=--defsym=__heap_size=0x7F000000");
}
