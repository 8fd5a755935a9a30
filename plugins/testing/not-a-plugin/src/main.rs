//! A valid component that is not a paved plugin: it exports `wasi:cli/run`, not the checker.
fn main() {
    println!("hello from a component that is not a paved plugin");
}
