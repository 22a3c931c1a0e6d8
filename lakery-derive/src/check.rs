//! Checks that span more than one attribute or field.

use crate::ast::{Container, Role};
use crate::ctxt::Ctxt;
use crate::symbol::BODY_KEY;

pub fn check(cx: &Ctxt, cont: &Container) {
    check_no_lifetimes(cx, cont);
    check_body_key(cx, cont);
    check_body_serializer_used(cx, cont);
    check_reserved_names(cx, cont);
    check_migrations_have_a_past(cx, cont);
    check_streams_are_contents(cx, cont);
    check_each_is_not_a_stream(cx, cont);
}

/// `each` splits a container into contents read whole; a stream is read incrementally.
fn check_each_is_not_a_stream(cx: &Ctxt, cont: &Container) {
    for field in &cont.fields {
        let Role::Content(content) = &field.role else {
            continue;
        };
        if let (Some(each), Some(_)) = (&content.each, crate::ast::stream_item(field.ty)) {
            cx.error_spanned_by(
                each,
                format!(
                    "`{}` is a `ContentStream`, one content read incrementally; `each` stores \
                     every entry of an `Option`, `Vec` or `BTreeMap` as a content of its own",
                    field.key()
                ),
            );
        }
    }
}

/// A stream cannot be part of the body, which is one value serialized whole.
fn check_streams_are_contents(cx: &Ctxt, cont: &Container) {
    for field in cont.body_fields() {
        if crate::ast::stream_item(field.ty).is_some() {
            cx.error_spanned_by(
                field.ty,
                format!(
                    "`{}` is a `ContentStream`, which is saved and loaded incrementally, as a \
                     content of its own; the body is one value serialized whole\n\
                     help: add `#[content(serializer = JsonLines)]` (or another stream \
                     serializer) to the field",
                    field.key()
                ),
            );
        }
    }
}

/// Version 1 is the first: there is nothing for it to migrate from.
fn check_migrations_have_a_past(cx: &Ctxt, cont: &Container) {
    if cont.attrs.version != 1 || cont.attrs.version_malformed {
        return;
    }
    if let Some(previous) = &cont.attrs.migrate_from {
        cx.error_spanned_by(
            previous,
            format!(
                "`migrate_from` on version 1 of `{}`: version 1 is the first, so there is no \
                 older version to migrate from\n\
                 help: give this type the next version, `#[storable(version = 2, migrate_from = \
                 ...)]`, and keep the previous type as version 1",
                cont.ident
            ),
        );
    }
    if let Some(hook) = &cont.attrs.migrate {
        cx.error_spanned_by(
            &hook.path,
            format!(
                "`migrate` on version 1 of `{}`: version 1 is the first, so there is no older \
                 version for `{}` to migrate\n\
                 help: raise the version, `#[storable(version = 2, migrate = {})]`, when the \
                 struct changes",
                cont.ident,
                hook.display(),
                hook.display()
            ),
        );
    }
}

/// The derive's generated body struct has a field `__lakery_marker`, and its own names
/// all start with `__lakery`: a user's field of such a name could collide with them.
fn check_reserved_names(cx: &Ctxt, cont: &Container) {
    for field in &cont.fields {
        let name = field.ident.to_string();
        if name.trim_start_matches("r#").starts_with("__lakery") {
            cx.error_spanned_by(
                field.ident,
                format!(
                    "field names starting with `__lakery` are reserved for the code \
                     `#[derive(Storable)]` generates\n\
                     help: rename `{name}`"
                ),
            );
        }
    }
}

/// A storable is loaded back from storage, so it cannot borrow from anything.
fn check_no_lifetimes(cx: &Ctxt, cont: &Container) {
    if let Some(lifetime) = cont.generics.lifetimes().next() {
        cx.error_spanned_by(
            lifetime,
            "`Storable` cannot be derived for a struct with lifetime parameters: a storable owns \
             its data, since it is loaded back from storage\n\
             help: use owned types such as `String`, `Vec<T>` or `Box<T>` for its fields",
        );
    }
}

/// The body's key is `body`, so a `#[content]` field of that name would collide with it.
fn check_body_key(cx: &Ctxt, cont: &Container) {
    if !cont.has_body() {
        return;
    }
    for field in &cont.fields {
        if matches!(field.role, Role::Content(_) | Role::Nested) && field.key() == BODY_KEY {
            let body: Vec<String> = cont
                .body_fields()
                .map(|f| format!("`{}`", f.key()))
                .collect();
            cx.error_spanned_by(
                field.ident,
                format!(
                    "a `#[content]` field cannot be named `body` while the struct has fields \
                     without `#[content]`: those fields ({}) are stored together as the content \
                     keyed `body`, and every content key must be unique\n\
                     help: rename this field, or give the other fields `#[content]` too",
                    body.join(", ")
                ),
            );
        }
    }
}

/// `#[storable(serializer = ...)]` serializes the body; without a body it would be
/// silently ignored, and the user probably expected it to apply to the contents.
fn check_body_serializer_used(cx: &Ctxt, cont: &Container) {
    if let Some(serializer) = &cont.attrs.serializer {
        if !cont.has_body() {
            cx.error_spanned_by(
                &serializer.path,
                "`#[storable(serializer = ...)]` serializes the body (the fields without \
                 `#[content]`), but this struct has no such field\n\
                 help: give each content its serializer with `#[content(serializer = ...)]`",
            );
        }
    }
}
