//! A `#[content(each)]` field: every entry of its `Option`, `Vec` or `BTreeMap` is a
//! content of its own, keyed `<field>.<entry>`.

use quote::quote_spanned;

use super::{field_piece, serializer, ty_span, Names, Piece, Spec};
use crate::ast::Field;
use crate::attr::Content;

pub fn piece(names: &Names, field: &Field, content: &Content, index: usize) -> Piece {
    let Names {
        private, contents, ..
    } = names;
    let (span, serializer, serializer_type) = serializer(names, field, content, "Json");
    let key = field.key();
    let spec = Spec::content(&key, content, &serializer_type, false);
    let member = field.ident;
    let ty = field.ty;
    // Two checks, each at its own token: the field's type is a container (else nothing is
    // said of the serializer), and the serializer handles its entries.
    let container = quote_spanned! {ty_span(field)=>
        (&#private::probe::Container::<#ty>::new()).checked();
    };
    let each = quote_spanned!(span=> (&&#private::probe::Each::<_, #ty>::new(&#serializer)));
    let unpack = quote_spanned! {span=>
        #container
        #each.checked().push(#contents, #index, &self.#member)?;
    };
    let take = quote_spanned!(span=> #each.silent().take(#contents, #key)?);
    field_piece(names, field, index, spec, unpack, take)
}
