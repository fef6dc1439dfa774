//! A private PostgreSQL cluster started from the machine's own installation.
//!
//! `heatline serve` without `DATABASE_URL`, and the test suite when no server is reachable, run
//! on such a cluster: `initdb` once into a folder of their own, then `pg_ctl start` on a free
//! loopback port. The binaries are found through `pg_config --bindir` or under
//! `/usr/lib/postgresql/*/bin`. PostgreSQL refuses to run as root, so when run as root the
//! cluster belongs to the `postgres` user and every command goes through `runuser`.

#![warn(missing_docs)]

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What went wrong starting or stopping a cluster.
#[derive(Debug, thiserror::Error)]
pub enum LocalPgError {
    /// No PostgreSQL server binaries were found.
    #[error(
        "no PostgreSQL installation found (tried `pg_config --bindir` and /usr/lib/postgresql/*/bin); \
         install PostgreSQL or set DATABASE_URL"
    )]
    NotInstalled,
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A PostgreSQL command failed.
    #[error("`{command}` failed: {output}")]
    Command {
        /// The command line.
        command: String,
        /// What it printed.
        output: String,
    },
}

/// How to start a cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Settings passed to the server as `-c name=value`.
    pub settings: Vec<(String, String)>,
    /// Skip fsync in initdb and at run time (throwaway clusters for tests only).
    pub unsafe_fast: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            settings: vec![("max_connections".into(), "200".into())],
            unsafe_fast: false,
        }
    }
}

/// A running private cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    root: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    run_as_postgres: bool,
    started: bool,
}

