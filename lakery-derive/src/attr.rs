//! Parses `#[storable(...)]` on the struct, and `#[storable(...)]` and `#[content(...)]`
//! on its fields.
//!
//! Every problem is recorded in the [`Ctxt`] and parsing goes on, so that one compile
//! reports all of them. Values are parsed as expressions first and judged afterwards,
//! which lets a wrong kind of value (`version = "2"`) get a message that shows the
//! right form instead of syn's generic "expected integer literal".

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, ExprPath, Ident, Lit, LitStr, Meta, Path, Token};
use uuid::Uuid;

use crate::ctxt::Ctxt;
use crate::symbol::*;

/// The UUID shown in help messages.
pub const EXAMPLE_CLASS_ID: &str = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11";

fn class_id_format() -> String {
    format!("`#[storable(class_id = \"{EXAMPLE_CLASS_ID}\")]`")
}
const VERSION_FORMAT: &str = "`#[storable(version = 2)]`";
const CONTAINER_SERIALIZER_FORMAT: &str = "`#[storable(serializer = Json)]`";
const MIGRATE_FROM_FORMAT: &str = "`#[storable(version = 2, migrate_from = ExperimentV1)]`";
const MIGRATE_FORMAT: &str = "`#[storable(version = 3, migrate = migrate_old_experiment)]`";
const CRATE_FORMAT: &str = "`#[storable(crate = \"my_crate::lakery\")]`";
const CONTENT_SERIALIZER_FORMAT: &str = "`#[content(serializer = Bincode)]`";
const STORAGE_FORMAT: &str = "`#[content(storage = \"archive\")]`";
const ENCODING_FORMAT: &str = "`#[content(encoding = \"zstd\")]`";
/// The longest tag key or value the runtime accepts, in bytes.
const MAX_TAG_LEN: usize = 1024;
const TAGS_FORMAT: &str = "`#[content(tags(kind = \"results\"))]`";

/// One key of an attribute, remembered so that a second occurrence is reported.
struct Attr<'c, T> {
    cx: &'c Ctxt,
    attribute: Symbol,
    name: Symbol,
    seen: bool,
    value: Option<T>,
}

impl<'c, T> Attr<'c, T> {
    fn none(cx: &'c Ctxt, attribute: Symbol, name: Symbol) -> Self {
        Attr {
            cx,
            attribute,
            name,
            seen: false,
            value: None,
        }
    }

    /// Notes that the key was written at `key`; reports it if it was written before.
    /// Returns whether this is the first occurrence.
    fn first(&mut self, key: &Path) -> bool {
        if self.seen {
            self.cx.error_spanned_by(
                key,
                format!("duplicate `{}` in `#[{}]`", self.name, self.attribute),
            );
            return false;
        }
        self.seen = true;
        true
    }

    fn set_if(&mut self, first: bool, value: Option<T>) {
        if first {
            self.value = value;
        }
    }

    fn get(self) -> Option<T> {
        self.value
    }
}

/// A class id from `class_id = "..."`, checked to be a UUID.
pub struct ClassId {
    pub uuid: Uuid,
    pub lit: LitStr,
}

/// A path to a serializer value, from `serializer = ...`: a unit struct or a `const`.
pub struct SerializerPath {
    pub path: ExprPath,
}

impl SerializerPath {
    /// The path as the user wrote it, for `ContentSpec::serializer_type`.
    pub fn display(&self) -> String {
        let mut text = self.path.to_token_stream().to_string();
        text.retain(|c| !c.is_whitespace());
        text
    }

    pub fn span(&self) -> Span {
        self.path.span()
    }
}

/// A path written as an attribute's value: `migrate = path::to::function`.
pub struct ValuePath {
    pub path: ExprPath,
}

impl ValuePath {
    /// The path as the user wrote it, for messages.
    pub fn display(&self) -> String {
        let mut text = self.path.to_token_stream().to_string();
        text.retain(|c| !c.is_whitespace());
        text
    }
}

