//! The typed model of the struct being derived: its fields, each with its role.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Generics, Ident, Type};

use crate::attr;
use crate::ctxt::Ctxt;

/// A struct with named fields and its attributes.
pub struct Container<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub attrs: attr::Container,
    pub fields: Vec<Field<'a>>,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub role: Role,
    /// Whether the type names one of the struct's type parameters: it then needs bounds
    /// that the derive does not add, and its errors say to add them.
    pub generic: bool,
}

/// Where a field's value goes.
pub enum Role {
    /// Into the one `body` content, with the other fields that have no `#[content]`.
    Body,
    /// Into a content of its own, keyed by the field's name.
    Content(Box<attr::Content>),
    /// Nowhere; restored with `Default::default()`.
    Skip,
    /// Into its own type's contents, under `<field>.`.
    Nested,
}

impl Field<'_> {
    /// The content key: the field's name without `r#`.
    pub fn key(&self) -> String {
        self.ident.unraw().to_string()
    }
}

impl<'a> Container<'a> {
    /// `None` when the input is not a struct with named fields; the error is recorded.
    /// The attributes are parsed either way, so that their errors show up in the same
    /// compile.
    pub fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let attrs = attr::Container::from_ast(cx, input);
        const SUPPORTED: &str = "a storable is split into contents by field name, so it must be \
                                 a struct with named fields, such as `struct Experiment { \
                                 description: String }`";
        let named = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => named,
                Fields::Unnamed(unnamed) => {
                    cx.error_spanned_by(
                        unnamed,
                        format!(
                            "`Storable` can only be derived for structs with named fields, and \
                             `{}` is a tuple struct\nhelp: {SUPPORTED}",
                            input.ident
                        ),
                    );
                    return None;
                }
                Fields::Unit => {
                    cx.error_spanned_by(
                        &input.ident,
                        format!(
                            "`Storable` can only be derived for structs with named fields, and \
                             `{}` is a unit struct\nhelp: {SUPPORTED}",
                            input.ident
                        ),
                    );
                    return None;
                }
            },
            Data::Enum(data) => {
                cx.error_spanned_by(
                    data.enum_token,
                    format!(
                        "`Storable` can only be derived for structs with named fields, and `{}` \
                         is an enum\nhelp: {SUPPORTED}; an enum can be one of its fields",
                        input.ident
                    ),
                );
                return None;
            }
            Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    format!(
                        "`Storable` can only be derived for structs with named fields, and `{}` \
                         is a union\nhelp: {SUPPORTED}",
                        input.ident
                    ),
                );
                return None;
            }
        };
        let params: Vec<&Ident> = input
            .generics
            .type_params()
            .map(|param| &param.ident)
            .collect();
        let fields = named
            .named
            .iter()
            .map(|field| {
                let attrs = attr::Field::from_ast(cx, field);
                let role = match (attrs.skip, attrs.nested, attrs.content) {
                    (_, Some(_), _) => Role::Nested,
                    (_, None, Some(content)) => Role::Content(Box::new(content)),
                    (Some(_), None, None) => Role::Skip,
                    (None, None, None) => Role::Body,
                };
                Field {
                    ident: field
                        .ident
                        .as_ref()
                        .expect("lakery-derive invariant: named fields have idents"),
                    ty: &field.ty,
                    role,
                    generic: mentions_any(field.ty.to_token_stream(), &params),
                }
            })
            .collect();
        Some(Container {
            ident: &input.ident,
            generics: &input.generics,
            attrs,
            fields,
        })
    }

    pub fn body_fields(&self) -> impl Iterator<Item = &Field<'a>> {
        self.fields
            .iter()
            .filter(|field| matches!(field.role, Role::Body))
    }

    pub fn has_body(&self) -> bool {
        self.body_fields().next().is_some()
    }
}

/// Whether `tokens` name any of `idents` (a type that names one of the struct's
/// parameters).
pub fn mentions_any(tokens: TokenStream, idents: &[&Ident]) -> bool {
    tokens.into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => idents.iter().any(|param| **param == ident),
        proc_macro2::TokenTree::Group(group) => mentions_any(group.stream(), idents),
        _ => false,
    })
}

/// `T` when `ty` is written `ContentStream<T>` (by any path ending so): such a field
/// is a stream content, saved and loaded incrementally.
pub fn stream_item(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "ContentStream" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    match arguments.args.first() {
        Some(syn::GenericArgument::Type(item)) if arguments.args.len() == 1 => Some(item),
        _ => None,
    }
}
