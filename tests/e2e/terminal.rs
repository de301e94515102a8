//! A plugin cannot drive the user's terminal: whatever it says (manifest, log line, error,
//! panic, summary) reaches stdout and stderr without escape sequences.

use crate::common::*;
use std::process::Output;

const ESC: u8 = 0x1b;

/// `env.run` with minutes' own log colours off (NO_COLOR), so that any ESC left is the plugin's.
fn run(env: &Env, args: &[&str]) -> Output {
    env.command(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run minutes")
}

fn assert_no_escape(what: &str, out: &Output) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !bytes.contains(&ESC) && !bytes.contains(&0x07),
            "{what}: {stream} carries terminal controls: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn a_plugins_words_reach_the_terminal_without_escape_sequences() {
    let env = Env::new();
    env.install(&package("hostile-terminal"));

    let info = run(&env, &["plugin", "info", "hostile-terminal"]);
    assert!(info.status.success());
    assert_no_escape("plugin info", &info);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(text.contains("Harmless."), "{text}");
    assert!(
        !text.contains('\u{202e}'),
        "a bidi override got through: {text}"
    );
    assert_no_escape("plugin list", &run(&env, &["plugin", "list"]));

    let doc = env.document();
    let doc = doc.to_str().expect("utf-8");
    for (format, said) in [("error", "error message"), ("panic", "panic message")] {
        let out = run(
            &env,
            &[
                "export",
                "--document",
                doc,
                "--to",
                "hostile-terminal",
                "--format",
                format,
            ],
        );
        assert!(!out.status.success());
        assert_no_escape(format, &out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // What the plugin said is still shown, only defused.
        assert!(
            stderr.contains(said) && stderr.contains("log line"),
            "{stderr}"
        );
    }
}

#[test]
fn a_stored_summary_is_shown_without_escape_sequences() {
    let env = Env::new();
    let doc = SAMPLE_DOCUMENT.replace(
        "The launch moves two weeks.",
        "The launch moves two weeks.\\u001b]0;pwned\\u0007\\u001b[2J",
    );
    assert_ne!(doc, SAMPLE_DOCUMENT);
    let path = env.path("hostile.json");
    std::fs::write(&path, doc).expect("write");
    env.ok(&["store", "add-document", path.to_str().expect("utf-8")]);
    let out = run(&env, &["show", "m-42"]);
    assert!(out.status.success());
    assert_no_escape("show", &out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("The launch moves two weeks."));
    // Search keeps its own match markers and defuses the rest.
    let found = run(&env, &["search", "two weeks"]);
    assert!(String::from_utf8_lossy(&found.stdout).contains("**two weeks**"));
    assert_no_escape("search", &found);
}
