//! What std's runtime start-up does that macspoof relies on, for the binary's own C entry point
//! (src/main.rs says why it has one).

use std::io;

/// Makes file descriptors 0-2 valid (a closed one is opened on /dev/null, so that no file
/// opened later lands there and receives output meant for stdout or stderr) and ignores
/// SIGPIPE (a reader that went away is a write error to handle, not a kill halfway through
/// panic mode). Both as std's own start-up does.
pub fn init() -> io::Result<()> {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    loop {
        // SAFETY: `fds` is a valid array of three pollfd.
        if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } >= 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    for p in fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0) {
        // SAFETY: a NUL-terminated path; the lowest free descriptor is the closed one.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        if fd != p.fd {
            return Err(io::Error::other(format!(
                "descriptor {} is closed and /dev/null could not take its place",
                p.fd
            )));
        }
    }
    // SAFETY: setting a signal's disposition to SIG_IGN.
    if unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) } == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In a child process with stdin closed and SIGPIPE at its default: after `init`, fd 0 is
    /// /dev/null and SIGPIPE is ignored. The child uses only async-signal-safe calls.
    #[test]
    fn closed_descriptor_becomes_dev_null_and_sigpipe_is_ignored() {
        // SAFETY: plain stat of a NUL-terminated path into a zeroed struct.
        let mut null: libc::stat = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::stat(c"/dev/null".as_ptr(), &mut null) }, 0);
        // SAFETY: the child calls only async-signal-safe functions and ends with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            unsafe {
                libc::close(0);
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                let mut code = 0;
                if init().is_err() {
                    code |= 1;
                }
                let mut st: libc::stat = std::mem::zeroed();
                if libc::fstat(0, &mut st) != 0 || st.st_rdev != null.st_rdev {
                    code |= 2;
                }
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old);
                if old.sa_sigaction != libc::SIG_IGN {
                    code |= 4;
                }
                libc::_exit(code);
            }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status));
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "1: init failed, 2: fd 0, 4: SIGPIPE"
        );
    }
}
