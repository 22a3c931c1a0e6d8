//! The body: every field without `#[content]`, serialized together as one content keyed
//! `body`, with the struct's serializer (`Json` unless `#[storable(serializer = ...)]`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::Ident;

use super::{local, ty_span, Names, Piece, Spec};
use crate::ast::{Container, Field};
use crate::symbol::BODY_KEY;

/// The body's piece and the items it needs, or `None` when every field is a content.
///
/// The body is a struct generic in each field's type, `__LakeryBody<F0, F1, ..>`: saving
/// fills it with borrows of the user's fields, loading with owned values, so saving
/// never clones. Each field's type is checked on its own, at the field, and a field whose
/// type is not serde's gets a placeholder in the body, so that the body itself, its serde
/// impls and its serializer report nothing more.
pub fn piece(names: &Names, cont: &Container) -> Option<(Piece, TokenStream)> {
    if !cont.has_body() {
        return None;
    }
    let Names {
        private, contents, ..
    } = names;
    let fields: Vec<&Field> = cont.body_fields().collect();
    let (span, serializer, serializer_type) = match &cont.attrs.serializer {
        Some(path) => (path.span(), path.path.to_token_stream(), path.display()),
        None => (
            cont.ident.span(),
            names.default_serializer(),
            "Json".to_owned(),
        ),
    };
    let spec = Spec {
        key: BODY_KEY,
        storage: None,
        tags: &[],
        serializer_type: &serializer_type,
        stream: false,
        encoding: None,
        nested: None,
    }
    .emit(names);

    let body = local("__body");
    let kinds: Vec<Ident> = (0..fields.len())
        .map(|i| local(&format!("__lakery_field_{i}")))
        .collect();
    let members: Vec<&Ident> = fields.iter().map(|field| field.ident).collect();

    // Saving: each field's check, at its type (a type that names a parameter is told to
    // add the bound the derive does not add); the body of borrows; the body's
    // serializer, checked at the serializer.
    let checks = fields.iter().zip(&kinds).map(|(field, kind)| {
        let ty = field.ty;
        // The method's name carries the span: rustc reports an unmet bound of a method
        // at its name.
        let check = if field.generic {
            Ident::new("checked_generic", ty_span(field))
        } else {
            Ident::new("checked", ty_span(field))
        };
        quote_spanned! {ty_span(field)=>
            let #kind = (&#private::probe::BodyField::<#ty>::new()).#check();
        }
    });
    let push = quote_spanned! {span=>
        (&#private::probe::Value::<_, _, Self>::for_value(&#serializer, &#body))
            .checked_body()
            .push(#contents, 0usize, &#body)?;
    };
    let unpack = quote! {
        #(#checks)*
        let #body = __LakeryBody { #(#members: #kinds.borrow(&self.#members)),* };
        #push
    };

    // Loading: the same kinds, silently; the body's type from them; the body.
    let silent = fields.iter().zip(&kinds).map(|(field, kind)| {
        let ty = field.ty;
        quote! {
            let #kind = (&#private::probe::BodyField::<#ty>::new()).silent();
        }
    });
    let take = quote_spanned! {span=>
        let #body = (&#private::probe::Value::<_, _, Self>::of(
            &#serializer,
            __lakery_body_type(__LakeryBody { #(#members: #kinds.owned()),* }),
        ))
        .silent()
        .take(#contents, #BODY_KEY)?;
    };
    let repack = quote! {
        #(#silent)*
        #take
    };
    let owned = members
        .iter()
        .map(|member| quote!(#member: #body.#member.into_owned()))
        .collect();

    Some((
        Piece {
            spec: Some(spec),
            unpack,
            repack,
            fields: owned,
        },
        definition(names, &members),
    ))
}

/// `__LakeryBody<F0, ..>` with serde's derives, and `__lakery_body_type`, which turns a
/// body of `PhantomData`s into the type of the body they describe.
fn definition(names: &Names, members: &[&Ident]) -> TokenStream {
    let private = &names.private;
    let prelude = &names.prelude;
    let params: Vec<Ident> = (0..members.len())
        .map(|i| format_ident!("__LakeryF{i}"))
        .collect();
    let mut serde_path = quote!(#private::serde).to_string();
    serde_path.retain(|c| !c.is_whitespace());
    quote! {
        #[derive(#private::serde::Serialize, #private::serde::Deserialize)]
        #[serde(crate = #serde_path)]
        struct __LakeryBody<#(#params),*> {
            #(#members: #params,)*
        }

        fn __lakery_body_type<#(#params),*>(
            _: __LakeryBody<#(#prelude::PhantomData<#params>),*>,
        ) -> #prelude::PhantomData<__LakeryBody<#(#params),*>> {
            #prelude::PhantomData
        }
    }
}
