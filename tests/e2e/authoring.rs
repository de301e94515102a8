//! What a new plugin author does: scaffold an exporter, change its output, build, install,
//! export a stored meeting with it; then dev mode: edit the source and watch the installed
//! plugin — and a process that was running all along — pick up the new version.
//!
//! Scaffolded crates build with cargo like any crate. To keep repeated runs fast, their target
//! dir, the minutes home's SDK copy and the crate folder stay at fixed places under the
//! workspace's target dir (cargo rebuilds only what changed); the first run compiles
//! wit-bindgen and the SDK (about a minute on two cores). Builds run with CARGO_NET_OFFLINE:
//! the scaffold's Cargo.lock pins the SDK's dependencies, which the workspace build fetched.

use crate::common::*;
use minutes::model::Document;
use minutes::plugins::{Home, LivePlugins, Runtime};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Long enough for a cold build of the SDK on a busy two-core machine.
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// A fixed place under target/ for this test: `home/` (emptied, except its SDK copy) and
/// `work/` (emptied).
struct Author {
    root: PathBuf,
}

impl Author {
    fn new(name: &str) -> Author {
        let exe = Path::new(env!("CARGO_BIN_EXE_minutes"));
        let target = exe.parent().and_then(Path::parent).expect("target dir");
        let root = target.join("authoring").join(name);
        let home = root.join("home");
        std::fs::create_dir_all(&home).expect("home");
        for e in std::fs::read_dir(&home).expect("home").flatten() {
            if e.file_name() != "sdk" {
                let p = e.path();
                let removed = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
                removed.expect("clear home");
            }
        }
        let _ = std::fs::remove_dir_all(root.join("work"));
        std::fs::create_dir_all(root.join("work")).expect("work");
        Author { root }
    }

    fn home(&self) -> PathBuf {
        self.root.join("home")
    }
    fn work(&self) -> PathBuf {
        self.root.join("work")
    }
    fn krate(&self) -> PathBuf {
        self.work().join("my-exporter")
    }

    fn cmd(&self, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.args(args)
            .env("MINUTES_HOME", self.home())
            .env("MINUTES_SECRETS", "file")
            .env_remove("MINUTES_LOG")
            .env(
                "CARGO_TARGET_DIR",
                self.root
                    .parent()
                    .expect("authoring dir")
                    .join("cargo-target"),
            )
            .env("CARGO_NET_OFFLINE", "true")
            .current_dir(self.work())
            .stdin(Stdio::null());
        c
    }

