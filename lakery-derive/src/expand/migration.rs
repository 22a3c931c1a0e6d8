//! `migrate_from` and `migrate`: which stored versions the struct loads, and how.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::{Ident, LitInt, Type};

use super::{local, Names};
use crate::ast::mentions_any;
use crate::ast::Container;

/// `loads_version`, `known_versions` and `repack_version`, or nothing when the struct has
/// no older versions (the trait's defaults then load its own version only).
pub fn methods(names: &Names, cont: &Container, class_id_bits: &LitInt) -> TokenStream {
    let attrs = &cont.attrs;
    if attrs.migrate_from.is_none() && attrs.migrate.is_none() {
        return TokenStream::new();
    }
    let Names {
        krate,
        private,
        prelude,
        contents,
    } = names;
    let version = local("__version");
    let current = attrs.version;

    let mut loads = vec![quote!(#version == #current)];
    let mut known = quote!(#prelude::Vec::new());
    let mut steps = TokenStream::new();

    if let Some(previous) = &attrs.migrate_from {
        let span = syn::spanned::Spanned::span(previous);
        let checks = previous_checks(names, cont, previous, class_id_bits);
        loads.push(quote!(<#previous as #krate::Storable>::loads_version(#version)));
        known = quote!(<#previous as #krate::Storable>::known_versions());
        let step = quote_spanned! {span=>
            #private::migrate_step::<#previous, Self>(#contents, __lakery_previous)
        };
        steps.extend(quote! {
            #checks
            if <#previous as #krate::Storable>::loads_version(#version) {
                let __lakery_previous =
                    <#previous as #krate::Storable>::repack_version(#version, #contents)?;
                return #step;
            }
        });
    }
    if let Some(hook) = &attrs.migrate {
        let path = &hook.path;
        // The hook takes every older version: this type loads all up to its own.
        loads = vec![quote!(#version <= #current)];
        known = quote!((1..#current).collect::<#prelude::Vec<u32>>());
        let call = quote_spanned! {syn::spanned::Spanned::span(path)=>
            #private::run_hook::<Self, _, _>(#contents, #path)
        };
        steps.extend(quote! {
            if #version < #current {
                return #call;
            }
        });
    }

    quote! {
        fn loads_version(#version: u32) -> bool {
            #(#loads)||*
        }

        fn known_versions() -> #prelude::Vec<u32> {
            let mut __lakery_known: #prelude::Vec<u32> = #known;
            __lakery_known.push(#current);
            __lakery_known
        }

        fn repack_version(
            #version: u32,
            #contents: &mut #private::Repacker,
        ) -> #krate::Result<Self> {
            if #version == #current {
                return <Self as #krate::Storable>::repack(#contents);
            }
            #steps
            #prelude::Err(#private::unsupported_version::<Self>(
                #contents, #version,
            ))
        }
    }
}

/// The compile-time checks of `migrate_from = Previous`: the same class id, and a lower
/// version.
///
/// When `Previous` names none of the struct's parameters, the checks are trait bounds on
/// `Bool<{ condition }>`, whose `on_unimplemented` is lakery's message, with the types and
/// versions in it. A type that names a parameter cannot be a constant's argument on stable
/// Rust, so its checks are an inline `const` assertion, evaluated when the generic
/// function is instantiated; rustc prefixes such a message with "evaluation panicked",
/// so the text after it says first what is wrong and then how to fix it.
fn previous_checks(
    names: &Names,
    cont: &Container,
    previous: &Type,
    class_id_bits: &LitInt,
) -> TokenStream {
    let Names { krate, private, .. } = names;
    let span = syn::spanned::Spanned::span(previous);
    let current = cont.attrs.version;
    let params: Vec<&Ident> = cont
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            syn::GenericParam::Type(param) => Some(&param.ident),
            syn::GenericParam::Const(param) => Some(&param.ident),
            syn::GenericParam::Lifetime(_) => None,
        })
        .collect();
    if !mentions_any(previous.to_token_stream(), &params) {
        // At the user's `Previous`, where rustc reports the unmet bound of the `Bool`.
        let probe = super::respan(quote!(#private::probe), span);
        return quote_spanned! {span=>
            #probe::same_class::<
                #probe::Bool<{
                    <#previous as #krate::Storable>::CLASS_ID.as_u128() == #class_id_bits
                }>,
                #previous,
                Self,
            >();
            #probe::lower_version::<
                #probe::Bool<{ <#previous as #krate::Storable>::VERSION < #current }>,
                #previous,
                Self,
                { <#previous as #krate::Storable>::VERSION },
                #current,
            >();
        };
    }

    let ident = cont.ident;
    let shown = {
        let mut text = previous.to_token_stream().to_string();
        text.retain(|c| !c.is_whitespace());
        text
    };
    let class_id = cont
        .attrs
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
    quote_spanned! {span=>
        const {
            ::core::assert!(
                <#previous as #krate::Storable>::CLASS_ID.as_u128() == #class_id_bits,
                #class_message
            );
            ::core::assert!(
                <#previous as #krate::Storable>::VERSION < #current,
                #version_message
            );
        };
    }
}
