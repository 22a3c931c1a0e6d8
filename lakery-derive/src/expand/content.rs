//! A `#[content]` field stored as one value, with its own serializer (`Json` by default).

use quote::quote_spanned;
use syn::Ident;

use super::{field_piece, serializer, Names, Piece, Spec};
use crate::ast::Field;
use crate::attr::Content;

pub fn piece(names: &Names, field: &Field, content: &Content, index: usize) -> Piece {
    let Names {
        private, contents, ..
    } = names;
    let (span, serializer, serializer_type) = serializer(names, field, content, "Json");
    // Without `serializer = ...`, the mistake is the field's type, and the message says that
    // `Json` is only the default. The method's name carries the span: rustc reports an
    // unmet bound of a method at its name.
    // A type that names a parameter is told to add the bound the derive does not add.
    let check = match (&content.serializer, field.generic) {
        (Some(_), _) => Ident::new("checked", span),
        (None, false) => Ident::new("checked_default", span),
        (None, true) => Ident::new("checked_generic_default", span),
    };
    let key = field.key();
    let spec = Spec::content(&key, content, &serializer_type, false);
    let member = field.ident;
    let ty = field.ty;
    let value = quote_spanned!(span=> (&#private::probe::Value::<_, #ty, ()>::new(&#serializer)));
    let unpack = quote_spanned! {span=>
        #value.#check().push(#contents, #index, &self.#member)?;
    };
    let take = quote_spanned!(span=> #value.silent().take(#contents, #key)?);
    field_piece(names, field, index, spec, unpack, take)
}