/// The struct's `#[storable(...)]`.
pub struct Container {
    /// `None` when it is missing or malformed; the error is already recorded.
    pub class_id: Option<ClassId>,
    pub version: u32,
    /// Whether `version` was written but malformed (its error is already recorded), so
    /// that checks of the version do not pile up on the same mistake.
    pub version_malformed: bool,
    pub serializer: Option<SerializerPath>,
    /// `migrate_from = PreviousType`: the type of the version before this one.
    pub migrate_from: Option<syn::Type>,
    /// `migrate = path::to::function`: loads older versions with no type of their own.
    pub migrate: Option<ValuePath>,
    /// `crate = "path"`: the path generated code names lakery by, for a crate that
    /// re-exports it; `::lakery` when absent.
    pub krate: Option<Path>,
}

impl Container {
    pub fn from_ast(cx: &Ctxt, input: &syn::DeriveInput) -> Self {
        let mut class_id = Attr::none(cx, STORABLE, CLASS_ID);
        let mut version = Attr::none(cx, STORABLE, VERSION);
        let mut serializer = Attr::none(cx, STORABLE, SERIALIZER);
        let mut migrate_from = Attr::none(cx, STORABLE, MIGRATE_FROM);
        let mut migrate = Attr::none(cx, STORABLE, MIGRATE);
        let mut krate = Attr::none(cx, STORABLE, CRATE);
        // An unknown key that looks like a misspelled `class_id`: its error says so, and
        // "missing `class_id`" would only repeat it.
        let mut misspelled_class_id = false;

        for attr in &input.attrs {
            if attr.path() == &CONTENT {
                cx.error_spanned_by(
                    attr,
                    "`#[content]` goes on a field, not on the struct: it makes that field a \
                     content of its own",
                );
                continue;
            }
            if attr.path() != &STORABLE {
                continue;
            }
            let list = match &attr.meta {
                Meta::List(list) => list,
                // `#[storable]` alone: the missing class id is reported below.
                Meta::Path(_) => continue,
                Meta::NameValue(_) => {
                    cx.error_spanned_by(
                        attr,
                        format!(
                            "expected `#[storable(...)]`: the correct format looks like {}",
                            class_id_format()
                        ),
                    );
                    continue;
                }
            };
            let result = list.parse_nested_meta(|meta| {
                if meta.path == CLASS_ID {
                    let first = class_id.first(&meta.path);
                    let value = value_of(cx, &meta, CLASS_ID, &class_id_format())?;
                    class_id.set_if(first, value.and_then(|expr| parse_class_id(cx, &expr)));
                } else if meta.path == VERSION {
                    let first = version.first(&meta.path);
                    let value = value_of(cx, &meta, VERSION, VERSION_FORMAT)?;
                    version.set_if(first, value.and_then(|expr| parse_version(cx, &expr)));
                } else if meta.path == SERIALIZER {
                    let first = serializer.first(&meta.path);
                    let value = value_of(cx, &meta, SERIALIZER, CONTAINER_SERIALIZER_FORMAT)?;
                    serializer.set_if(
                        first,
                        value.and_then(|expr| {
                            parse_serializer(cx, expr, CONTAINER_SERIALIZER_FORMAT)
                        }),
                    );
                } else if meta.path == MIGRATE_FROM {
                    let first = migrate_from.first(&meta.path);
                    let value = type_of(cx, &meta, MIGRATE_FROM, MIGRATE_FROM_FORMAT)?;
                    migrate_from.set_if(first, value);
                } else if meta.path == MIGRATE {
                    let first = migrate.first(&meta.path);
                    let value = value_of(cx, &meta, MIGRATE, MIGRATE_FORMAT)?;
                    migrate.set_if(first, value.and_then(|expr| parse_hook(cx, expr)));
                } else if meta.path == CRATE {
                    let first = krate.first(&meta.path);
                    let value = value_of(cx, &meta, CRATE, CRATE_FORMAT)?;
                    krate.set_if(first, value.and_then(|expr| parse_crate(cx, &expr)));
                } else {
                    let key = path_text(&meta.path);
                    let mut message = format!(
                        "unknown storable attribute `{key}`; expected one of `{CLASS_ID}`, \
                         `{VERSION}`, `{SERIALIZER}`, `{MIGRATE_FROM}`, `{MIGRATE}`, `{CRATE}`"
                    );
                    if looks_like(&key, CLASS_ID.0) {
                        misspelled_class_id = true;
                        message.push_str(&format!("\nhelp: did you mean `{CLASS_ID}`?"));
                    } else if looks_like(&key, VERSION.0) {
                        message.push_str(&format!("\nhelp: did you mean `{VERSION}`?"));
                    }
                    if meta.path == SKIP || meta.path == STORAGE || meta.path == TAGS {
                        message.push_str(&format!(
                            "\nhelp: `{key}` applies to a field: put it on the field, in \
                             `#[storable(skip)]` or `#[content(...)]`"
                        ));
                    }
                    cx.error_spanned_by(&meta.path, message);
                    skip_value(&meta)?;
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }

        if !class_id.seen && !misspelled_class_id {
            cx.error_spanned_by(
                &input.ident,
                format!(
                    "missing `class_id`: add `#[storable(class_id = \"<uuid>\")]` to `{}`, with a \
                     UUID that identifies this type in storage forever\n\
                     help: generate one with `uuidgen`; the correct format looks like {}",
                    input.ident,
                    class_id_format(),
                ),
            );
        }

        let version_malformed = version.seen && version.value.is_none();
        Container {
            class_id: class_id.get(),
            version: version.get().unwrap_or(1),
            version_malformed,
            serializer: serializer.get(),
            migrate_from: migrate_from.get(),
            migrate: migrate.get(),
            krate: krate.get(),
        }
    }
}

/// The `crate = "..."` path of the struct's attributes, read without reporting anything:
/// for the placeholder impl emitted next to errors, which must name lakery the same way.
pub fn crate_path(input: &syn::DeriveInput) -> Option<Path> {
    let mut found = None;
    for attr in &input.attrs {
        if attr.path() != &STORABLE {
            continue;
        }
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path == CRATE {
                let lit: LitStr = meta.value()?.parse()?;
                found = lit.parse::<Path>().ok();
            } else {
                let _ = skip_value(&meta);
            }
            Ok(())
        });
    }
    found
}

/// Whether `key` is `word` with a small typo: at most two edits apart, or the same letters
/// without its underscores (`classid`, `class-id` read as a path).
fn looks_like(key: &str, word: &str) -> bool {
    let plain = |text: &str| -> String { text.chars().filter(|c| c.is_alphanumeric()).collect() };
    plain(key).eq_ignore_ascii_case(&plain(word)) || edit_distance(key, word) <= 2
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// A field's `#[storable(...)]` and `#[content(...)]`.
pub struct Field {
    /// The `skip` key of `#[storable(skip)]`.
    pub skip: Option<Path>,
    /// The `nested` key of `#[storable(nested)]`.
    pub nested: Option<Path>,
    pub content: Option<Content>,
}

/// A field's `#[content]` or `#[content(...)]`.
#[derive(Default)]
pub struct Content {
    pub serializer: Option<SerializerPath>,
    pub storage: Option<LitStr>,
    pub tags: Vec<(String, String)>,
    /// `encoding = "zstd"`: the variant of `lakery::Encoding`.
    pub encoding: Option<Ident>,
    /// `each`: every entry of the field's container is a content of its own.
    pub each: Option<Path>,
}

impl Field {
    pub fn from_ast(cx: &Ctxt, field: &syn::Field) -> Self {
        let mut skip = Attr::none(cx, STORABLE, SKIP);
        let mut nested = Attr::none(cx, STORABLE, NESTED);
        let mut content: Option<Content> = None;
        let name = field
            .ident
            .as_ref()
            .map_or_else(String::new, |ident| ident.unraw().to_string());

        for attr in &field.attrs {
            if attr.path() == &STORABLE {
                parse_field_storable(cx, attr, &mut skip, &mut nested);
            } else if attr.path() == &CONTENT {
                let parsed = parse_content(cx, attr);
                if content.is_some() {
                    cx.error_spanned_by(
                        attr,
                        format!(
                            "duplicate `#[content]` on field `{name}`: merge them into one \
                             `#[content(...)]`"
                        ),
                    );
                } else if skip.seen {
                    cx.error_spanned_by(
                        attr,
                        format!(
                            "field `{name}` cannot be both `#[storable(skip)]` and `#[content]`: \
                             a skipped field is not stored at all; remove one of the two"
                        ),
                    );
                } else {
                    content = Some(parsed);
                }
            }
        }
        let skip = skip.get();
        if let (Some(skip), true) = (&skip, content.is_some()) {
            // `#[content]` came first and `#[storable(skip)]` after it.
            cx.error_spanned_by(
                skip,
                format!(
                    "field `{name}` cannot be both `#[storable(skip)]` and `#[content]`: a \
                     skipped field is not stored at all; remove one of the two"
                ),
            );
        }
        let nested = nested.get();
        if let Some(nested) = &nested {
            let other = match (&skip, &content) {
                (Some(_), _) => Some("`#[storable(skip)]`"),
                (None, Some(_)) => Some("`#[content]`"),
                (None, None) => None,
            };
            if let Some(other) = other {
                cx.error_spanned_by(
                    nested,
                    format!(
                        "field `{name}` cannot be both `#[storable(nested)]` and {other}: a \
                         nested field's contents are its type's own; remove one of the two"
                    ),
                );
            }
        }
        Field {
            skip,
            nested,
            content,
        }
    }
}

fn parse_field_storable(
    cx: &Ctxt,
    attr: &Attribute,
    skip: &mut Attr<Path>,
    nested: &mut Attr<Path>,
) {
    let Meta::List(list) = &attr.meta else {
        cx.error_spanned_by(
            attr,
            "expected `#[storable(skip)]`: on a field, `#[storable(...)]` takes `skip` or `nested`",
        );
        return;
    };
    let result = list.parse_nested_meta(|meta| {
        if meta.path == SKIP {
            let first = skip.first(&meta.path);
            if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
                cx.error_spanned_by(
                    &meta.path,
                    "`skip` takes no value: the correct format looks like `#[storable(skip)]`",
                );
                skip_value(&meta)?;
            }
            skip.set_if(first, Some(meta.path.clone()));
        } else if meta.path == NESTED {
            let first = nested.first(&meta.path);
            if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
                cx.error_spanned_by(
                    &meta.path,
                    "`nested` takes no value: the correct format looks like \
                     `#[storable(nested)]`",
                );
                skip_value(&meta)?;
            }
            nested.set_if(first, Some(meta.path.clone()));
        } else {
            let key = path_text(&meta.path);
            let message = if meta.path == CLASS_ID
                || meta.path == VERSION
                || meta.path == MIGRATE_FROM
                || meta.path == MIGRATE
            {
                format!(
                    "`{key}` belongs in the struct's `#[storable(...)]`, not on a field; on a \
                     field, `#[storable(...)]` takes `skip` or `nested`"
                )
            } else if meta.path == SERIALIZER || meta.path == STORAGE || meta.path == TAGS {
                format!(
                    "unknown storable field attribute `{key}`; expected `skip` or `nested`\n\
                     help: a field's `serializer`, `storage` and `tags` go in `#[content(...)]`, \
                     which makes the field a content of its own"
                )
            } else {
                format!("unknown storable field attribute `{key}`; expected `skip` or `nested`")
            };
            cx.error_spanned_by(&meta.path, message);
            skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(err) = result {
        cx.syn_error(err);
    }
}

fn parse_content(cx: &Ctxt, attr: &Attribute) -> Content {
    let list = match &attr.meta {
        Meta::Path(_) => return Content::default(),
        Meta::List(list) => list,
        Meta::NameValue(_) => {
            cx.error_spanned_by(
                attr,
                format!("expected `#[content]` or `#[content(...)]`, such as {CONTENT_SERIALIZER_FORMAT}"),
            );
            return Content::default();
        }
    };
    let mut serializer = Attr::none(cx, CONTENT, SERIALIZER);
    let mut storage = Attr::none(cx, CONTENT, STORAGE);
    let mut tags = Attr::none(cx, CONTENT, TAGS);
    let mut encoding = Attr::none(cx, CONTENT, ENCODING);
    let mut each = Attr::none(cx, CONTENT, EACH);
    let result = list.parse_nested_meta(|meta| {
        if meta.path == SERIALIZER {
            let first = serializer.first(&meta.path);
            let value = value_of(cx, &meta, SERIALIZER, CONTENT_SERIALIZER_FORMAT)?;
            serializer.set_if(
                first,
                value.and_then(|expr| parse_serializer(cx, expr, CONTENT_SERIALIZER_FORMAT)),
            );
        } else if meta.path == STORAGE {
            let first = storage.first(&meta.path);
            let value = value_of(cx, &meta, STORAGE, STORAGE_FORMAT)?;
            storage.set_if(first, value.and_then(|expr| parse_storage(cx, &expr)));
        } else if meta.path == TAGS {
            let first = tags.first(&meta.path);
            let value = parse_tags(cx, &meta)?;
            tags.set_if(first, value);
        } else if meta.path == ENCODING {
            let first = encoding.first(&meta.path);
            let value = value_of(cx, &meta, ENCODING, ENCODING_FORMAT)?;
            encoding.set_if(first, value.and_then(|expr| parse_encoding(cx, &expr)));
        } else if meta.path == EACH {
            let first = each.first(&meta.path);
            if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
                cx.error_spanned_by(
                    &meta.path,
                    "`each` takes no value: the correct format looks like \
                     `#[content(serializer = Npy, each)]`",
                );
                skip_value(&meta)?;
            }
            each.set_if(first, Some(meta.path.clone()));
        } else {
            let key = path_text(&meta.path);
            let mut message = format!(
                "unknown content attribute `{key}`; expected one of `{SERIALIZER}`, `{STORAGE}`, \
                 `{TAGS}`, `{ENCODING}`, `{EACH}`"
            );
            if meta.path == SKIP {
                message.push_str(
                    "\nhelp: to leave a field out of storage, write `#[storable(skip)]` instead \
                     of `#[content]`",
                );
            } else if meta.path == CLASS_ID
                || meta.path == VERSION
                || meta.path == MIGRATE_FROM
                || meta.path == MIGRATE
            {
                message.push_str(&format!(
                    "\nhelp: `{key}` belongs in the struct's `#[storable(...)]`"
                ));
            }
            cx.error_spanned_by(&meta.path, message);
            skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(err) = result {
        cx.syn_error(err);
    }
    Content {
        serializer: serializer.get(),
        storage: storage.get(),
        tags: tags.get().unwrap_or_default(),
        encoding: encoding.get(),
        each: each.get(),
    }
}

/// The expression after `key =`, or `None` (with an error recorded) when there is no `=`.
fn value_of(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    key: Symbol,
    format: &str,
) -> syn::Result<Option<Expr>> {
    if meta.input.peek(Token![=]) {
        let expr: Expr = meta.value()?.parse()?;
        return Ok(Some(expr));
    }
    cx.error_spanned_by(
        &meta.path,
        format!("expected a value for `{key}`: the correct format looks like {format}"),
    );
    skip_value(meta)?;
    Ok(None)
}

/// The type after `key =`, or `None` (reported) when there is no `=` or no type.
fn type_of(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    key: Symbol,
    format: &str,
) -> syn::Result<Option<syn::Type>> {
    if !meta.input.peek(Token![=]) {
        cx.error_spanned_by(
            &meta.path,
            format!("expected a value for `{key}`: the correct format looks like {format}"),
        );
        skip_value(meta)?;
        return Ok(None);
    }
    let value = meta.value()?;
    if value.peek(LitStr) {
        let lit: LitStr = value.parse()?;
        cx.error_spanned_by(
            &lit,
            format!(
                "expected the previous version's type, not a string: the correct format looks \
                 like {format}"
            ),
        );
        return Ok(None);
    }
    match value.parse::<syn::Type>() {
        Ok(ty) => Ok(Some(ty)),
        Err(err) => {
            cx.error_spanned_by(
                &meta.path,
                format!(
                    "expected the previous version's type after `{key} =`: the correct format \
                     looks like {format}"
                ),
            );
            Err(err)
        }
    }
}

/// A `migrate = ...` value: a path to a function.
fn parse_hook(cx: &Ctxt, expr: Expr) -> Option<ValuePath> {
    match expr {
        Expr::Path(path) if path.attrs.is_empty() => Some(ValuePath { path }),
        other => {
            cx.error_spanned_by(
                &other,
                format!(
                    "expected a path to a function such as `migrate_old_experiment`: the correct \
                     format looks like {MIGRATE_FORMAT}"
                ),
            );
            None
        }
    }
}

/// Consumes what follows a key that is reported, so that the keys after it are checked too.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let inner;
        syn::parenthesized!(inner in meta.input);
        inner.parse::<TokenStream>()?;
    }
    Ok(())
}

fn path_text(path: &Path) -> String {
    let mut text = path.to_token_stream().to_string();
    text.retain(|c| !c.is_whitespace());
    text
}

fn string_literal(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit),
        _ => None,
    }
}

fn parse_class_id(cx: &Ctxt, expr: &Expr) -> Option<ClassId> {
    let Some(lit) = string_literal(expr) else {
        cx.error_spanned_by(
            expr,
            format!(
                "expected a string literal holding a UUID: the correct format looks like {}",
                class_id_format()
            ),
        );
        return None;
    };
    match Uuid::parse_str(&lit.value()) {
        Ok(uuid) if uuid.is_nil() => {
            cx.error_spanned_by(
                lit,
                "the nil UUID cannot be a class id: every storable type needs a UUID of its own\n\
                 help: generate one with `uuidgen`",
            );
            None
        }
        Ok(uuid) => Some(ClassId {
            uuid,
            lit: lit.clone(),
        }),
        Err(err) => {
            cx.error_spanned_by(
                lit,
                format!(
                    "`class_id` is not a valid UUID: {err}\n\
                     help: the correct format looks like {}; generate one with `uuidgen`",
                    class_id_format()
                ),
            );
            None
        }
    }
}

fn parse_version(cx: &Ctxt, expr: &Expr) -> Option<u32> {
    let lit = match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit,
        _ => {
            cx.error_spanned_by(
                expr,
                format!(
                    "expected an integer literal: the correct format looks like {VERSION_FORMAT}"
                ),
            );
            return None;
        }
    };
    if !matches!(lit.suffix(), "" | "u32") {
        cx.error_spanned_by(
            lit,
            format!(
                "a version is a `u32`, not a `{}`: the correct format looks like {VERSION_FORMAT}",
                lit.suffix()
            ),
        );
        return None;
    }
    match lit.base10_parse::<u32>() {
        Ok(0) => {
            cx.error_spanned_by(
                lit,
                "version starts at 1: the correct format looks like `#[storable(version = 1)]`",
            );
            None
        }
        Ok(version) if version <= i32::MAX as u32 => Some(version),
        _ => {
            cx.error_spanned_by(
                lit,
                format!(
                    "version `{lit}` is too large: versions go up to {} so that every database can store them",
                    i32::MAX
                ),
            );
            None
        }
    }
}

