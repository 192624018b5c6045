//! No ELF file makes the loader or the machines panic: every truncation of
//! real guests and random corruptions of their headers either load (and then
//! run, fault or stop cleanly) or give an error naming the problem.

mod support;

use mswap::elf::{ElfError, Program};
use mswap::fast::Machine;

#[test]
fn truncations_and_corruptions_never_panic() {
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for name in ["hello", "sort", "fault_fetch"] {
        let elf = support::guest_bytes(name);
        for cut in (0..elf.len()).step_by(7) {
            assert!(
                Program::load(&elf[..cut]).is_err(),
                "{name} cut at {cut} loads"
            );
        }
        let mut loaded = 0;
        for _ in 0..3000 {
            let mut e = elf.clone();
            for _ in 0..1 + next() % 3 {
                // Mostly the ELF header and program headers, sometimes anywhere.
                let i = if next() % 4 == 0 {
                    next() as usize % e.len()
                } else {
                    next() as usize % 0x100
                };
                e[i] ^= 1 << (next() % 8);
            }
            match Program::load(&e) {
                Ok(p) => {
                    loaded += 1;
                    let mut m = Machine::new(p.initial_state(b"1 2 3"));
                    m.run(20_000);
                }
                Err(err) => {
                    let msg = err.to_string();
                    assert!(!msg.is_empty() && !msg.contains('\n'), "{msg:?}");
                }
            }
        }
        assert!(loaded > 0, "{name}: some corruptions are harmless");
    }
    assert_eq!(
        Program::load(b"\x7fELF\x02\x01\x01").unwrap_err(),
        ElfError::TooShort(7)
    );
}
