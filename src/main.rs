//! The `mswap` command: run, check, prove, verify and dispute RV64IMAC programs.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
