//! Direct state access: the step function runs on a real `Q` and `S`.

use super::{StateAccess, Words};
use crate::micro::isa::Q_WORDS;
use crate::micro::microcode::Microcode;
use std::convert::Infallible;

/// Runs the step function on `q` and `s`, optionally noting every `S`
/// word written (for the double-checker's comparison).
pub struct Direct<'a, S: Words + ?Sized> {
    /// The auxiliary state.
    pub q: &'a mut [u64; Q_WORDS],
    /// The essential state.
    pub s: &'a mut S,
    /// The microcode.
    pub code: &'a Microcode,
    /// `S` word addresses written, if wanted.
    pub written: Option<&'a mut Vec<u64>>,
}

impl<S: Words + ?Sized> StateAccess for Direct<'_, S> {
    type Error = Infallible;

    #[inline(always)]
    fn read_q(&mut self, i: usize) -> Result<u64, Infallible> {
        Ok(self.q.get(i).copied().unwrap_or(0))
    }

    #[inline(always)]
    fn write_q(&mut self, i: usize, v: u64) -> Result<(), Infallible> {
        if let Some(slot) = self.q.get_mut(i) {
            *slot = v;
        }
        Ok(())
    }

    #[inline(always)]
    fn fetch(&mut self, upc: u64) -> Result<u64, Infallible> {
        Ok(self.code.fetch(upc))
    }

    #[inline(always)]
    fn read_s(&mut self, addr: u64) -> Result<u64, Infallible> {
        Ok(self.s.read_word(addr))
    }

    #[inline(always)]
    fn write_s(&mut self, addr: u64, v: u64) -> Result<(), Infallible> {
        if let Some(w) = self.written.as_deref_mut() {
            w.push(addr);
        }
        self.s.write_word(addr, v);
        Ok(())
    }
}
