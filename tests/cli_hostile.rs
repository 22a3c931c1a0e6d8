//! The hostile corpus of `tests/hostile.rs` (`common/hostile/`) against the command
//! line: `lakery ls` (table and `--json`), `show` (and `--json`), `cat`, `verify` and
//! `rm`, on SQLite and PostgreSQL, and `lakery serve`'s routes. For each case and
//! command: no panic or abort, an exit code the README gives it, a failure that names
//! the manifest (and the content's key), the other manifest still listed, the damaged
//! one removable, and the command's peak memory (its own `ru_maxrss`, from `wait4`)
//! under the corpus's bound.

#![cfg(target_os = "linux")]

mod common;

#[path = "common/hostile/mod.rs"]
mod hostile;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use hostile::child::MEMORY_BOUND;
use hostile::corpus::{Case, Damage, Level};
use hostile::fixture::Fixture;
use lakery::Backend;

/// How long one command may take; a hung one is killed and fails its case.
const COMMAND_TIME: Duration = Duration::from_secs(120);

/// How much of a command's standard output is kept: `cat` of a bomb writes a gigabyte.
const KEPT_OUTPUT: usize = 64 << 10;

/// A command's end.
struct Ran {
    code: Option<i32>,
    signal: Option<i32>,
    /// Standard output (its first 64 KiB) and standard error.
    text: String,
    peak_bytes: u64,
}

/// `lakery` on the fixture's database and storages, whatever the environment says.
fn command(fx: &Fixture) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lakery"));
    command
        .arg("--database")
        .arg(fx.t.db.url())
        .arg("--storages")
        .arg(fx.t.path("lakery.toml"))
        .env_remove("LAKERY_DATABASE_URL")
        .env_remove("LAKERY_STORAGES");
    command
}

/// Runs `lakery args`. Its peak memory is `ru_maxrss` from `wait4`, which also counts
/// this process's peak at the spawn (the child starts as a copy of it): that is reset
/// to this process's current size first, so the figure is the larger of the two, and
/// this process stays small (its bombs are made as streams).
// The child is reaped by `wait4`, which also gives its resource usage.
#[allow(clippy::zombie_processes)]
fn lakery(fx: &Fixture, args: &[&str]) -> Ran {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let mut child = command(fx)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the lakery binary runs");
    let pid = child.id() as libc::pid_t;
    let keep = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let (mut kept, mut buffer) = (Vec::new(), vec![0u8; 64 << 10]);
            while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                let room = KEPT_OUTPUT.saturating_sub(kept.len()).min(n);
                kept.extend_from_slice(&buffer[..room]);
            }
            String::from_utf8_lossy(&kept).into_owned()
        })
    };
    let stdout = keep(Box::new(child.stdout.take().unwrap()));
    let stderr = keep(Box::new(child.stderr.take().unwrap()));
    let (done, ended) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if ended.recv_timeout(COMMAND_TIME).is_err() {
            // SAFETY: kill only sends a signal to the child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // SAFETY: wait4 writes the status and usage of our own child into the two places.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let _ = done.send(());
    watchdog.join().unwrap();
    let text = stdout.join().unwrap() + &stderr.join().unwrap();
    Ran {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
        text,
        peak_bytes: u64::try_from(usage.ru_maxrss).unwrap() * 1024,
    }
}

/// The two tests measure processes they spawn, whose peak counts this process's own: one
/// at a time, so that neither counts the other's work.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The command line on every case of the corpus, on every backend; fails naming each
/// case and command that went wrong.
#[test]
fn every_command_answers_every_hostile_case_clearly_in_bounded_memory() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    hostile::on_every_case("on the command line", |runtime, backend, case| {
        let fx = runtime.block_on(damaged(backend, case));
        commands(&fx, case)
    });
}

async fn damaged(backend: Backend, case: &Case) -> Fixture {
    let fx = Fixture::new(backend)
        .await
        .expect("on_every_case checked that the backend answers");
    std::fs::write(
        fx.t.path("lakery.toml"),
        "[storages.files]\ntype = \"file\"\npath = \"files\"\n",
    )
    .unwrap();
    fx.damage(&case.damage).await;
    fx
}

