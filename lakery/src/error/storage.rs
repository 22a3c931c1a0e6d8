//! The error a [`Storage`](crate::Storage) returns: what kind of failure, whether a
//! retry may help, and the cause.

use std::fmt;

/// What kind of failure a [`StorageError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// The config points at nothing: the data was deleted or never written.
    NotFound,
    /// The config is malformed or points outside the storage.
    InvalidConfig,
    /// An I/O or network failure.
    Io,
    /// The storage does not support the operation (listing, for example).
    Unsupported,
    /// The storage refused the credentials, or their permissions do not allow it.
    PermissionDenied,
    /// Anything else.
    Other,
}

/// An error from a [`Storage`](crate::Storage).
#[derive(Debug)]
pub struct StorageError {
    kind: StorageErrorKind,
    retryable: bool,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StorageError {
    /// A new error of `kind` with a message saying what failed.
    pub fn new(kind: StorageErrorKind, message: impl Into<String>) -> Self {
        StorageError {
            kind,
            retryable: false,
            message: message.into(),
            source: None,
        }
    }

    /// Marks whether trying again later may succeed: a failed connection or a timeout,
    /// as opposed to a missing object or refused credentials.
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// Attaches the underlying error.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StorageErrorKind {
        self.kind
    }

    pub(crate) fn io(message: impl Into<String>, source: std::io::Error) -> Self {
        let kind = if source.kind() == std::io::ErrorKind::NotFound {
            StorageErrorKind::NotFound
        } else {
            StorageErrorKind::Io
        };
        StorageError::new(kind, message).with_source(source)
    }

    /// The error a storage returns for an optional operation it does not support.
    pub fn unsupported(operation: &str) -> Self {
        StorageError::new(
            StorageErrorKind::Unsupported,
            format!("this storage does not support {operation}"),
        )
    }

    pub(crate) fn invalid_config(config: &serde_json::Value, reason: impl fmt::Display) -> Self {
        StorageError::new(
            StorageErrorKind::InvalidConfig,
            format!("invalid storage config {config}: {reason}"),
        )
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        if self.retryable {
            f.write_str(" (a transient failure: a retry may help)")?;
        }
        Ok(())
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
