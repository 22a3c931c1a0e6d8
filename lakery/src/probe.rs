//! The derive's checks: each field is checked once, at the user's token. A probe picks,
//! by method resolution on references (dtolnay's autoref specialization), either the
//! real handler, when the field's type and serializer fit, or a placeholder whose method
//! carries a bound that no type meets and whose `on_unimplemented` is lakery's message.
//! The placeholder never runs: a program that selects it does not compile. So a mistake
//! is one error, and the code that uses the field after the check reports nothing more.

use ::core::marker::PhantomData;

use ::serde::de::DeserializeOwned;
use ::serde::Serialize;

use crate::body::Field;
use crate::each::EachContent;
use crate::pack::Unpacker;
use crate::repack::Repacker;
use crate::serializer::{Serializer, StreamSerializer};
use crate::storable::Storable;
use crate::stream::ContentStream;

/// The probes' traits, unnamed, for a glob import in generated code: they must be in
/// scope for their methods to resolve, and must not shadow a user's type names.
pub mod methods {
    pub use super::{
        BodyFieldPlaceholder as _, BodyFieldSerde as _, ContainerFits as _,
        ContainerPlaceholder as _, EachFits as _, EachItemPlaceholder as _, EachPlaceholder as _,
        NestedFits as _, NestedPlaceholder as _, StreamFits as _, StreamPlaceholder as _,
        ValueFits as _, ValuePlaceholder as _,
    };
}

const UNREACHABLE: &str =
    "lakery invariant: a placeholder of the derive runs only in code that does not compile";

// ---- The messages: traits no type implements, named in the placeholders' bounds.
// Each is named for what is required, as rustc's help line reads "the trait `X` is
// not implemented for `Y`".

#[diagnostic::on_unimplemented(
    message = "a body field of type `{Self}` must implement `serde::Serialize` and `serde::de::DeserializeOwned`",
    label = "fields without `#[content]` are serialized together, as the body, through serde",
    note = "derive `serde::Serialize` and `serde::Deserialize` for `{Self}`, or give the field `#[content(serializer = ...)]` with a serializer that handles it"
)]
pub trait SerdeBodyField {}

#[diagnostic::on_unimplemented(
    message = "a body field of type `{T}` needs the bound `{T}: serde::Serialize + serde::de::DeserializeOwned`",
    label = "fields without `#[content]` are serialized together, as the body, through serde",
    note = "add `{T}: serde::Serialize + serde::de::DeserializeOwned` to the struct's `where` clause: the derive does not add bounds of its own"
)]
pub trait BoundedBodyField<T> {}

#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot serialize the body of `{Owner}`",
    label = "the body (the fields without `#[content]`) is one struct, serialized through serde",
    note = "`#[storable(serializer = ...)]` needs a serde-based serializer such as `Json`, `Bincode` or `MessagePack`; give a field that needs another serializer `#[content(serializer = ...)]`"
)]
pub trait BodySerializerOf<Owner> {}

#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot serialize a field of type `{V}`",
    label = "`{Self}` does not implement `Serializer<{V}>`",
    note = "choose a serializer that handles `{V}` in `#[content(serializer = ...)]`, or implement `lakery::serializer::Serializer<{V}>` for `{Self}`"
)]
pub trait SerializerFor<V> {}

#[diagnostic::on_unimplemented(
    message = "a `#[content]` field of type `{Self}` is serialized with `Json` by default, which needs `serde::Serialize` and `serde::de::DeserializeOwned`",
    label = "`{Self}` does not implement the serde traits",
    note = "derive `serde::Serialize` and `serde::Deserialize` for `{Self}`, or choose a serializer that handles it with `#[content(serializer = ...)]`"
)]
pub trait SerdeContent {}

#[diagnostic::on_unimplemented(
    message = "a `#[content]` field of type `{Self}` needs the bound `{Self}: serde::Serialize + serde::de::DeserializeOwned` for `Json`, its default serializer",
    label = "`{Self}` is not bounded by the serde traits",
    note = "add `{Self}: serde::Serialize + serde::de::DeserializeOwned` to the struct's `where` clause (the derive does not add bounds of its own), or choose a serializer with `#[content(serializer = ...)]`"
)]
pub trait BoundedContentField {}