    fn minutes(&self, args: &[&str]) -> Command {
        self.cmd(env!("CARGO_BIN_EXE_minutes"), args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.minutes(args).output().expect("run minutes");
        assert!(
            out.status.success(),
            "minutes {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn edit(&self, from: &str, to: &str) {
        let path = self.krate().join("src/lib.rs");
        let text = std::fs::read_to_string(&path).expect("lib.rs");
        assert!(
            text.contains(from),
            "the scaffold no longer contains {from:?}:\n{text}"
        );
        std::fs::write(&path, text.replacen(from, to, 1)).expect("edit lib.rs");
    }

    fn export_stored(&self, dir: &str) -> String {
        self.ok(&["export", "m-42", "--to", "my-exporter", "--dir", dir]);
        std::fs::read_to_string(self.work().join(dir).join("m-42.txt")).expect("exported file")
    }
}

/// `minutes plugin dev`, killed when the test ends however it ends.
struct DevProcess {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl DevProcess {
    fn start(author: &Author) -> DevProcess {
        let mut child = author
            .minutes(&["plugin", "dev", "my-exporter"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start minutes plugin dev");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        DevProcess {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line that starts with `prefix`; returns it and how long it took.
    fn wait_for(&mut self, prefix: &str) -> (String, Duration) {
        let started = Instant::now();
        loop {
            let left = BUILD_TIMEOUT.saturating_sub(started.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.starts_with(prefix) {
                        return (line, started.elapsed());
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no `{prefix}` line within {BUILD_TIMEOUT:?}; saw {:?}",
                    self.seen
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("minutes plugin dev exited; it printed {:?}", self.seen)
                }
            }
        }
    }
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio")
        .block_on(f)
}

/// What a process that has been running all along gets from the plugin now.
fn live_export(live: &LivePlugins, doc: &Document) -> String {
    let plugin = live.get("my-exporter").expect("plugin loads");
    let files = block_on(plugin.export("txt", doc)).expect("export");
    String::from_utf8(files[0].bytes.clone()).expect("utf-8")
}

#[test]
fn a_new_author_scaffolds_builds_installs_exports_and_develops_an_exporter() {
    let author = Author::new("exporter");
    let t0 = Instant::now();

    let out = author.ok(&["plugin", "new", "exporter", "my-exporter"]);
    assert!(out.contains("created my-exporter (exporter)"), "{out}");
    let cargo_toml =
        std::fs::read_to_string(author.krate().join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        cargo_toml.contains("[workspace]") && cargo_toml.contains("minutes-sdk = { path = "),
        "{cargo_toml}"
    );

    // The scaffold's own unit tests pass natively, as its README says.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let test = author
        .cmd(&cargo, &["test", "--quiet"])
        .current_dir(author.krate())
        .output()
        .expect("cargo test");
    assert!(
        test.status.success(),
        "cargo test of the scaffold failed:\n{}",
        String::from_utf8_lossy(&test.stderr)
    );
    assert!(
        String::from_utf8_lossy(&test.stdout).contains("3 passed"),
        "{}",
        String::from_utf8_lossy(&test.stdout)
    );
    let t_test = t0.elapsed();

    // The author makes it theirs, builds, installs.
    author.edit("\"Meeting: {}\\n\"", "\"Minutes of {}\\n\"");
    let t1 = Instant::now();
    let built: serde_json::Value =
        serde_json::from_str(&author.ok(&["plugin", "build", "my-exporter", "--json"]))
            .expect("build --json");
    let t_build = t1.elapsed();
    assert_eq!(
        (
            built["id"].as_str(),
            built["kind"].as_str(),
            built["profile"].as_str()
        ),
        (Some("my-exporter"), Some("exporter"), Some("plugin"))
    );
    let folder = PathBuf::from(built["folder"].as_str().expect("folder"));
    let packaged = std::fs::read_to_string(folder.join("plugin.toml")).expect("packaged manifest");
    assert!(
        packaged.contains(&format!(
            "sha256 = \"{}\"",
            built["sha256"].as_str().expect("sha")
        )),
        "{packaged}"
    );
    assert!(Path::new(built["archive"].as_str().expect("archive")).is_file());
    let out = author.ok(&["plugin", "install", folder.to_str().expect("utf-8")]);
    assert!(
        out.contains("installed my-exporter 0.1.0 (exporter)"),
        "{out}"
    );

    // A stored meeting, exported with the new plugin.
    std::fs::write(author.work().join("meeting.json"), SAMPLE_DOCUMENT).expect("document");
    author.ok(&["store", "add-document", "meeting.json"]);
    let text = author.export_stored("out");
    assert!(
        text.starts_with("Minutes of Atlas: weekly release sync\nStarted: 2026-11-28T10:00:00Z\n"),
        "{text}"
    );
    assert!(
        text.contains("TODO (Sam): Draft the announcement\n"),
        "{text}"
    );
    assert!(
        text.contains("[01:05] others: Agreed, no soft launch.\n"),
        "{text}"
    );

    // A process that keeps running from here on.
    let home = Home::at(author.home());
    let live = LivePlugins::open(
        home.clone(),
        Runtime::new(&home.cache_dir()).expect("runtime"),
    )
    .expect("live plugins");
    let doc: Document = serde_json::from_str(SAMPLE_DOCUMENT).expect("document");
    assert!(live_export(&live, &doc).starts_with("Minutes of "));

    // Dev mode: installed and marked as such, then rebuilt on every edit.
    let mut dev = DevProcess::start(&author);
    dev.wait_for("watching ");
    let list: serde_json::Value =
        serde_json::from_str(&author.ok(&["plugin", "list", "--json"])).expect("list");
    assert_eq!(
        list[0]["dev"].as_str().map(PathBuf::from),
        Some(std::fs::canonicalize(author.krate()).expect("crate"))
    );
    assert!(author.ok(&["plugin", "list"]).contains("[dev: "));

    author.edit("\"Minutes of {}\\n\"", "\"Notes from {}\\n\"");
    let (line, t_reload) = dev.wait_for("reloaded my-exporter 0.1.0");
    assert!(line.contains("sha256 "), "{line}");
    assert!(
        author
            .export_stored("out2")
            .starts_with("Notes from Atlas: weekly release sync\n")
    );
    assert!(
        live_export(&live, &doc).starts_with("Notes from "),
        "the running process kept the old version"
    );

    // Settings are followed the same way.
    std::fs::write(
        author.home().join("config.toml"),
        "[plugins.my-exporter]\ntimestamps = false\n",
    )
    .expect("config");
    let text = live_export(&live, &doc);
    assert!(
        text.contains("\nothers: Agreed, no soft launch.\n") && !text.contains("[01:05]"),
        "config change not picked up:\n{text}"
    );

    // A broken build is reported; dev mode goes on and the last good build stays installed.
    author.edit("pub fn render(", "pub fn render(,");
    let (line, _) = dev.wait_for("build failed: ");
    assert!(line.contains("cargo build failed"), "{line}");
    assert!(
        dev.child.try_wait().expect("poll").is_none(),
        "dev mode exited on a build error"
    );
    assert!(live_export(&live, &doc).starts_with("Notes from "));
    author.edit("pub fn render(,", "pub fn render(");
    author.edit("\"Notes from {}\\n\"", "\"Fixed: {}\\n\"");
    dev.wait_for("reloaded my-exporter");
    assert!(live_export(&live, &doc).starts_with("Fixed: "));

    eprintln!(
        "authoring timings: scaffold + cargo test {t_test:.1?}, plugin build {t_build:.1?}, dev reload {t_reload:.1?}, whole test {:.1?}",
        t0.elapsed()
    );
}
