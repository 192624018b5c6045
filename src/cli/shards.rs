//! `mswap check --shard K/N --out FILE.json` (one shard of a double-check,
//! one job of a batch array) and `mswap check --merge FILE.json...` (a
//! whole set of shard certificates into one verdict).

use super::input::{InputArg, Source, load_program, read_file};
use super::output::{self, CliError, Exit, outln};
use super::progress::Progress;
use mswap::check::Options;
use mswap::check::merge::{Merged, merge as merge_set};
use mswap::check::shard::{Certificate, MismatchRecord, ShardId, ShardOptions, check_shard};
use mswap::hash::Hash;
use mswap::micro::microcode::microcode;
use serde::Serialize;
use std::path::Path;
use std::sync::OnceLock;

/// The keys `mswap check --json` and `mswap check --merge --json` share.
#[derive(Serialize)]
pub(super) struct RunOut {
    pub(super) program: Hash,
    pub(super) input: Hash,
    pub(super) valid: bool,
    pub(super) transitions: u64,
    pub(super) halted_after: Option<u64>,
    pub(super) micro_steps: u64,
    pub(super) max_micro_steps: u64,
}

/// The largest certificate file read (a certificate is about 2 KiB).
const MAX_CERTIFICATE_BYTES: u64 = 1 << 20;

/// What `mswap check --shard` needs.
pub struct ShardArgs<'a> {
    /// The program.
    pub elf: &'a Path,
    /// Its input.
    pub input: &'a InputArg,
    /// Which shard.
    pub id: ShardId,
    /// Where the certificate goes.
    pub out: &'a Path,
    /// `--threads`.
    pub threads: Option<usize>,
    /// `--max-steps`.
    pub max_steps: Option<u64>,
    /// Print the certificate on stdout too.
    pub json: bool,
}

/// An absolute form of `p` for a certificate (a merge may run elsewhere).
fn absolute(p: &Path) -> String {
    std::fs::canonicalize(p)
        .or_else(|_| std::path::absolute(p))
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// `mswap check ELF --shard K/N --out FILE.json`.
pub fn shard(a: ShardArgs) -> Result<i32, CliError> {
    output::check_writable("--out", a.out)?;
    let program = load_program(a.elf)?;
    let input = a.input.read()?;
    let input_path = match a.input.source() {
        Source::File(p) => Some(absolute(&p)),
        Source::Stdin | Source::Terminal => None,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads.unwrap_or(0))
        .build()
        .map_err(|e| CliError::io(format!("cannot start worker threads: {e}")))?;
    let id = a.id;
    eprintln!("mswap: shard {id}: running the program once to find its length and the range");
    let progress: OnceLock<Progress> = OnceLock::new();
    let on_range = |first: u64, end: u64| {
        eprintln!(
            "mswap: shard {id}: transitions {first}..{end}, reached with machine A from the nearest snapshot"
        );
        let _ = progress.set(Progress::with_unit(
            &format!("checking shard {id}"),
            "transitions",
            Some(end - first),
        ));
    };
    let report = |n: u64| {
        if let Some(p) = progress.get() {
            p.add(n)
        }
    };
    let opts = ShardOptions {
        id,
        max_steps: a.max_steps,
        check: Options {
            progress: Some(&report),
            ..Options::default()
        },
        on_range: Some(&on_range),
    };
    let cert = pool.install(|| {
        check_shard(
            &program,
            &input,
            &opts,
            microcode(),
            Some(absolute(a.elf)),
            input_path,
        )
    });
    if let Some(p) = progress.get() {
        p.finish();
    }
    let mut text = serde_json::to_string_pretty(&cert)
        .map_err(|e| CliError::io(format!("cannot encode the certificate: {e}")))?;
    text.push('\n');
    output::write_output(a.out, text.as_bytes())?;
    if a.json {
        if a.out.as_os_str() != "-" {
            output::json_final(&cert);
        }
    } else if a.out.as_os_str() != "-" {
        print_certificate(&cert, a.out);
    }
    match &cert.mismatch {
        None => Ok(Exit::Ok.code()),
        Some(m) => Err(CliError::negative(format!(
            "shard {id}: double-check failed at {} (the certificate says so)",
            m.difference
        ))),
    }
}

fn print_certificate(c: &Certificate, out: &Path) {
    outln!(
        "shard:               {}/{}: transitions {}..{} of {}",
        c.shard,
        c.shards,
        c.first_step,
        c.end_step,
        c.run_transitions
    );
    outln!("start root:          {}", output::hash(&c.start_root));
    match &c.end_root {
        Some(r) => outln!("end root:            {}", output::hash(r)),
        None => outln!("end root:            - (a mismatch)"),
    }
    outln!("transitions checked: {}", c.transitions);
    outln!("micro-steps run:     {}", c.micro_steps);
    outln!(
        "verdict:             {}",
        if c.valid { "valid" } else { "MISMATCH" }
    );
    outln!(
        "time:                {:.3} s ({:.3} s to find the length and reach the start: {} steps of machine A)",
        c.seconds,
        c.reach_seconds,
        c.fast_steps
    );
    outln!("certificate:         {}", out.display());
}

/// Reads one certificate, naming the file in every error.
fn read_certificate(p: &Path) -> Result<Certificate, CliError> {
    let meta = std::fs::metadata(p)
        .map_err(|e| CliError::io(format!("cannot read {}: {e}", p.display())))?;
    if meta.len() > MAX_CERTIFICATE_BYTES {
        return Err(CliError::usage(format!(
            "{}: {} bytes is not a shard certificate (at most {MAX_CERTIFICATE_BYTES})",
            p.display(),
            meta.len()
        )));
    }
    let bytes = read_file(p)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| CliError::usage(format!("{}: not a shard certificate: {e}", p.display())))
}

