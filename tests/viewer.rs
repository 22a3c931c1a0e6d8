//! `lakery serve`, the real binary: its JSON API on every backend, the headers that keep
//! stored content from running, the token; and the HTML viewer in real headless
//! Chromium (Debian's `chromium` and `chromium-driver`): the list, a tag filter, a
//! manifest with JSON, CSV, Parquet, image, text and hex previews, a stored `<script>`
//! that must not run, and a token the browser must give. Screenshots of the pages are
//! kept under `target/tmp/viewer-screenshots/`.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::{Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use common::TestDb;
use image::RgbImage;
use lakery::serializer::{
    Csv, Json, Parquet, Png, RawBytes, Serializer, SerializerError, Stored, Text,
};
use lakery::{FileStorage, ManifestId, ManifestRecord, Registry, Storable};
use serde::{Deserialize, Serialize};

/// HTML, stored as `text/html`: what the viewer must show as text and never run.
struct Html;

impl Serializer<String> for Html {
    fn name(&self) -> &str {
        "test.html@v1"
    }
    fn content_type(&self) -> &str {
        "text/html; charset=utf-8"
    }
    fn serialize(&self, value: &String) -> Result<Bytes, SerializerError> {
        Ok(Bytes::from(value.clone()))
    }
    fn deserialize(&self, bytes: Bytes, _: &Stored<'_>) -> Result<String, SerializerError> {
        Ok(String::from_utf8(bytes.to_vec())?)
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Row {
    step: u32,
    loss: f64,
}

#[derive(Storable)]
#[storable(class_id = "3c1e9a44-0f4b-4d7e-9b6a-2f5d8c7e1a90")]
struct Experiment {
    name: String,
    #[content(serializer = Json)]
    params: serde_json::Value,
    #[content(serializer = Csv, storage = "files")]
    rows: Vec<Row>,
    #[content(serializer = Png, storage = "files")]
    plot: RgbImage,
    #[content(serializer = Html)]
    page: String,
    #[content(serializer = Parquet, storage = "files", encoding = "zstd")]
    table: RecordBatch,
    #[content(serializer = RawBytes)]
    raw: Vec<u8>,
    #[content(serializer = Text, each)]
    notes: BTreeMap<String, String>,
    /// A few kilobytes stored, 24 MiB decompressed: previews must not trust the size.
    #[content(serializer = RawBytes, storage = "files", encoding = "zstd")]
    zeros: Vec<u8>,
}

/// A content key with a space and a letter outside ASCII, as a map entry gives.
const NOTE_KEY: &str = "notes.first run é";

const SCRIPT: &str = "<h1>results</h1><script>document.title = 'pwned'; window.pwned = 1;</script>\
                      <img src=x onerror=\"window.pwned = 2\">";

fn experiment(n: u32) -> Experiment {
    let table = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("city", DataType::Utf8, false),
            Field::new("rain_mm", DataType::Float64, true),
        ])),
        vec![
            Arc::new(StringArray::from(vec!["Oslo", "Lima", "Perth"])),
            Arc::new(Float64Array::from(vec![
                Some(763.0),
                None,
                Some(f64::from(n)),
            ])),
        ],
    )
    .unwrap();
    Experiment {
        name: format!("run {n}"),
        params: serde_json::json!({ "learning_rate": 0.01, "layers": [64, 32], "run": n }),
        rows: (0..30)
            .map(|step| Row {
                step,
                loss: 1.0 / f64::from(step + n),
            })
            .collect(),
        plot: RgbImage::from_fn(8, 6, |x, y| image::Rgb([x as u8 * 30, y as u8 * 40, 200])),
        page: SCRIPT.to_owned(),
        table,
        raw: vec![0, 1, 2, 0xff, b'l', b'a', b'k', b'e', b'r', b'y'],
        notes: BTreeMap::from([("first run é".to_owned(), format!("note of run {n}"))]),
        zeros: vec![0; 24 << 20],
    }
}

/// A registry with the storage `files`, in the test's folder, and the storage
/// configuration that names it for `lakery`.
fn with_files(t: &TestDb) -> lakery::RegistryBuilder {
    std::fs::write(
        t.path("lakery.toml"),
        "[storages.files]\ntype = \"file\"\npath = \"files\"\n",
    )
    .unwrap();
    Registry::builder().storage("files", FileStorage::new(t.path("files")).unwrap())
}

/// Two experiments, tagged apart, and the storage configuration naming their folder.
async fn saved(t: &TestDb) -> (ManifestRecord, ManifestRecord) {
    let registry = with_files(t).storable::<Experiment>().build().unwrap();
    let first = lakery::save_one(&experiment(1), &registry, &t.db)
        .tags([("project", "apollo"), ("note", "<b>bold</b>")])
        .await
        .unwrap();
    let second = lakery::save_one(&experiment(2), &registry, &t.db)
        .tags([("project", "gemini")])
        .await
        .unwrap();
    (first, second)
}

/// How long a child process (`lakery serve`, `chromedriver`) may take to say it listens.
const STARTUP: Duration = Duration::from_secs(60);

