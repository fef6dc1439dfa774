//! The README's example session, run as it stands in a fresh folder (with `cargo run --release
//! -p heatline --` standing for the binary under test), and every answer its comments show
//! checked against what the commands printed: the README cannot rot.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

const README: &str = include_str!("../README.md");
const MARKER: &str = "<!-- example session: run by tests/readme.rs -->";

/// The shell block after the marker.
fn session() -> &'static str {
    let after =
        &README[README.find(MARKER).expect("the README marks its session") + MARKER.len()..];
    let start = after
        .find("```sh\n")
        .expect("a sh block follows the marker")
        + "```sh\n".len();
    let end = after[start..].find("```").expect("the block ends");
    &after[start..start + end]
}

/// The answers the block's comments show (`# {...}`, `# [...]`, continued on `#   ` lines),
/// each as the pieces between its `...` elisions.
fn answers(block: &str) -> Vec<Vec<String>> {
    let mut answers: Vec<String> = Vec::new();
    let mut open = false;
    for line in block.lines() {
        if let Some(text) = line.strip_prefix("# ")
            && (text.starts_with('{') || text.starts_with('['))
        {
            answers.push(text.trim_end().to_owned());
            open = true;
        } else if open && line.starts_with("#  ") {
            let last = answers.last_mut().expect("a continued answer");
            last.push_str(line.trim_start_matches('#').trim());
        } else {
            open = false;
        }
    }
    answers
        .into_iter()
        .map(|answer| {
            answer
                .split("...")
                .map(str::to_owned)
                .filter(|piece| !piece.is_empty())
                .collect()
        })
        .collect()
}

/// A `cargo` that runs the binary under test for `cargo run --release -p heatline -- ARGS`.
fn cargo_stand_in(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cargo = bin.join("cargo");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\n\
             [ \"$1 $2 $3 $4 $5\" = \"run --release -p heatline --\" ] || {{ echo \"the session ran cargo $*\" >&2; exit 2; }}\n\
             shift 5\n\
             exec {} \"$@\"\n",
            env!("CARGO_BIN_EXE_heatline")
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn the_readme_example_session_runs_as_written_and_answers_as_shown() {
    let block = session();
    let expected = answers(block);
    assert!(expected.len() >= 10, "the session shows its answers");
    assert!(
        std::net::TcpListener::bind("127.0.0.1:8080").is_ok(),
        "the session serves on 127.0.0.1:8080, which something else holds"
    );
    let dir = support::data_dir("readme");
    let bin = cargo_stand_in(&dir);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Bounded: a session that waits for something that never comes fails instead of hanging.
    let output = Command::new("timeout")
        .args(["300", "bash", "-c"])
        .arg(format!("set -euo pipefail\n{block}"))
        .current_dir(&dir)
        .env("PATH", path)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the session failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    let mut at = 0;
    for pieces in &expected {
        for piece in pieces {
            match stdout[at..].find(piece.as_str()) {
                Some(found) => at += found + piece.len(),
                None => panic!(
                    "the README shows {piece:?}, which the session did not print (after byte \
                     {at}):\n{}",
                    &stdout[at..]
                ),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