/// The mismatch of a merged verdict in `--json`.
#[derive(Serialize)]
struct MismatchOut {
    shard: u64,
    #[serde(flatten)]
    mismatch: MismatchRecord,
}

/// `mswap check --merge --json`: the keys of `mswap check --json` where
/// they mean the same, and the set's own.
#[derive(Serialize)]
struct MergeOut {
    #[serde(flatten)]
    run: RunOut,
    final_root: Option<Hash>,
    shards: u64,
    initial_root: Hash,
    commitment: Hash,
    shard_seconds: f64,
    slowest_shard_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    mismatch: Option<MismatchOut>,
}

/// `mswap check [ELF] [--input FILE] --merge FILE.json...`.
pub fn merge(
    files: &[std::path::PathBuf],
    elf: Option<&Path>,
    input: &InputArg,
    json: bool,
) -> Result<i32, CliError> {
    input.check()?;
    let mut certs = Vec::with_capacity(files.len());
    for f in files {
        certs.push((f.display().to_string(), read_certificate(f)?));
    }
    let (name0, c0) = &certs[0];
    let from_certificate = |field: &str, path: &Option<String>| {
        path.clone().ok_or_else(|| {
            CliError::usage(format!(
                "{name0}: {field} is null: give the {} on the command line",
                if field == "elf_path" {
                    "ELF file"
                } else {
                    "input (--input FILE)"
                }
            ))
        })
    };
    let elf_path = match elf {
        Some(p) => p.to_path_buf(),
        None => from_certificate("elf_path", &c0.elf_path)?.into(),
    };
    let program = load_program(&elf_path).map_err(|e| {
        if elf.is_none() {
            CliError {
                msg: format!("{} (elf_path of {name0})", e.msg),
                ..e
            }
        } else {
            e
        }
    })?;
    let input = match (&input.input, &c0.input_path) {
        (None, Some(p)) => read_file(Path::new(p)).map_err(|e| CliError {
            msg: format!("{} (input_path of {name0})", e.msg),
            ..e
        })?,
        _ => input.read()?,
    };
    let m = merge_set(&certs, &program, &input, microcode())
        .map_err(|e| CliError::negative(format!("the shards do not make one verdict: {e}")))?;
    if json {
        output::json_final(&merge_out(&m));
    } else {
        print_merged(&m);
    }
    match &m.mismatch {
        None => Ok(Exit::Ok.code()),
        Some((k, mm)) => Err(CliError::negative(format!(
            "double-check failed at {} (shard {k})",
            mm.difference
        ))),
    }
}

fn merge_out(m: &Merged) -> MergeOut {
    MergeOut {
        run: RunOut {
            program: m.program,
            input: m.input,
            valid: m.valid,
            transitions: m.transitions,
            halted_after: m.halted_after,
            micro_steps: m.micro_steps,
            max_micro_steps: m.max_micro_steps,
        },
        final_root: m.final_root,
        shards: m.shards,
        initial_root: m.initial_root,
        commitment: m.commitment,
        shard_seconds: m.shard_seconds,
        slowest_shard_seconds: m.slowest_shard_seconds,
        mismatch: m.mismatch.as_ref().map(|(k, mm)| MismatchOut {
            shard: *k,
            mismatch: mm.clone(),
        }),
    }
}

fn print_merged(m: &Merged) {
    outln!(
        "shards:              {} (tile transitions 0..{}, linked from the initial root {})",
        m.shards,
        m.run_transitions,
        output::hash(&m.initial_root)
    );
    outln!("transitions checked: {}", m.transitions);
    match m.halted_after {
        Some(h) => {
            outln!("halted after:        {h} steps (later steps are the identity, checked once)")
        }
        None => outln!("halted after:        - (still running at the end)"),
    }
    outln!("micro-steps run:     {}", m.micro_steps);
    outln!(
        "most micro-steps:    {} per instruction (bound 2^a - 1 = {})",
        m.max_micro_steps,
        mswap::micro::CLEAN_AT
    );
    outln!(
        "verdict:             {}",
        if m.valid { "valid" } else { "MISMATCH" }
    );
    if let Some(r) = m.final_root {
        outln!("final root:          {}", output::hash(&r));
    }
    outln!(
        "commitment:          {} (Merkle root of the boundary roots)",
        output::hash(&m.commitment)
    );
    outln!(
        "shard time:          {:.3} s in all, {:.3} s the slowest",
        m.shard_seconds,
        m.slowest_shard_seconds
    );
}