#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot serialize a stream of `{T}`",
    label = "`{Self}` does not implement `StreamSerializer<{T}>`",
    note = "a `ContentStream<{T}>` field needs a stream serializer that handles `{T}`, such as `JsonLines`, `Csv`, `MessagePack`, `RawChunks` (for `Bytes`) or `TextLines` (for `String`)"
)]
pub trait StreamSerializerFor<T> {}

#[diagnostic::on_unimplemented(
    message = "`#[content(each)]` needs a container of contents, not `{Self}`",
    label = "`{Self}` is not an `Option`, `Vec` or `BTreeMap<String, _>`",
    note = "`each` stores every entry of an `Option<T>`, `Vec<T>` or `BTreeMap<String, T>` as a content of its own; leave it out to store the field as one content"
)]
pub trait EachContainer {}

// ---- Handlers: what a probe hands back. Each has `push` (save) and `take` (load).

/// A field stored as one value with a serializer.
pub struct ValueHandler<'a, S, V>(&'a S, PhantomData<fn() -> V>);

impl<S: Serializer<V>, V> ValueHandler<'_, S, V> {
    pub fn push(
        &self,
        contents: &mut Unpacker,
        index: usize,
        value: &V,
    ) -> crate::error::Result<()> {
        contents.push(index, self.0, value)
    }

    pub fn take(&self, contents: &mut Repacker, key: &'static str) -> crate::error::Result<V> {
        contents.take(key, self.0)
    }
}

/// A `#[content(each)]` field.
pub struct EachHandler<'a, S, C>(&'a S, PhantomData<fn() -> C>);

impl<S: Serializer<C::Item>, C: EachContent> EachHandler<'_, S, C> {
    pub fn push(
        &self,
        contents: &mut Unpacker,
        index: usize,
        value: &C,
    ) -> crate::error::Result<()> {
        contents.push_each(index, self.0, value)
    }

    pub fn take(&self, contents: &mut Repacker, key: &'static str) -> crate::error::Result<C> {
        contents.take_each(key, self.0)
    }
}

/// A `ContentStream<T>` field.
pub struct StreamHandler<'a, S, T>(&'a S, PhantomData<fn() -> T>);

impl<S: StreamSerializer<T>, T: Send + 'static> StreamHandler<'_, S, T> {
    pub fn push(
        &self,
        contents: &mut Unpacker,
        index: usize,
        value: &ContentStream<T>,
    ) -> crate::error::Result<()> {
        contents.push_stream(index, self.0, value)
    }

    pub fn take(
        &self,
        contents: &mut Repacker,
        key: &'static str,
    ) -> crate::error::Result<ContentStream<T>> {
        contents.take_stream(key, self.0)
    }
}

/// A `#[storable(nested)]` field.
pub struct NestedHandler<N>(PhantomData<fn() -> N>);

impl<N: Storable> NestedHandler<N> {
    pub fn push(
        &self,
        contents: &mut Unpacker,
        index: usize,
        value: &N,
    ) -> crate::error::Result<()> {
        contents.push_nested(index, value)
    }

    pub fn take(&self, contents: &mut Repacker, key: &'static str) -> crate::error::Result<N> {
        contents.take_nested(key)
    }
}

/// The handler of a field whose check failed.
pub struct Placeholder<V>(PhantomData<fn() -> V>);

impl<V> Placeholder<V> {
    pub fn push(&self, _: &mut Unpacker, _: usize, _: &V) -> crate::error::Result<()> {
        unreachable!("{UNREACHABLE}")
    }

    pub fn take(&self, _: &mut Repacker, _: &'static str) -> crate::error::Result<V> {
        unreachable!("{UNREACHABLE}")
    }
}

fn placeholder<V>() -> Placeholder<V> {
    Placeholder(PhantomData)
}

// ---- Body fields: borrowed into the body when saving, owned when loading.

/// How a body field of type `T` goes into the body.
pub struct BodyField<T>(PhantomData<fn() -> T>);

impl<T> BodyField<T> {
    pub fn new() -> Self {
        BodyField(PhantomData)
    }
}

impl<T> Default for BodyField<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A body field through serde.
pub struct SerdeField<T>(PhantomData<fn() -> T>);

