//! Exit codes (DESIGN §3), decided in one place from the core's error classes.
use crate::error::{Class, Error};

pub const OK: i32 = 0;
pub const REJECTED: i32 = 1;
pub const USAGE: i32 = 2;
pub const IO: i32 = 3;
pub const BUSY: i32 = 4;

pub fn code(e: &Error) -> i32 {
    match e.class() {
        Class::Rejected => REJECTED,
        Class::Usage => USAGE,
        Class::Io => IO,
        Class::Busy => BUSY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_table() {
        let io = std::io::Error::other("x");
        assert_eq!(code(&Error::rejected("b", "bad-signature", "x")), 1);
        assert_eq!(code(&Error::usage("x")), 2);
        assert_eq!(code(&Error::io("p", io)), 3);
        assert_eq!(code(&Error::Env("x".into())), 3);
        assert_eq!(code(&Error::Busy { home: "h".into() }), 4);
    }
}