fn parse_serializer(cx: &Ctxt, expr: Expr, format: &str) -> Option<SerializerPath> {
    match expr {
        Expr::Path(path) if path.attrs.is_empty() => match std_type_name(&path) {
            Some(name) => {
                cx.error_spanned_by(
                    &path,
                    format!(
                        "`{name}` is a type, not a serializer: `serializer = ...` names the \
                         serializer that stores the field, such as `Json`, `Bincode`, \
                         `MessagePack`, `Text` (for a `String`) or `RawBytes` (for a \
                         `Vec<u8>`)\n\
                         help: the field's own type says what is stored; leave `serializer` \
                         out to store it as JSON, or name a serializer, as in {format}"
                    ),
                );
                None
            }
            None => Some(SerializerPath { path }),
        },
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => {
            cx.error_spanned_by(
                &lit,
                format!(
                    "expected a path to a serializer such as `Json`, not a string: the correct \
                     format looks like {format}"
                ),
            );
            None
        }
        other => {
            cx.error_spanned_by(
                &other,
                format!(
                    "expected a path to a serializer such as `Json`: the correct format looks \
                     like {format}\n\
                     help: to use a configured serializer, declare it as a constant \
                     (`const PRETTY: MySerializer = MySerializer {{ .. }};`) and write \
                     `serializer = PRETTY`"
                ),
            );
            None
        }
    }
}

