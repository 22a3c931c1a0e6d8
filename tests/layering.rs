//! The runtime's layers stay layered: each module of `lakery/src` imports only from its
//! own layer and the layers below it, and names the module that defines a thing rather
//! than the crate root's re-export. ARCHITECTURE.md draws the layers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every top-level module of the library, with its layer: 1 the model, 2 the backends,
/// 3 the codec, 4 the flows, 5 the crate's face. A new module must be placed here.
const LAYERS: &[(&str, u8)] = &[
    // 1. Model: what is stored and how it is named, hashed, encoded; the errors.
    ("id", 1),
    ("record", 1),
    ("hash", 1),
    ("encoding", 1),
    ("content_type", 1),
    ("error", 1),
    // 2. Backends: where bytes go, how values become bytes, the database.
    ("durable", 2),
    ("storage", 2),
    ("serializer", 2),
    ("db", 2),
    // 3. Codec: values into contents and back, streams, reading a content.
    ("storable", 3),
    ("registry", 3),
    ("body", 3),
    ("each", 3),
    ("pack", 3),
    ("probe", 3),
    ("repack", 3),
    ("stream", 3),
    ("fetch", 3),
    // 4. Flows: what a user calls.
    ("save", 4),
    ("inspect", 4),
    ("load", 4),
    ("migration", 4),
    ("maintenance", 4),
    // 5. The crate's face: re-exports, the derive's names, the conformance kit.
    ("lib", 5),
    ("private", 5),
    ("testing", 5),
];

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `storage` for `src/storage/file.rs`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_str().unwrap().trim_end_matches(".rs").to_owned()
}

/// Every `crate::name` a line of code refers to (doc comments and comments left out).
fn crate_paths(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        // `$crate::` in a macro is the same crate, and counts; any other identifier
        // ending in `crate` is not a path.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let mut first: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if first.is_empty() && rest.starts_with('{') {
            // `use crate::{a::X, b::Y}`: each element names its module.
            let inner = &rest[1..rest.find('}').unwrap_or(rest.len())];
            for part in inner.split(',') {
                let part = part.trim();
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.push(name);
                }
            }
            continue;
        }
        if first == "__private" {
            first = "private".to_owned();
        }
        if !first.is_empty() {
            names.push(first);
        }
    }
    names
}

#[test]
fn every_module_imports_only_from_its_layer_and_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    source_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some(&own) = layers.get(module.as_str()) else {
            problems.push(format!(
                "{}: module `{module}` has no layer; add it to LAYERS in tests/layering.rs",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for name in crate_paths(line) {
                let place = format!("{}:{}", file.display(), number + 1);
                match layers.get(name.as_str()) {
                    Some(&layer) if layer > own => problems.push(format!(
                        "{place}: `{module}` (layer {own}) imports `crate::{name}` (layer {layer})"
                    )),
                    Some(_) => {}
                    None if module == "lib" => {}
                    None => problems.push(format!(
                        "{place}: `crate::{name}` is the crate root's re-export; name the \
                         module that defines it"
                    )),
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} layering problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The check itself finds what it is meant to find.
#[test]
fn the_check_reads_imports_as_they_are_written() {
    assert_eq!(crate_paths("use crate::hash::Digest;"), ["hash"]);
    assert_eq!(
        crate_paths("use crate::{db::Database, error::Error};"),
        ["db", "error"]
    );
    assert_eq!(
        crate_paths("    let x = crate::Encoding::from_name(n);"),
        ["Encoding"]
    );
    assert_eq!(crate_paths("$crate::db::x"), ["db"]);
    assert_eq!(crate_paths("my_crate::db::x"), Vec::<String>::new());
    assert_eq!(crate_paths("x // see crate::save"), Vec::<String>::new());
    assert_eq!(crate_paths("crate::__private::Unpacker"), ["private"]);
}
