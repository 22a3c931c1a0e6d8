//! The HTML pages: the list of manifests, one manifest with previews of its contents,
//! and their layout and stylesheet.

use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;
use lakery::{ContentRecord, ManifestRecord};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::preview::{self, Preview};
use super::problem::Problem;
use super::Shared;

/// At most this many contents are previewed on one manifest's page.
const MAX_PREVIEWS: usize = 40;

pub async fn list_page(State(app): Shared, RawQuery(query): RawQuery) -> Result<Markup, Problem> {
    let (params, page) = app.list(query.as_deref(), false).await?;
    let class_text = params
        .filter
        .class
        .map(|c| c.to_string())
        .unwrap_or_default();
    Ok(layout(
        "Manifests",
        html! {
            h1 { "Manifests" }
            form.filters method="get" action="/" {
                label { "Class " input type="text" name="class" value=(class_text) placeholder="class id"; }
                @for tag in &params.tag_texts {
                    label { "Tag " input type="text" name="tag" value=(tag); }
                }
                label { "Tag " input id="new-tag" type="text" name="tag" placeholder="key=value"; }
                label { "Since " input type="text" name="since" value=(params.since_text) placeholder="2026-01-01"; }
                label { "Until " input type="text" name="until" value=(params.until_text) placeholder="2026-12-31"; }
                button id="apply" type="submit" { "Filter" }
                " " a href="/" { "Clear" }
            }
            @if page.records.is_empty() {
                p.empty { "No manifests match." }
            } @else {
                table.manifests {
                    thead { tr { th { "Id" } th { "Class" } th { "Version" } th { "Created (UTC)" } th { "Tags" } } }
                    tbody {
                        @for record in &page.records {
                            (manifest_row(record))
                        }
                    }
                }
            }
            @if !page.unreadable.is_empty() {
                h2 { "Unreadable manifests" }
                p.note { "These rows are not what lakery writes; `lakery rm ID` removes one." }
                table.unreadable {
                    thead { tr { th { "Id" } th { "Why" } } }
                    tbody {
                        @for row in &page.unreadable {
                            tr.unreadable { td { code { (row.id) } } td.error { (row.reason) } }
                        }
                    }
                }
            }
            @if let Some(cursor) = page.next {
                p { a id="next" rel="next" href=(params.next_link(cursor)) { "Next page →" } }
            }
        },
    ))
}

fn manifest_row(record: &ManifestRecord) -> Markup {
    html! {
        tr.manifest {
            td { a.manifest-link href={ "/manifests/" (record.id) } { code { (record.id) } } }
            td { a href={ "/?class=" (record.class_id) } { code { (record.class_id) } } }
            td.number { (record.class_version) }
            td { (record.created_at.format("%Y-%m-%d %H:%M:%S")) }
            td.tags {
                @for (key, value) in &record.tags {
                    a.tag href=(tag_link(key, value)) { (key) "=" (value) } " "
                }
            }
        }
    }
}

/// The list filtered by one tag, written as `parse_tag` reads it: `=` and `\` in the key
/// escaped, so that a key holding `=` is found again.
fn tag_link(key: &str, value: &str) -> String {
    let key = key.replace('\\', "\\\\").replace('=', "\\=");
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("tag", &format!("{key}={value}"))
        .finish();
    format!("/?{query}")
}

