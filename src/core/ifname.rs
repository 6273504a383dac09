//! Interface-name validation, as the kernel's dev_valid_name() does it.

/// IFNAMSIZ includes the terminating NUL.
pub const IFNAMSIZ: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IfNameError {
    #[error("empty interface name")]
    Empty,
    #[error("interface name {0:?} is too long (at most 15 bytes)")]
    TooLong(String),
    #[error("interface name {0:?} contains '/', ':' or whitespace, or is '.' or '..'")]
    BadChar(String),
}

/// Checks a name the way the kernel would before it is used in a request or a sysfs path.
pub fn validate(name: &str) -> Result<(), IfNameError> {
    if name.is_empty() {
        return Err(IfNameError::Empty);
    }
    if name.len() >= IFNAMSIZ {
        return Err(IfNameError::TooLong(name.to_string()));
    }
    if name == "."
        || name == ".."
        || name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace())
    {
        return Err(IfNameError::BadChar(name.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_names() {
        for n in ["eth0", "enp3s0", "wlp0s20f3", "veth-a_b.1", "x"] {
            validate(n).unwrap();
        }
        validate("abcdefghijklmno").unwrap();
    }

    #[test]
    fn rejects_bad_names() {
        assert_eq!(validate(""), Err(IfNameError::Empty));
        assert!(matches!(
            validate("abcdefghijklmnop"),
            Err(IfNameError::TooLong(_))
        ));
        for n in ["a/b", "../x", ".", "..", "a b", "a:1", "a\tb", "a\0"] {
            assert!(matches!(validate(n), Err(IfNameError::BadChar(_))), "{n:?}");
        }
    }
}
