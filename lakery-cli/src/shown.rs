//! Text from stored rows, made safe to print: tag keys and values, content keys, content
//! types and storage names are whatever a row holds, and a control character or an
//! ANSI escape among them must not reach the terminal raw (to move the cursor, rewrite
//! earlier lines, or set the window title).

use std::borrow::Cow;

/// `text` with each control character (C0, DEL, C1) and each bidirectional override
/// written as a visible escape, `\u{1b}`; other text as it is.
pub fn shown(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// [`shown`], keeping line breaks: for messages that span lines.
pub fn shown_lines(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n')
}

/// JSON text with the characters [`shown`] escapes written as JSON escapes (`\u009b`),
/// which `serde_json` leaves raw: DEL, the C1 controls (0x9b is a terminal's CSI) and
/// the bidi controls. Outside strings JSON has none of them, so the text stays valid
/// JSON with the same value.
pub fn shown_json(json: String) -> String {
    if !json.chars().any(hidden) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if hidden(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `c` is written escaped: a control character or a bidi control.
fn hidden(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let hidden = |c: char| !keep(c) && hidden(c);
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The characters that reorder how a line displays (Unicode's bidi embeddings,
/// overrides and isolates), which can make a printed name read as another.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_visibly() {
        assert_eq!(shown("plain é"), "plain é");
        assert_eq!(shown("a\u{1b}[31mb\u{7}"), "a\\u{1b}[31mb\\u{7}");
        assert_eq!(shown("x\u{9b}y\u{202e}z"), "x\\u{9b}y\\u{202e}z");
        assert_eq!(shown("two\nlines"), "two\\u{a}lines");
        assert_eq!(shown_lines("two\nlines\r"), "two\nlines\\u{d}");
    }

    #[test]
    fn json_keeps_its_value_without_raw_controls() {
        let value = serde_json::json!({"k\u{9b}31m": "v\u{202e}\u{7f}\u{1b}"});
        let text = shown_json(serde_json::to_string(&value).unwrap());
        assert!(!text.chars().any(hidden), "{text}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
    }
}
