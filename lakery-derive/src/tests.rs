//! Runs the derive on token streams: the messages of its errors, and its expansion, as
//! whole snapshots (`src/snapshots/`, reviewed with `cargo insta review` or regenerated
//! with `INSTA_UPDATE=always` and read in the diff). Spans and the compiler's own errors
//! are covered by the trybuild tests in `tests/ui`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::derive_storable_inner;
use crate::expand::try_expand;

/// The messages of every error the derive reports, in order.
fn errors(input: TokenStream) -> Vec<String> {
    let input: syn::DeriveInput = syn::parse2(input).expect("test input parses");
    match try_expand(&input) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(|error| error.to_string()).collect(),
    }
}

/// The single error the derive reports.
fn error(input: TokenStream) -> String {
    let errors = errors(input);
    assert_eq!(
        errors.len(),
        1,
        "expected exactly one error, got {errors:#?}"
    );
    errors.into_iter().next().unwrap()
}

/// The expansion, with whitespace removed so that assertions do not depend on how
/// `proc_macro2` spaces its tokens.
fn expanded(input: TokenStream) -> String {
    let output = derive_storable_inner(input).expect("derive succeeds");
    let mut text = output.to_string();
    text.retain(|c| !c.is_whitespace());
    text
}

/// The expansion as formatted Rust, for a snapshot of the whole of it.
fn pretty(input: TokenStream) -> String {
    let output = derive_storable_inner(input).expect("derive succeeds");
    let file = syn::parse_file(&output.to_string()).expect("the expansion parses as a file");
    prettyplease::unparse(&file)
}

/// The expansion as `proc_macro2` prints it, for output that is not a file of items
/// (`compile_error!` beside a placeholder impl is, but reads better unformatted).
fn expanded_text(input: TokenStream) -> String {
    derive_storable_inner(input)
        .expect("derive succeeds")
        .to_string()
}

fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn assert_contains(haystack: &str, needle: &str) {
    let needle = compact(needle);
    assert!(
        haystack.contains(&needle),
        "expected `{needle}` in:\n{haystack}"
    );
}

fn assert_lacks(haystack: &str, needle: &str) {
    let needle = compact(needle);
    assert!(
        !haystack.contains(&needle),
        "did not expect `{needle}` in:\n{haystack}"
    );
}

fn assert_error(input: TokenStream, expected: &str) {
    let message = error(input);
    assert!(
        message.contains(expected),
        "expected `{expected}` in the error:\n{message}"
    );
}

// ---- expansion ----------------------------------------------------------------------

#[test]
fn a_nested_field_unpacks_into_its_own_type() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct Run {
            name: String,
            #[storable(nested)]
            results: Results,
        }
    }));
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
            struct Run {
                #[storable(nested)]
                #[content]
                results: Results,
            }
        },
        "cannot be both `#[storable(nested)]` and `#[content]`",
    );
}

#[test]
fn each_pushes_and_takes_the_entries() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct Run {
            #[content(serializer = Npy, each)]
            results: BTreeMap<String, Array2<f64>>,
        }
    }));
}

#[test]
fn each_takes_no_value_and_no_stream() {
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
            struct Run {
                #[content(each = true)]
                results: Vec<f64>,
            }
        },
        "`each` takes no value",
    );
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
            struct Run {
                #[content(serializer = JsonLines, each)]
                rows: ContentStream<u32>,
            }
        },
        "`rows` is a `ContentStream`, one content read incrementally",
    );
}

#[test]
fn an_encoding_names_its_variant() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct Run {
            #[content(encoding = "gzip")]
            log: Vec<String>,
            #[content(storage = "files", encoding = "zstd")]
            weights: Vec<f64>,
        }
    }));
}

#[test]
fn expands_the_example_of_the_design() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = 2, serializer = Json)]
        struct Experiment {
            description: String,
            parameters: BTreeMap<String, f64>,
            #[content(serializer = Bincode, storage = "archive", tags(kind = "results", stage = "final"))]
            results: Vec<f64>,
            #[storable(skip)]
            cache: Option<u32>,
        }
    }));
}

#[test]
fn defaults_version_to_1_and_serializers_to_json() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct S { a: u32, #[content] b: String }
    }));
}