/// The name of a standard type written where a serializer belongs (`serializer = String`):
/// the compiler would only say "expected value, found struct `String`". A user's own
/// type there still gets the compiler's message: a derive cannot tell a type from a value.
fn std_type_name(path: &ExprPath) -> Option<String> {
    const STD_TYPES: &[&str] = &[
        "String", "Vec", "Option", "Box", "HashMap", "BTreeMap", "HashSet", "BTreeSet", "Bytes",
        "str", "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
        "i64", "i128", "isize", "f32", "f64",
    ];
    let ident = path.path.get_ident()?;
    let name = ident.to_string();
    STD_TYPES.contains(&name.as_str()).then_some(name)
}

/// A `crate = "..."` value: a string literal holding a path.
fn parse_crate(cx: &Ctxt, expr: &Expr) -> Option<Path> {
    let Some(lit) = string_literal(expr) else {
        cx.error_spanned_by(
            expr,
            format!(
                "expected a string literal holding the path to lakery: the correct format \
                 looks like {CRATE_FORMAT}"
            ),
        );
        return None;
    };
    match lit.parse::<Path>() {
        Ok(path) => Some(path),
        Err(_) => {
            cx.error_spanned_by(
                lit,
                format!(
                    "`crate` must be a path such as `my_crate::lakery`: the correct format \
                     looks like {CRATE_FORMAT}"
                ),
            );
            None
        }
    }
}