/// A child process of the test, killed when dropped. Its stdout comes line by line
/// through a channel, so the test waits for the line that says it listens instead of
/// polling its port; both streams are read to their end as they come, so that it never
/// blocks on a full pipe.
struct Process {
    name: &'static str,
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Its stderr so far, for the message when it fails; also echoed to the test's.
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl Process {
    fn spawn(name: &'static str, command: &mut Command) -> Process {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                // Once the test stopped listening, the rest is only drained.
                let _ = sender.send(String::from_utf8_lossy(&line).into_owned());
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_reader = {
            let stderr = stderr.clone();
            let pipe = child.stderr.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).split(b'\n') {
                    let Ok(line) = line else { break };
                    let line = String::from_utf8_lossy(&line);
                    eprintln!("[{name}] {line}");
                    let mut all = stderr.lock().unwrap();
                    all.push_str(&line);
                    all.push('\n');
                }
            })
        };
        Process {
            name,
            child,
            lines,
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// The first line of stdout that `wanted` accepts, turned into what it returns; the
    /// exit status and stderr if the process ends first. Panics after [`STARTUP`].
    fn wait_for<T>(&mut self, wanted: impl Fn(&str) -> Option<T>) -> Result<T, String> {
        let deadline = Instant::now() + STARTUP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(found) = wanted(&line) {
                        return Ok(found);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "{} said nothing expected on stdout within {STARTUP:?}; stderr:\n{}",
                    self.name,
                    self.stderr.lock().unwrap()
                ),
                // Its stdout closed: it exited (or is about to).
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().unwrap();
                    if let Some(reader) = self.stderr_reader.take() {
                        reader.join().unwrap();
                    }
                    return Err(format!(
                        "{} exited with {status} before it listened; stderr:\n{}",
                        self.name,
                        self.stderr.lock().unwrap()
                    ));
                }
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `lakery serve`, stopped when dropped.
struct Server {
    _process: Process,
    base: String,
}

impl Server {
    /// The most memory the server has held resident so far (`VmHWM`), in bytes; `None`
    /// where `/proc` does not say.
    fn peak_memory(&self) -> Option<u64> {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self._process.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib << 10)
    }

    /// Its port.
    fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }
}

/// `lakery serve` on port 0: it binds a free port itself and says which, on the first
/// line, so no port is found by the test and released for another process to take.
fn serve(t: &TestDb, token: Option<&str>) -> Server {
    start_serve(t, "127.0.0.1:0", token).unwrap_or_else(|exited| panic!("{exited}"))
}

/// `lakery serve --bind bind`, once it says where it listens; how it ended if it
/// exits first.
fn start_serve(t: &TestDb, bind: &str, token: Option<&str>) -> Result<Server, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lakery"));
    command
        .arg("--database")
        .arg(t.db.url())
        .arg("--storages")
        .arg(t.path("lakery.toml"))
        .args(["serve", "--bind", bind])
        .env_remove("LAKERY_TOKEN");
    if let Some(token) = token {
        command.args(["--token", token]);
    }
    let mut process = Process::spawn("lakery serve", &mut command);
    // Its first line says where it listens.
    let line = process.wait_for(|line| Some(line.to_owned()))?;
    let base = line
        .trim()
        .strip_prefix("serving on ")
        .unwrap_or_else(|| panic!("unexpected first line from lakery serve: {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    Ok(Server {
        _process: process,
        base,
    })
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // A server that hangs fails the test rather than stalling it.
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn get(url: &str) -> reqwest::Response {
    http().get(url).send().await.unwrap()
}

