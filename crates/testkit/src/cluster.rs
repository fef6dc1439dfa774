//! The private cluster shared by the test processes of one run.
//!
//! nextest runs every test in a process of its own, so the cluster outlives any one of them:
//! the first process to find it down starts it, each process holds a shared lock on a file while
//! it runs, and a small reaper started beside the cluster stops and removes it once no process
//! has held that lock, nor touched the heartbeat file, for 20 seconds.

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use localpg::{Cluster, ClusterOptions};

fn base_dir() -> PathBuf {
    let user = if localpg::is_root() {
        "root".to_owned()
    } else {
        std::env::var("USER").unwrap_or_else(|_| "user".into())
    };
    std::env::temp_dir().join(format!("heatline-testkit-{user}"))
}

/// The shared cluster, started if needed; this process keeps it alive until it exits.
pub fn shared() -> &'static Cluster {
    static CLUSTER: OnceLock<(Cluster, File)> = OnceLock::new();
    &CLUSTER
        .get_or_init(|| {
            let root = base_dir();
            let lock_path = root.with_extension("lock");
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .unwrap_or_else(|e| panic!("opening {}: {e}", lock_path.display()));
            // Exclusive while starting: the reaper cannot stop it under us, nor can two
            // processes initialise it at once.
            lock.lock().expect("locking the test cluster");
            let _ = std::fs::write(root.with_extension("heartbeat"), b"");
            let options = ClusterOptions {
                unsafe_fast: true,
                settings: vec![("max_connections".into(), "400".into())],
            };
            let cluster = Cluster::start(&root, &options)
                .unwrap_or_else(|e| panic!("starting a private PostgreSQL for tests: {e}"));
            spawn_reaper(&cluster, &lock_path);
            lock.unlock().expect("unlocking the test cluster");
            lock.lock_shared().expect("sharing the test cluster");
            (cluster, lock)
        })
        .0
}

/// The reaper: exits at once if another is running; otherwise waits until the cluster has been
/// unused for 20 seconds, then stops and removes it under the exclusive lock.
const REAPER: &str = r#"
reaper_lock="$1"; lock="$2"; heartbeat="$3"; root="$4"; stop="$5"
exec 9>"$reaper_lock"
flock -n 9 || exit 0
while sleep 2; do
  if flock -n -x "$lock" true; then
    if [ -z "$(find "$heartbeat" -newermt '20 seconds ago' 2>/dev/null)" ]; then
      flock -n -x "$lock" sh -c "$stop >/dev/null 2>&1; rm -rf '$root'" && exit 0
    fi
  else
    touch "$heartbeat"
  fi
done
"#;

fn spawn_reaper(cluster: &Cluster, lock_path: &std::path::Path) {
    let root = cluster.root();
    let bin = localpg::find_bin_dir().expect("found when the cluster started");
    let run_as = if localpg::is_root() {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let stop = format!(
        "{run_as}{} -D {}/pgdata -m fast -w stop",
        bin.join("pg_ctl").display(),
        root.display()
    );
    let _ = Command::new("setsid")
        .arg("sh")
        .arg("-c")
        .arg(REAPER)
        .arg("reaper")
        .arg(root.with_extension("reaper"))
        .arg(lock_path)
        .arg(root.with_extension("heartbeat"))
        .arg(root)
        .arg(stop)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}
