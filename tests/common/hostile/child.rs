//! Each case runs in a child process, this test binary again with the case named in
//! the environment: an abort (an allocation of a petabyte, a stack overflow) then fails
//! that case only, and the child's peak memory is its own.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lakery::Backend;

use super::checks::Checks;
use super::corpus::Case;
use super::fixture::{Fixture, DECODE_LIMIT};

/// The most a case may take at its peak, set-up included: the decode limit four times
/// over (a value loaded whole holds a decoded content and what it becomes) plus what
/// the process, its runtime and its connections take anyway (about 30 MiB).
pub const MEMORY_BOUND: u64 = 4 * DECODE_LIMIT + (64 << 20);

/// The address space a child may reserve: a read gone wrong fails with an allocation
/// error there rather than taking the machine's memory.
const ADDRESS_SPACE: u64 = 6 << 30;

/// How long a child may take, bombs and their making included.
const CHILD_PATIENCE: Duration = Duration::from_secs(300);

const CASE_VAR: &str = "LAKERY_HOSTILE_CASE";
const BACKEND_VAR: &str = "LAKERY_HOSTILE_BACKEND";
const PEAK_LINE: &str = "hostile peak KiB: ";

/// The name of the test that runs a case in the child.
const CHILD_TEST: &str = "hostile_case_in_a_child";

/// Runs case `name` on `backend` in a child process; `Err` says how it failed.
pub fn run(name: &str, backend: Backend) -> Result<(), String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CASE_VAR, name)
        .env(BACKEND_VAR, format!("{backend:?}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read both pipes while waiting, so a chatty child cannot block on a full one.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > CHILD_PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("no answer within {CHILD_PATIENCE:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = out.join().unwrap() + &err.join().unwrap();
    // The harness prints the test's name and the child's line on one line.
    let peak: Option<u64> = output
        .lines()
        .find_map(|line| Some(line.split_once(PEAK_LINE)?.1.trim().parse().unwrap()));
    let over = peak.filter(|kib| kib * 1024 > MEMORY_BOUND).map(|kib| {
        format!(
            "peak memory {} MiB, over the bound of {} MiB",
            kib / 1024,
            MEMORY_BOUND >> 20
        )
    });
    if !status.success() {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Err(format!("aborted by signal {signal}: {}", tail(&output)));
        }
        let panic = panic_of(&output);
        return Err(match over {
            Some(over) => format!("{over}\n      {panic}"),
            None => panic,
        });
    }
    match (peak, over) {
        (None, _) => Err(format!("the child reported no peak: {}", tail(&output))),
        (Some(_), Some(over)) => Err(over),
        (Some(_), None) => Ok(()),
    }
}

/// What the child's panic said, without the harness's lines around it.
fn panic_of(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .skip_while(|line| !line.contains("panicked at"))
        .skip(1)
        .take_while(|line| !line.starts_with("note:") && !line.starts_with("stack backtrace"))
        .collect();
    if lines.is_empty() {
        tail(output)
    } else {
        lines.join("\n      ")
    }
}

fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(8)..].join("\n      ")
}

/// In the child: runs the case the parent named, and prints the peak of memory the
/// reads took. Does nothing in a test run of its own.
pub fn serve() {
    let Ok(name) = std::env::var(CASE_VAR) else {
        return;
    };
    let case = Case::by_name(&name).unwrap_or_else(|| panic!("no case {name}"));
    let backend = match std::env::var(BACKEND_VAR).as_deref() {
        Ok("Sqlite") => Backend::Sqlite,
        Ok("Postgres") => Backend::Postgres,
        other => panic!("no backend {other:?}"),
    };
    limit_address_space();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let problems = runtime.block_on(async {
        let fx = Fixture::new(backend)
            .await
            .expect("the parent checked that the backend answers");
        fx.damage(&case.damage).await;
        reset_peak();
        let mut checks = Checks::new(&fx, &case);
        checks.run().await;
        checks.problems
    });
    // Reported first: the parent checks the peak whether or not the reads went right.
    println!("\n{PEAK_LINE}{}", peak_kib("/proc/self/status"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn limit_address_space() {
    let limit = libc::rlimit {
        rlim_cur: ADDRESS_SPACE,
        rlim_max: ADDRESS_SPACE,
    };
    // SAFETY: setrlimit reads the struct it is given and nothing else.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    assert_eq!(set, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

/// Resets the peak of resident memory to what is resident now, so the peak read later
/// is the reads', not the set-up's (Linux 4.0 and later).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

/// The peak of resident memory of a process, from `VmHWM` in its `status` (a path
/// under /proc).
pub fn peak_kib(status: &str) -> u64 {
    let status = std::fs::read_to_string(status).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}
