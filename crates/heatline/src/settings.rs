//! Where settings come from, strongest first: a command-line flag, an environment variable, a
//! settings file (`--config FILE` or `HEATLINE_CONFIG`: `NAME=value` lines with the environment
//! variables' names, `#` comments), then the built-in default. `heatline config` shows them all.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Arg, Command};

/// A settings file, read.
pub type FileSettings = BTreeMap<String, String>;

/// The file named by `--config FILE` (or `--config=FILE`) among `args`, or by `HEATLINE_CONFIG`.
pub fn file_named(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("HEATLINE_CONFIG").map(PathBuf::from)
}

/// Reads `NAME=value` lines; a line that is neither that, blank nor a comment is an error
/// naming it.
pub fn read(path: &Path) -> Result<FileSettings, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("reading the settings file {}: {e}", path.display()))?;
    let mut settings = FileSettings::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(format!(
                "{} line {}: expected NAME=value",
                path.display(),
                n + 1
            ));
        };
        let value = value.trim().trim_matches('"');
        settings.insert(name.trim().to_owned(), value.to_owned());
    }
    Ok(settings)
}

fn env_name(arg: &Arg) -> Option<String> {
    arg.get_env().map(|e| e.to_string_lossy().into_owned())
}

/// Makes the file's values the defaults of the arguments whose environment variable they
/// name (so the environment and flags still win); answers the names nothing uses.
pub fn apply(mut command: Command, file: &FileSettings) -> (Command, Vec<String>) {
    let mut used = Vec::new();
    command = with_defaults(command, file, &mut used);
    let unknown = file
        .keys()
        .filter(|k| !used.contains(k) && k.as_str() != "HEATLINE_CONFIG")
        .cloned()
        .collect();
    (command, unknown)
}

fn with_defaults(mut command: Command, file: &FileSettings, used: &mut Vec<String>) -> Command {
    let ids: Vec<(String, String)> = command
        .get_arguments()
        .filter_map(|a| Some((a.get_id().to_string(), env_name(a)?)))
        .collect();
    for (id, env) in ids {
        if let Some(value) = file.get(&env) {
            // clap keeps defaults for the life of the program.
            let value: &'static str = Box::leak(value.clone().into_boxed_str());
            command = command.mut_arg(id, |a| a.default_value(value));
            used.push(env);
        }
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |sub| with_defaults(sub, file, used));
    }
    command
}

/// One line of `heatline config` per setting of `serve` and of every command: its variable,
/// its value and where the value comes from, with secrets hidden.
pub fn describe(command: &Command, file: &FileSettings) -> String {
    let mut seen = Vec::new();
    let mut lines = Vec::new();
    collect(command, file, &mut seen, &mut lines);
    let width = lines.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, value, help) in lines {
        out.push_str(&format!(
            "{name:<width$}  {value}\n{:width$}  # {help}\n",
            ""
        ));
    }
    out
}

fn collect(
    command: &Command,
    file: &FileSettings,
    seen: &mut Vec<String>,
    lines: &mut Vec<(String, String, String)>,
) {
    for arg in command.get_arguments() {
        let Some(env) = env_name(arg) else { continue };
        if seen.contains(&env) {
            continue;
        }
        seen.push(env.clone());
        let secret = arg.is_hide_env_values_set();
        let shown = |v: &str| {
            if secret {
                "<set, hidden>".to_owned()
            } else {
                v.to_owned()
            }
        };
        let value = match (std::env::var(&env).ok(), file.get(&env)) {
            (Some(v), _) => format!("{} (environment)", shown(&v)),
            (None, Some(v)) => format!("{} (settings file)", shown(v)),
            (None, None) => match arg.get_default_values().first() {
                Some(d) => format!("{} (default)", d.to_string_lossy()),
                None => "(not set)".to_owned(),
            },
        };
        let help = arg
            .get_help()
            .map(|h| h.to_string().replace('\n', " "))
            .unwrap_or_default();
        lines.push((env, value, help));
    }
    for sub in command.get_subcommands() {
        collect(sub, file, seen, lines);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settings_file_reads_names_and_values_and_names_a_bad_line() {
        let dir = std::env::temp_dir().join(format!("heatline-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.env");
        std::fs::write(
            &good,
            "# a comment\n\nHEATLINE_ADDR = 0.0.0.0:9000\nX=\"quoted\"\n",
        )
        .unwrap();
        let read_back = read(&good).unwrap();
        assert_eq!(read_back["HEATLINE_ADDR"], "0.0.0.0:9000");
        assert_eq!(read_back["X"], "quoted");
        let bad = dir.join("bad.env");
        std::fs::write(&bad, "HEATLINE_ADDR\n").unwrap();
        assert!(read(&bad).unwrap_err().contains("line 1"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_file_is_found_from_the_flag_in_either_form() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            file_named(&args(&["heatline", "--config", "a.env", "serve"])),
            Some(PathBuf::from("a.env"))
        );
        assert_eq!(
            file_named(&args(&["heatline", "serve", "--config=b.env"])),
            Some(PathBuf::from("b.env"))
        );
    }
}
