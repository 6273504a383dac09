//! The kernel CSPRNG.

use crate::core::generate::{Entropy, EntropyError};

/// getrandom(2), called directly; blocks only until the CRNG is initialised. Not through the
/// getrandom crate: it finds glibc's function with dlsym, which fails in the static binary that
/// ships, and then falls back to polling /dev/random and reading /dev/urandom (five more system
/// calls on every device added, and a dependency on /dev being populated).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        let mut done = 0;
        while done < buf.len() {
            let rest = &mut buf[done..];
            // SAFETY: `rest` is writable for `rest.len()` bytes.
            let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(EntropyError(e.to_string()));
            }
            done += n as usize;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills the whole buffer (more than one page, so short reads would show), with bytes that
    /// are not left zero and differ between calls.
    #[test]
    fn fills_whole_buffer_with_fresh_bytes() {
        let (mut a, mut b) = (vec![0u8; 5000], vec![0u8; 5000]);
        OsEntropy.fill(&mut a).unwrap();
        OsEntropy.fill(&mut b).unwrap();
        assert_ne!(a, b);
        // Zero bytes expected: about 20 of 5000 per buffer; a tail left unfilled would be many.
        for buf in [&a, &b] {
            assert!(buf[4000..].iter().filter(|&&x| x == 0).count() < 30);
            assert!(buf.iter().filter(|&&x| x == 0).count() < 60);
        }
    }
}
