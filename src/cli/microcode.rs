//! `mswap microcode`: the micro-machine's microcode as an assembly
//! listing, or as the Solidity file the contracts take it from.

use super::output::{self, CliError, outln};

/// Arguments of `mswap microcode`.
#[derive(clap::Args)]
pub struct MicrocodeArgs {
    /// Write the Solidity file the contracts take the microcode and the
    /// step's constants from (contracts/src/Generated.sol) instead of the listing.
    #[arg(long, value_name = "FILE")]
    solidity: Option<std::path::PathBuf>,
}

/// `mswap microcode`.
pub fn microcode(a: MicrocodeArgs) -> Result<i32, CliError> {
    let m = mswap::micro::microcode::microcode();
    if let Some(path) = a.solidity {
        output::write_output(&path, mswap::chain::solidity::generated_sol(m).as_bytes())?;
        eprintln!(
            "wrote {} (microcode root {})",
            path.display(),
            output::hash(&m.root)
        );
        return Ok(0);
    }
    outln!(
        "; mswap microcode: {} micro-instructions, {} slots, tree depth {}",
        m.program.words.len(),
        m.slots,
        m.depth
    );
    outln!("; root {}", output::hash(&m.root));
    outln!(
        "; a = {} ({} micro-steps per A-step)",
        mswap::micro::LOG2_USTEPS,
        mswap::micro::USTEPS
    );
    output::write_out_bytes(m.listing().as_bytes());
    Ok(0)
}
