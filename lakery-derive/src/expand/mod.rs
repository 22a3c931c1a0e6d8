//! Emits the `Storable` impl, or the errors and a placeholder impl.
//!
//! One module per role a field can have, as serde_derive's `ser.rs` and `de.rs` split by
//! shape: [`body`] (the fields without `#[content]`, serialized together), [`content`] (a
//! field stored as one value), [`each`] (a container whose entries are contents),
//! [`stream`] (a `ContentStream`), [`nested`] (another storable's contents) and
//! [`migration`] (the older versions the struct loads). Each role hands back a [`Piece`];
//! this module puts the pieces into the impl.
//!
//! Every field is checked once, at the user's token, through the probes of
//! `lakery::__private::probe`: a probe is `checked` where the field is saved, which reports
//! a mistake with lakery's message, and `silent` where it is loaded, so that the mistake
//! is not reported again.

mod body;
mod content;
mod each;
mod migration;
mod nested;
mod stream;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::{DeriveInput, Generics, Ident, LitInt, WhereClause};

use crate::ast::{Container, Field, Role};
use crate::check;
use crate::ctxt::Ctxt;

/// The whole derive: the impl, or every error found plus a placeholder impl.
pub fn derive(input: &DeriveInput) -> TokenStream {
    match try_expand(input) {
        Ok(expanded) => expanded,
        Err(errors) => {
            let mut tokens = errors.into_compile_error();
            tokens.extend(fallback(input));
            tokens
        }
    }
}

/// The impl, or every error found in the input, combined.
pub fn try_expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let cx = Ctxt::new();
    let cont = Container::from_ast(&cx, input);
    if let Some(cont) = &cont {
        check::check(&cx, cont);
    }
    cx.check()?;
    let cont = cont.expect("lakery-derive invariant: a missing container was reported as an error");
    Ok(expand(&cont))
}

/// How generated code names lakery, its private helpers and the std names it uses.
pub struct Names {
    /// `::lakery`, or the path of `#[storable(crate = "...")]`.
    pub krate: TokenStream,
    /// `<krate>::__private`.
    pub private: TokenStream,
    /// `<krate>::__private::prelude`: `Result`, `Option`, `Vec`, ... that a user's type of
    /// the same name cannot shadow.
    pub prelude: TokenStream,
    /// The `Unpacker` or `Repacker` argument.
    pub contents: Ident,
}

