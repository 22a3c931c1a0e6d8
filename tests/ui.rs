//! Compile-time behaviour of `#[derive(Storable)]`: what compiles, and the errors, each
//! at the user's token, of what does not. Regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p lakery --test ui` and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    // trybuild resolves these paths from the `lakery` package directory.
    t.compile_fail("../tests/ui/fail/**/*.rs");
    t.pass("../tests/ui/pass/*.rs");
}
