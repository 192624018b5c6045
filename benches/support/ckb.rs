//! ckb-vm machines with mswap's I/O system calls, shared by the benches.
#![allow(dead_code)]

use ckb_vm::registers::{A0, A1, A2, A7};
use ckb_vm::{Bytes, DefaultMachineRunner, Memory, Register, SupportMachine, Syscalls};
use std::sync::{Arc, Mutex};

/// write (64) to a shared buffer and read (63) from the input; exit (93) is ckb-vm's own.
pub struct Io {
    pub out: Arc<Mutex<Vec<u8>>>,
    pub input: Vec<u8>,
    pub pos: usize,
}

impl<Mac: SupportMachine> Syscalls<Mac> for Io {
    fn initialize(&mut self, _: &mut Mac) -> Result<(), ckb_vm::Error> {
        Ok(())
    }

    fn ecall(&mut self, m: &mut Mac) -> Result<bool, ckb_vm::Error> {
        let n = m.registers()[A7].to_u64();
        let (a0, buf, len) = (
            m.registers()[A0].to_u64(),
            m.registers()[A1].to_u64(),
            m.registers()[A2].to_u64(),
        );
        match n {
            64 => {
                let mut out = self.out.lock().unwrap();
                for i in 0..len {
                    out.push(m.memory_mut().load8(&Mac::REG::from_u64(buf + i))?.to_u8());
                }
                let _ = a0;
                m.set_register(A0, Mac::REG::from_u64(len));
                Ok(true)
            }
            63 => {
                let k = (len as usize).min(self.input.len() - self.pos);
                for i in 0..k {
                    m.memory_mut().store8(
                        &Mac::REG::from_u64(buf + i as u64),
                        &Mac::REG::from_u8(self.input[self.pos + i]),
                    )?;
                }
                self.pos += k;
                m.set_register(A0, Mac::REG::from_u64(k as u64));
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// ckb-vm's memory (its maximum, 4 MiB; rust_sha256 links a small heap to fit).
pub const MEMORY: usize = ckb_vm::RISCV_MAX_MEMORY;
const ISA: u8 = ckb_vm::ISA_IMC | ckb_vm::ISA_A | ckb_vm::ISA_B | ckb_vm::ISA_MOP;

/// A ckb-vm machine over `core` counting one cycle per instruction, with our I/O.
fn machine<C: SupportMachine>(
    core: C,
    input: &[u8],
    out: &Arc<Mutex<Vec<u8>>>,
) -> ckb_vm::DefaultMachine<C> {
    ckb_vm::DefaultMachineBuilder::new(core)
        .instruction_cycle_func(Box::new(|_| 1))
        .syscall(Box::new(Io {
            out: out.clone(),
            input: input.to_vec(),
            pos: 0,
        }))
        .build()
}

/// A ckb-vm runner: `elf`, input and memory size to (instructions, output, exit code).
pub type Run = fn(&[u8], &[u8], usize) -> (u64, Vec<u8>, i8);

/// Runs `elf` on ckb-vm's Rust interpreter: (instructions, output, exit code).
pub fn trace(elf: &[u8], input: &[u8], memory: usize) -> (u64, Vec<u8>, i8) {
    type Core = ckb_vm::DefaultCoreMachine<u64, ckb_vm::WXorXMemory<ckb_vm::SparseMemory<u64>>>;
    let out = Arc::new(Mutex::new(Vec::new()));
    let core = Core::new_with_memory(ISA, ckb_vm::machine::VERSION2, u64::MAX, memory);
    let mut m = ckb_vm::TraceMachine::new(machine(core, input, &out));
    m.load_program(&Bytes::copy_from_slice(elf), std::iter::empty())
        .expect("ckb-vm loads");
    let code = m.run().expect("ckb-vm runs");
    let o = out.lock().unwrap().clone();
    (m.machine.cycles(), o, code)
}

/// Runs `elf` on ckb-vm's assembly interpreter.
pub fn asm(elf: &[u8], input: &[u8], memory: usize) -> (u64, Vec<u8>, i8) {
    use ckb_vm::machine::asm::{AsmCoreMachine, AsmMachine};
    let out = Arc::new(Mutex::new(Vec::new()));
    let core = <Box<AsmCoreMachine> as SupportMachine>::new_with_memory(
        ISA,
        ckb_vm::machine::VERSION2,
        u64::MAX,
        memory,
    );
    let mut m = AsmMachine::new(machine(core, input, &out));
    m.load_program(&Bytes::copy_from_slice(elf), std::iter::empty())
        .expect("ckb-vm asm loads");
    let code = m.run().expect("ckb-vm asm runs");
    let o = out.lock().unwrap().clone();
    (m.machine.cycles(), o, code)
}
