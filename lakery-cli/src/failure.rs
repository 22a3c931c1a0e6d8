//! Why a command stopped, and the exit code that says so.

use std::process::ExitCode;

use crate::shown::shown_lines;

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

    /// The same failure with every `secret` in its message shown as `shown`: for a
    /// database URL that an error quoted as given.
    pub fn hiding(self, secret: &str, shown: &str) -> Failure {
        if secret.is_empty() || secret == shown {
            return self;
        }
        Failure {
            message: self.message.replace(secret, shown),
            ..self
        }
    }

    /// Writes the message, if there is one, and gives the exit code. Messages quote
    /// stored keys and names, so control characters in them are shown escaped.
    pub fn report(self) -> ExitCode {
        if !self.message.is_empty() {
            eprintln!("lakery: {}", shown_lines(&self.message));
        }
        ExitCode::from(self.code)
    }
}

impl From<lakery::Error> for Failure {
    fn from(error: lakery::Error) -> Failure {
        use lakery::Error::*;
        let code = match error {
            // What the user asked for or configured, not what the database holds.
            InvalidDatabaseUrl { .. }
            | InvalidQuery(_)
            | InvalidTag { .. }
            | Registry(_)
            | StorageSetup(_)
            | UnknownStorage { .. } => 2,
            ManifestNotFound(_) | MissingContent { .. } | BlobMissing { .. } => 3,
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
