use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A file in ../shared beside the checkout: the models and the corpus.
pub fn shared(rel: &str) -> PathBuf {
    workspace()
        .parent()
        .expect("parent")
        .join("shared")
        .join(rel)
}

/// The whisper model the tests transcribe with.
pub fn tiny() -> String {
    shared("models/ggml-tiny.en-q5_1.bin").display().to_string()
}

/// whisper's threads spin while they wait: the tests, in whichever file, transcribe one at a
/// time.
pub static WHISPER: Mutex<()> = Mutex::new(());

fn target_dir() -> PathBuf {
    // .../target/debug/minutes -> .../target
    let exe = Path::new(env!("CARGO_BIN_EXE_minutes"));
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

/// Builds first-party and test plugins once per test run (the same build `cargo xtask plugins
/// --test-plugins` does) and returns the folder holding the packages.
pub fn packages() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        use minutes::plugins::build::{PluginCrate, build_packages};
        let ws = workspace();
        let target = target_dir();
        let out = target.join("e2e-packages");
        let mut crates = PluginCrate::all_in(&ws.join("plugins")).expect("plugins/");
        crates.extend(
            PluginCrate::all_in(&ws.join("tests").join("plugins")).expect("tests/plugins/"),
        );
        build_packages(&ws, &crates, "plugin", &target, &out)
            .expect("building the plugin packages");
        out
    })
}

pub fn package(id: &str) -> PathBuf {
    packages().join(id)
}

pub fn archive(id: &str) -> PathBuf {
    packages().join(format!("{id}-0.1.0.tar.gz"))
}

/// A temporary minutes home and a way to run the binary in it.
pub struct Env {
    pub home: tempfile::TempDir,
    pub work: tempfile::TempDir,
    /// The user's HOME for the binary: its documents folder is where notes go by default, and
    /// no test may write into the real user's.
    pub user: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            home: tempfile::tempdir().expect("home"),
            work: tempfile::tempdir().expect("work"),
            user: tempfile::tempdir().expect("user home"),
        }
    }

    /// The binary with this test's home, HOME and working folder, and no keyring or log
    /// settings of the machine it runs on; callers add what their test needs.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_minutes"));
        c.args(args)
            .env("MINUTES_HOME", self.home.path())
            .env("HOME", self.user.path())
            .env_remove("MINUTES_LOG")
            // Tests never touch the keyring of the machine they run on.
            .env("MINUTES_SECRETS", "file")
            .current_dir(self.work.path())
            .stdin(std::process::Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run minutes")
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "minutes {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs and expects failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "minutes {args:?} should have failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("utf-8 stderr")
    }

    pub fn install(&self, package: &Path) {
        self.ok(&[
            "plugin",
            "install",
            "--yes",
            package.to_str().expect("utf-8 path"),
        ]);
    }

    pub fn installed_ids(&self) -> Vec<String> {
        let json: serde_json::Value =
            serde_json::from_str(&self.ok(&["plugin", "list", "--json"])).expect("json");
        json.as_array()
            .expect("array")
            .iter()
            .map(|p| p["id"].as_str().expect("id").to_string())
            .collect()
    }

    /// Writes the sample meeting document and returns its path.
    pub fn document(&self) -> PathBuf {
        let path = self.work.path().join("meeting.json");
        std::fs::write(&path, SAMPLE_DOCUMENT).expect("write document");
        path
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.work.path().join(rel)
    }
}

/// A copy of a package folder that a test may damage.
pub fn copy_package(id: &str, to: &Path) -> PathBuf {
    let dest = to.join(id);
    std::fs::create_dir_all(&dest).expect("mkdir");
    for entry in std::fs::read_dir(package(id)).expect("package dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dest.join(entry.file_name())).expect("copy");
    }
    dest
}

pub const SAMPLE_DOCUMENT: &str = r#"{
  "metadata": {"id": "m-42", "title": "Atlas: weekly release sync", "started_at": "2026-11-28T10:00:00Z",
               "duration_ms": 181000, "labels": ["atlas", "release"], "language": "en",
               "channel_names": ["me", "others"]},
  "transcript": {"language": "en", "segments": [
    {"start_ms": 1000, "end_ms": 4000, "channel": 0, "speaker": "Maria", "text": "We move the launch to March 17th."},
    {"start_ms": 65000, "end_ms": 68000, "channel": 1, "speaker": null, "text": "Agreed, no soft launch."}
  ]},
  "summary": {"markdown": "", "sections": [{"title": "Overview", "body": "The launch moves two weeks."}],
              "action_items": [{"owner": "Sam", "task": "Draft the announcement", "due": "March 10th"}],
              "decisions": ["Launch on March 17th"], "open_questions": ["Pro tier price after June?"]}
}"#;