/// Every command on the damaged sample; what went wrong.
fn commands(fx: &Fixture, case: &Case) -> Vec<String> {
    let id = fx.damaged.id.to_string();
    let bystander = fx.bystander.id.to_string();
    let key = case.key().unwrap_or("data");
    let names_key = |text: &str| {
        ["`", "\"", "'"]
            .iter()
            .any(|q| text.contains(&format!("{q}{key}{q}")))
    };
    let mut problems = Vec::new();
    let check = |what: &str, ran: &Ran, must_fail: bool, codes: &[i32]| -> Option<String> {
        let mut wrong = Vec::new();
        if let Some(signal) = ran.signal {
            wrong.push(format!("killed by signal {signal}"));
        }
        match ran.code {
            Some(101) => wrong.push("panicked".to_owned()),
            Some(code) if !codes.contains(&code) => wrong.push(format!("exited with {code}")),
            Some(0) if must_fail => wrong.push("succeeded".to_owned()),
            Some(code) if code != 0 => {
                if !ran.text.contains(&id) {
                    wrong.push("failed without naming the manifest".to_owned());
                }
                if case.key().is_some() && what.starts_with("cat") && !names_key(&ran.text) {
                    wrong.push(format!("failed without naming content `{key}`"));
                }
            }
            _ => {}
        }
        if ran.peak_bytes > MEMORY_BOUND {
            wrong.push(format!(
                "peak memory {} MiB, over {} MiB",
                ran.peak_bytes >> 20,
                MEMORY_BOUND >> 20
            ));
        }
        let said: String = ran.text.chars().take(400).collect();
        (!wrong.is_empty()).then(|| format!("`lakery {what}` {}: {said}", wrong.join(", ")))
    };

    for args in [&["ls"][..], &["ls", "--json"]] {
        let ran = lakery(fx, args);
        // 1: it names an unreadable row after listing the others, as `verify` its problems.
        problems.extend(check(&args.join(" "), &ran, false, &[0, 1]));
        let listed = ran.text.contains(&bystander);
        // A damaged row is listed, or named as unreadable.
        let damaged_named = ran.text.contains(&id);
        if !listed || (matches!(case.damage, Damage::Manifest(_)) && !damaged_named) {
            problems.push(format!(
                "`lakery {}` lost the bystander or the damaged row: {}",
                args.join(" "),
                ran.text.chars().take(400).collect::<String>()
            ));
        }
    }
    for args in [&["show", &id][..], &["show", &id, "--json"]] {
        let ran = lakery(fx, args);
        problems.extend(check("show", &ran, false, &[0, 1, 3, 4]));
    }
    // `cat` streams, decoding a bounded piece at a time: a bomb is only a long output.
    let cat_fails = case.level >= Level::Decoded && !matches!(case.damage, Damage::Bomb { .. });
    // 2: a row naming a storage that is not configured is told as configuration.
    let ran = lakery(fx, &["cat", &id, key]);
    problems.extend(check(
        &format!("cat ID {key}"),
        &ran,
        cat_fails,
        &[0, 2, 3, 4],
    ));
    let target = fx.t.path("cat.out");
    let ran = lakery(fx, &["cat", &id, key, "-o", target.to_str().unwrap()]);
    problems.extend(check(
        &format!("cat ID {key} -o"),
        &ran,
        cat_fails,
        &[0, 2, 3, 4],
    ));
    if ran.code != Some(0) && target.exists() {
        problems.push("`lakery cat -o` failed and left its output file".to_owned());
    }
    let _ = std::fs::remove_file(&target);
    let ran = lakery(fx, &["verify"]);
    problems.extend(check("verify", &ran, case.level >= Level::Stored, &[0, 1]));
    let ran = lakery(fx, &["rm", "--yes", &id]);
    problems.extend(check("rm --yes ID", &ran, false, &[0]));
    let after = lakery(fx, &["ls", "--json"]);
    if after.text.contains(&id) || !after.text.contains(&bystander) {
        problems.push(format!(
            "after `lakery rm` the damaged manifest is still listed, or the bystander is not: {}",
            after.text.chars().take(400).collect::<String>()
        ));
    }
    problems
}

