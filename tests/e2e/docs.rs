//! The docs cannot drift from the binary: every shell command in README.md and PLUGINS.md runs
//! here against a temporary home (paths adapted), or is skipped by a rule in `RULES` that says
//! why; a skipped command's subcommands and flags are still checked against `--help`, and so are
//! the `minutes …` commands quoted inline in the prose. A command the rules do not know fails the
//! test: classify it when you add it to the docs.

use crate::common::{Env, package, packages, shared, workspace};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// What to do with a documented command, chosen by the first rule whose prefix it starts with.
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Run it; it must succeed.
    Run,
    /// Run only the form with every optional part, for the reason given.
    RunFullForm(&'static str),
    /// Run it against the real LLM server from ../shared/llm (a skip outside CI when absent).
    Llm,
    /// Do not run it, for the reason given; its flags are still checked against `--help`.
    Skip(&'static str),
}

const SCAFFOLD: &str = "builds a scaffolded crate for wasm32-wasip2 (minutes of CPU); \
                        tests/e2e/authoring.rs runs this journey end to end";
const SOUND: &str = "needs a microphone and system audio; tests/e2e/record.rs records from a \
                     PulseAudio server of its own";

const RULES: &[(&str, Plan)] = &[
    (
        "apt-get ",
        Plan::Skip("installs system packages as root; .ci/run installs the same list"),
    ),
    (
        "xargs ",
        Plan::Skip("installs system packages as root; .ci/run installs the same list"),
    ),
    (
        "sudo ",
        Plan::Skip("installs system packages as root; .ci/run installs the same list"),
    ),
    (
        "cargo xtask install",
        Plan::Skip("builds and installs the release binary (10+ minutes)"),
    ),
    (
        "cargo xtask bench",
        Plan::Skip("a benchmark: release build and minutes of CPU"),
    ),
    (
        "target/release/minutes bench",
        Plan::Skip("a benchmark: release build and minutes of CPU"),
    ),
    (
        "for m in",
        Plan::Skip("renders benchmark meetings for `minutes bench`"),
    ),
    (
        "cargo test",
        Plan::Skip("the test suite itself, or a scaffolded crate's (see authoring.rs)"),
    ),
    (
        "minutes models pull",
        Plan::Skip("downloads a model from the internet"),
    ),
    (
        "minutes speakers rename",
        Plan::Skip(
            "needs a meeting with diarized speakers, which the README's one-voice sample is not; tests/e2e/speakers.rs renames them",
        ),
    ),
    (
        "minutes speakers enroll",
        Plan::Skip(
            "needs a meeting with diarized speakers, which the README's one-voice sample is not; tests/e2e/speakers.rs enrolls one",
        ),
    ),
    (
        "minutes speakers forget",
        Plan::Skip(
            "needs an enrolled voiceprint (see `speakers enroll`); tests/e2e/speakers.rs forgets one",
        ),
    ),
    ("minutes devices", Plan::Skip(SOUND)),
    ("minutes record", Plan::Skip(SOUND)),
    (
        "minutes app",
        Plan::Skip("serves until stopped; tests/e2e/app.rs and browser.rs run it"),
    ),
    (
        "minutes --offline ...",
        Plan::Skip("`...` stands for any command"),
    ),
    ("minutes providers check ollama", Plan::Llm),
    // The action item it ticks comes from the README's `summarize … --provider ollama` before
    // it; the offline summary of the test's audio (jfk.wav) lists none.
    ("minutes done 2026-11-28-atlas", Plan::Llm),
    (
        "minutes summarize call.json --template sales-call --provider fireworks",
        Plan::Skip("needs a Fireworks API key and the internet"),
    ),
    ("minutes plugin build", Plan::Skip(SCAFFOLD)),
    ("minutes plugin dev", Plan::Skip(SCAFFOLD)),
    ("minutes plugin install dist/", Plan::Skip(SCAFFOLD)),
    (
        "minutes export <meeting id> --to my-exporter",
        Plan::Skip(SCAFFOLD),
    ),
    (
        "minutes export --document meeting.json --to my-exporter",
        Plan::Skip(SCAFFOLD),
    ),
    ("minutes plugin allow my-llm", Plan::Skip(SCAFFOLD)),
    ("minutes secret set my-llm", Plan::Skip(SCAFFOLD)),
    (
        "minutes delete",
        Plan::RunFullForm("without --yes it asks, and stdin is not a terminal here"),
    ),
    ("cd my-", Plan::Run),
    ("minutes plugin new", Plan::Run),
    ("MINUTES_MODEL=", Plan::Run),
    ("minutes ", Plan::Run),
];

/// A command as the docs show it, with where it stands.
#[derive(Debug, Clone)]
struct DocCommand {
    file: &'static str,
    line: usize,
    text: String,
}

impl std::fmt::Display for DocCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: `{}`", self.file, self.line, self.text)
    }
}

