//! A `#[storable(nested)]` field: the field's own type is a storable, and its contents are
//! stored under `<field>.`, each with its own serializer and storage.

use quote::{quote, quote_spanned};

use super::{field_piece, ty_span, Names, Piece, Spec};
use crate::ast::Field;

pub fn piece(names: &Names, field: &Field, index: usize) -> Piece {
    let Names {
        krate,
        private,
        contents,
        ..
    } = names;
    let span = ty_span(field);
    let ty = field.ty;
    let key = field.key();
    // The spec names `<T as Storable>::CONTENTS`, which is where a type that is not
    // storable is reported; `unpack` and `repack` use it silently.
    let spec = Spec {
        key: &key,
        storage: Some(quote!(#krate::DatabaseStorage::NAME)),
        tags: &[],
        serializer_type: "Json",
        stream: false,
        encoding: None,
        nested: Some(quote_spanned!(span=> <#ty as #krate::Storable>::CONTENTS)),
    };
    let member = field.ident;
    let nested = quote_spanned!(span=> (&#private::probe::Nested::<#ty>::new()).silent());
    let unpack = quote_spanned! {span=>
        #nested.push(#contents, #index, &self.#member)?;
    };
    let take = quote_spanned!(span=> #nested.take(#contents, #key)?);
    field_piece(names, field, index, spec, unpack, take)
}
