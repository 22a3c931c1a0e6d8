//! Compile-time errors of `#[derive(Storable)]`, each at the user's token. Regenerate
//! the `.stderr` files with `TRYBUILD=overwrite cargo test -p lakery-derive --test ui`
//! and read the diff. The test belongs to `lakery-derive`, so that trybuild checks its
//! cases against lakery with default features and a few dependencies, not lakery's
//! whole test graph. The shapes that must compile are ordinary tests (`tests/derive.rs`):
//! with no case to run, trybuild only checks, and builds no code.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    // trybuild resolves this path from the `lakery-derive` package directory.
    t.compile_fail("../tests/ui/fail/**/*.rs");
}