impl Cluster {
    /// Starts the cluster kept under `root` (creating it on first use), or attaches to it if it
    /// is already running. Returns once it accepts connections.
    pub fn start(root: &Path, options: &ClusterOptions) -> Result<Cluster, LocalPgError> {
        let bin_dir = find_bin_dir()?;
        let run_as_postgres = is_root();
        fs::create_dir_all(root).map_err(io("create", root))?;
        let root = root.canonicalize().map_err(io("resolve", root))?;
        let mut cluster = Cluster {
            root,
            bin_dir,
            port: 0,
            run_as_postgres,
            started: false,
        };
        if run_as_postgres {
            cluster.check_postgres_can_reach_root()?;
        }
        if !cluster.data_dir().join("PG_VERSION").exists() {
            cluster.init(options)?;
        }
        if let Some(port) = cluster.running_port() {
            cluster.port = port;
            tracing::info!(port, root = %cluster.root.display(), "attached to a running private PostgreSQL");
            return Ok(cluster);
        }
        let mut last_error = None;
        for _ in 0..3 {
            cluster.port = free_port().map_err(io("find a free port for", &cluster.root))?;
            match cluster.launch(options) {
                Ok(()) => {
                    tracing::info!(port = cluster.port, root = %cluster.root.display(), "started a private PostgreSQL");
                    cluster.started = true;
                    return Ok(cluster);
                }
                // Another program may have taken the port between our probe and the start.
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("three attempts were made"))
    }

    /// The folder holding the cluster's data, log and port file.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for `database` as the `postgres` superuser (trust authentication on
    /// loopback only).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the stopped server again on the port it had, as clients see a database restart.
    pub fn restart(&self, options: &ClusterOptions) -> Result<(), LocalPgError> {
        self.launch(options)
    }

    /// Stops the server (fast shutdown: running transactions are rolled back).
    pub fn stop(&self) -> Result<(), LocalPgError> {
        let data = self.data_dir();
        self.run(
            &self.bin_dir.join("pg_ctl"),
            &["-D", path_str(&data), "-m", "fast", "-w", "stop"],
        )
        .map(drop)
    }

    /// Whether this process started the server (rather than attaching to one another process
    /// runs): only then is it this process's to stop.
    pub fn started_here(&self) -> bool {
        self.started
    }

    /// Whether the server is running.
    pub fn is_running(&self) -> bool {
        self.running_port().is_some()
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("pgdata")
    }

    fn port_file(&self) -> PathBuf {
        self.root.join("port")
    }

    fn init(&self, options: &ClusterOptions) -> Result<(), LocalPgError> {
        let data = self.data_dir();
        fs::create_dir_all(&data).map_err(io("create", &data))?;
        if self.run_as_postgres {
            self.chown_to_postgres(&self.root)?;
            self.chown_to_postgres(&data)?;
        }
        let mut args = vec![
            "-D",
            path_str(&data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ];
        if options.unsafe_fast {
            args.push("--no-sync");
        }
        self.run(&self.bin_dir.join("initdb"), &args).map(drop)
    }

    fn launch(&self, options: &ClusterOptions) -> Result<(), LocalPgError> {
        let data = self.data_dir();
        let log = self.root.join("postgres.log");
        let mut server_args = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
            self.port
        );
        for (name, value) in &options.settings {
            server_args.push_str(&format!(" -c {name}={value}"));
        }
        if options.unsafe_fast {
            server_args.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        if self.run_as_postgres && !log.exists() {
            fs::write(&log, b"").map_err(io("create", &log))?;
            self.chown_to_postgres(&log)?;
        }
        self.run(
            &self.bin_dir.join("pg_ctl"),
            &[
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-w",
                "-t",
                "60",
                "-o",
                &server_args,
                "start",
            ],
        )
        .map_err(|error| match error {
            LocalPgError::Command { command, output } => {
                let tail = fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(5).collect();
                LocalPgError::Command {
                    command,
                    output: format!("{output}\nserver log ends with:\n{}", tail.join("\n")),
                }
            }
            other => other,
        })?;
        fs::write(self.port_file(), self.port.to_string()).map_err(io("write", &self.port_file()))
    }

    /// The port of the running server, if it is running.
    fn running_port(&self) -> Option<u16> {
        let data = self.data_dir();
        let status = self.run(
            &self.bin_dir.join("pg_ctl"),
            &["-D", path_str(&data), "status"],
        );
        status.ok()?;
        fs::read_to_string(self.port_file())
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The server runs as `postgres`, which must be able to reach the folder: a folder under
    /// a private home (`/root` is 0700) would make initdb fail with a confusing message.
    fn check_postgres_can_reach_root(&self) -> Result<(), LocalPgError> {
        let reachable = Command::new("runuser")
            .args(["-u", "postgres", "--", "test", "-x"])
            .arg(&self.root)
            .status()
            .map_err(io("run runuser for", &self.root))?
            .success();
        if reachable {
            Ok(())
        } else {
            Err(LocalPgError::Command {
                command: format!("runuser -u postgres -- test -x {}", self.root.display()),
                output: "the postgres user cannot reach this folder (a parent folder is private);                          choose a data folder it can reach, such as one under /var/lib or /tmp"
                    .into(),
            })
        }
    }

    fn chown_to_postgres(&self, path: &Path) -> Result<(), LocalPgError> {
        let output = Command::new("chown")
            .args(["postgres:postgres", path_str(path)])
            .output()
            .map_err(io("run chown on", path))?;
        check("chown postgres:postgres", output).map(drop)
    }

    fn run(&self, program: &Path, args: &[&str]) -> Result<Output, LocalPgError> {
        let mut command = if self.run_as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        command.args(args).current_dir(&self.root);
        let output = command.output().map_err(io("run", program))?;
        check(&format!("{} {}", program.display(), args.join(" ")), output)
    }
}

fn check(command: &str, output: Output) -> Result<Output, LocalPgError> {
    if output.status.success() {
        Ok(output)
    } else {
        Err(LocalPgError::Command {
            command: command.to_owned(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
            .trim()
            .to_owned(),
        })
    }
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LocalPgError {
    let path = path.to_owned();
    move |source| LocalPgError::Io { what, path, source }
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective user).
pub fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Finds the directory holding `initdb` and `pg_ctl`.
pub fn find_bin_dir() -> Result<PathBuf, LocalPgError> {
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
            return Ok(dir);
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    candidates.sort();
    candidates
        .pop()
        .map(|(_, bin)| bin)
        .ok_or(LocalPgError::NotInstalled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_installation_is_found() {
        let bin = find_bin_dir().expect("PostgreSQL server binaries on this machine");
        assert!(bin.join("pg_ctl").exists());
    }
}
