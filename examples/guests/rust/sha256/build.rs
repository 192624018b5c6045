//! This guest streams its input: 64 KiB of heap and 64 KiB of stack do
//! (the guest crate's linker script defaults are 64 MiB and 1 MiB).
fn main() {
    println!("cargo:rustc-link-arg=--defsym=__heap_size=0x10000");
    println!("cargo:rustc-link-arg=--defsym=__stack_size=0x10000");
}
