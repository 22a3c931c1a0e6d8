//! Progress of long work: a bar on a terminal, plain log lines otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use lakery::Progress;

/// How often a log line is written when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(2);

/// Shows how far `what` (`verify`, `gc`, `rm`) has come.
pub enum Reporter {
    Bar(ProgressBar, &'static str),
    Log {
        what: &'static str,
        unit: &'static str,
        last: Instant,
        latest: (u64, Option<u64>, Option<u64>),
    },
}

impl Reporter {
    /// A bar when stderr is a terminal, log lines through `tracing` otherwise.
    pub fn new(what: &'static str, unit: &'static str) -> Reporter {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{what} {{spinner}} {{pos}} {unit}, {{msg}} [{{elapsed}}]"
                ))
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            Reporter::Bar(bar, what)
        } else {
            Reporter::Log {
                what,
                unit,
                last: Instant::now(),
                latest: (0, None, None),
            }
        }
    }

    /// Takes the latest figures.
    pub fn update(&mut self, progress: Progress) {
        self.show(progress.done, progress.total, Some(progress.bytes));
    }

    /// Shows `done` of `total`, and the bytes when they count.
    pub fn show(&mut self, done: u64, total: Option<u64>, bytes: Option<u64>) {
        match self {
            Reporter::Bar(bar, what) => {
                if let Some(total) = total {
                    if bar.length() != Some(total) {
                        bar.set_length(total);
                        bar.set_style(
                            ProgressStyle::with_template(&format!(
                                "{what} [{{bar:30}}] {{pos}}/{{len}}, {{msg}} [{{elapsed}}, {{eta}} left]"
                            ))
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                        );
                    }
                }
                bar.set_position(done);
                bar.set_message(bytes.map(size).unwrap_or_default());
            }
            Reporter::Log {
                what,
                unit,
                last,
                latest,
            } => {
                *latest = (done, total, bytes);
                if last.elapsed() >= LOG_EVERY {
                    *last = Instant::now();
                    log_line(what, unit, *latest);
                }
            }
        }
    }

    /// Clears the bar, or writes the last log line.
    pub fn finish(self) {
        match self {
            Reporter::Bar(bar, _) => bar.finish_and_clear(),
            Reporter::Log {
                what, unit, latest, ..
            } => log_line(what, unit, latest),
        }
    }
}

fn log_line(what: &str, unit: &str, (done, total, bytes): (u64, Option<u64>, Option<u64>)) {
    let bytes = bytes.map(|b| format!(", {}", size(b))).unwrap_or_default();
    match total {
        Some(total) => tracing::info!("{what}: {done} of {total} {unit}{bytes}"),
        None => tracing::info!("{what}: {done} {unit}{bytes}"),
    }
}

/// `1.46 KiB`.
pub fn size(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}
