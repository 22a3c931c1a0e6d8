//! Why a command stopped, and the exit code that says so.

use std::process::ExitCode;

/// A command's failure: its exit code (2 bad usage or configuration, 3 no such manifest
/// or content, 4 the database or a storage failed) and its message for stderr.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// Bad usage or configuration: exit code 2.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    /// Writes the message, if there is one, and gives the exit code.
    pub fn report(self) -> ExitCode {
        if !self.message.is_empty() {
            eprintln!("lakery: {}", self.message);
        }
        ExitCode::from(self.code)
    }
}

impl From<lakery::Error> for Failure {
    fn from(error: lakery::Error) -> Failure {
        let code = match error {
            lakery::Error::ManifestNotFound(_) | lakery::Error::MissingContent { .. } => 3,
            _ => 4,
        };
        Failure {
            code,
            message: error.to_string(),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Failure {
        // A reader that stopped early (`lakery cat ... | head`) is not a failure.
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            return Failure {
                code: 0,
                message: String::new(),
            };
        }
        Failure {
            code: 4,
            message: error.to_string(),
        }
    }
}