/// The commands of the fenced `sh` blocks, one per `&&`-separated step, comments removed.
fn block_commands(file: &'static str, text: &str) -> Vec<DocCommand> {
    let mut out = Vec::new();
    let mut in_sh = None::<bool>;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            in_sh = match in_sh {
                None => Some(matches!(info.trim(), "sh" | "bash" | "shell" | "console")),
                Some(_) => None,
            };
            continue;
        }
        if in_sh != Some(true) {
            continue;
        }
        let line = strip_comment(raw).trim().to_string();
        if line.is_empty() {
            continue;
        }
        for step in split_steps(&line) {
            out.push(DocCommand {
                file,
                line: i + 1,
                text: step,
            });
        }
    }
    out
}

/// `minutes …` commands quoted inline (single backticks) outside code blocks.
fn inline_commands(file: &'static str, text: &str) -> Vec<DocCommand> {
    let mut out = Vec::new();
    let mut in_block = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        for (n, span) in line.split('`').enumerate() {
            if n % 2 == 1 && span.starts_with("minutes ") {
                out.push(DocCommand {
                    file,
                    line: i + 1,
                    text: span.to_string(),
                });
            }
        }
    }
    out
}

/// The text before a `#` that starts a shell comment (outside quotes, after white space).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_space => return &line[..i],
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line
}

fn split_steps(line: &str) -> Vec<String> {
    line.split(" && ")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn plan(cmd: &DocCommand) -> Plan {
    RULES
        .iter()
        .find(|(prefix, _)| cmd.text.starts_with(prefix))
        .map(|(_, plan)| *plan)
        .unwrap_or_else(|| {
            panic!("{cmd}: no rule in tests/e2e/docs.rs says how to test this documented command")
        })
}

/// Shell-like words: double and single quotes group, brackets stay as they are.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut started = false;
    for c in text.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            (_, c) => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(cur);
    }
    out
}

/// The forms a documented command stands for: `[--opt val]` parts left out and all put in, and
/// each alternative of `a|b` on its own.
fn variants(text: &str) -> Vec<String> {
    let bare = strip_optional(text, false);
    let full = strip_optional(text, true);
    let mut forms = vec![bare.clone()];
    if full != bare {
        forms.push(full);
    }
    forms
        .into_iter()
        .flat_map(|form| {
            let ws = words(&form);
            match ws
                .iter()
                .position(|w| w.contains('|') && !w.starts_with('-'))
            {
                None => vec![form],
                Some(at) => ws[at]
                    .split('|')
                    .map(|alt| {
                        let mut v = ws.clone();
                        v[at] = alt.to_string();
                        join_words(&v)
                    })
                    .collect(),
            }
        })
        .collect()
}