#[test]
fn has_no_body_when_every_field_is_a_content_or_skipped() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct S { #[content] a: u32, #[content(serializer = Text)] b: String, #[storable(skip)] c: u8 }
    }));
}

#[test]
fn empty_struct_has_no_contents() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct S {}
    }));
}

#[test]
fn generic_struct_keeps_bounds_and_requires_send_static() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct S<T: Clone, U, const N: usize> where U: Default { a: T, b: [U; N], s: String, #[content] c: U }
    }));
}

#[test]
fn raw_identifier_key_drops_the_prefix() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct S { #[content(tags(r#type = "x", "my-key" = "y"))] r#type: String }
    }));
}

#[test]
fn serializer_type_is_the_path_as_written() {
    let out = expanded(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", serializer = PRETTY)]
        struct S { a: u32, #[content(serializer = lakery::serializer::Bincode)] b: Vec<u8> }
    });
    assert_contains(&out, r#"serializer_type: "PRETTY""#);
    assert_contains(&out, r#"serializer_type: "lakery::serializer::Bincode""#);
}

#[test]
fn class_id_accepts_other_uuid_forms() {
    let out = expanded(quote! {
        #[storable(class_id = "6F1C2A7E9A1B4C558D2E0B7F3C9E4A11")]
        struct S { a: u32 }
    });
    assert_contains(&out, "from_u128(0x6f1c2a7e9a1b4c558d2e0b7f3c9e4a11u128)");
}

#[test]
fn attributes_may_be_split_over_several_storable_attributes() {
    let out = expanded(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        #[storable(version = 7)]
        struct S { a: u32 }
    });
    assert_contains(&out, "const VERSION: u32 = 7u32;");
}

#[test]
fn content_named_body_is_fine_without_body_fields() {
    let out = expanded(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct S { #[content] body: String, #[storable(skip)] cache: u8 }
    });
    assert_contains(&out, r#"key: "body""#);
}

// ---- shape --------------------------------------------------------------------------

#[test]
fn rejects_enum() {
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
            enum E { A }
        },
        "`Storable` can only be derived for structs with named fields, and `E` is an enum",
    );
}

#[test]
fn rejects_union() {
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
            union U { a: u32 }
        },
        "is a union",
    );
}

#[test]
fn rejects_tuple_and_unit_structs() {
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
            struct T(u32);
        },
        "`T` is a tuple struct",
    );
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
            struct U;
        },
        "`U` is a unit struct",
    );
}

#[test]
fn rejects_lifetimes() {
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
            struct S<'a> { a: &'a str }
        },
        "`Storable` cannot be derived for a struct with lifetime parameters: a storable owns its \
         data, since it is loaded back from storage",
    );
}

// ---- container attributes -----------------------------------------------------------

#[test]
fn requires_class_id() {
    let expected = "missing `class_id`: add `#[storable(class_id = \"<uuid>\")]` to `S`";
    assert_error(
        quote!(
            struct S {
                a: u32,
            }
        ),
        expected,
    );
    assert_error(
        quote!(
            #[storable(version = 2)]
            struct S {
                a: u32,
            }
        ),
        expected,
    );
    assert_error(
        quote!(
            #[storable]
            struct S {
                a: u32,
            }
        ),
        expected,
    );
    assert_error(
        quote!(
            struct S {
                a: u32,
            }
        ),
        "generate one with `uuidgen`",
    );
}

#[test]
fn rejects_malformed_class_id() {
    let message = error(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a1z")]
        struct S { a: u32 }
    });
    assert!(
        message.contains("`class_id` is not a valid UUID: invalid character"),
        "{message}"
    );
    assert!(
        message.contains(
            "help: the correct format looks like `#[storable(class_id = \"6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11\")]`"
        ),
        "{message}"
    );
    assert!(message.contains("`uuidgen`"), "{message}");
    assert_error(
        quote!(
            #[storable(class_id = "00000000-0000-0000-0000-000000000000")]
            struct S {
                a: u32,
            }
        ),
        "the nil UUID cannot be a class id",
    );
    assert_error(
        quote!(
            #[storable(class_id = 12)]
            struct S {
                a: u32,
            }
        ),
        "expected a string literal holding a UUID",
    );
    assert_error(
        quote!(
            #[storable(class_id)]
            struct S {
                a: u32,
            }
        ),
        "expected a value for `class_id`: the correct format looks like",
    );
}

