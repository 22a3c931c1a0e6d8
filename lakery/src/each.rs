//! `#[content(each)]`: the containers whose entries are stored as contents of their own.

/// A container whose entries a `#[content(each)]` field stores as contents of their
/// own: `Option<T>` (one content or none), `Vec<T>` (keyed by index) and
/// `BTreeMap<String, T>` (keyed by map key).
#[diagnostic::on_unimplemented(
    message = "`#[content(each)]` needs a container of contents, not `{Self}`",
    label = "`{Self}` is not an `Option`, `Vec` or `BTreeMap<String, _>`",
    note = "`each` stores every entry of an `Option<T>`, `Vec<T>` or `BTreeMap<String, T>` as a content of its own; leave it out to store the field as one content"
)]
pub trait EachContent: Sized {
    /// What each entry holds.
    type Item;

    /// Every entry, with the key it is stored under after the field's (`None`: the
    /// field's key itself).
    fn entries(&self) -> Vec<(Option<String>, &Self::Item)>;

    /// The container again from its stored entries, in any order.
    fn from_entries(
        entries: Vec<(Option<String>, Self::Item)>,
    ) -> std::result::Result<Self, String>;
}

/// The longest entry key, in bytes: with the field's key it fits a content key.
const MAX_ENTRY_LEN: usize = 200;

pub(crate) fn check_entry(entry: &str) -> std::result::Result<(), String> {
    if entry.is_empty() {
        return Err("an entry's key must not be empty".to_owned());
    }
    if entry.len() > MAX_ENTRY_LEN {
        return Err(format!("an entry's key is at most {MAX_ENTRY_LEN} bytes"));
    }
    if entry.chars().any(char::is_control) {
        return Err("an entry's key must not contain control characters".to_owned());
    }
    Ok(())
}

impl<T> EachContent for Option<T> {
    type Item = T;

    fn entries(&self) -> Vec<(Option<String>, &T)> {
        self.iter().map(|item| (None, item)).collect()
    }

    fn from_entries(mut entries: Vec<(Option<String>, T)>) -> std::result::Result<Self, String> {
        match entries.len() {
            0 => Ok(None),
            1 if entries[0].0.is_none() => Ok(entries.pop().map(|(_, item)| item)),
            _ => Err(format!(
                "an `Option` field has one content at most, stored under its own key; found {}",
                describe(&entries)
            )),
        }
    }
}

impl<T> EachContent for Vec<T> {
    type Item = T;

    fn entries(&self) -> Vec<(Option<String>, &T)> {
        self.iter()
            .enumerate()
            .map(|(i, item)| (Some(i.to_string()), item))
            .collect()
    }

    fn from_entries(entries: Vec<(Option<String>, T)>) -> std::result::Result<Self, String> {
        let found = describe(&entries);
        let mut numbered = Vec::with_capacity(entries.len());
        for (entry, item) in entries {
            let index = entry
                .as_deref()
                .and_then(|e| e.parse::<usize>().ok().filter(|i| i.to_string() == e))
                .ok_or_else(|| {
                    format!("a `Vec` field's entries are numbered 0, 1, ...; found {found}")
                })?;
            numbered.push((index, item));
        }
        numbered.sort_by_key(|(index, _)| *index);
        if numbered
            .iter()
            .enumerate()
            .any(|(i, (index, _))| i != *index)
        {
            return Err(format!(
                "a `Vec` field's entries are numbered 0 to {} without a gap; found {found}",
                numbered.len().saturating_sub(1)
            ));
        }
        Ok(numbered.into_iter().map(|(_, item)| item).collect())
    }
}

impl<T> EachContent for std::collections::BTreeMap<String, T> {
    type Item = T;

    fn entries(&self) -> Vec<(Option<String>, &T)> {
        self.iter()
            .map(|(key, item)| (Some(key.clone()), item))
            .collect()
    }

    fn from_entries(entries: Vec<(Option<String>, T)>) -> std::result::Result<Self, String> {
        let found = describe(&entries);
        entries
            .into_iter()
            .map(|(entry, item)| {
                entry
                    .map(|entry| (entry, item))
                    .ok_or_else(|| format!("a map field's entries are keyed; found {found}"))
            })
            .collect()
    }
}

/// The stored entry keys, for messages.
fn describe<T>(entries: &[(Option<String>, T)]) -> String {
    let keys: Vec<String> = entries
        .iter()
        .map(|(entry, _)| match entry {
            Some(entry) => format!("`.{entry}`"),
            None => "the field's own key".to_owned(),
        })
        .collect();
    if keys.is_empty() {
        "none".to_owned()
    } else {
        keys.join(", ")
    }
}
