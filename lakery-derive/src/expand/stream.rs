//! A `ContentStream<T>` field: one content written and read incrementally, with a stream
//! serializer (`JsonLines` by default).

use quote::{quote, quote_spanned};
use syn::Type;

use super::{local, serializer, Names, Piece, Spec};
use crate::ast::Field;
use crate::attr::Content;

pub fn piece(names: &Names, field: &Field, content: &Content, item: &Type, index: usize) -> Piece {
    let Names {
        krate,
        private,
        contents,
        ..
    } = names;
    let (span, serializer, serializer_type) = serializer(
        content.serializer.as_ref(),
        field,
        (quote!(#krate::serializer::JsonLines), "JsonLines"),
    );
    let key = field.key();
    let spec = Spec {
        key: &key,
        storage: super::storage(content),
        tags: &content.tags,
        serializer_type: &serializer_type,
        stream: true,
        encoding: content.encoding.as_ref(),
        nested: None,
    }
    .emit(names);
    let member = field.ident;
    let value = local(&format!("__lakery_content_{index}"));
    Piece {
        spec: Some(spec),
        unpack: quote_spanned! {span=>
            (&#private::probe::Stream::<_, #item>::new(&#serializer))
                .checked()
                .push(#contents, #index, &self.#member)?;
        },
        repack: quote_spanned! {span=>
            let #value = (&#private::probe::Stream::<_, #item>::new(&#serializer))
                .silent()
                .take(#contents, #key)?;
        },
        fields: vec![quote!(#member: #value)],
    }
}