fn strip_optional(text: &str, keep: bool) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            c if depth == 0 || keep => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn join_words(ws: &[String]) -> String {
    ws.iter()
        .map(|w| {
            if w.contains(' ') || w.is_empty() {
                format!("\"{w}\"")
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

// ---- running the documented commands ----

/// A minutes home set up as the README's set-up command leaves it, and a working folder holding
/// the files the docs name.
struct DocEnv {
    env: Env,
    cwd: PathBuf,
    meeting_id: String,
    llm: Option<(String, String)>,
}

impl DocEnv {
    fn new() -> DocEnv {
        let env = Env::new();
        // `cargo xtask install` installs every first-party plugin that needs no network access.
        for entry in std::fs::read_dir(packages()).expect("packages") {
            let path = entry.expect("entry").path();
            let manifest = path.join("plugin.toml");
            let Ok(text) = std::fs::read_to_string(&manifest) else {
                continue;
            };
            let first_party = workspace()
                .join("plugins")
                .join(path.file_name().expect("name"))
                .exists();
            if first_party && !text.contains("[network]") && !text.contains("[secrets") {
                env.install(&path);
            }
        }
        let work = env.work.path().to_path_buf();
        let jfk = shared("corpus/real/jfk.wav");
        for name in ["meeting.wav", "call.wav"] {
            std::fs::copy(&jfk, work.join(name)).expect("copy audio");
        }
        // A meeting recorded on 2026-11-28 called "atlas" is stored as 2026-11-28-atlas, the id
        // the README uses.
        let atlas = work.join("atlas.wav");
        std::fs::copy(&jfk, &atlas).expect("copy audio");
        let when = std::time::UNIX_EPOCH + Duration::from_secs(1_795_860_000);
        std::fs::File::options()
            .write(true)
            .open(&atlas)
            .and_then(|f| f.set_modified(when))
            .expect("set mtime");
        std::fs::write(work.join("call.json"), crate::common::SAMPLE_DOCUMENT).expect("doc");
        std::fs::write(work.join("meeting.json"), crate::common::SAMPLE_DOCUMENT).expect("doc");
        std::fs::write(
            work.join("my-template.json"),
            r#"{"name": "Decisions only", "description": "What was decided",
                "sections": [{"title": "Decisions", "instruction": "List the decisions.", "format": "list"}]}"#,
        )
        .expect("template");
        let mut doc = DocEnv {
            env,
            cwd: work,
            meeting_id: String::new(),
            llm: None,
        };
        let out = {
            let _one = crate::common::WHISPER
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            doc.minutes(&["process", "atlas.wav", "--json"])
        };
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        doc.meeting_id = doc
            .stored_ids()
            .into_iter()
            .next()
            .expect("the atlas meeting was stored");
        doc
    }

    fn stored_ids(&self) -> Vec<String> {
        let out = self.minutes(&["list", "--json"]);
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("list --json");
        list.as_array()
            .expect("array")
            .iter()
            .filter_map(|m| m["id"].as_str().map(str::to_string))
            .collect()
    }

    fn command(&self, program: &str, args: &[String]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("MINUTES_HOME", self.env.home.path())
            .env("HOME", self.env.user.path())
            .env("MINUTES_MODEL", shared("models/ggml-tiny.en-q5_1.bin"))
            .env("MINUTES_SECRETS", "file")
            .env_remove("MINUTES_LOG")
            .current_dir(&self.cwd)
            .stdin(std::process::Stdio::null());
        cmd
    }

    fn minutes(&self, args: &[&str]) -> std::process::Output {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        self.command(env!("CARGO_BIN_EXE_minutes"), &args)
            .output()
            .expect("run minutes")
    }

    /// The files and ids a command names, as they are in this test's home.
    fn adapt(&self, word: &str) -> String {
        match word {
            "2026-11-28-atlas" | "<meeting id>" => self.meeting_id.clone(),
            "target/plugins/export-markdown-0.1.0.tar.gz" => {
                crate::common::archive("export-markdown")
                    .display()
                    .to_string()
            }
            "provider.tar.gz" => crate::common::archive("fireworks").display().to_string(),
            // No test file is an M4A; the command is the same for any container.
            "call.m4a" => "call.wav".into(),
            w if w.starts_with("../shared/") => {
                shared(&w["../shared/".len()..]).display().to_string()
            }
            w => w.to_string(),
        }
    }

    /// Runs one form of a documented command; returns a failure message or None.
    fn run(&mut self, cmd: &DocCommand, form: &str) -> Option<String> {
        let mut ws: Vec<String> = words(form).iter().map(|w| self.adapt(w)).collect();
        let mut envs = Vec::new();
        while ws
            .first()
            .is_some_and(|w| w.contains('=') && !w.starts_with('-'))
        {
            let kv = ws.remove(0);
            let (k, v) = kv.split_once('=').expect("k=v");
            // The docs name the base model; the tests use tiny.en for speed.
            let v = if k == "MINUTES_MODEL" {
                shared("models/ggml-tiny.en-q5_1.bin").display().to_string()
            } else {
                self.adapt(v)
            };
            envs.push((k.to_string(), v));
        }
        if ws.first().map(String::as_str) == Some("cd") {
            let to = self.cwd.join(ws.get(1).expect("cd target"));
            assert!(to.is_dir(), "{cmd}: {} does not exist", to.display());
            self.cwd = to;
            return None;
        }
        if ws.first().map(String::as_str) != Some("minutes") {
            return Some(format!(
                "{cmd}: a runnable docs command must start with `minutes`"
            ));
        }
        let mut c = self.command(env!("CARGO_BIN_EXE_minutes"), &ws[1..]);
        c.envs(envs);
        // `secret set` reads the value from standard input when it is not a terminal.
        if ws.get(1).map(String::as_str) == Some("secret") {
            c.stdin(std::process::Stdio::piped());
        }
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let _one = (ws.get(1).map(String::as_str) == Some("process")).then(|| {
            crate::common::WHISPER
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        });
        let mut child = c.spawn().expect("spawn minutes");
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            stdin.write_all(b"sk-docs-test\n").expect("stdin");
        }
        let out = child.wait_with_output().expect("wait");
        if out.status.success() {
            None
        } else {
            Some(format!(
                "{cmd}\n  ran: {}\n  exit: {}\n  stderr: {}",
                ws.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// Points the ollama plugin at the Ollama-API shim of ../shared/llm, as a user with Ollama
    /// running would have it; None when no server was started.
    fn connect_llm(&mut self) -> bool {
        if self.llm.is_some() {
            return true;
        }
        let Some(base) = crate::providers::real_server("OLLAMA_BASE_URL") else {
            return false;
        };
        let model = std::env::var("LLM_MODEL_NAME").unwrap_or_else(|_| "qwen2.5-coder:0.5b".into());
        self.env.install(&package("ollama"));
        let origin = crate::providers::origin_of(&base);
        let out = self.minutes(&["plugin", "allow", "ollama", &origin]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config = self.env.home.path().join("config.toml");
        let mut text = std::fs::read_to_string(&config).unwrap_or_default();
        text.push_str(&format!(
            "\n[plugins.ollama]\nbase_url = \"{base}\"\nmodel = \"{model}\"\ncontext_window = 4096\n"
        ));
        std::fs::write(&config, text).expect("config");
        self.llm = Some((base, model));
        true
    }
}

/// The help text of `minutes <path>`, or None when `path` is not a subcommand.
fn help_of(path: &[String]) -> Option<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_minutes"))
        .args(path)
        .arg("--help")
        .env(
            "MINUTES_HOME",
            std::env::temp_dir().join("minutes-docs-help"),
        )
        .output()
        .expect("run minutes --help");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Checks that a documented command's subcommands exist and that each `--flag` it uses is in the
/// help of the subcommand it belongs to.
fn check_against_help(cmd: &DocCommand, form: &str) -> Result<(), String> {
    let ws = words(form);
    let Some(start) = ws
        .iter()
        .position(|w| w == "minutes" || w.ends_with("/minutes"))
    else {
        return Ok(());
    };
    let ws = &ws[start + 1..];
    let top = help_of(&[]).ok_or("minutes --help failed")?;
    let mut path: Vec<String> = Vec::new();
    let mut help = top.clone();
    for w in ws {
        if w.starts_with("--") {
            let flag = w.split('=').next().unwrap_or(w);
            // Global flags are listed in the top-level help.
            if !help.contains(flag) && !top.contains(flag) {
                return Err(format!(
                    "{cmd}: `minutes {}` has no {flag} (see its --help)",
                    path.join(" ")
                ));
            }
            continue;
        }
        if w.starts_with('-') || !w.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            continue;
        }
        let mut next = path.clone();
        next.push(w.clone());
        if let Some(h) = help_of(&next) {
            path = next;
            help = h;
        } else if path.is_empty() {
            return Err(format!("{cmd}: `minutes {w}` is not a command"));
        }
    }
    Ok(())
}

fn docs() -> Vec<(&'static str, String)> {
    ["README.md", "PLUGINS.md"]
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(workspace().join(f)).expect("read docs");
            (f, text)
        })
        .collect()
}

#[test]
fn every_documented_command_is_classified_and_its_flags_exist() {
    let mut failures = Vec::new();
    for (file, text) in docs() {
        let cmds = block_commands(file, &text);
        assert!(
            cmds.len() > 10,
            "{file}: found only {} commands",
            cmds.len()
        );
        for cmd in cmds.iter().chain(inline_commands(file, &text).iter()) {
            for form in variants(&cmd.text) {
                if let Err(e) = check_against_help(cmd, &form) {
                    failures.push(e);
                }
            }
        }
        for cmd in &cmds {
            let _ = plan(cmd);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn run_doc(file: &'static str) {
    let text = docs()
        .into_iter()
        .find(|(f, _)| *f == file)
        .map(|(_, t)| t)
        .expect("doc");
    let mut env = DocEnv::new();
    let mut failures = Vec::new();
    let mut ran = 0;
    for cmd in block_commands(file, &text) {
        let plan = plan(&cmd);
        if let Plan::Skip(why) = plan {
            eprintln!("skipped {cmd}: {why}");
            continue;
        }
        let needs_llm = matches!(plan, Plan::Llm) || cmd.text.contains("--provider ollama");
        if needs_llm && !env.connect_llm() {
            eprintln!("skipped {cmd}: no LLM server");
            continue;
        }
        let _slot = needs_llm.then(|| {
            crate::providers::REAL_SERVER
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        });
        let mut forms = variants(&cmd.text);
        if let Plan::RunFullForm(why) = plan {
            eprintln!("only the full form of {cmd}: {why}");
            forms = forms.split_off(forms.len() - 1);
        }
        for form in forms {
            // The 0.5B model of the test server sometimes answers out of shape; a user would
            // run the command again.
            let tries = if needs_llm { 3 } else { 1 };
            let mut last = None;
            for _ in 0..tries {
                last = env.run(&cmd, &form);
                if last.is_none() {
                    break;
                }
            }
            ran += 1;
            if let Some(f) = last {
                failures.push(f);
            }
        }
    }
    assert!(ran > 3, "{file}: only {ran} commands ran");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_readme_commands_work() {
    run_doc("README.md");
}

#[test]
fn the_plugin_guide_commands_work() {
    run_doc("PLUGINS.md");
}

#[cfg(test)]
mod parsing {
    use super::*;

    #[test]
    fn blocks_split_into_steps_without_comments() {
        let md = "text `minutes list`\n```sh\nminutes a --x 1   # a comment\nfoo && minutes b \"q # r\"\n```\n```toml\nk = 1\n```\n";
        let cmds: Vec<String> = block_commands("x", md)
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert_eq!(cmds, ["minutes a --x 1", "foo", "minutes b \"q # r\""]);
        let inline: Vec<String> = inline_commands("x", md)
            .into_iter()
            .map(|c| c.text)
            .collect();
        assert_eq!(inline, ["minutes list"]);
    }

    #[test]
    fn optional_parts_and_alternatives_expand() {
        assert_eq!(
            variants("minutes list [--label acme] [--json]"),
            ["minutes list", "minutes list --label acme --json"]
        );
        assert_eq!(
            variants("minutes label add|remove m a"),
            ["minutes label add m a", "minutes label remove m a"]
        );
    }
}