fn parse_storage(cx: &Ctxt, expr: &Expr) -> Option<LitStr> {
    let Some(lit) = string_literal(expr) else {
        cx.error_spanned_by(
            expr,
            format!(
                "expected a string literal naming a storage: the correct format looks like \
                 {STORAGE_FORMAT}"
            ),
        );
        return None;
    };
    if lit.value().is_empty() {
        cx.error_spanned_by(
            lit,
            "a storage name cannot be empty: leave `storage` out to use the registry's default \
             storage",
        );
        return None;
    }
    Some(lit.clone())
}

/// The encodings `encoding = "..."` names, and their `lakery::Encoding` variants.
const ENCODINGS: [(&str, &str); 2] = [("zstd", "Zstd"), ("gzip", "Gzip")];

fn parse_encoding(cx: &Ctxt, expr: &Expr) -> Option<Ident> {
    let Some(lit) = string_literal(expr) else {
        cx.error_spanned_by(
            expr,
            format!(
                "expected a string literal naming an encoding: the correct format looks like \
                 {ENCODING_FORMAT}"
            ),
        );
        return None;
    };
    let name = lit.value();
    match ENCODINGS.iter().find(|(known, _)| *known == name) {
        Some((_, variant)) => Some(Ident::new(variant, lit.span())),
        None => {
            cx.error_spanned_by(
                lit,
                format!("unknown encoding {name:?}; expected \"zstd\" or \"gzip\""),
            );
            None
        }
    }
}

