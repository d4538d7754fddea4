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
    // Stamp again when HEAD moves (a commit, a checkout); nothing else reruns this script.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        for path in ["HEAD", "refs/heads", "packed-refs"] {
            println!("cargo:rerun-if-changed={dir}/{path}");
        }
    } else {
        println!("cargo:rerun-if-changed=build.rs");
    }
}
