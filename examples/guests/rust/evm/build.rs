//! A state test may grow the EVM's memory to tens of megabytes in one call
//! frame (`static_Call1MB1024Calldepth` asks revm for 64 MB at once), so
//! the heap is 1 GiB instead of the guest crate's 64 MiB. Memory that the
//! guest never touches costs mswap nothing (its memory is sparse).
fn main() {
    println!("cargo:rustc-link-arg=--defsym=__heap_size=0x40000000");
}