/// `tags(key = "value", "other-key" = "value")`.
fn parse_tags(cx: &Ctxt, meta: &ParseNestedMeta) -> syn::Result<Option<Vec<(String, String)>>> {
    if !meta.input.peek(syn::token::Paren) {
        cx.error_spanned_by(
            &meta.path,
            format!(
                "expected a list of tags: the correct format looks like {TAGS_FORMAT}, with \
                 string values"
            ),
        );
        skip_value(meta)?;
        return Ok(None);
    }
    let input;
    syn::parenthesized!(input in meta.input);
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut valid = true;
    while !input.is_empty() {
        let (key, key_span) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            (lit.value(), lit.span())
        } else if input.peek(Ident::peek_any) {
            let ident = input.call(Ident::parse_any)?;
            (ident.unraw().to_string(), ident.span())
        } else {
            return Err(input.error(format!(
                "expected a tag key, an identifier or a string literal: the correct format \
                 looks like {TAGS_FORMAT}"
            )));
        };
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        if key.is_empty() {
            cx.error_at(key_span, "a tag key cannot be empty");
            valid = false;
        } else if key.len() > MAX_TAG_LEN || key.chars().any(char::is_control) {
            cx.error_at(
                key_span,
                format!("a tag key is at most {MAX_TAG_LEN} bytes, without control characters"),
            );
            valid = false;
        } else if tags.iter().any(|(seen, _)| *seen == key) {
            cx.error_at(key_span, format!("duplicate tag `{key}` in `tags(...)`"));
            valid = false;
        }
        match string_literal(&value) {
            Some(lit)
                if lit.value().len() > MAX_TAG_LEN || lit.value().chars().any(char::is_control) =>
            {
                cx.error_spanned_by(
                    lit,
                    format!(
                        "a tag value is at most {MAX_TAG_LEN} bytes, without control characters"
                    ),
                );
                valid = false;
            }
            Some(lit) => tags.push((key, lit.value())),
            None => {
                cx.error_spanned_by(
                    &value,
                    format!(
                        "expected a string literal as the value of tag `{key}`: tag values are \
                         text, so the correct format looks like {TAGS_FORMAT}"
                    ),
                );
                valid = false;
            }
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(valid.then_some(tags))
}