#[test]
fn rejects_unknown_container_key() {
    assert_error(
        quote!(
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", vesion = 2)]
            struct S {
                a: u32,
            }
        ),
        "unknown storable attribute `vesion`; expected one of `class_id`, `version`, `serializer`, \
         `migrate_from`, `migrate`",
    );
    assert_error(
        quote!(
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", skip)]
            struct S {
                a: u32,
            }
        ),
        "help: `skip` applies to a field",
    );
}

#[test]
fn rejects_duplicate_container_keys() {
    assert_error(
        quote!(
            #[storable(
                class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11",
                version = 2,
                version = 3
            )]
            struct S {
                a: u32,
            }
        ),
        "duplicate `version` in `#[storable]`",
    );
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a12")]
            struct S { a: u32 }
        },
        "duplicate `class_id` in `#[storable]`",
    );
}

#[test]
fn rejects_malformed_version() {
    let class = quote!(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11");
    assert_error(
        quote!(
            #[storable(#class, version = "2")]
            struct S {
                a: u32,
            }
        ),
        "expected an integer literal: the correct format looks like `#[storable(version = 2)]`",
    );
    assert_error(
        quote!(
            #[storable(#class, version = 0)]
            struct S {
                a: u32,
            }
        ),
        "version starts at 1",
    );
    assert_error(
        quote!(
            #[storable(#class, version = 4294967296)]
            struct S {
                a: u32,
            }
        ),
        "is too large: versions go up to 2147483647",
    );
    assert_error(
        quote!(
            #[storable(#class, version = 2u8)]
            struct S {
                a: u32,
            }
        ),
        "not a `u8`",
    );
    assert_error(
        quote!(
            #[storable(#class, version = -1)]
            struct S {
                a: u32,
            }
        ),
        "expected an integer literal",
    );
}

#[test]
fn rejects_malformed_serializer() {
    let class = quote!(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11");
    assert_error(
        quote!(
            #[storable(#class, serializer = "json")]
            struct S {
                a: u32,
            }
        ),
        "expected a path to a serializer such as `Json`, not a string: the correct format looks \
         like `#[storable(serializer = Json)]`",
    );
    assert_error(
        quote!(
            #[storable(#class)]
            struct S {
                #[content(serializer = Csv { sep: b',' })]
                a: u32,
            }
        ),
        "declare it as a constant",
    );
}

#[test]
fn rejects_content_on_the_struct() {
    assert_error(
        quote!(
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
            #[content]
            struct S {
                a: u32,
            }
        ),
        "`#[content]` goes on a field, not on the struct",
    );
}

#[test]
fn rejects_body_serializer_without_body() {
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", serializer = Bincode)]
            struct S { #[content] a: u32 }
        },
        "serializes the body (the fields without `#[content]`), but this struct has no such field",
    );
}

// ---- field attributes ---------------------------------------------------------------

#[test]
fn rejects_unknown_field_keys() {
    let class = quote!(#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]);
    assert_error(
        quote!(#class struct S { #[content(serializr = Json)] a: u32 }),
        "unknown content attribute `serializr`; expected one of `serializer`, `storage`, `tags`",
    );
    assert_error(
        quote!(#class struct S { #[content(skip)] a: u32 }),
        "write `#[storable(skip)]` instead of `#[content]`",
    );
    assert_error(
        quote!(#class struct S { #[storable(skipp)] a: u32 }),
        "unknown storable field attribute `skipp`; expected `skip`",
    );
    assert_error(
        quote!(#class struct S { #[storable(storage = "archive")] a: u32 }),
        "go in `#[content(...)]`",
    );
    assert_error(
        quote!(#class struct S { #[storable(version = 2)] a: u32 }),
        "`version` belongs in the struct's `#[storable(...)]`",
    );
    assert_error(
        quote!(#class struct S { #[storable(skip = true)] a: u32 }),
        "`skip` takes no value",
    );
}

#[test]
fn rejects_duplicate_field_keys() {
    let class = quote!(#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]);
    assert_error(
        quote!(#class struct S { #[content(storage = "a", storage = "b")] a: u32 }),
        "duplicate `storage` in `#[content]`",
    );
    assert_error(
        quote!(#class struct S { #[storable(skip, skip)] a: u32 }),
        "duplicate `skip` in `#[storable]`",
    );
    assert_error(
        quote!(#class struct S { #[content] #[content(storage = "b")] a: u32 }),
        "duplicate `#[content]` on field `a`",
    );
}

#[test]
fn rejects_skip_with_content_in_either_order() {
    let class = quote!(#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]);
    let expected = "field `a` cannot be both `#[storable(skip)]` and `#[content]`";
    assert_error(
        quote!(#class struct S { #[storable(skip)] #[content] a: u32 }),
        expected,
    );
    assert_error(
        quote!(#class struct S { #[content] #[storable(skip)] a: u32 }),
        expected,
    );
}

#[test]
fn rejects_malformed_storage() {
    let class = quote!(#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]);
    assert_error(
        quote!(#class struct S { #[content(storage = archive)] a: u32 }),
        "expected a string literal naming a storage: the correct format looks like \
         `#[content(storage = \"archive\")]`",
    );
    assert_error(
        quote!(#class struct S { #[content(storage = "")] a: u32 }),
        "a storage name cannot be empty",
    );
}

#[test]
fn rejects_malformed_tags() {
    let class = quote!(#[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]);
    assert_error(
        quote!(#class struct S { #[content(tags(kind = results))] a: u32 }),
        "expected a string literal as the value of tag `kind`",
    );
    assert_error(
        quote!(#class struct S { #[content(tags(kind = "a", "kind" = "b"))] a: u32 }),
        "duplicate tag `kind` in `tags(...)`",
    );
    assert_error(
        quote!(#class struct S { #[content(tags("" = "b"))] a: u32 }),
        "a tag key cannot be empty",
    );
    assert_error(
        quote!(#class struct S { #[content(tags = "kind")] a: u32 }),
        "expected a list of tags",
    );
    assert_error(
        quote!(#class struct S { #[content(tags(1 = "a"))] a: u32 }),
        "expected a tag key",
    );
}

#[test]
fn rejects_content_named_body_next_to_body_fields() {
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
            struct S { description: String, #[content] body: String }
        },
        "a `#[content]` field cannot be named `body` while the struct has fields without \
         `#[content]`: those fields (`description`)",
    );
}

// ---- several errors, and the placeholder impl ---------------------------------------

#[test]
fn reports_every_error_at_once() {
    let errors = errors(quote! {
        #[storable(vesion = 2, version = "2", serializer = "json")]
        struct S {
            #[content(storage = archive, tags(kind = 1))]
            a: u32,
            #[storable(skip)]
            #[content]
            b: u32,
        }
    });
    let expected = [
        "unknown storable attribute `vesion`",
        "expected an integer literal",
        "expected a path to a serializer",
        "missing `class_id`",
        "expected a string literal naming a storage",
        "expected a string literal as the value of tag `kind`",
        "cannot be both `#[storable(skip)]` and `#[content]`",
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (error, expected) in errors.iter().zip(expected) {
        assert!(
            error.contains(expected),
            "expected `{expected}` in `{error}`"
        );
    }
}

#[test]
fn emits_a_placeholder_impl_next_to_the_errors() {
    insta::assert_snapshot!(expanded_text(quote! {
        #[storable(class_id = "nope")]
        struct S<T> { a: T }
    }));
    let out = expanded(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        enum E { A }
    });
    assert_contains(&out, "impl ::lakery::Storable for E");
    // The placeholder names lakery as the failed derive would have.
    let out = expanded(quote! {
        #[storable(crate = "my_crate::store", version = "2")]
        struct S { a: u32 }
    });
    assert_contains(&out, "impl my_crate::store::Storable for S");
}

#[test]
fn emits_no_placeholder_impl_for_a_struct_with_lifetimes() {
    let out = expanded(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct S<'a> { a: &'a str }
    });
    assert_contains(&out, "::core::compile_error!");
    assert_lacks(&out, "impl");
}

#[test]
fn input_that_is_not_an_item_is_a_syntax_error() {
    let err = derive_storable_inner(quote!(
        fn f() {}
    ))
    .unwrap_err();
    assert!(err.to_string().contains("expected"), "{err}");
}

#[test]
fn migrate_from_on_version_1_is_refused() {
    let message = error(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", migrate_from = RunV0)]
        struct Run { loss: f64 }
    });
    assert!(
        message.contains("`migrate_from` on version 1 of `Run`"),
        "{message}"
    );
    assert!(message.contains("version = 2, migrate_from"), "{message}");
}

#[test]
fn migrate_on_version_1_is_refused() {
    let message = error(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = 1, migrate = old)]
        struct Run { loss: f64 }
    });
    assert!(
        message.contains("`migrate` on version 1 of `Run`"),
        "{message}"
    );
}

#[test]
fn a_malformed_version_is_reported_once_beside_migrate_from() {
    let message = error(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = "2", migrate_from = RunV1)]
        struct Run { loss: f64 }
    });
    assert!(message.contains("expected an integer literal"), "{message}");
}

#[test]
fn migration_values_of_the_wrong_kind_show_the_right_form() {
    let messages = errors(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = 2, migrate_from = "RunV1", migrate = 3)]
        struct Run { loss: f64 }
    });
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages[0].contains("not a string"), "{}", messages[0]);
    assert!(
        messages[1].contains("a path to a function"),
        "{}",
        messages[1]
    );
}

#[test]
fn migrate_from_and_migrate_expand_to_a_chain_and_a_hook() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = 3, migrate_from = RunV2, migrate = old)]
        struct Run { loss: f64 }
    }));
}

#[test]
fn a_type_without_migrations_keeps_the_default_version_methods() {
    let out = expanded(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = 3)]
        struct Run { loss: f64 }
    });
    assert_lacks(&out, "fn repack_version");
    assert_lacks(&out, "fn loads_version");
}

#[test]
fn a_stream_field_is_pushed_and_taken_as_a_stream() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct Dataset {
            name: String,
            #[content(serializer = Csv, storage = "files")]
            rows: lakery::ContentStream<Row>,
            #[content]
            lines: ContentStream<String>,
        }
    }));
}

