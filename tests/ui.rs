//! Compile-time behaviour of `#[derive(Storable)]`: what compiles, and the errors, each
//! at the user's token, of what does not. Regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p lakery-derive --test ui` and read the diff. The
//! test belongs to `lakery-derive`, so that trybuild builds its cases against lakery
//! with default features and a few dependencies, not lakery's whole test graph.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    // trybuild resolves these paths from the `lakery-derive` package directory.
    t.compile_fail("../tests/ui/fail/**/*.rs");
    t.pass("../tests/ui/pass/*.rs");
}
