//! A `#[content(each)]` field: every entry of its `Option`, `Vec` or `BTreeMap` is a
//! content of its own, keyed `<field>.<entry>`.

use quote::{quote, quote_spanned};

use super::{local, serializer, ty_span, Names, Piece, Spec};
use crate::ast::Field;
use crate::attr::Content;

pub fn piece(names: &Names, field: &Field, content: &Content, index: usize) -> Piece {
    let Names {
        private, contents, ..
    } = names;
    let (span, serializer, serializer_type) = serializer(
        content.serializer.as_ref(),
        field,
        (names.default_serializer(), "Json"),
    );
    let key = field.key();
    let spec = Spec {
        key: &key,
        storage: super::storage(content),
        tags: &content.tags,
        serializer_type: &serializer_type,
        stream: false,
        encoding: content.encoding.as_ref(),
        nested: None,
    }
    .emit(names);
    let member = field.ident;
    let ty = field.ty;
    let value = local(&format!("__lakery_content_{index}"));
    // Two checks, each at its own token: the field's type is a container (else nothing is
    // said of the serializer), and the serializer handles its entries.
    let container = quote_spanned! {ty_span(field)=>
        (&#private::probe::Container::<#ty>::new()).checked();
    };
    let push = quote_spanned! {span=>
        (&&#private::probe::Each::<_, #ty>::new(&#serializer))
            .checked()
            .push(#contents, #index, &self.#member)?;
    };
    Piece {
        spec: Some(spec),
        unpack: quote! {
            #container
            #push
        },
        repack: quote_spanned! {span=>
            let #value = (&&#private::probe::Each::<_, #ty>::new(&#serializer))
                .silent()
                .take(#contents, #key)?;
        },
        fields: vec![quote!(#member: #value)],
    }
}
