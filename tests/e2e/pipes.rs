//! What minutes leaves in a terminal, a pipe or a log file: no panic when the reader of its
//! output goes away, no colour codes where nobody sees colours, no C library chatter around
//! sound devices.

use crate::common::*;
use std::process::{Output, Stdio};

/// Runs `minutes args` with stdout into a pipe whose reader is already gone, as in
/// `minutes models list | true`.
fn with_reader_gone(env: &Env, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let child = env
        .command(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("run minutes");
    child.wait_with_output().expect("wait for minutes")
}

#[test]
fn a_reader_that_goes_away_ends_every_command_quietly() {
    let env = Env::new();
    for args in [
        &["models", "list"][..],
        &["models", "path"],
        &["plugin", "list"],
        &["list"],
        &["audit"],
        &["--help"],
    ] {
        let out = with_reader_gone(&env, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(
            out.status.code(),
            Some(101),
            "minutes {args:?} panicked on a closed pipe:\n{stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "minutes {args:?} complained about a closed pipe:\n{stderr}"
        );
        assert!(
            out.status.success(),
            "minutes {args:?} failed on a closed pipe ({}):\n{stderr}",
            out.status
        );
    }
}

#[test]
fn a_real_error_is_still_reported_when_the_reader_is_gone() {
    let env = Env::new();
    let out = with_reader_gone(&env, &["show", "no-such-meeting"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a missing meeting is an error");
    assert!(stderr.contains("error"), "the error is shown: {stderr}");
}

/// A WAV whose header announces 10 s of audio but holds 1 s: decoding it logs a warning.
fn truncated_wav(env: &Env) -> std::path::PathBuf {
    let path = env.path("truncated.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).expect("create wav");
    for i in 0..160_000u32 {
        w.write_sample(((i % 100) as i16 - 50) * 20)
            .expect("write sample");
    }
    w.finalize().expect("finalize");
    let mut bytes = std::fs::read(&path).expect("read wav");
    bytes.truncate(44 + 16_000 * 2);
    std::fs::write(&path, bytes).expect("truncate wav");
    path
}

#[test]
fn log_lines_carry_no_colour_codes_into_a_pipe() {
    let env = Env::new();
    let wav = truncated_wav(&env);
    let model = workspace()
        .parent()
        .expect("parent")
        .join("shared/models/ggml-tiny.en-q5_1.bin");
    let args = [
        "transcribe",
        wav.to_str().expect("utf-8"),
        "--model",
        model.to_str().expect("utf-8"),
        "--threads",
        "1",
    ];
    let out = env.command(&args).output().expect("run minutes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WARN") && stderr.contains("truncated"),
        "the truncated file is reported as a warning:\n{stderr}"
    );
    assert!(
        !stderr.contains('\x1b'),
        "a log line written into a pipe carries colour codes:\n{stderr:?}"
    );
}

#[test]
fn devices_without_a_sound_server_lists_no_alsa_plugins_and_no_alsa_noise() {
    let env = Env::new();
    // No PulseAudio socket to find: cpal falls back to ALSA, which knows every plugin of
    // libasound2-plugins (lavrate, speex, upmix, jack, ...) and complains opening them.
    let runtime = tempfile::tempdir().expect("runtime dir");
    let out = env
        .command(&["devices"])
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env("HOME", runtime.path())
        .env_remove("PULSE_SERVER")
        .output()
        .expect("run minutes");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "minutes devices failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("audio host: ALSA"),
        "the test meant ALSA alone:\n{stdout}"
    );
    let listed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("      "))
        .map(|l| l.trim_start_matches(['*', ' ']))
        .collect();
    for plugin in [
        "lavrate",
        "samplerate",
        "speexrate",
        "speex",
        "upmix",
        "vdownmix",
        "jack",
        "oss",
        "a52",
        "usbstream",
    ] {
        assert!(
            !listed
                .iter()
                .any(|d| d.split([' ', ':']).next() == Some(plugin)),
            "the ALSA plugin `{plugin}` is listed as a device:\n{stdout}"
        );
    }
    assert!(
        stderr.trim().is_empty(),
        "C libraries talk on stderr around device enumeration:\n{stderr}"
    );
}
