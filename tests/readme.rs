//! The README's usage section is `pricefetch --help`, verbatim, so the two never drift.

mod common;

#[test]
fn readme_usage_matches_help() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("<!-- help:start -->\n```text\n")
        .expect("help:start marker");
    let body = &readme[start..];
    let body = &body[body.find("```text\n").unwrap() + "```text\n".len()..];
    let end = body
        .find("```\n<!-- help:end -->")
        .expect("help:end marker");
    let documented = &body[..end];
    let out = common::bare().arg("--help").output().unwrap();
    let actual = String::from_utf8(out.stdout).unwrap();
    assert!(
        documented == actual,
        "README usage differs from --help; replace the block with the output of \
         `cargo run -- --help`:\n{actual}"
    );
}
