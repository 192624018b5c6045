//! Puts the linker script `mswap-guest.x` on the linker's search path, so
//! that a guest links with `-C link-arg=-Tmswap-guest.x` (set by the
//! guest's `.cargo/config.toml`).

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("mswap-guest.x"), include_bytes!("mswap-guest.x"))
        .expect("write the linker script");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=mswap-guest.x");
}
