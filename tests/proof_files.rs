//! The exported proofs in `proofs/` verify, and are what the current
//! prover makes (regenerate with `cargo run --release --example export_proofs`).

mod support;

use mswap::elf::Program;
use mswap::proof::{ProofFile, binary};
use mswap::prover::{ContextError, check_context, check_context_run, prove_run};
use mswap::verify::verify_step_to;

fn proof_files() -> Vec<(String, ProofFile)> {
    let mut v: Vec<(String, ProofFile)> = std::fs::read_dir(support::proofs_dir())
        .expect("proofs/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter_map(|p| {
            let bytes = std::fs::read(&p).expect("readable");
            let kind = mswap::proof::file::document_type(&bytes).expect("JSON");
            (kind.as_deref() == Some("step-proof")).then(|| {
                let f =
                    ProofFile::from_json(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
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
    for want in support::PROOF_FILES {
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
    let bin = std::fs::read(support::proofs_dir().join("store.bin")).expect("store.bin");
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
    let example = std::fs::read(support::proofs_dir().join("example.elf")).expect("example.elf");
    let fault = std::fs::read(support::proofs_dir().join("fault.elf")).expect("fault.elf");
    let input = std::fs::read(support::proofs_dir().join("example.input")).expect("example.input");
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

/// Every exported proof's context is true: the clock and micro-instruction
/// against the proof, the rest against the program and input it names.
#[test]
fn exported_contexts_check_against_their_programs() {
    let example =
        Program::load(&std::fs::read(support::proofs_dir().join("example.elf")).unwrap()).unwrap();
    let fault =
        Program::load(&std::fs::read(support::proofs_dir().join("fault.elf")).unwrap()).unwrap();
    let input = std::fs::read(support::proofs_dir().join("example.input")).expect("example.input");
    for (name, f) in proof_files() {
        check_context(&f).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (program, inp): (&Program, &[u8]) = if name == "fault.json" {
            (&fault, &[])
        } else {
            (&example, &input)
        };
        check_context_run(&f, program, inp).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The other program is caught by its hash.
        let other = if name == "fault.json" {
            &example
        } else {
            &fault
        };
        assert!(
            matches!(
                check_context_run(&f, other, inp),
                Err(ContextError::Program { .. })
            ),
            "{name}"
        );
    }
}

/// A context that lies is caught: the clock, the micro-instruction, the
/// instruction, the input and the step.
#[test]
fn a_false_context_is_refused() {
    let example =
        Program::load(&std::fs::read(support::proofs_dir().join("example.elf")).unwrap()).unwrap();
    let input = std::fs::read(support::proofs_dir().join("example.input")).expect("example.input");
    let (_, f) = proof_files()
        .into_iter()
        .find(|(n, _)| n == "store.json")
        .unwrap();
    let edit = |e: &dyn Fn(&mut mswap::proof::ProofContext)| {
        let mut g = f.clone();
        e(g.context.as_mut().unwrap());
        g
    };
    let clock = f.proof.q[0] >> 32;
    let g = edit(&|c| c.micro += 1);
    assert_eq!(
        check_context(&g),
        Err(ContextError::Micro {
            stated: clock + 1,
            clock
        })
    );
    let g = edit(&|c| c.uop = "ADD u1, u2, u3".into());
    assert!(matches!(check_context(&g), Err(ContextError::Uop { .. })));
    let g = edit(&|c| c.instruction = "sd x6, 8(x5)".into());
    assert!(check_context(&g).is_ok(), "not visible in the proof alone");
    assert!(matches!(
        check_context_run(&g, &example, &input),
        Err(ContextError::Instruction { step: 4, .. })
    ));
    assert!(matches!(
        check_context_run(&f, &example, b"another input"),
        Err(ContextError::Input { .. })
    ));
    // Step 0 is a `lui`: the instruction gives it away; with the right
    // instruction text, the state is still not root_before.
    let g = edit(&|c| c.step = 0);
    assert!(matches!(
        check_context_run(&g, &example, &input),
        Err(ContextError::Instruction { .. })
    ));
    let lui = prove_run(&example, &input, 0, 41)
        .unwrap()
        .context
        .unwrap()
        .instruction;
    let g = edit(&|c| {
        c.step = 0;
        c.instruction = lui.clone()
    });
    assert!(matches!(
        check_context_run(&g, &example, &input),
        Err(ContextError::RootBefore {
            step: 0,
            micro,
            ..
        }) if micro == clock
    ));
}

/// Proof files are read strictly: a duplicated key at any level, an unknown
/// field (the context included), a word in any but its one form, or
/// another `type` is refused; the file as exported parses.
#[test]
fn proof_files_are_parsed_strictly() {
    let text = std::fs::read_to_string(support::proofs_dir().join("store.json")).unwrap();
    let good = ProofFile::from_json(text.as_bytes()).expect("the export parses");
    // Re-serialized compactly so that edits are plain string replacements.
    let compact = serde_json::to_string(&good).unwrap();
    assert_eq!(ProofFile::from_json(compact.as_bytes()).unwrap(), good);
    let once = |from: &str, to: &str| {
        assert!(compact.contains(from), "{from} not in the file");
        compact.replacen(from, to, 1)
    };
    let refused = |doc: String, why: &str| {
        let e = ProofFile::from_json(doc.as_bytes())
            .err()
            .unwrap_or_else(|| panic!("accepted: {why}"));
        e.to_string()
    };
    // Duplicate keys, at the top, in the context, in the proof, in a leaf
    // proof and in an access.
    for (from, to) in [
        ("{\"type\":", "{\"type\":\"step-proof\",\"type\":"),
        ("\"micro\":", "\"micro\":40,\"micro\":"),
        ("\"s_root\":", "\"version\":1,\"s_root\":"),
        ("\"index\":", "\"index\":0,\"index\":"),
        ("\"addr\":", "\"value\":\"0x0\",\"addr\":"),
    ] {
        let e = refused(once(from, to), from);
        assert!(e.contains("duplicate field"), "{from}: {e}");
    }
    // Unknown fields everywhere, the context included.
    for (from, to) in [
        ("\"micro\":", "\"note\":1,\"micro\":"),
        ("{\"type\":", "{\"extra\":1,\"type\":"),
        ("\"s_root\":", "\"extra\":1,\"s_root\":"),
    ] {
        let e = refused(once(from, to), from);
        assert!(e.contains("unknown field"), "{from}: {e}");
    }
    // Words: only 0x and lowercase digits without leading zeros.
    let word = good.proof.accesses[0].addr;
    let canon = format!("\"{word:#x}\"");
    for bad in [
        format!("\"+{word:#x}\""),
        format!("\"0x+{word:x}\""),
        format!("\"{word:x}\""),
        format!("\"0X{word:x}\""),
        format!("\"0x0{word:x}\""),
        format!("\" {word:#x}\""),
        "\"0x\"".to_string(),
        "\"0x10000000000000000\"".to_string(),
    ] {
        let e = refused(once(&canon, &bad), &bad);
        assert!(e.contains("expected a 64-bit word"), "{bad}: {e}");
    }
    let parse = mswap::proof::hexbytes::u64hex::parse;
    assert_eq!(parse("0x0"), Ok(0));
    assert_eq!(parse("0xffffffffffffffff"), Ok(u64::MAX));
    for bad in ["0xAB", "0xaB", "0x00", "0x-1", "0x1_0", "ab", "", "0x 1"] {
        assert!(parse(bad).is_err(), "{bad:?} accepted");
    }
    let e = refused(once("\"step-proof\"", "\"transcript\""), "type");
    assert!(e.contains("expected \"step-proof\""), "{e}");
}
