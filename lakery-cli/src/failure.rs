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

    /// The same failure without the secrets of the database URL `url` in its message:
    /// the URL as given is shown redacted, and its password and secret parameters
    /// wherever else they appear (a driver may quote part of the URL, such as a SQLite
    /// path with its query).
    pub fn hiding_secrets_of(self, url: &str) -> Failure {
        let shown = lakery::redact_url(url);
        let mut message = self.message.replace(url, &shown);
        for secret in url_secrets(url, &shown) {
            message = message.replace(&secret, "***");
        }
        Failure { message, ..self }
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

/// The secrets of `url`: what [`lakery::redact_url`] replaced in it (`shown`), its
/// password and the values of its secret parameters, as written and decoded.
fn url_secrets(url: &str, shown: &str) -> Vec<String> {
    let (Ok(given), Ok(shown)) = (url::Url::parse(url), url::Url::parse(shown)) else {
        return Vec::new();
    };
    let mut secrets: Vec<String> = given.password().map(str::to_owned).into_iter().collect();
    for ((_, value), (_, redacted)) in given.query_pairs().zip(shown.query_pairs()) {
        if value != redacted {
            secrets.push(value.into_owned());
        }
    }
    let decoded: Vec<String> = secrets
        .iter()
        .filter_map(|s| percent_encoding::percent_decode_str(s).decode_utf8().ok())
        .map(|s| s.into_owned())
        .collect();
    secrets.extend(decoded);
    secrets.extend(raw_query_values(&given, &shown));
    // Longest first, so that a secret inside another is not replaced first; empty ones
    // would match everywhere.
    secrets.retain(|s| !s.is_empty());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

/// The values of `given`'s query as written (percent-encoded), where `shown` differs.
fn raw_query_values(given: &url::Url, shown: &url::Url) -> Vec<String> {
    let pairs = |url: &url::Url| -> Vec<String> {
        url.query()
            .unwrap_or("")
            .split('&')
            .map(|pair| pair.split_once('=').map_or("", |(_, v)| v).to_owned())
            .collect()
    };
    pairs(given)
        .into_iter()
        .zip(pairs(shown))
        .filter(|(value, redacted)| value != redacted && redacted == "***")
        .map(|(value, _)| value)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secrets_of_a_url_are_hidden_wherever_a_message_quotes_them() {
        let url = "sqlite:///no/such/x.db?password=p%40ss&mode=ro";
        let failure = Failure::usage(format!(
            "the file `/no/such/x.db?password=p%40ss&mode=ro` and {url}"
        ));
        let message = failure.hiding_secrets_of(url).message;
        assert!(
            !message.contains("p%40ss") && !message.contains("p@ss"),
            "{message}"
        );
        assert!(message.contains("mode=ro"), "{message}");
        let url = "postgres://u:s3cr%3At@host/db?sslpassword=k3y";
        let failure = Failure::usage("s3cr:t s3cr%3At k3y".to_owned());
        assert_eq!(failure.hiding_secrets_of(url).message, "*** *** ***");
    }
}
