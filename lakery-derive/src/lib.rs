//! `#[derive(Storable)]` for [lakery](https://docs.rs/lakery). Use it through
//! `lakery::Storable`; this crate has no API of its own.
//!
//! The derive runs in phases, one module each: `attr` parses the attributes, `ast`
//! builds the typed model of the struct, `check` validates across fields, and
//! `expand` emits the `Storable` impl (or, when something is wrong, the errors and a
//! placeholder impl).

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
mod symbol;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Derives `lakery::Storable`. See the documentation of `lakery::Storable`.
#[proc_macro_derive(Storable, attributes(storable, content))]
pub fn derive_storable(input: TokenStream) -> TokenStream {
    derive_storable_inner(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The derive on `proc_macro2` types, so that tests can run it without a compiler.
fn derive_storable_inner(input: proc_macro2::TokenStream) -> syn::Result<proc_macro2::TokenStream> {
    let input: syn::DeriveInput = syn::parse2(input)?;
    Ok(expand::derive(&input))
}
