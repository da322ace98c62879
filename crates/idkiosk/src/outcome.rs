//! How a command ended, the one type every `cmd_*::run` returns. The process's exit code is
//! decided from it in `main` and nowhere else.

use std::process::ExitCode;

/// How a command ended without an internal failure (that is `Err`, exit code 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0: done, or the answer asked for is yes.
    Success,
    /// Exit code 1: a negative answer the command was asked for (an invalid ID number, a failed
    /// device read, a chain that does not verify, a configuration file that does not check).
    Negative,
    /// Exit code 2: bad usage or a malformed input, already explained on standard error or in the
    /// JSON answer (a process whose configuration file is wrong stops with it).
    Usage,
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Negative => 1,
            Outcome::Usage => 2,
        }
    }

    /// `Success` when `yes`, else `Negative`.
    pub fn answer(yes: bool) -> Outcome {
        if yes {
            Outcome::Success
        } else {
            Outcome::Negative
        }
    }
}

/// The exit code of a command's result: the only mapping in the binary.
pub fn exit_code(result: anyhow::Result<Outcome>) -> ExitCode {
    match result {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(3)
        }
    }
}
