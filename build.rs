//! Stamps `--version` with the git commit when built from a git checkout:
//! `pricefetch 0.1.0 (a1b2c3d4e5f6)`. Outside git (a source tarball) it is the plain version.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let stamped = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) => format!("{version} ({commit})"),
        None => version,
    };
    println!("cargo:rustc-env=PRICEFETCH_VERSION={stamped}");
    // Stamp again when HEAD moves (a commit, a checkout), and only then: a path named here that
    // does not exist counts as changed on every build, so that every `cargo run` would rerun
    // this script and relink. `packed-refs`, for one, is missing from many checkouts.
    // `--git-path` resolves each path for worktrees too.
    for path in ["HEAD", "refs/heads", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path])
            && std::path::Path::new(&p).exists()
        {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
