//! A `ContentStream<T>` field: one content written and read incrementally, with a stream
//! serializer (`JsonLines` by default).

use quote::quote_spanned;
use syn::Type;

use super::{field_piece, serializer, Names, Piece, Spec};
use crate::ast::Field;
use crate::attr::Content;

pub fn piece(names: &Names, field: &Field, content: &Content, item: &Type, index: usize) -> Piece {
    let Names {
        private, contents, ..
    } = names;
    let (span, serializer, serializer_type) = serializer(names, field, content, "JsonLines");
    let key = field.key();
    let spec = Spec::content(&key, content, &serializer_type, true);
    let member = field.ident;
    let stream = quote_spanned!(span=> (&#private::probe::Stream::<_, #item>::new(&#serializer)));
    let unpack = quote_spanned! {span=>
        #stream.checked().push(#contents, #index, &self.#member)?;
    };
    let take = quote_spanned!(span=> #stream.silent().take(#contents, #key)?);
    field_piece(names, field, index, spec, unpack, take)
}