#[test]
fn a_stream_in_the_body_is_refused() {
    let message = error(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct Dataset {
            rows: ContentStream<Row>,
        }
    });
    assert!(message.contains("`rows` is a `ContentStream`"), "{message}");
    assert!(
        message.contains("#[content(serializer = JsonLines)]"),
        "{message}"
    );
}

// ---- more expansions ----------------------------------------------------------------

#[test]
fn a_body_only_struct_checks_each_field_and_the_serializer() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct Experiment {
            description: String,
            parameters: BTreeMap<String, f64>,
        }
    }));
}

#[test]
fn crate_path_names_lakery_through_it() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", crate = "my_crate::store")]
        struct Run {
            name: String,
            #[content(serializer = Bincode, each)]
            results: Vec<f64>,
            #[storable(nested)]
            metrics: Metrics,
        }
    }));
}

#[test]
fn a_generic_previous_version_is_checked_when_instantiated() {
    insta::assert_snapshot!(pretty(quote! {
        #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", version = 2, migrate_from = RunV1<T>)]
        struct Run<T: Serialize + DeserializeOwned> { value: T }
    }));
}

// ---- the attributes added for newcomers -------------------------------------------------

#[test]
fn a_misspelled_class_id_is_one_error_that_names_the_key() {
    let message = error(quote! {
        #[storable(clas_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
        struct Run { loss: f64 }
    });
    assert!(
        message.contains("unknown storable attribute `clas_id`"),
        "{message}"
    );
    assert!(message.contains("did you mean `class_id`?"), "{message}");
    // An unrelated unknown key still leaves the missing class id to report.
    let messages = errors(quote! {
        #[storable(colour = "red")]
        struct Run { loss: f64 }
    });
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages[1].contains("missing `class_id`"),
        "{}",
        messages[1]
    );
}

#[test]
fn crate_takes_a_path_in_a_string() {
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", crate = my_crate::lakery)]
            struct Run { loss: f64 }
        },
        "expected a string literal holding the path to lakery",
    );
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11", crate = "not a path")]
            struct Run { loss: f64 }
        },
        "`crate` must be a path such as `my_crate::lakery`",
    );
}

#[test]
fn a_standard_type_as_serializer_is_named_a_type() {
    assert_error(
        quote! {
            #[storable(class_id = "6f1c2a7e-9a1b-4c55-8d2e-0b7f3c9e4a11")]
            struct Run { #[content(serializer = String)] notes: String }
        },
        "`String` is a type, not a serializer",
    );
}
