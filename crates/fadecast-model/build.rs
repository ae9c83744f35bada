//! Records the git revision this crate is built from, so a training run's manifest names the code
//! that trained it, not whichever checkout the binary happens to run in.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    // "-dirty" when the workspace's code differs from that commit (docs and scripts do not count).
    let revision = match git(&["rev-parse", "HEAD"]) {
        Some(rev) if !rev.is_empty() => {
            let code = ["status", "--porcelain", "--untracked-files=no", "--", "../../crates", "../../Cargo.toml", "../../Cargo.lock"];
            if git(&code).is_some_and(|s| !s.is_empty()) { format!("{rev}-dirty") } else { rev }
        }
        _ => "unknown".into(),
    };
    println!("cargo:rustc-env=FADECAST_GIT_REVISION={revision}");
    // Built again when HEAD moves (commit, checkout, reset), the index changes or any crate's file does.
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        for file in ["HEAD", "index", "logs/HEAD"] {
            println!("cargo:rerun-if-changed={dir}/{file}");
        }
    }
    println!("cargo:rerun-if-changed=../../crates");
    println!("cargo:rerun-if-changed=build.rs");
}
