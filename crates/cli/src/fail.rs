//! How the binary fails: one line on stderr and an exit code (DESIGN §4).

use std::process::ExitCode;

use pumpguard_store::StoreError;

/// A failure to report: `error: {message}` and exit `code`.
#[derive(Debug)]
pub struct Fail {
    code: u8,
    message: String,
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Fail {
    /// Exit 2: the input or the usage is wrong.
    pub fn input(message: impl Into<String>) -> Fail {
        Fail {
            code: 2,
            message: message.into(),
        }
    }

    /// Exit 1: the machine, the database or the data under check failed.
    pub fn runtime(message: impl Into<String>) -> Fail {
        Fail {
            code: 1,
            message: message.into(),
        }
    }

    #[allow(clippy::print_stderr)]
    pub fn report(self) -> ExitCode {
        // One line, whatever the message holds.
        let line = self.message.replace(['\n', '\r'], " ");
        eprintln!("error: {line}");
        ExitCode::from(self.code)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Fail {
        if e.is_bad_input() {
            Fail::input(e.to_string())
        } else {
            Fail::runtime(e.to_string())
        }
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Fail {
        Fail::runtime(e.to_string())
    }
}