impl Names {
    fn new(krate: Option<&syn::Path>) -> Self {
        let krate = match krate {
            Some(path) => path.to_token_stream(),
            None => quote!(::lakery),
        };
        Names {
            private: quote!(#krate::__private),
            prelude: quote!(#krate::__private::prelude),
            krate,
            contents: local("__contents"),
        }
    }

    /// The serializer a field gets without `serializer = ...`.
    fn default_serializer(&self) -> TokenStream {
        let krate = &self.krate;
        quote!(#krate::serializer::Json)
    }
}

/// What one role adds to the impl.
pub struct Piece {
    /// Its `ContentSpec`, in `CONTENTS`; none for a skipped field.
    pub spec: Option<TokenStream>,
    /// Statements of `unpack`: its checks, then the push of its contents.
    pub unpack: TokenStream,
    /// Statements of `repack` that take its contents into locals.
    pub repack: TokenStream,
    /// The field initializers of `Self { .. }` in `repack`.
    pub fields: Vec<TokenStream>,
}

/// The derive's own local variables resolve only within the generated code, so a
/// user's path in an attribute cannot pick one of them up by accident.
fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// `tokens` with every token at `span`: for paths the derive writes (`::lakery::...`) in a
/// spot where rustc reports an error at the path itself.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = proc_macro2::TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// The span of a field's type, where an error about the type belongs.
fn ty_span(field: &Field) -> Span {
    syn::spanned::Spanned::span(field.ty)
}

fn expand(cont: &Container) -> TokenStream {
    let names = Names::new(cont.attrs.krate.as_ref());
    let Names {
        krate,
        private,
        prelude,
        contents,
    } = &names;
    let ident = cont.ident;
    let (impl_generics, ty_generics, _) = cont.generics.split_for_impl();
    let where_clause = storable_where_clause(cont.generics, prelude);
    let class_id = cont
        .attrs
        .class_id
        .as_ref()
        .expect("lakery-derive invariant: a missing class id was reported as an error");
    let class_id_bits = LitInt::new(
        &format!("0x{:032x}u128", class_id.uuid.as_u128()),
        class_id.lit.span(),
    );
    let version = cont.attrs.version;

    // Content indexes follow `CONTENTS`: the body first, then the fields in order.
    let mut pieces = Vec::new();
    let mut items = TokenStream::new();
    if let Some((body, definition)) = body::piece(&names, cont) {
        pieces.push(body);
        items.extend(definition);
    }
    for field in &cont.fields {
        let index = pieces.iter().filter(|piece| piece.spec.is_some()).count();
        let piece = match &field.role {
            Role::Body => continue,
            Role::Skip => skipped(&names, field),
            Role::Nested => nested::piece(&names, field, index),
            Role::Content(content) => match crate::ast::stream_item(field.ty) {
                Some(item) => stream::piece(&names, field, content, item, index),
                None if content.each.is_some() => each::piece(&names, field, content, index),
                None => content::piece(&names, field, content, index),
            },
        };
        pieces.push(piece);
    }
    let specs = pieces.iter().filter_map(|piece| piece.spec.as_ref());
    let unpack = pieces.iter().map(|piece| &piece.unpack);
    let repack = pieces.iter().map(|piece| &piece.repack);
    let fields = pieces.iter().flat_map(|piece| &piece.fields);
    let versions = migration::methods(&names, cont, &class_id_bits);

    quote! {
        #[doc(hidden)]
        #[allow(
            non_upper_case_globals,
            non_camel_case_types,
            non_snake_case,
            unused_attributes,
            unused_qualifications,
            unused_imports,
            dead_code,
            clippy::all,
            clippy::pedantic,
        )]
        const _: () = {
            #items

            #[automatically_derived]
            impl #impl_generics #krate::Storable for #ident #ty_generics #where_clause {
                const CLASS_ID: #krate::ClassId = #krate::ClassId::from_u128(#class_id_bits);
                const VERSION: u32 = #version;
                const CONTENTS: &'static [#krate::ContentSpec] = &[#(#specs),*];

                fn unpack(
                    &self,
                    #contents: &mut #private::Unpacker,
                ) -> #krate::Result<()> {
                    use #private::probe::methods::*;
                    #(#unpack)*
                    #prelude::Ok(())
                }

                fn repack(
                    #contents: &mut #private::Repacker,
                ) -> #krate::Result<Self> {
                    use #private::probe::methods::*;
                    #(#repack)*
                    #prelude::Ok(Self { #(#fields),* })
                }

                #versions
            }
        };
    }
}