impl<T> SerdeField<T> {
    pub fn borrow<'a>(&self, value: &'a T) -> Field<'a, T> {
        Field::Borrowed(value)
    }

    /// The type the body holds it as when loading.
    pub fn owned(&self) -> PhantomData<Field<'static, T>> {
        PhantomData
    }
}

/// A body field whose check failed: serializes as nothing, never runs.
pub struct PlaceholderField<T>(PhantomData<fn() -> T>);

impl<T> PlaceholderField<T> {
    pub fn borrow(&self, _: &T) -> PlaceholderValue<T> {
        PlaceholderValue(PhantomData)
    }

    pub fn owned(&self) -> PhantomData<PlaceholderValue<T>> {
        PhantomData
    }
}

pub struct PlaceholderValue<T>(PhantomData<fn() -> T>);

impl<T> PlaceholderValue<T> {
    pub fn into_owned(self) -> T {
        unreachable!("{UNREACHABLE}")
    }
}

impl<T> Serialize for PlaceholderValue<T> {
    fn serialize<S: ::serde::Serializer>(&self, _: S) -> ::core::result::Result<S::Ok, S::Error> {
        unreachable!("{UNREACHABLE}")
    }
}

impl<'de, T> ::serde::Deserialize<'de> for PlaceholderValue<T> {
    fn deserialize<D: ::serde::Deserializer<'de>>(_: D) -> ::core::result::Result<Self, D::Error> {
        unreachable!("{UNREACHABLE}")
    }
}

pub trait BodyFieldSerde<T> {
    fn checked(&self) -> SerdeField<T>;
    fn checked_generic(&self) -> SerdeField<T>;
    fn silent(&self) -> SerdeField<T>;
}

impl<T: Serialize + DeserializeOwned> BodyFieldSerde<T> for BodyField<T> {
    fn checked(&self) -> SerdeField<T> {
        SerdeField(PhantomData)
    }
    fn checked_generic(&self) -> SerdeField<T> {
        SerdeField(PhantomData)
    }
    fn silent(&self) -> SerdeField<T> {
        SerdeField(PhantomData)
    }
}

/// What the body's marker type is, in `BoundedBodyField<T>`: a generic field's type is a
/// parameter, and a bound on a parameter would make rustc suggest that bound.
pub enum Body {}

pub trait BodyFieldPlaceholder<T> {
    fn checked(&self) -> PlaceholderField<T>
    where
        T: SerdeBodyField;
    fn checked_generic(&self) -> PlaceholderField<T>
    where
        Body: BoundedBodyField<T>;
    fn silent(&self) -> PlaceholderField<T>;
}

impl<T> BodyFieldPlaceholder<T> for &BodyField<T> {
    fn checked(&self) -> PlaceholderField<T>
    where
        T: SerdeBodyField,
    {
        PlaceholderField(PhantomData)
    }
    fn checked_generic(&self) -> PlaceholderField<T>
    where
        Body: BoundedBodyField<T>,
    {
        PlaceholderField(PhantomData)
    }
    fn silent(&self) -> PlaceholderField<T> {
        PlaceholderField(PhantomData)
    }
}

// ---- A value with a serializer: the body, or a `#[content]` field.

/// Serializer `S` for values of type `V`; `Owner` is the struct, for messages.
pub struct Value<'a, S, V, Owner = ()>(&'a S, PhantomData<fn() -> (V, Owner)>);

impl<'a, S, V, Owner> Value<'a, S, V, Owner> {
    pub fn new(serializer: &'a S) -> Self {
        Value(serializer, PhantomData)
    }

    /// For the body, whose type is only known as a value (`PhantomData`) or a reference.
    pub fn of(serializer: &'a S, _: PhantomData<V>) -> Self {
        Value(serializer, PhantomData)
    }

    pub fn for_value(serializer: &'a S, _: &V) -> Self {
        Value(serializer, PhantomData)
    }
}

pub trait ValueFits<'a, S, V> {
    fn checked(&self) -> ValueHandler<'a, S, V>;
    fn checked_default(&self) -> ValueHandler<'a, S, V>;
    fn checked_generic_default(&self) -> ValueHandler<'a, S, V>;
    fn checked_body(&self) -> ValueHandler<'a, S, V>;
    fn silent(&self) -> ValueHandler<'a, S, V>;
}