pub async fn manifest_page(State(app): Shared, Path(id): Path<String>) -> Result<Markup, Problem> {
    let (manifest, contents) = app.manifest_and_contents(&id, false).await?;
    let id = manifest.id;
    let mut previews = Vec::with_capacity(contents.len());
    for (n, content) in contents.iter().enumerate() {
        if n >= MAX_PREVIEWS {
            previews.push(Preview::Skipped);
            continue;
        }
        let _turn = app.reads.acquire().await;
        previews.push(preview::of(&app.registry, &app.db, content).await);
    }
    Ok(layout(
        &format!("Manifest {id}"),
        html! {
            p { a href="/" { "← All manifests" } }
            h1 { "Manifest " code { (manifest.id) } }
            dl.manifest {
                dt { "Class" } dd { code { (manifest.class_id) } " version " (manifest.class_version) }
                dt { "Created" } dd { (manifest.created_at.to_rfc3339()) }
                @if let Some(replaces) = manifest.replaces {
                    dt { "Replaces" } dd { a href={ "/manifests/" (replaces) } { code { (replaces) } } }
                }
                dt { "Tags" }
                dd {
                    @for (key, value) in &manifest.tags {
                        a.tag href=(tag_link(key, value)) { (key) "=" (value) } " "
                    }
                }
            }
            h2 { "Contents" }
            table.contents {
                thead { tr { th { "Key" } th { "Type" } th { "Size" } th { "Encoding" } th { "Storage" } th { "Hash" } th {} } }
                tbody {
                    @for content in &contents {
                        tr {
                            td { a href={ "#content-" (content.key) } { code { (content.key) } } }
                            td { code { (content.content_type) } }
                            td.number title={ (content.size) " bytes" } { (crate::progress::size(content.size)) }
                            td { (content.encoding.as_deref().unwrap_or("–")) }
                            td { (content.storage_name) }
                            td { code.hash title=(content.hash) { (content.hash_algorithm) ":" (content.hash.get(..12).unwrap_or(&content.hash)) "…" } }
                            td { a href={ (content_url(content)) "?download" } { "Download" } }
                        }
                    }
                }
            }
            @for (content, preview) in contents.iter().zip(&previews) {
                section.content id={ "content-" (content.key) } data-key=(content.key) {
                    h3 { code { (content.key) } " " small { (content.content_type) } }
                    (render_preview(content, preview))
                    p { a.download href={ (content_url(content)) "?download" } { "Download " (content.key) } }
                }
            }
        },
    ))
}

/// What a path segment must escape: all but unreserved characters.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The URL of a content's bytes.
fn content_url(content: &ContentRecord) -> String {
    let key = percent_encoding::utf8_percent_encode(&content.key, PATH_SEGMENT);
    format!("/api/manifests/{}/contents/{key}", content.manifest_id)
}

fn render_preview(content: &ContentRecord, preview: &Preview) -> Markup {
    match preview {
        Preview::Image => html! {
            img.preview src=(content_url(content)) alt=(content.key);
        },
        Preview::Json { text, truncated } => html! {
            pre.preview.json { (text) }
            @if *truncated { p.note { "Only the beginning is shown." } }
        },
        Preview::Text { text, truncated } => html! {
            pre.preview.text { (text) }
            @if *truncated { p.note { "Only the beginning is shown." } }
        },
        Preview::Table {
            columns,
            rows,
            total_rows,
        } => html! {
            table.preview.data {
                thead { tr { @for column in columns { th { (column) } } } }
                tbody {
                    @for row in rows {
                        tr { @for cell in row { td { (cell) } } }
                    }
                }
            }
            p.note {
                @match total_rows {
                    Some(total) => { "First " (rows.len()) " of " (total) " rows." }
                    None => { "First " (rows.len()) " rows." }
                }
            }
        },
        Preview::Hex { dump, size, more } => html! {
            pre.preview.hex { (dump) }
            p.note {
                @if *more { "More than " }
                (crate::progress::size(*size)) " (" (size) " bytes) decompressed; the first "
                ((*size).min(512)) " bytes shown."
            }
        },
        Preview::Skipped => html! {
            p.note { "Not previewed: this page previews the first " (MAX_PREVIEWS) " contents." }
        },
        Preview::ImageTooLarge { width, height } => html! {
            p.note { "Not shown: its header claims " (width) "×" (height) " pixels. Download it to look at it." }
        },
        Preview::TooLarge { size } => html! {
            p.note { "Too large to preview here (" (crate::progress::size(*size)) "): download it." }
        },
        Preview::Failed(message) => html! {
            p.error { "Cannot preview it: " (message) }
        },
    }
}

// --- Layout ---------------------------------------------------------------------------

pub fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · lakery" }
                link rel="stylesheet" href="/style.css";
            }
            body {
                header { a.brand href="/" { "lakery" } }
                main { (body) }
            }
        }
    }
}

pub async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        PreEscaped(include_str!("style.css")).into_string(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tag_link_finds_keys_holding_equals_signs_and_backslashes() {
        for (key, value) in [("a=b", "c=d"), (r"c:\temp", "1"), (r"x\=", ""), ("k", "v")] {
            let link = super::tag_link(key, value);
            let query = link.strip_prefix("/?").unwrap();
            let (_, text) = url::form_urlencoded::parse(query.as_bytes())
                .next()
                .unwrap();
            let expected = Ok((key.to_owned(), value.to_owned()));
            assert_eq!(crate::filter::parse_tag(&text), expected, "{link}");
        }
    }
}
