//! The exported proofs in `proofs/` verify, and are what the current
//! prover makes (regenerate with `cargo run --release --example export_proofs`).

use mswap::elf::Program;
use mswap::proof::{ProofFile, binary};
use mswap::prover::prove_run;
use mswap::verify::verify_step_to;
use std::path::{Path, PathBuf};

fn proofs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("proofs")
}

fn proof_files() -> Vec<(String, ProofFile)> {
    let mut v: Vec<(String, ProofFile)> = std::fs::read_dir(proofs_dir())
        .expect("proofs/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable");
            let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            (v["type"] == "step-proof").then(|| {
                let f: ProofFile =
                    serde_json::from_value(v).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                (p.file_name().unwrap().to_string_lossy().into_owned(), f)
            })
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn every_exported_proof_verifies() {
    let files = proof_files();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "alu.json",
        "clean.json",
        "exit.json",
        "fault.json",
        "fetch.json",
        "idle.json",
        "load.json",
        "read.json",
        "store.json",
        "write.json",
    ] {
        assert!(names.contains(&want), "proofs/{want} is missing");
    }
    for (name, f) in &files {
        verify_step_to(&f.root_before, &f.proof, &f.root_after)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            binary::encode(&f.proof).len() <= 2048,
            "{name}: larger than 2 KiB"
        );
    }
}

#[test]
fn the_binary_example_is_the_json_example() {
    let bin = std::fs::read(proofs_dir().join("store.bin")).expect("store.bin");
    let decoded = binary::decode(&bin).expect("decodes");
    let (_, json) = proof_files()
        .into_iter()
        .find(|(n, _)| n == "store.json")
        .expect("store.json");
    assert_eq!(decoded, json.proof);
    assert_eq!(binary::encode(&decoded), bin);
}

#[test]
fn exported_proofs_are_up_to_date() {
    let example = std::fs::read(proofs_dir().join("example.elf")).expect("example.elf");
    let fault = std::fs::read(proofs_dir().join("fault.elf")).expect("fault.elf");
    let input = std::fs::read(proofs_dir().join("example.input")).expect("example.input");
    for (name, f) in proof_files() {
        let c = f.context.as_ref().expect("context");
        let (elf, inp): (&[u8], &[u8]) = if name == "fault.json" {
            (&fault, &[])
        } else {
            (&example, &input)
        };
        let program = Program::load(elf).expect("loads");
        assert_eq!(program.hash, c.program, "{name}: program hash");
        let again = prove_run(&program, inp, c.step, c.micro).expect("proves");
        assert_eq!(
            again, f,
            "{name} is stale: run `cargo run --release --example export_proofs` and commit proofs/"
        );
    }
}