impl<'a, S: Serializer<V>, V, Owner> ValueFits<'a, S, V> for Value<'a, S, V, Owner> {
    fn checked(&self) -> ValueHandler<'a, S, V> {
        ValueHandler(self.0, PhantomData)
    }
    fn checked_default(&self) -> ValueHandler<'a, S, V> {
        ValueHandler(self.0, PhantomData)
    }
    fn checked_generic_default(&self) -> ValueHandler<'a, S, V> {
        ValueHandler(self.0, PhantomData)
    }
    fn checked_body(&self) -> ValueHandler<'a, S, V> {
        ValueHandler(self.0, PhantomData)
    }
    fn silent(&self) -> ValueHandler<'a, S, V> {
        ValueHandler(self.0, PhantomData)
    }
}

pub trait ValuePlaceholder<S, V, Owner> {
    fn checked(&self) -> Placeholder<V>
    where
        S: SerializerFor<V>;
    fn checked_default(&self) -> Placeholder<V>
    where
        V: SerdeContent;
    fn checked_generic_default(&self) -> Placeholder<V>
    where
        V: BoundedContentField;
    fn checked_body(&self) -> Placeholder<V>
    where
        S: BodySerializerOf<Owner>;
    fn silent(&self) -> Placeholder<V>;
}

impl<S, V, Owner> ValuePlaceholder<S, V, Owner> for &Value<'_, S, V, Owner> {
    fn checked(&self) -> Placeholder<V>
    where
        S: SerializerFor<V>,
    {
        placeholder()
    }
    fn checked_default(&self) -> Placeholder<V>
    where
        V: SerdeContent,
    {
        placeholder()
    }
    fn checked_generic_default(&self) -> Placeholder<V>
    where
        V: BoundedContentField,
    {
        placeholder()
    }
    fn checked_body(&self) -> Placeholder<V>
    where
        S: BodySerializerOf<Owner>,
    {
        placeholder()
    }
    fn silent(&self) -> Placeholder<V> {
        placeholder()
    }
}

// ---- `#[content(each)]`: the container, then the serializer of its items.

/// Container `C` of a `#[content(each)]` field.
pub struct Container<C>(PhantomData<fn() -> C>);

impl<C> Container<C> {
    pub fn new() -> Self {
        Container(PhantomData)
    }
}

impl<C> Default for Container<C> {
    fn default() -> Self {
        Self::new()
    }
}

pub trait ContainerFits {
    fn checked(&self);
}

impl<C: EachContent> ContainerFits for Container<C> {
    fn checked(&self) {}
}

pub trait ContainerPlaceholder<C> {
    fn checked(&self)
    where
        C: EachContainer;
}

impl<C> ContainerPlaceholder<C> for &Container<C> {
    fn checked(&self)
    where
        C: EachContainer,
    {
    }
}

/// Serializer `S` for the entries of container `C`; call on `&&Each`.
pub struct Each<'a, S, C>(&'a S, PhantomData<fn() -> C>);

impl<'a, S, C> Each<'a, S, C> {
    pub fn new(serializer: &'a S) -> Self {
        Each(serializer, PhantomData)
    }
}

pub trait EachFits<'a, S, C> {
    fn checked(&self) -> EachHandler<'a, S, C>;
    fn silent(&self) -> EachHandler<'a, S, C>;
}

impl<'a, S: Serializer<C::Item>, C: EachContent> EachFits<'a, S, C> for &Each<'a, S, C> {
    fn checked(&self) -> EachHandler<'a, S, C> {
        EachHandler(self.0, PhantomData)
    }
    fn silent(&self) -> EachHandler<'a, S, C> {
        EachHandler(self.0, PhantomData)
    }
}

/// A container whose items the serializer cannot handle: reported here.
pub trait EachItemPlaceholder<S, C: EachContent> {
    fn checked(&self) -> Placeholder<C>
    where
        S: SerializerFor<C::Item>;
    fn silent(&self) -> Placeholder<C>;
}

impl<S, C: EachContent> EachItemPlaceholder<S, C> for &&Each<'_, S, C> {
    fn checked(&self) -> Placeholder<C>
    where
        S: SerializerFor<C::Item>,
    {
        placeholder()
    }
    fn silent(&self) -> Placeholder<C> {
        placeholder()
    }
}

