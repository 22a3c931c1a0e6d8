//! A `#[content]` field stored as one value, with its own serializer (`Json` by default).

use quote::{quote, quote_spanned};
use syn::Ident;

use super::{local, serializer, Names, Piece, Spec};
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
    // Without `serializer = ...`, the mistake is the field's type, and the message says that
    // `Json` is only the default.
    // The method's name carries the span: rustc reports an unmet bound of a method at its
    // name.
    let check = if content.serializer.is_some() {
        Ident::new("checked", span)
    } else {
        Ident::new("checked_default", span)
    };
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
    Piece {
        spec: Some(spec),
        unpack: quote_spanned! {span=>
            (&#private::probe::Value::<_, #ty, ()>::new(&#serializer))
                .#check()
                .push(#contents, #index, &self.#member)?;
        },
        repack: quote_spanned! {span=>
            let #value = (&#private::probe::Value::<_, #ty, ()>::new(&#serializer))
                .silent()
                .take(#contents, #key)?;
        },
        fields: vec![quote!(#member: #value)],
    }
}
