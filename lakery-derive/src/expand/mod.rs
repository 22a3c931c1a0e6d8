//! Emits the `Storable` impl, or the errors and a placeholder impl.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::{DeriveInput, GenericParam, Generics, Ident, LitInt, WhereClause};

use crate::ast::{Container, Role};
use crate::check;
use crate::ctxt::Ctxt;
use crate::symbol::BODY_KEY;

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

/// The derive's own local variables resolve only within the generated code, so a
/// user's path in an attribute cannot pick one of them up by accident.
fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

fn expand(cont: &Container) -> TokenStream {
    let ident = cont.ident;
    let generics = cont.generics;
    let (impl_generics, ty_generics, _) = generics.split_for_impl();
    let where_clause = storable_where_clause(generics);
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

    let contents = local("__contents");
    let body = local("__body");

    let mut specs = Vec::new();
    let mut unpack = Vec::new();
    let mut repack_lets = Vec::new();
    let mut repack_fields = Vec::new();
    let mut body_struct = TokenStream::new();
    let mut index = 0usize;
    // Each `push` and `take` is spanned at the user's serializer path (or, for the default
    // serializer, at the field's type or the struct's name), so that "`Text` cannot
    // serialize a field of type `Vec<f64>`" points at the user's `Text`, not at the derive.

    if cont.has_body() {
        let (span, serializer, serializer_type) = match &cont.attrs.serializer {
            Some(path) => (path.span(), path.path.to_token_stream(), path.display()),
            None => (ident.span(), default_serializer(), "Json".to_owned()),
        };
        specs.push(content_spec(
            BODY_KEY,
            None,
            &[],
            &serializer_type,
            false,
            None,
        ));
        body_struct = body_struct_definition(cont);
        let body_ty = body_type(generics, quote!('_));
        let body_static_ty = body_type(generics, quote!('static));
        let assertions = cont.body_fields().map(|field| {
            let ty = field.ty;
            quote_spanned!(ty_span(field)=> ::lakery::__private::assert_body_field::<#ty>();)
        });
        let borrowed = cont.body_fields().map(|field| {
            let member = field.ident;
            quote!(#member: ::lakery::__private::Field::Borrowed(&self.#member))
        });
        let push =
            quote_spanned!(span=> #contents.push::<_, #body_ty>(#index, &#serializer, &#body)?;);
        unpack.push(quote! {
            #(#assertions)*
            let #body = __LakeryBody {
                #(#borrowed,)*
                __lakery_marker: ::core::marker::PhantomData,
            };
            #push
        });
        repack_lets.push(quote_spanned! {span=>
            let #body = #contents.take::<_, #body_static_ty>(#BODY_KEY, &#serializer)?;
        });
        index += 1;
    }

    for field in &cont.fields {
        let member = field.ident;
        let ty = field.ty;
        match &field.role {
            Role::Body => repack_fields.push(quote! {
                #member: ::lakery::__private::Field::into_owned(#body.#member)
            }),
            Role::Skip => {
                let default = quote_spanned!(ty_span(field)=> ::core::default::Default::default());
                repack_fields.push(quote!(#member: #default));
            }
            Role::Nested => {
                let key = field.key();
                let span = ty_span(field);
                specs.push(quote_spanned! {span=>
                    ::lakery::ContentSpec {
                        key: #key,
                        storage: ::core::option::Option::Some(::lakery::DatabaseStorage::NAME),
                        tags: &[],
                        serializer_type: "Json",
                        stream: false,
                        encoding: ::core::option::Option::None,
                        nested: ::core::option::Option::Some(<#ty as ::lakery::Storable>::CONTENTS),
                    }
                });
                let value = local(&format!("__lakery_content_{index}"));
                unpack.push(quote_spanned! {span=>
                    #contents.push_nested::<#ty>(#index, &self.#member)?;
                });
                repack_lets.push(quote_spanned! {span=>
                    let #value = #contents.take_nested::<#ty>(#key)?;
                });
                repack_fields.push(quote!(#member: #value));
                index += 1;
            }
            Role::Content(content) => {
                let item = crate::ast::stream_item(ty);
                let (span, serializer, serializer_type) = match &content.serializer {
                    Some(path) => (path.span(), path.path.to_token_stream(), path.display()),
                    None if item.is_some() => (
                        ty_span(field),
                        quote!(::lakery::serializer::JsonLines),
                        "JsonLines".to_owned(),
                    ),
                    None => (ty_span(field), default_serializer(), "Json".to_owned()),
                };
                let storage = content.storage.as_ref().map(|lit| lit.value());
                let key = field.key();
                specs.push(content_spec(
                    &key,
                    storage.as_deref(),
                    &content.tags,
                    &serializer_type,
                    item.is_some(),
                    content.encoding.as_ref(),
                ));
                let value = local(&format!("__lakery_content_{index}"));
                match item {
                    Some(item) => {
                        unpack.push(quote_spanned! {span=>
                            #contents.push_stream::<_, #item>(#index, &#serializer, &self.#member)?;
                        });
                        repack_lets.push(quote_spanned! {span=>
                            let #value = #contents.take_stream::<_, #item>(#key, &#serializer)?;
                        });
                    }
                    None if content.each.is_some() => {
                        unpack.push(quote_spanned! {span=>
                            #contents.push_each::<_, #ty>(#index, &#serializer, &self.#member)?;
                        });
                        repack_lets.push(quote_spanned! {span=>
                            let #value = #contents.take_each::<_, #ty>(#key, &#serializer)?;
                        });
                    }
                    None => {
                        unpack.push(quote_spanned! {span=>
                            #contents.push::<_, #ty>(#index, &#serializer, &self.#member)?;
                        });
                        repack_lets.push(quote_spanned! {span=>
                            let #value = #contents.take::<_, #ty>(#key, &#serializer)?;
                        });
                    }
                }
                repack_fields.push(quote!(#member: #value));
                index += 1;
            }
        }
    }

    let (migration_checks, versions) = migrations(cont, &class_id_bits);

    quote! {
        const _: () = {
            #body_struct
            #migration_checks

            #[automatically_derived]
            impl #impl_generics ::lakery::Storable for #ident #ty_generics #where_clause {
                const CLASS_ID: ::lakery::ClassId = ::lakery::ClassId::from_u128(#class_id_bits);
                const VERSION: u32 = #version;
                const CONTENTS: &'static [::lakery::ContentSpec] = &[#(#specs),*];

                fn unpack(
                    &self,
                    #contents: &mut ::lakery::__private::Unpacker,
                ) -> ::lakery::Result<()> {
                    #(#unpack)*
                    ::core::result::Result::Ok(())
                }

                fn repack(
                    #contents: &mut ::lakery::__private::Repacker,
                ) -> ::lakery::Result<Self> {
                    #(#repack_lets)*
                    ::core::result::Result::Ok(Self { #(#repack_fields),* })
                }

                #versions
            }
        };
    }
}

/// For `migrate_from` and `migrate`: the compile-time checks of the previous type, and
/// the methods that say which stored versions load and how.
fn migrations(cont: &Container, class_id_bits: &LitInt) -> (TokenStream, TokenStream) {
    let attrs = &cont.attrs;
    if attrs.migrate_from.is_none() && attrs.migrate.is_none() {
        return (TokenStream::new(), TokenStream::new());
    }
    let contents = local("__contents");
    let version = local("__version");
    let ident = cont.ident;
    let current = attrs.version;

    let mut checks = TokenStream::new();
    let mut loads = vec![quote!(#version == #current)];
    let mut known = quote!(::std::vec::Vec::new());
    let mut steps = TokenStream::new();

    if let Some(previous) = &attrs.migrate_from {
        let span = syn::spanned::Spanned::span(previous);
        let shown = {
            let mut text = previous.to_token_stream().to_string();
            text.retain(|c| !c.is_whitespace());
            text
        };
        let class_id = attrs
            .class_id
            .as_ref()
            .map(|id| id.uuid.hyphenated().to_string())
            .unwrap_or_default();
        let class_message = format!(
            "`migrate_from = {shown}`: `{shown}` has a different class id from `{ident}`; the \
             versions of one model share its class id, so give `{shown}` \
             `#[storable(class_id = \"{class_id}\", ...)]`"
        );
        let version_message = format!(
            "`migrate_from = {shown}`: the version of `{shown}` must be lower than {current}, \
             the version of `{ident}`; `migrate_from` names the version before this one"
        );
        let asserts = quote_spanned! {span=>
            ::core::assert!(
                <#previous as ::lakery::Storable>::CLASS_ID.as_u128() == #class_id_bits,
                #class_message
            );
            ::core::assert!(
                <#previous as ::lakery::Storable>::VERSION < #current,
                #version_message
            );
        };
        // A const item is checked by every build, `cargo check` included; a generic type's
        // previous type may name its parameters, which only an inline const in a generic
        // function may do, checked when the function is instantiated.
        let inline_check = if cont.generics.params.is_empty() {
            checks = quote_spanned!(span=> const _: () = { #asserts };);
            TokenStream::new()
        } else {
            quote_spanned!(span=> const { #asserts };)
        };
        loads.push(quote!(<#previous as ::lakery::Storable>::loads_version(#version)));
        known = quote!(<#previous as ::lakery::Storable>::known_versions());
        let step = quote_spanned! {span=>
            ::lakery::__private::migrate_step::<#previous, Self>(#contents, __lakery_previous)
        };
        steps.extend(quote! {
            #inline_check
            if <#previous as ::lakery::Storable>::loads_version(#version) {
                let __lakery_previous =
                    <#previous as ::lakery::Storable>::repack_version(#version, #contents)?;
                return #step;
            }
        });
    }
    if let Some(hook) = &attrs.migrate {
        let path = &hook.path;
        // The hook takes every older version: this type loads all up to its own.
        loads = vec![quote!(#version <= #current)];
        known = quote!((1..#current).collect::<::std::vec::Vec<u32>>());
        let call = quote_spanned! {syn::spanned::Spanned::span(path)=>
            ::lakery::__private::run_hook::<Self, _, _>(#contents, #path)
        };
        steps.extend(quote! {
            if #version < #current {
                return #call;
            }
        });
    }

    let versions = quote! {
        fn loads_version(#version: u32) -> bool {
            #(#loads)||*
        }

        fn known_versions() -> ::std::vec::Vec<u32> {
            let mut __lakery_known: ::std::vec::Vec<u32> = #known;
            __lakery_known.push(#current);
            __lakery_known
        }

        fn repack_version(
            #version: u32,
            #contents: &mut ::lakery::__private::Repacker,
        ) -> ::lakery::Result<Self> {
            if #version == #current {
                return <Self as ::lakery::Storable>::repack(#contents);
            }
            #steps
            ::core::result::Result::Err(::lakery::__private::unsupported_version::<Self>(
                #contents, #version,
            ))
        }
    };
    (checks, versions)
}

/// The span of a field's type, where an error about the type belongs.
fn ty_span(field: &crate::ast::Field) -> Span {
    syn::spanned::Spanned::span(field.ty)
}

fn default_serializer() -> TokenStream {
    quote!(::lakery::serializer::Json)
}

fn content_spec(
    key: &str,
    storage: Option<&str>,
    tags: &[(String, String)],
    serializer_type: &str,
    stream: bool,
    encoding: Option<&syn::Ident>,
) -> TokenStream {
    let encoding = match encoding {
        Some(variant) => quote!(::core::option::Option::Some(::lakery::Encoding::#variant)),
        None => quote!(::core::option::Option::None),
    };
    let storage = match storage {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    let tags = tags.iter().map(|(key, value)| quote!((#key, #value)));
    quote! {
        ::lakery::ContentSpec {
            key: #key,
            storage: #storage,
            tags: &[#(#tags),*],
            serializer_type: #serializer_type,
            stream: #stream,
            encoding: #encoding,
            nested: ::core::option::Option::None,
        }
    }
}

/// `__LakeryBody<'lifetime, T, N>`, naming the struct's own type and const parameters.
fn body_type(generics: &Generics, lifetime: TokenStream) -> TokenStream {
    let params = generics.params.iter().filter_map(|param| match param {
        GenericParam::Type(param) => Some(param.ident.to_token_stream()),
        GenericParam::Const(param) => Some(param.ident.to_token_stream()),
        GenericParam::Lifetime(_) => None,
    });
    quote!(__LakeryBody<#lifetime, #(#params),*>)
}

/// The struct that serializes every body field in one content: it borrows the fields
/// when saving and owns them when loading, so saving never clones the user's data.
fn body_struct_definition(cont: &Container) -> TokenStream {
    let generics = cont.generics;
    let params = generics
        .params
        .iter()
        .filter(|param| !matches!(param, GenericParam::Lifetime(_)));
    let type_params = generics.type_params().map(|param| &param.ident);
    let where_clause = &generics.where_clause;
    let fields = cont.body_fields().map(|field| {
        let member = field.ident;
        let ty = replace_self(field.ty.to_token_stream(), &self_type(cont));
        quote!(#member: ::lakery::__private::Field<'__lakery, #ty>)
    });
    let (serialize_bound, deserialize_bound) = body_serde_bounds(cont);
    quote! {
        #[derive(::lakery::__private::serde::Serialize, ::lakery::__private::serde::Deserialize)]
        #[serde(crate = "::lakery::__private::serde")]
        #[serde(bound(serialize = #serialize_bound, deserialize = #deserialize_bound))]
        struct __LakeryBody<'__lakery, #(#params),*> #where_clause {
            #(#fields,)*
            #[serde(skip)]
            __lakery_marker: ::core::marker::PhantomData<fn() -> (#(#type_params,)*)>,
        }
    }
}

/// The bounds of the body's serde impls: each generic field type implements `Serialize`
/// and `DeserializeOwned`. serde's own inference would add `T: Deserialize<'de>`, which
/// is ambiguous next to a user's `T: DeserializeOwned`; a bound that repeats the user's
/// is not. Field types without type parameters need no bound: serde's impl checks them.
fn body_serde_bounds(cont: &Container) -> (String, String) {
    let params: Vec<&Ident> = cont
        .generics
        .type_params()
        .map(|param| &param.ident)
        .collect();
    let generic_types: Vec<String> = cont
        .body_fields()
        .filter(|field| mentions_any(field.ty.to_token_stream(), &params))
        .map(|field| replace_self(field.ty.to_token_stream(), &self_type(cont)).to_string())
        .collect();
    let bound = |path: &str| {
        generic_types
            .iter()
            .map(|ty| format!("{ty}: {path}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    (
        bound("::lakery::__private::serde::Serialize"),
        bound("::lakery::__private::serde::de::DeserializeOwned"),
    )
}

/// The struct's own type, `Name<T, N>`, which `Self` means in its field types.
fn self_type(cont: &Container) -> TokenStream {
    let ident = cont.ident;
    let (_, ty_generics, _) = cont.generics.split_for_impl();
    quote!(#ident #ty_generics)
}

/// `tokens` with every `Self` replaced by `self_type`: inside the body struct, `Self`
/// would name the body struct rather than the user's.
fn replace_self(tokens: TokenStream, self_type: &TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            proc_macro2::TokenTree::Ident(ident) if ident == "Self" => self_type.clone(),
            proc_macro2::TokenTree::Group(group) => {
                let mut replaced = proc_macro2::Group::new(
                    group.delimiter(),
                    replace_self(group.stream(), self_type),
                );
                replaced.set_span(group.span());
                replaced.into_token_stream()
            }
            other => other.into_token_stream(),
        })
        .collect()
}

fn mentions_any(tokens: TokenStream, idents: &[&Ident]) -> bool {
    tokens.into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => idents.iter().any(|param| **param == ident),
        proc_macro2::TokenTree::Group(group) => mentions_any(group.stream(), idents),
        _ => false,
    })
}

/// The struct's where clause, plus `T: Send + 'static` for each type parameter, which
/// `Storable: Send + 'static` needs.
fn storable_where_clause(generics: &Generics) -> Option<WhereClause> {
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
            .push(syn::parse_quote!(#param: ::core::marker::Send + 'static));
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
    let ident = &input.ident;
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
    let where_clause = storable_where_clause(&input.generics);
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #impl_generics ::lakery::Storable for #ident #ty_generics #where_clause {
                const CLASS_ID: ::lakery::ClassId = ::lakery::ClassId::from_u128(0u128);
                const VERSION: u32 = 1u32;
                const CONTENTS: &'static [::lakery::ContentSpec] = &[];

                fn unpack(&self, _: &mut ::lakery::__private::Unpacker) -> ::lakery::Result<()> {
                    ::core::unreachable!("the derive of `Storable` failed; see its errors")
                }

                fn repack(_: &mut ::lakery::__private::Repacker) -> ::lakery::Result<Self> {
                    ::core::unreachable!("the derive of `Storable` failed; see its errors")
                }
            }
        };
    }
}