/// The viewer (`lakery serve`) on every case of the corpus, on every backend: each
/// route answers (a 5xx only for a content it cannot serve, naming the manifest), the
/// list keeps the bystander, the server never dies, and its peak memory stays under the
/// corpus's bound.
#[test]
fn every_viewer_route_answers_every_hostile_case_in_bounded_memory() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    hostile::on_every_case("in the viewer", |runtime, backend, case| {
        let fx = runtime.block_on(damaged(backend, case));
        runtime.block_on(routes(&fx, case))
    });
}

/// A running `lakery serve`, killed when dropped.
struct Viewer {
    child: std::process::Child,
    base: String,
}

impl Viewer {
    fn start(fx: &Fixture) -> Viewer {
        use std::io::BufRead;

        let mut child = command(fx)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env_remove("LAKERY_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("lakery serve runs");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        // The rest of its stdout is drained, so that it never blocks on the pipe.
        std::thread::spawn(move || for _ in lines {});
        let base = first
            .trim()
            .strip_prefix("serving on ")
            .unwrap_or_else(|| panic!("unexpected first line from lakery serve: {first:?}"))
            .trim_end_matches('/')
            .to_owned();
        Viewer { child, base }
    }

    /// Its peak resident memory so far, from /proc.
    fn peak_bytes(&self) -> u64 {
        hostile::child::peak_kib(&format!("/proc/{}/status", self.child.id())) * 1024
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response's status and its body's first 64 KiB; the rest is read and dropped.
async fn fetch(url: &str) -> Result<(u16, String), String> {
    let client = reqwest::Client::builder()
        .timeout(COMMAND_TIME)
        .build()
        .unwrap();
    let mut response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let mut kept = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        let room = KEPT_OUTPUT.saturating_sub(kept.len()).min(chunk.len());
        kept.extend_from_slice(&chunk[..room]);
    }
    Ok((status, String::from_utf8_lossy(&kept).into_owned()))
}

/// Every route on the damaged sample; what went wrong.
async fn routes(fx: &Fixture, case: &Case) -> Vec<String> {
    let viewer = Viewer::start(fx);
    let base = &viewer.base;
    let id = fx.damaged.id.to_string();
    let bystander = fx.bystander.id.to_string();
    let key = case.key().unwrap_or("data");
    let many_tags: String = (0..2000).map(|i| format!("tag=k{i}%3Dv&")).collect();
    let mut problems = Vec::new();
    for (route, listing) in [
        ("/".to_owned(), true),
        ("/api/manifests".to_owned(), true),
        ("/api/manifests?tag=kind%3Dsample".to_owned(), true),
        (format!("/api/manifests?{many_tags}"), false),
        (format!("/manifests/{id}"), false),
        (format!("/api/manifests/{id}"), false),
        (format!("/api/manifests/{id}/contents/{key}"), false),
    ] {
        let shown: String = route.chars().take(60).collect();
        match fetch(&format!("{base}{route}")).await {
            Err(error) => problems.push(format!("GET {shown}: no answer: {error}")),
            Ok((status, body)) => {
                let said: String = body.chars().take(300).collect();
                if listing && (status != 200 || !body.contains(&bystander)) {
                    problems.push(format!(
                        "GET {shown}: {status}, the bystander not listed: {said}"
                    ));
                } else if route.contains("k1999") && status != 400 {
                    problems.push(format!(
                        "GET {shown}: 2,000 tags answered {status}, not 400"
                    ));
                } else if status >= 500 && !body.contains(&id) {
                    problems.push(format!(
                        "GET {shown}: {status} without naming the manifest: {said}"
                    ));
                }
            }
        }
    }
    // Still alive, and within the bound.
    if let Err(error) = fetch(&format!("{base}/api/manifests")).await {
        problems.push(format!("the viewer died: {error}"));
    }
    let peak = viewer.peak_bytes();
    if peak > MEMORY_BOUND {
        problems.push(format!(
            "the viewer's peak memory {} MiB, over {} MiB",
            peak >> 20,
            MEMORY_BOUND >> 20
        ));
    }
    problems
}