/// Not a container at all: reported by `Container`, so nothing more here.
pub trait EachPlaceholder<C> {
    fn checked(&self) -> Placeholder<C>;
    fn silent(&self) -> Placeholder<C>;
}

impl<S, C> EachPlaceholder<C> for Each<'_, S, C> {
    fn checked(&self) -> Placeholder<C> {
        placeholder()
    }
    fn silent(&self) -> Placeholder<C> {
        placeholder()
    }
}

// ---- `ContentStream<T>` fields.

/// Stream serializer `S` for items of type `T`.
pub struct Stream<'a, S, T>(&'a S, PhantomData<fn() -> T>);

impl<'a, S, T> Stream<'a, S, T> {
    pub fn new(serializer: &'a S) -> Self {
        Stream(serializer, PhantomData)
    }
}

pub trait StreamFits<'a, S, T> {
    fn checked(&self) -> StreamHandler<'a, S, T>;
    fn silent(&self) -> StreamHandler<'a, S, T>;
}

impl<'a, S: StreamSerializer<T>, T: Send + 'static> StreamFits<'a, S, T> for Stream<'a, S, T> {
    fn checked(&self) -> StreamHandler<'a, S, T> {
        StreamHandler(self.0, PhantomData)
    }
    fn silent(&self) -> StreamHandler<'a, S, T> {
        StreamHandler(self.0, PhantomData)
    }
}

pub trait StreamPlaceholder<S, T> {
    fn checked(&self) -> Placeholder<ContentStream<T>>
    where
        S: StreamSerializerFor<T>;
    fn silent(&self) -> Placeholder<ContentStream<T>>;
}

impl<S, T> StreamPlaceholder<S, T> for &Stream<'_, S, T> {
    fn checked(&self) -> Placeholder<ContentStream<T>>
    where
        S: StreamSerializerFor<T>,
    {
        placeholder()
    }
    fn silent(&self) -> Placeholder<ContentStream<T>> {
        placeholder()
    }
}

// ---- `#[storable(nested)]` fields, checked by the content spec's `<N as Storable>`.

pub struct Nested<N>(PhantomData<fn() -> N>);

impl<N> Nested<N> {
    pub fn new() -> Self {
        Nested(PhantomData)
    }
}

impl<N> Default for Nested<N> {
    fn default() -> Self {
        Self::new()
    }
}

pub trait NestedFits<N> {
    fn silent(&self) -> NestedHandler<N>;
}

impl<N: Storable> NestedFits<N> for Nested<N> {
    fn silent(&self) -> NestedHandler<N> {
        NestedHandler(PhantomData)
    }
}

pub trait NestedPlaceholder<N> {
    fn silent(&self) -> Placeholder<N>;
}

impl<N> NestedPlaceholder<N> for &Nested<N> {
    fn silent(&self) -> Placeholder<N> {
        placeholder()
    }
}

// ---- `migrate_from`, checked at compile time as traits, so that a wrong previous
// type reads as lakery's message rather than as a panic in constant evaluation.

/// A `bool` computed by a constant, as a type.
pub struct Bool<const B: bool>;

#[diagnostic::on_unimplemented(
    message = "`migrate_from = {Previous}`: `{Previous}` has a different class id from `{This}`",
    label = "the versions of one model share its class id",
    note = "give `{Previous}` the `class_id` of `{This}`: `migrate_from` names the previous version of the same model"
)]
pub trait SameClass<Previous, This> {}

impl<Previous, This> SameClass<Previous, This> for Bool<true> {}

#[diagnostic::on_unimplemented(
    message = "`migrate_from = {Previous}`: the version of `{Previous}` ({PREVIOUS}) must be lower than {THIS}, the version of `{This}`",
    label = "`migrate_from` names the version before this one",
    note = "give `{Previous}` a lower `version`, or this type a higher one"
)]
pub trait LowerVersion<Previous, This, const PREVIOUS: u32, const THIS: u32> {}

impl<Previous, This, const PREVIOUS: u32, const THIS: u32>
    LowerVersion<Previous, This, PREVIOUS, THIS> for Bool<true>
{
}

pub fn same_class<B: SameClass<Previous, This>, Previous, This>() {}

pub fn lower_version<
    B: LowerVersion<Previous, This, PREVIOUS, THIS>,
    Previous,
    This,
    const PREVIOUS: u32,
    const THIS: u32,
>() {
}
