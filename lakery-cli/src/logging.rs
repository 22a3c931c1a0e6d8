//! Log lines on stderr.

use std::io::IsTerminal;

/// Log lines go to stderr: progress and notices by default, more with -v.
pub fn init(verbose: u8) {
    let default = match verbose {
        0 => "lakery=info,warn",
        1 => "lakery=debug,info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose > 0)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .init();
}