async fn json(url: &str) -> serde_json::Value {
    let response = get(url).await;
    assert_eq!(response.status(), 200, "{url}");
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_lists_shows_and_serves_contents_safely() {
    common::each_backend(the_api_lists_shows_and_serves_contents_safely_on).await;
}

async fn the_api_lists_shows_and_serves_contents_safely_on(t: TestDb) {
    let (first, second) = saved(&t).await;
    let server = serve(&t, None);
    let base = &server.base;

    // The list, newest first; filters; paging by cursor.
    let all = json(&format!("{base}/api/manifests")).await;
    let ids: Vec<&str> = all["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.id.to_string(), first.id.to_string()]);
    let apollo = json(&format!("{base}/api/manifests?tag=project%3Dapollo")).await;
    let listed: Vec<ManifestRecord> = serde_json::from_value(apollo["manifests"].clone()).unwrap();
    assert_eq!(listed, std::slice::from_ref(&first));
    let one = json(&format!("{base}/api/manifests?limit=1")).await;
    assert_eq!(one["manifests"][0]["id"], second.id.to_string());
    let cursor = one["next"].as_str().expect("a next cursor");
    let next = json(&format!("{base}/api/manifests?limit=1&after={cursor}")).await;
    assert_eq!(next["manifests"][0]["id"], first.id.to_string());
    let class = json(&format!(
        "{base}/api/manifests?class=00000000-0000-0000-0000-000000000000"
    ))
    .await;
    assert_eq!(class["manifests"], serde_json::json!([]));

    // A manifest with its contents.
    let shown = json(&format!("{base}/api/manifests/{}", first.id)).await;
    let manifest: ManifestRecord = serde_json::from_value(shown["manifest"].clone()).unwrap();
    assert_eq!(manifest, first);
    let mut keys: Vec<&str> = shown["contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["body", NOTE_KEY, "page", "params", "plot", "raw", "rows", "table", "zeros"]
    );

    // Bytes under their stored type, the encoding undone; nothing sniffed or run.
    let content = |key: &str| format!("{base}/api/manifests/{}/contents/{key}", first.id);
    let rows = get(&content("rows")).await;
    assert_eq!(rows.status(), 200);
    assert!(header(&rows, "content-type").starts_with("text/csv"));
    assert_eq!(header(&rows, "x-content-type-options"), "nosniff");
    assert!(header(&rows, "content-security-policy").contains("sandbox"));
    let text = rows.text().await.unwrap();
    assert!(
        text.starts_with("step,loss\n0,1") && text.lines().count() == 31,
        "{text}"
    );
    let table = get(&content("table")).await;
    assert_eq!(
        header(&table, "content-type"),
        "application/vnd.apache.parquet"
    );
    let parquet = table.bytes().await.unwrap();
    assert_eq!(
        &parquet[..4],
        b"PAR1",
        "zstd undone: the Parquet file itself"
    );
    let page = get(&content("page")).await;
    assert_eq!(header(&page, "content-type"), "text/plain; charset=utf-8");
    assert!(header(&page, "content-security-policy").contains("sandbox"));
    assert_eq!(page.text().await.unwrap(), SCRIPT);
    let note = get(&content("notes.first%20run%20%C3%A9")).await;
    assert_eq!(
        note.status(),
        200,
        "a key with a space and é, escaped in the path"
    );
    assert_eq!(note.text().await.unwrap(), "note of run 1");
    let zeros = get(&content("zeros")).await;
    assert_eq!(zeros.bytes().await.unwrap().len(), 24 << 20);
    let plot = get(&format!("{}?download", content("plot"))).await;
    assert_eq!(header(&plot, "content-type"), "image/png");
    assert_eq!(
        header(&plot, "content-disposition"),
        "attachment; filename=\"plot.png\""
    );

    // Pages carry a policy without scripts, and escape what they show.
    let list = get(&format!("{base}/")).await;
    let policy = header(&list, "content-security-policy").to_owned();
    assert!(policy.contains("default-src 'none'") && !policy.contains("script-src"));
    let html = list.text().await.unwrap();
    assert!(html.contains("note=&lt;b&gt;bold&lt;/b&gt;") && !html.contains("<b>bold"));
    let manifest_page = get(&format!("{base}/manifests/{}", first.id)).await;
    assert_eq!(manifest_page.status(), 200);
    let html = manifest_page.text().await.unwrap();
    assert!(html.contains("&lt;script&gt;document.title") && !html.contains("<script>"));
    assert!(
        html.contains("/contents/notes.first%20run%20%C3%A9?download"),
        "links escape keys"
    );
    assert!(
        html.contains("More than 16.00 MiB"),
        "a decompression bomb is read only in part"
    );
    assert!(
        html.contains("<td>Oslo</td>") && html.contains("First 3 of 3 rows."),
        "the Parquet table's rows, within what its pages may claim"
    );

    // Errors: a clear status and message.
    let bad = get(&format!("{base}/api/manifests/not-an-id")).await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("not a manifest id"));
    let unknown = uuid::Uuid::now_v7();
    let missing = get(&format!("{base}/api/manifests/{unknown}")).await;
    assert_eq!(missing.status(), 404);
    let message = missing.text().await.unwrap();
    assert!(message.contains(&unknown.to_string()), "{message}");
    let no_key = get(&content("nothing")).await;
    assert_eq!(no_key.status(), 404);
    let message = no_key.text().await.unwrap();
    assert!(
        message.contains(&first.id.to_string()) && message.contains("`nothing`"),
        "names the manifest and the key: {message}"
    );
    let bad_tag = get(&format!("{base}/api/manifests?tag=no-equals")).await;
    assert_eq!(bad_tag.status(), 400);
    assert!(bad_tag.text().await.unwrap().contains("KEY=VALUE"));
    let post = http()
        .post(format!("{base}/api/manifests"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405, "read-only");

    // A corrupted blob: the bytes are refused, the page says why.
    let file = blob_file(&t, first.id, "rows").await;
    std::fs::write(&file, b"step,loss\n0,999\n").unwrap();
    let corrupt = get(&content("rows")).await;
    assert_eq!(corrupt.status(), 500);
    let message = corrupt.text().await.unwrap();
    assert!(
        message.contains("hash")
            && message.contains(&first.id.to_string())
            && message.contains("`rows`")
            && message.contains("`files`"),
        "names the manifest, the key and the storage: {message}"
    );
    let html = get(&format!("{base}/manifests/{}", first.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Cannot preview it"), "{html}");
}

/// On SQLite alone: the token is checked before any request reaches the database, and
/// what it guards is read the same way on every backend (the test above).
#[tokio::test(flavor = "multi_thread")]
async fn a_token_is_required_on_every_request_when_set() {
    let t = TestDb::sqlite().await;
    let (first, _) = saved(&t).await;
    let server = serve(&t, Some("s3cr3t-token"));
    let base = &server.base;
    for path in [
        "/".to_owned(),
        "/style.css".to_owned(),
        "/api/manifests".to_owned(),
        format!("/manifests/{}", first.id),
        format!("/api/manifests/{}/contents/rows", first.id),
    ] {
        let refused = get(&format!("{base}{path}")).await;
        assert_eq!(refused.status(), 401, "{path}");
        assert_eq!(header(&refused, "www-authenticate"), "Bearer");
        assert_eq!(header(&refused, "x-content-type-options"), "nosniff");
        let wrong = http()
            .get(format!("{base}{path}"))
            .bearer_auth("s3cr3t-tokeN")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
        let right = http()
            .get(format!("{base}{path}"))
            .bearer_auth("s3cr3t-token")
            .send()
            .await
            .unwrap();
        assert_eq!(right.status(), 200, "{path}");
    }
    // Every method and path, known or not, needs it.
    for method in [
        reqwest::Method::HEAD,
        reqwest::Method::POST,
        reqwest::Method::DELETE,
    ] {
        let refused = http()
            .request(method.clone(), format!("{base}/api/manifests"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401, "{method}");
    }
    assert_eq!(get(&format!("{base}/no/such/page")).await.status(), 401);
    let lower = http()
        .get(format!("{base}/api/manifests"))
        .header("authorization", "bearer s3cr3t-token")
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), 200, "the scheme is case-insensitive");

    // A browser opens /?token=...: a cookie, and the token out of the address.
    let login = get(&format!("{base}/?tag=project%3Dapollo&token=s3cr3t-token")).await;
    assert_eq!(login.status(), 303);
    assert_eq!(header(&login, "location"), "/?tag=project%3Dapollo");
    let cookie = header(&login, "set-cookie").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let with_cookie = http()
        .get(format!("{base}/api/manifests"))
        .header("cookie", cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), 200);
    assert_eq!(header(&login, "x-content-type-options"), "nosniff");
    let wrong_query = get(&format!("{base}/?token=nope")).await;
    assert_eq!(wrong_query.status(), 401);
    let wrong_cookie = http()
        .get(format!("{base}/api/manifests"))
        .header(
            "cookie",
            cookie.split(';').next().unwrap().replace('=', "=x"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_cookie.status(), 401);
    // The redirect stays on this server.
    let elsewhere = get(&format!("{base}//evil.example/path?token=s3cr3t-token")).await;
    assert_eq!(elsewhere.status(), 303);
    assert_eq!(header(&elsewhere, "location"), "/evil.example/path");
}

/// A fixed port, as users give one (the default is 8080), is bound once and served, and
/// the token's cookie is named after it. Port 0 would hide a second bind of the same
/// address (fixed in 2fc7082): the kernel gives each bind of port 0 a port of its own.
/// On SQLite alone, as the tests below: binding and the cookie do not depend on it.
#[tokio::test(flavor = "multi_thread")]
async fn a_fixed_port_is_served_and_names_the_cookie() {
    let t = TestDb::sqlite().await;
    saved(&t).await;
    let (server, port) = serve_on_a_fixed_port(&t, Some("s3cr3t-token"));
    assert_eq!(server.base, format!("http://127.0.0.1:{port}"));
    let login = get(&format!("{}/?token=s3cr3t-token", server.base)).await;
    assert_eq!(login.status(), 303);
    let cookie = header(&login, "set-cookie").to_owned();
    assert!(
        cookie.starts_with(&format!("lakery_token_{port}=s3cr3t-token;")),
        "{cookie}"
    );
    let listed = http()
        .get(format!("{}/api/manifests", server.base))
        .header("cookie", cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let listed: serde_json::Value = serde_json::from_slice(&listed.bytes().await.unwrap()).unwrap();
    assert_eq!(listed["manifests"].as_array().unwrap().len(), 2);
}

/// `lakery serve` on a port given by number, and that port.
///
/// The test cannot hold the port for lakery, so another process could take it between
/// the check that it is free and lakery's bind. It picks one below the range the kernel
/// hands out for port 0 and outgoing connections, where no test's connection or
/// `bind(0)` lands, at random so that two runs of this test pick apart. Should lakery
/// fail to bind it all the same, the port tells why: held by another process, the test
/// says so and takes another; free again once lakery exited, lakery's own first bind
/// held it, and the test fails.
fn serve_on_a_fixed_port(t: &TestDb, token: Option<&str>) -> (Server, u16) {
    let mut taken = Vec::new();
    for port in fixed_ports() {
        // In use now: not a candidate. Free: released at once, for lakery to bind.
        if TcpListener::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        let exited = match start_serve(t, &format!("127.0.0.1:{port}"), token) {
            Ok(server) => return (server, port),
            Err(exited) => exited,
        };
        assert!(
            exited.contains(&format!("cannot listen on 127.0.0.1:{port}")),
            "{exited}"
        );
        assert!(
            TcpListener::bind(("127.0.0.1", port)).is_err(),
            "lakery serve could not bind 127.0.0.1:{port}, which no other process holds: \
             it binds its address twice (see 2fc7082). {exited}"
        );
        eprintln!(
            "port {port} was taken by another process between the test's check and \
             lakery's bind: trying another"
        );
        taken.push(port);
        assert!(
            taken.len() < 3,
            "ports {taken:?}, each free a moment before, were each taken by another \
             process before lakery bound it"
        );
    }
    panic!("no free port below the kernel's ephemeral range")
}

/// Ports below the kernel's ephemeral range (`ip_local_port_range` on Linux; elsewhere
/// IANA's dynamic range, from 49152), and above the well-known services' ports, from a
/// random start.
fn fixed_ports() -> impl Iterator<Item = u16> {
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(49152);
    let low = if ephemeral > 20_100 { 20_000 } else { 1_024 };
    assert!(ephemeral > low, "ephemeral ports start at {ephemeral}");
    let start = rand::random_range(low..ephemeral);
    (start..ephemeral).chain(low..start).take(200)
}

/// On SQLite alone: serve refuses the options before it reads anything stored.
#[tokio::test(flavor = "multi_thread")]
async fn weak_tokens_and_open_binds_without_one_are_refused() {
    let t = TestDb::sqlite().await;
    saved(&t).await;
    for (args, expected) in [
        (vec!["--bind", "0.0.0.0:0"], "not a loopback address"),
        (vec!["--token", ""], "shorter than 8"),
        (vec!["--token", "short"], "shorter than 8"),
        (vec!["--token", "has;semicolons"], "only letters"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_lakery"))
            .arg("--database")
            .arg(t.db.url())
            .arg("--storages")
            .arg(t.path("lakery.toml"))
            .arg("serve")
            .args(&args)
            .env_remove("LAKERY_TOKEN")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

// --- Hostile requests and contents (issue 21) -----------------------------------------

/// What a server's peak resident memory may be after the hostile requests below: its
/// own start takes some tens of MiB; the unbounded reads took gigabytes.
const MEMORY_BOUND: u64 = 200 << 20;

fn assert_memory_bounded(server: &Server, what: &str) {
    match server.peak_memory() {
        Some(peak) => assert!(
            peak < MEMORY_BOUND,
            "{what}: the server peaked at {} MiB resident",
            peak >> 20
        ),
        None => eprintln!("no /proc/PID/status here: the server's memory is not measured"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn oversize_queries_are_a_400_before_the_database() {
    common::each_backend(oversize_queries_are_a_400_on).await;
}

async fn oversize_queries_are_a_400_on(t: TestDb) {
    saved(&t).await;
    let server = serve(&t, None);
    let base = &server.base;
    let tags = |n: usize| vec!["tag=project%3Dapollo"; n].join("&");
    let refused = [
        (tags(3000), "query string"),
        (vec!["tag="; 3000].join("&"), "query string"),
        (vec!["tag="; 100].join("&"), "parameters"),
        (tags(17), "more than 16 tags"),
        (
            "limit=1&limit=2".to_owned(),
            "`limit` is given more than once",
        ),
        (
            format!("class={}&class={}", uuid::Uuid::nil(), uuid::Uuid::max()),
            "`class` is given more than once",
        ),
    ];
    for (query, expected) in &refused {
        for path in ["/api/manifests", "/"] {
            let started = Instant::now();
            let response = get(&format!("{base}{path}?{query}")).await;
            assert_eq!(
                response.status(),
                400,
                "{path}?{}…",
                &query[..20.min(query.len())]
            );
            let message = response.text().await.unwrap();
            assert!(message.contains(expected), "{message}");
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "answered at once"
            );
        }
    }
    // Up to the cap is served.
    let listed = json(&format!("{base}/api/manifests?{}", tags(16))).await;
    assert_eq!(listed["manifests"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_only_the_loopback_address_it_is_bound_to_is_answered() {
    let t = TestDb::sqlite().await;
    saved(&t).await;
    let server = serve(&t, None);
    let port = server.port();
    let with_host = |host: String| {
        http()
            .get(format!("{}/api/manifests", server.base))
            .header("host", host)
            .send()
    };
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LocalHost:{port}"),
    ] {
        assert_eq!(
            with_host(host.clone()).await.unwrap().status(),
            200,
            "{host}"
        );
    }
    // A page of another site whose name now resolves to 127.0.0.1 (DNS rebinding).
    for host in [
        format!("evil.example:{port}"),
        "evil.example".to_owned(),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        "localhost".to_owned(),
    ] {
        let refused = with_host(host.clone()).await.unwrap();
        assert_eq!(refused.status(), 421, "{host}");
        assert_eq!(header(&refused, "x-content-type-options"), "nosniff");
        assert!(refused.text().await.unwrap().contains("--token"));
    }

    // With a token, the token is what is checked, whatever the name.
    let server = serve(&t, Some("s3cr3t-token"));
    let named = http()
        .get(format!("{}/api/manifests", server.base))
        .header("host", "viewer.example")
        .bearer_auth("s3cr3t-token")
        .send()
        .await
        .unwrap();
    assert_eq!(named.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_with_plus_signs_can_be_given_in_the_address() {
    let t = TestDb::sqlite().await;
    saved(&t).await;
    let token = "a+b/c=d+e";
    let server = serve(&t, Some(token));
    for given in ["a+b/c=d+e", "a%2Bb%2Fc%3Dd%2Be"] {
        let login = get(&format!("{}/?token={given}", server.base)).await;
        assert_eq!(login.status(), 303, "{given}");
        assert!(header(&login, "set-cookie").contains(&format!("={token};")));
    }
    let wrong = get(&format!("{}/?token=a%20b/c=d%20e", server.base)).await;
    assert_eq!(wrong.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_manifest_rows_are_reported_by_id_and_the_others_shown() {
    common::each_backend(unreadable_manifest_rows_on).await;
}

async fn unreadable_manifest_rows_on(t: TestDb) {
    let (first, second) = saved(&t).await;
    let damage = match t.backend() {
        lakery::Backend::Sqlite => "created_at = 'yesterday'",
        _ => "class_version = -1",
    };
    t.execute(&format!(
        "UPDATE lakery_manifests SET {damage} WHERE id = '{}'",
        first.id
    ))
    .await;
    let server = serve(&t, None);
    let base = &server.base;
    let listed = json(&format!("{base}/api/manifests")).await;
    assert_eq!(listed["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(listed["manifests"][0]["id"], second.id.to_string());
    assert_eq!(listed["unreadable"][0]["id"], first.id.to_string());
    assert!(!listed["unreadable"][0]["reason"]
        .as_str()
        .unwrap()
        .is_empty());
    let page = get(&format!("{base}/")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Unreadable manifests") && html.contains(&first.id.to_string()),
        "{html}"
    );
    assert!(html.contains(&second.id.to_string()));
    for path in [
        format!("/api/manifests/{}", first.id),
        format!("/manifests/{}", first.id),
    ] {
        let shown = get(&format!("{base}{path}")).await;
        assert_eq!(shown.status(), 500, "{path}");
        let message = shown.text().await.unwrap();
        assert!(message.contains(&first.id.to_string()), "{path}: {message}");
    }
}

#[derive(Storable)]
#[storable(class_id = "7d2f0c1e-5b3a-4e8f-9a61-0c4d2e8b7f35")]
struct Big {
    #[content(serializer = RawBytes, storage = "files", encoding = "zstd")]
    zeros: Vec<u8>,
    #[content(serializer = RawBytes, storage = "files")]
    noise: Vec<u8>,
}

async fn save_big(t: &TestDb) -> ManifestRecord {
    let registry = with_files(t).storable::<Big>().build().unwrap();
    let big = Big {
        zeros: vec![0; 200 << 20],
        noise: (0..4u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
    };
    lakery::save_one(&big, &registry, &t.db).await.unwrap()
}

/// Eight clients that read a few bytes of a content decoding to 200 MiB and then stall:
/// each held its whole decoded body, and the read's permit was given back before it
/// was sent.
#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_of_a_large_content_keep_the_server_small() {
    use std::io::Write;

    let t = TestDb::sqlite().await;
    let big = save_big(&t).await;
    let server = serve(&t, None);
    let port = server.port();
    let path = format!("/api/manifests/{}/contents/zeros", big.id);
    let clients: Vec<std::net::TcpStream> = (0..8)
        .map(|_| {
            let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(
                client,
                "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
            )
            .unwrap();
            client
        })
        .collect();
    // Four are answered (the others wait their turn), and none reads on.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_memory_bounded(&server, "eight stalled clients");
    drop(clients);

    // Their turns are given back, and the content comes whole.
    let mut response = get(&format!("{}{path}", server.base)).await;
    assert_eq!(response.status(), 200);
    let mut length = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        assert!(chunk.iter().all(|b| *b == 0));
        length += chunk.len();
    }
    assert_eq!(length, 200 << 20);
    assert_memory_bounded(&server, "a 200 MiB content streamed");
}

/// The file that holds the bytes of content `key` of manifest `id`, in storage `files`.
async fn blob_file(t: &TestDb, id: ManifestId, key: &str) -> std::path::PathBuf {
    let record = lakery::Database::contents(&t.db, id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.key == key)
        .unwrap();
    common::stored_file(&t.path("files"), &record.hash)
}

/// Bytes that do not match their hash, past what is checked before the status is sent,
/// cut the body off: the client sees a broken response, never a complete wrong one.
#[tokio::test(flavor = "multi_thread")]
async fn a_hash_mismatch_mid_body_cuts_the_response_off() {
    let t = TestDb::sqlite().await;
    let big = save_big(&t).await;
    let file = blob_file(&t, big.id, "noise").await;
    let mut bytes = std::fs::read(&file).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let server = serve(&t, None);
    let response = get(&format!(
        "{}/api/manifests/{}/contents/noise",
        server.base, big.id
    ))
    .await;
    assert_eq!(
        response.status(),
        200,
        "the first mebibyte matched as far as known"
    );
    assert!(
        response.bytes().await.is_err(),
        "the body must not end as if complete"
    );
}

/// A Parquet file of `columns` INT32 columns of one row, each one zstd page that
/// decompresses to `page` bytes (zeros): a few kilobytes that a reader trusting its
/// page headers decompresses whole.
fn parquet_bomb(columns: usize, page: usize) -> Vec<u8> {
    use std::io::Write;

    use parquet::basic::{Compression, Encoding, Repetition, Type as Physical, ZstdLevel};
    use parquet::column::page::{CompressedPage, Page, PageWriter};
    use parquet::column::writer::ColumnCloseResult;
    use parquet::file::metadata::ColumnChunkMetaData;
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
    use parquet::schema::types::{SchemaDescriptor, Type};

    let mut encoder = zstd::Encoder::new(Vec::new(), 3).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..page >> 20 {
        encoder.write_all(&zeros).unwrap();
    }
    let compressed = Bytes::from(encoder.finish().unwrap());
    let fields = (0..columns)
        .map(|i| {
            Arc::new(
                Type::primitive_type_builder(&format!("c{i}"), Physical::INT32)
                    .with_repetition(Repetition::REQUIRED)
                    .build()
                    .unwrap(),
            )
        })
        .collect();
    let schema = Arc::new(
        Type::group_type_builder("schema")
            .with_fields(fields)
            .build()
            .unwrap(),
    );
    let descriptor = SchemaDescriptor::new(schema.clone());
    let mut file = Vec::new();
    let properties = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(&mut file, schema, properties).unwrap();
    let mut group = writer.next_row_group().unwrap();
    for column in 0..columns {
        let mut chunk = Vec::new();
        {
            let mut sink = TrackedWrite::new(&mut chunk);
            let mut pages = SerializedPageWriter::new(&mut sink);
            let data = Page::DataPage {
                buf: compressed.clone(),
                num_values: 1,
                encoding: Encoding::PLAIN,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            };
            pages.write_page(CompressedPage::new(data, page)).unwrap();
            pages.close().unwrap();
        }
        let metadata = ColumnChunkMetaData::builder(descriptor.column(column))
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_encodings(vec![Encoding::PLAIN, Encoding::RLE])
            .set_num_values(1)
            .set_data_page_offset(0)
            .set_total_compressed_size(chunk.len() as i64)
            .set_total_uncompressed_size(page as i64)
            .build()
            .unwrap();
        let close = ColumnCloseResult {
            bytes_written: chunk.len() as u64,
            rows_written: 1,
            metadata,
            bloom_filter: None,
            column_index: None,
            offset_index: None,
        };
        group.append_column(&Bytes::from(chunk), close).unwrap();
    }
    group.close().unwrap();
    writer.close().unwrap();
    file
}

/// One content of bytes, whose row is then made to name another type.
#[derive(Storable)]
#[storable(class_id = "1b6e4d2a-8c3f-4a7e-b5d9-3e2f1a0c9d84")]
struct Hostile {
    #[content(serializer = RawBytes)]
    bytes: Vec<u8>,
}

/// `bytes` saved as a manifest's one content, whose row then names `content_type`: what
/// anyone with write access to a row can do.
async fn save_as(t: &TestDb, bytes: Vec<u8>, content_type: &str) -> ManifestId {
    let registry = Registry::builder().storable::<Hostile>().build().unwrap();
    let record = lakery::save_one(&Hostile { bytes }, &registry, &t.db)
        .await
        .unwrap();
    t.execute(&format!(
        "UPDATE lakery_contents SET content_type = '{content_type}' WHERE manifest_id = '{}'",
        record.id
    ))
    .await;
    record.id
}

/// A Parquet content of a few kilobytes whose four pages each decompress to 256 MiB:
/// a page view took the server past a gigabyte.
#[tokio::test(flavor = "multi_thread")]
async fn a_parquet_bomb_is_refused_before_its_pages_are_decompressed() {
    let t = TestDb::sqlite().await;
    saved(&t).await;
    let table = parquet_bomb(4, 256 << 20);
    assert!(table.len() < 200 << 10, "{} bytes", table.len());
    let bomb = save_as(&t, table, "application/vnd.apache.parquet").await;
    let server = serve(&t, None);
    let page = get(&format!("{}/manifests/{bomb}", server.base)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Cannot preview it") && html.contains("claim 1.00 GiB"),
        "{html}"
    );
    assert_memory_bounded(&server, "a Parquet bomb's page");
}

/// An Arrow stream of one small batch whose framing then lies: its batch's metadata
/// claims a body of a terabyte, or its length prefix 2 GiB of metadata.
fn lying_arrow_streams() -> [Vec<u8>; 2] {
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("n", DataType::Int32, false)])),
        vec![Arc::new(arrow_array::Int32Array::from(vec![1, 2, 3]))],
    )
    .unwrap();
    let mut stream = Vec::new();
    let mut writer =
        arrow_ipc::writer::StreamWriter::try_new(&mut stream, &batch.schema()).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    drop(writer);
    // Continuation marker, metadata length, metadata: the schema's message, then the
    // batch's.
    let length = |at: usize| i32::from_le_bytes(stream[at + 4..at + 8].try_into().unwrap());
    let batch_at = 8 + length(0) as usize;
    let metadata = batch_at + 8..batch_at + 8 + length(batch_at) as usize;
    let message = arrow_ipc::root_as_message(&stream[metadata.clone()]).unwrap();
    let body = message.bodyLength().to_le_bytes();
    let field = metadata.start
        + stream[metadata]
            .windows(8)
            .position(|w| w == body)
            .expect("the body's length in the batch's metadata");
    let mut huge_body = stream.clone();
    huge_body[field..field + 8].copy_from_slice(&(1i64 << 40).to_le_bytes());
    let mut huge_metadata = stream;
    huge_metadata[batch_at + 4..batch_at + 8].copy_from_slice(&i32::MAX.to_le_bytes());
    [huge_body, huge_metadata]
}

/// Arrow streams whose framing claims more than they hold are refused without
/// reserving what they claim.
#[tokio::test(flavor = "multi_thread")]
async fn a_lying_arrow_stream_is_refused_in_bounded_memory() {
    let t = TestDb::sqlite().await;
    saved(&t).await;
    let mut ids = Vec::new();
    for stream in lying_arrow_streams() {
        ids.push(save_as(&t, stream, "application/vnd.apache.arrow.stream").await);
    }
    let server = serve(&t, None);
    for id in ids {
        let page = get(&format!("{}/manifests/{id}", server.base)).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("Cannot preview it: not an Arrow stream"),
            "{html}"
        );
    }
    assert_memory_bounded(&server, "lying Arrow streams' pages");
}

/// Sixteen MiB of JSON whose values take 256 MiB once parsed: previewed as text.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_json_content_is_previewed_without_parsing_it_whole() {
    let t = TestDb::sqlite().await;
    saved(&t).await;
    let mut json = b"[0".to_vec();
    json.extend(",0".repeat((16 << 20) / 2 - 2).as_bytes());
    json.push(b']');
    let id = save_as(&t, json, "application/json").await;
    let server = serve(&t, None);
    let page = get(&format!("{}/manifests/{id}", server.base)).await;
    assert_eq!(page.status(), 200);
    assert_memory_bounded(&server, "a 16 MiB JSON content's page");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("[0,0,0,0") && html.contains("Only the beginning"),
        "{}",
        &html[..2000]
    );
}

/// A PNG of a few bytes whose header claims `width` × `height` pixels.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        !bytes.iter().fold(!0u32, |crc, &byte| {
            (0..8).fold(crc ^ u32::from(byte), |crc, _| {
                (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg())
            })
        })
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]);
    let chunks: [(&[u8], &[u8]); 3] = [(b"IHDR", &header), (b"IDAT", &[]), (b"IEND", &[])];
    for (kind, data) in chunks {
        png.extend((data.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend(kind);
        png.extend(data);
        let crc = crc32(&png[start..]);
        png.extend(crc.to_be_bytes());
    }
    png
}

/// An image whose header claims a gigapixel is not put on the page for the browser to
/// decode; one of a sane size still is.
#[tokio::test(flavor = "multi_thread")]
async fn an_image_claiming_too_many_pixels_is_not_shown() {
    let t = TestDb::sqlite().await;
    saved(&t).await;
    let mut shown = Vec::new();
    for (width, height) in [(40_000, 40_000), (8, 6)] {
        shown.push(save_as(&t, png_claiming(width, height), "image/png").await);
    }
    let server = serve(&t, None);
    let page = |id| format!("{}/manifests/{id}", server.base);
    let html = get(&page(shown[0])).await.text().await.unwrap();
    assert!(
        html.contains("claims 40000×40000 pixels") && !html.contains("<img"),
        "{html}"
    );
    let html = get(&page(shown[1])).await.text().await.unwrap();
    assert!(html.contains("<img class=\"preview\""), "{html}");
}

/// The fuzz target `viewer_query`'s body over its seeds and every truncation and
/// one-byte change of them, in every `cargo test`, where libFuzzer is not built.
#[test]
fn the_viewer_query_fuzz_target_takes_its_seeds_and_their_mutations() {
    let folder =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/viewer_query");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let seed = std::fs::read(entry.unwrap().path()).unwrap();
        lakery_cli::fuzz_viewer_query(&seed);
        for end in 0..seed.len() {
            lakery_cli::fuzz_viewer_query(&seed[..end]);
            for byte in [b'&', b'=', b'%', b'+', b'~', 0xff] {
                let mut changed = seed.clone();
                changed[end] = byte;
                lakery_cli::fuzz_viewer_query(&changed);
            }
        }
        seeds += 1;
    }
    assert!(seeds >= 2, "fuzz/seeds/viewer_query holds {seeds} seeds");
}

// --- In a real browser ----------------------------------------------------------------

/// A `chromedriver` on a port it picked itself, stopped when dropped.
struct Driver {
    _process: Process,
    url: String,
}

fn chromedriver() -> Option<Driver> {
    let program = std::env::var("LAKERY_TEST_CHROMEDRIVER")
        .unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
    if !std::path::Path::new(&program).exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("CI=true but {program} is missing: .ci/run installs chromium-driver");
        }
        eprintln!(
            "SKIPPED browser tests: {program} is missing (apt-get install chromium \
             chromium-driver; CI=true makes this a failure)"
        );
        return None;
    }
    // On port 0 it binds a free port and names it once it listens.
    let mut process = Process::spawn("chromedriver", Command::new(&program).arg("--port=0"));
    let port = process
        .wait_for(|line| {
            line.trim()
                .strip_prefix("ChromeDriver was started successfully on port ")?
                .trim_end_matches('.')
                .parse::<u16>()
                .ok()
        })
        .unwrap_or_else(|exited| panic!("{exited}"));
    Some(Driver {
        _process: process,
        url: format!("http://127.0.0.1:{port}"),
    })
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> fantoccini::Client {
    let chromium =
        std::env::var("LAKERY_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    fantoccini::ClientBuilder::rustls()
        .unwrap()
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Saves a screenshot of the page under `target/tmp/viewer-screenshots/`.
async fn screenshot(client: &fantoccini::Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("viewer-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 2000,
        "{name}: not a picture"
    );
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn texts(client: &fantoccini::Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for element in client
        .find_all(fantoccini::Locator::Css(css))
        .await
        .unwrap()
    {
        out.push(element.text().await.unwrap());
    }
    out
}

async fn script(client: &fantoccini::Client, code: &str) -> serde_json::Value {
    client.execute(code, vec![]).await.unwrap()
}

/// How long a browser test's pages may take, all together.
const BROWSING: Duration = Duration::from_secs(180);

async fn wait_for_path(client: &fantoccini::Client, part: &str) {
    let started = Instant::now();
    loop {
        let url = client.current_url().await.unwrap();
        if url.as_str().contains(part) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never reached {part}: at {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// On SQLite alone: what the pages show is read the same way on every backend (the API
/// test above runs on all three); this one checks what the browser makes of them.
#[tokio::test(flavor = "multi_thread")]
async fn the_viewer_works_in_chromium_and_runs_no_stored_script() {
    let Some(driver) = chromedriver() else {
        return;
    };
    let t = TestDb::sqlite().await;
    let (first, second) = saved(&t).await;
    let server = serve(&t, None);
    let base = &server.base;
    let client = browser(&driver, &t.path("chromium-profile")).await;
    let outcome = tokio::time::timeout(BROWSING, async {
        // The list: both manifests, newest first.
        client.goto(&format!("{base}/")).await.unwrap();
        let listed = texts(&client, "tr.manifest a.manifest-link").await;
        assert_eq!(listed, [second.id.to_string(), first.id.to_string()]);
        screenshot(&client, "list").await;

        // Paging: one a page, and a link to the next.
        client.goto(&format!("{base}/?limit=1")).await.unwrap();
        let listed = texts(&client, "tr.manifest a.manifest-link").await;
        assert_eq!(listed, [second.id.to_string()]);
        client
            .find(fantoccini::Locator::Id("next"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for_path(&client, "after=").await;
        let listed = texts(&client, "tr.manifest a.manifest-link").await;
        assert_eq!(listed, [first.id.to_string()]);
        client.goto(&format!("{base}/")).await.unwrap();

        // Filter by a tag through the form.
        let input = client
            .find(fantoccini::Locator::Id("new-tag"))
            .await
            .unwrap();
        input.send_keys("project=apollo").await.unwrap();
        client
            .find(fantoccini::Locator::Id("apply"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for_path(&client, "tag=project%3Dapollo").await;
        let listed = texts(&client, "tr.manifest a.manifest-link").await;
        assert_eq!(listed, [first.id.to_string()]);
        screenshot(&client, "list-filtered").await;

        // Open the manifest.
        client
            .find(fantoccini::Locator::Css("a.manifest-link"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for_path(&client, &format!("/manifests/{}", first.id)).await;
        let json = texts(&client, "section[data-key=params] pre.json").await;
        assert!(
            json[0].contains("\"learning_rate\": 0.01") && json[0].contains("\n  \"layers\": ["),
            "pretty JSON: {json:?}"
        );
        let headers = texts(&client, "section[data-key=rows] table.data th").await;
        assert_eq!(headers, ["step", "loss"]);
        let cells = texts(
            &client,
            "section[data-key=rows] table.data tbody tr:nth-child(3) td",
        )
        .await;
        assert_eq!(cells, ["2", "0.3333333333333333"]);
        let note = texts(&client, "section[data-key=rows] p.note").await;
        assert_eq!(note, ["First 20 of 30 rows."]);
        let cities = texts(&client, "section[data-key=table] table.data td:first-child").await;
        assert_eq!(cities, ["Oslo", "Lima", "Perth"]);
        let rain = texts(
            &client,
            "section[data-key=table] table.data td:nth-child(2)",
        )
        .await;
        assert_eq!(rain, ["763.0", "null", "1.0"]);
        let width = script(
            &client,
            "const img = document.querySelector('section[data-key=plot] img.preview'); \
             return img.complete ? img.naturalWidth : -1;",
        )
        .await;
        assert_eq!(width, 8, "the PNG is shown");
        let hex = texts(&client, "section[data-key=raw] pre.hex").await;
        assert!(hex[0].starts_with("00000000  00 01 02 ff 6c 61"), "{hex:?}");
        // The stored HTML is shown as text and its script never ran.
        let shown = texts(&client, "section[data-key=page] pre.text").await;
        assert_eq!(shown, [SCRIPT]);
        let ran = script(&client, "return [document.title, typeof window.pwned];").await;
        assert_eq!(
            ran,
            serde_json::json!([format!("Manifest {} · lakery", first.id), "undefined"])
        );
        let note = texts(&client, &format!("section[data-key='{NOTE_KEY}'] pre.text")).await;
        assert_eq!(note, ["note of run 1"]);
        screenshot(&client, "manifest").await;
        let link = client
            .find(fantoccini::Locator::Css(&format!(
                "section[data-key='{NOTE_KEY}'] a.download"
            )))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        let downloaded = get(&format!("{base}{link}")).await;
        assert_eq!(downloaded.status(), 200, "{link}");
        assert_eq!(downloaded.text().await.unwrap(), "note of run 1");

        // Opened on its own, the stored HTML is still text in a sandbox.
        client
            .goto(&format!("{base}/api/manifests/{}/contents/page", first.id))
            .await
            .unwrap();
        let ran = script(
            &client,
            "return [document.title, typeof window.pwned, document.body.innerText];",
        )
        .await;
        assert_eq!(ran[0], "");
        assert_eq!(ran[1], "undefined");
        assert_eq!(ran[2], SCRIPT);
        screenshot(&client, "content-as-text").await;
    })
    .await;
    client.close().await.unwrap();
    outcome.unwrap_or_else(|_| panic!("the pages were not done within {BROWSING:?}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_needs_the_token_when_one_is_set() {
    let Some(driver) = chromedriver() else {
        return;
    };
    let t = TestDb::sqlite().await;
    let (first, _) = saved(&t).await;
    let server = serve(&t, Some("browser-token"));
    let base = &server.base;
    let client = browser(&driver, &t.path("chromium-profile")).await;
    let outcome = tokio::time::timeout(BROWSING, async {
        client.goto(&format!("{base}/")).await.unwrap();
        let body = script(&client, "return document.body.innerText;").await;
        assert!(body.as_str().unwrap().contains("needs its token"), "{body}");
        assert!(texts(&client, "tr.manifest").await.is_empty());
        screenshot(&client, "token-refused").await;
        client
            .goto(&format!("{base}/?token=browser-token"))
            .await
            .unwrap();
        let listed = texts(&client, "tr.manifest a.manifest-link").await;
        assert_eq!(listed.len(), 2);
        assert!(!client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("token"));
        // The cookie carries it from page to page.
        client
            .goto(&format!("{base}/manifests/{}", first.id))
            .await
            .unwrap();
        assert_eq!(texts(&client, "section.content").await.len(), 9);
    })
    .await;
    client.close().await.unwrap();
    outcome.unwrap_or_else(|_| panic!("the pages were not done within {BROWSING:?}"));
}