/// A `#[storable(skip)]` field: no content, `Default::default()` when loading.
fn skipped(names: &Names, field: &Field) -> Piece {
    let member = field.ident;
    let prelude = &names.prelude;
    let default = quote_spanned!(ty_span(field)=> #prelude::Default::default());
    Piece {
        spec: None,
        unpack: TokenStream::new(),
        repack: TokenStream::new(),
        fields: vec![quote!(#member: #default)],
    }
}

/// A field stored under its own key, its name: `unpack` pushes it; `take` is the
/// expression, spanned at `span`, that `repack` reads it back with.
fn field_piece(
    names: &Names,
    field: &Field,
    index: usize,
    spec: Spec,
    unpack: TokenStream,
    take: TokenStream,
) -> Piece {
    let member = field.ident;
    let value = local(&format!("__lakery_content_{index}"));
    Piece {
        spec: Some(spec.emit(names)),
        unpack,
        repack: quote!(let #value = #take;),
        fields: vec![quote!(#member: #value)],
    }
}

/// A `ContentSpec` literal.
pub struct Spec<'a> {
    pub key: &'a str,
    pub storage: Option<TokenStream>,
    pub tags: &'a [(String, String)],
    pub serializer_type: &'a str,
    pub stream: bool,
    pub encoding: Option<&'a Ident>,
    /// `<N as Storable>::CONTENTS` for a nested field.
    pub nested: Option<TokenStream>,
}

impl<'a> Spec<'a> {
    /// The spec of a `#[content]` field keyed `key`.
    fn content(
        key: &'a str,
        content: &'a crate::attr::Content,
        serializer_type: &'a str,
        stream: bool,
    ) -> Self {
        Spec {
            key,
            storage: storage(content),
            tags: &content.tags,
            serializer_type,
            stream,
            encoding: content.encoding.as_ref(),
            nested: None,
        }
    }

    fn emit(&self, names: &Names) -> TokenStream {
        let Names { krate, prelude, .. } = names;
        let option = |value: Option<TokenStream>| match value {
            Some(value) => quote!(#prelude::Some(#value)),
            None => quote!(#prelude::None),
        };
        let key = self.key;
        let storage = option(self.storage.clone());
        let tags = self.tags.iter().map(|(key, value)| quote!((#key, #value)));
        let serializer_type = self.serializer_type;
        let stream = self.stream;
        let encoding = option(
            self.encoding
                .map(|variant| quote!(#krate::Encoding::#variant)),
        );
        let nested = option(self.nested.clone());
        quote! {
            #krate::ContentSpec {
                key: #key,
                storage: #storage,
                tags: &[#(#tags),*],
                serializer_type: #serializer_type,
                stream: #stream,
                encoding: #encoding,
                nested: #nested,
            }
        }
    }
}

/// The storage of `#[content(storage = "...")]`, as a string literal.
fn storage(content: &crate::attr::Content) -> Option<TokenStream> {
    content.storage.as_ref().map(|lit| {
        let name = lit.value();
        quote!(#name)
    })
}

/// The serializer of a content field: its span (where its errors go), the value, and
/// its name for `ContentSpec::serializer_type`; lakery's `default` when none is written.
fn serializer(
    names: &Names,
    field: &Field,
    content: &crate::attr::Content,
    default: &str,
) -> (Span, TokenStream, String) {
    match &content.serializer {
        Some(path) => (path.span(), path.path.to_token_stream(), path.display()),
        None => {
            let krate = &names.krate;
            let ident = Ident::new(default, Span::call_site());
            let path = quote!(#krate::serializer::#ident);
            (ty_span(field), path, default.to_owned())
        }
    }
}

/// The struct's where clause, plus `T: Send + 'static` for each type parameter, which
/// `Storable: Send + 'static` needs.
fn storable_where_clause(generics: &Generics, prelude: &TokenStream) -> Option<WhereClause> {
    let mut generics = generics.clone();
    let type_params: Vec<Ident> = generics
        .type_params()
        .map(|param| param.ident.clone())
        .collect();
    if type_params.is_empty() {
        return generics.where_clause;
    }
    let where_clause = generics.make_where_clause();
    for param in type_params {
        where_clause
            .predicates
            .push(syn::parse_quote!(#param: #prelude::Send + 'static));
    }
    Some(where_clause.clone())
}

/// An impl with placeholder items, emitted next to the errors: without it, every use of
/// the type as a storable would add an error of its own to the ones that matter.
fn fallback(input: &DeriveInput) -> TokenStream {
    // An impl for a type with lifetimes cannot meet `Storable: 'static` either, and its
    // error would only repeat the derive's.
    if input.generics.lifetimes().next().is_some() {
        return TokenStream::new();
    }
    let Names {
        krate,
        private,
        prelude,
        ..
    } = Names::new(crate::attr::crate_path(input).as_ref());
    let ident = &input.ident;
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
    let where_clause = storable_where_clause(&input.generics, &prelude);
    quote! {
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #krate::Storable for #ident #ty_generics #where_clause {
                const CLASS_ID: #krate::ClassId = #krate::ClassId::from_u128(0u128);
                const VERSION: u32 = 1u32;
                const CONTENTS: &'static [#krate::ContentSpec] = &[];

                fn unpack(&self, _: &mut #private::Unpacker) -> #krate::Result<()> {
                    ::core::unreachable!("the derive of `Storable` failed; see its errors")
                }

                fn repack(_: &mut #private::Repacker) -> #krate::Result<Self> {
                    ::core::unreachable!("the derive of `Storable` failed; see its errors")
                }
            }
        };
    }
}
