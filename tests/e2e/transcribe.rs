//! Transcription end to end with the real tiny.en model: WER bounds on real and synthetic
//! speech (scored with the corpus rules), channel attribution, and clear errors.

use crate::common::*;
use minutes::transcribe::wer;
use serde_json::Value;

fn transcribe_json(env: &Env, audio: &std::path::Path, extra: &[&str]) -> Value {
    transcribe_json_with(env, &tiny(), audio, extra)
}

fn transcribe_json_with(env: &Env, model: &str, audio: &std::path::Path, extra: &[&str]) -> Value {
    transcribe_json_on(env, model, audio, "1", extra)
}

fn transcribe_json_on(
    env: &Env,
    model: &str,
    audio: &std::path::Path,
    threads: &str,
    extra: &[&str],
) -> Value {
    let _one = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let mut args = vec![
        "transcribe",
        audio.to_str().unwrap(),
        "--model",
        model,
        "--threads",
        threads,
        "--json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&env.ok(&args)).expect("json transcript")
}

/// `transcribe AUDIO` with tiny.en on 2 threads, English, no diarization, `-v`: the log (which
/// says how the work was split) and the JSON transcript. The caller holds the whisper lock.
fn transcribe_in_halves_logged(env: &Env, audio: &std::path::Path) -> (String, Value) {
    let out = env
        .command(&[
            "transcribe",
            audio.to_str().unwrap(),
            "--model",
            &tiny(),
            "--threads",
            "2",
            "--language",
            "en",
            "--no-diarize",
            "--json",
            "-v",
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    let t = serde_json::from_slice(&out.stdout).expect("json transcript");
    (log, t)
}

/// Renders one of issue 19's scripted meetings (tests/fixtures/meetings/NAME_script.json) with
/// the corpus generator; returns the folder holding NAME.wav, NAME_2ch.wav and NAME.txt.
fn render_meeting(env: &Env, name: &str) -> std::path::PathBuf {
    let out = env.path("meetings");
    let script = workspace().join(format!("tests/fixtures/meetings/{name}_script.json"));
    // The generator needs numpy: `.ci/debian-packages` brings python3-numpy for Debian's python3.
    let rendered = std::process::Command::new(minutes::bench::python_with_numpy())
        .arg(shared("corpus/synthetic/gen_meeting.py"))
        .arg(&script)
        .arg(&out)
        .output()
        .expect("run the corpus generator");
    assert!(
        rendered.status.success(),
        "rendering {name} failed (needs espeak-ng and sox): {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    out
}

fn text_of(t: &Value, channel: Option<u64>) -> String {
    t["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| channel.is_none_or(|c| s["channel"] == c))
        .map(|s| s["text"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn jfk_is_transcribed_within_wer_bounds() {
    let env = Env::new();
    let t = transcribe_json(&env, &shared("corpus/real/jfk.wav"), &[]);
    let reference = std::fs::read_to_string(shared("corpus/real/jfk.txt")).unwrap();
    let stats = wer::score(&reference, &text_of(&t, None));
    println!("jfk WER {:.3} ({stats:?})", stats.wer());
    assert!(
        stats.wer() <= 0.10,
        "WER {:.3}: {}",
        stats.wer(),
        text_of(&t, None)
    );
    assert_eq!(t["complete"], true);
    assert_eq!(t["language"], "en");
    let segs = t["segments"].as_array().unwrap();
    assert!(
        segs.iter()
            .all(|s| s["end_ms"].as_u64() >= s["start_ms"].as_u64()
                && s["end_ms"].as_u64().unwrap() <= 11_500),
        "{t}"
    );
}

/// The multilingual base model with the default `--language auto`: each recording is heard in
/// its own language (whisper detects it on the first window's start, at a fifth of the encoder
/// size), transcribed in it, not translated.
#[test]
fn a_recording_in_another_language_is_detected_and_transcribed_in_it() {
    let env = Env::new();
    let base = shared("models/ggml-base-q5_1.bin").display().to_string();
    for (lang, file, words) in [
        ("de", "de_espeak.flac", ["morgen", "zeitplan", "märz"]),
        ("fr", "fr_espeak.flac", ["bonjour", "aujourd'hui", "budget"]),
    ] {
        let t = transcribe_json_with(
            &env,
            &base,
            &workspace().join("tests/fixtures/languages").join(file),
            &[],
        );
        let text = text_of(&t, None).to_lowercase();
        assert_eq!(t["language"], lang, "{text}");
        for w in words {
            assert!(text.contains(w), "{lang}: `{w}` missing from: {text}");
        }
    }
}

/// A turn whisper judges probably silent is still a turn. base gives the French clip a
/// no-speech probability of 0.7-0.85, and started 6 or 18 ms later (where a recording's first
/// block falls moves it that much) whisper dropped it whole: an empty transcript. VAD heard
/// speech there, so the window is decoded again, keeping what whisper hears.
#[test]
fn speech_whisper_judges_silent_is_kept() {
    let env = Env::new();
    let base = shared("models/ggml-base-q5_1.bin").display().to_string();
    let clip = env.path("fr.wav");
    // 16 kHz 16-bit mono, as a recording is; then the same samples started later.
    let sox = |input: &std::path::Path, output: &std::path::Path, effects: &[&str]| {
        let status = std::process::Command::new("sox")
            .arg(input)
            .args(["-r", "16000", "-b", "16", "-c", "1"])
            .arg(output)
            .args(effects)
            .status()
            .expect("sox (in .ci/debian-packages)");
        assert!(status.success(), "sox {} {effects:?}", input.display());
    };
    sox(
        &workspace().join("tests/fixtures/languages/fr_espeak.flac"),
        &clip,
        &[],
    );
    for pad in ["0.006", "0.018"] {
        let later = env.path(&format!("fr_{pad}.wav"));
        sox(&clip, &later, &["pad", pad]);
        let t = transcribe_json_with(&env, &base, &later, &[]);
        let text = text_of(&t, None).to_lowercase();
        // Whisper is unsure of the rest ("calatrier", "rebudier"); the turn is what counts.
        assert!(
            text.contains("bonjour") && text.split_whitespace().count() >= 10,
            "started {pad} s later: {text:?}"
        );
    }
}

#[test]
fn a_two_channel_meeting_is_attributed_per_channel() {
    let env = Env::new();
    let t = transcribe_json(&env, &shared("corpus/synthetic/meeting_a_2ch.wav"), &[]);
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(shared("corpus/synthetic/meeting_a.json")).unwrap(),
    )
    .unwrap();
    for channel in [0u64, 1] {
        let ref_text: Vec<&str> = reference["segments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["channel"] == channel)
            .map(|s| s["text"].as_str().unwrap())
            .collect();
        let stats = wer::score(&ref_text.join(" "), &text_of(&t, Some(channel)));
        println!(
            "meeting_a_2ch channel {channel}: WER {:.3} ({stats:?})",
            stats.wer()
        );
        // Measured 0.078 / 0.117 with tiny.en q5_1 and its own 2-channel settings (0.088 / 0.098
        // with base's); the bound leaves room for CPU differences.
        assert!(
            stats.wer() <= 0.30,
            "channel {channel} WER {:.3}",
            stats.wer()
        );
    }
    let segs = t["segments"].as_array().unwrap();
    assert!(
        segs.iter().any(|s| s["speaker"] == "me") && segs.iter().any(|s| s["speaker"] == "others")
    );
    let starts: Vec<u64> = segs
        .iter()
        .map(|s| s["start_ms"].as_u64().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] <= w[1]),
        "segments are not in time order"
    );
    // Maria (channel 0) runs the meeting; David and Sam (channel 1) report on the release.
    let me = text_of(&t, Some(0)).to_lowercase();
    let others = text_of(&t, Some(1)).to_lowercase();
    assert!(
        me.contains("let's get started") && me.contains("pro tier"),
        "{me}"
    );
    assert!(
        others.contains("offline sync") && others.contains("crash rate"),
        "{others}"
    );
    assert!(
        !me.contains("offline sync module"),
        "David's words on Maria's channel: {me}"
    );
    assert!(
        t["transcribed_ms"].as_u64().unwrap() < 2 * 181_000,
        "VAD skipped nothing"
    );
    // Talk time per speaker (what the notes report) follows the reference: a segment's end
    // once ran over the gap into a later turn, and channel 0 talked 129 s of 80.
    for channel in [0u64, 1] {
        let spoken = |segs: &[Value], start: &str, end: &str, scale: f64| -> f64 {
            segs.iter()
                .filter(|s| s["channel"] == channel)
                .map(|s| (s[end].as_f64().unwrap() - s[start].as_f64().unwrap()) * scale)
                .sum()
        };
        let ours = spoken(segs, "start_ms", "end_ms", 0.001);
        let theirs = spoken(
            reference["segments"].as_array().unwrap(),
            "start",
            "end",
            1.0,
        );
        // Segments end at their last word's aligned time, not after it: tiny.en reads ~25 % short.
        println!("channel {channel}: {ours:.1} s of speech, reference {theirs:.1} s");
        assert!(
            ours <= 1.2 * theirs && ours >= 0.6 * theirs,
            "channel {channel}: {ours:.1} s of speech, reference {theirs:.1} s"
        );
    }
}

/// A meeting written after the pipeline's settings were chosen (issue 19's held-out split):
/// four slow voices with 3-8 s pauses, rendered here by the corpus generator with espeak-ng.
/// The bound guards the accuracy on a meeting nobody tuned for, mono and 2-channel.
#[test]
fn a_meeting_nobody_tuned_for_is_transcribed_within_wer_bounds() {
    let env = Env::new();
    let out = render_meeting(&env, "meeting_g");
    let reference = std::fs::read_to_string(out.join("meeting_g.txt")).unwrap();
    // Measured with tiny.en q5_1 on one thread: mono 0.187, 2-channel 0.174 (whole-file
    // whisper: 0.212 and 0.185). The bounds leave room for CPU differences. On two threads the
    // 2-channel file's channels are transcribed side by side by two workers.
    for threads in ["1", "2"] {
        for (file, bound) in [("meeting_g.wav", 0.25), ("meeting_g_2ch.wav", 0.25)] {
            let t = transcribe_json_on(&env, &tiny(), &out.join(file), threads, &["--no-diarize"]);
            let stats = wer::score(&reference, &text_of(&t, None));
            println!(
                "{file}, {threads} threads: WER {:.3} ({stats:?})",
                stats.wer()
            );
            assert!(
                stats.wer() <= bound,
                "{file} on {threads} threads: WER {:.3} above {bound}: {}",
                stats.wer(),
                text_of(&t, None)
            );
            assert_eq!(t["complete"], true);
            let starts: Vec<u64> = t["segments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["start_ms"].as_u64().unwrap())
                .collect();
            assert!(
                starts.windows(2).all(|w| w[0] <= w[1]),
                "segments out of order: {starts:?}"
            );
        }
    }
}

/// A dense meeting (issue 19's meeting_f: three fast voices, 0.2-0.4 s between turns) fills
/// every window, and each window after the first is given the words before as its prompt.
/// Given them as plain text, base decoded three windows without timestamps: 28 s of three
/// people as one line of the transcript.
#[test]
fn a_dense_meeting_is_transcribed_in_sentences_not_whole_windows() {
    let env = Env::new();
    let out = render_meeting(&env, "meeting_f");
    let t = transcribe_json_on(
        &env,
        &shared("models/ggml-base-q5_1.bin").to_string_lossy(),
        &out.join("meeting_f.wav"),
        "2",
        &["--language", "en", "--no-diarize"],
    );
    let segments = t["segments"].as_array().unwrap();
    let lengths: Vec<f64> = segments
        .iter()
        .map(|s| (s["end_ms"].as_u64().unwrap() - s["start_ms"].as_u64().unwrap()) as f64 / 1e3)
        .collect();
    println!("{} segments, lengths {lengths:?}", lengths.len());
    // Measured on 2 threads: 54 segments, the longest 5.6 s; with the words before as plain
    // text, 25 segments, three of them 26-28 s.
    let longest = lengths.iter().cloned().fold(0.0, f64::max);
    assert!(
        longest <= 12.0,
        "a {longest:.1} s line: {}",
        text_of(&t, None)
    );
    assert!(segments.len() >= 40, "{} segments", segments.len());
    // WER 0.234 in `minutes bench transcribe` (whole-file whisper: 0.211).
    let reference = std::fs::read_to_string(out.join("meeting_f.txt")).unwrap();
    let stats = wer::score(&reference, &text_of(&t, None));
    assert!(stats.wer() <= 0.30, "WER {:.3} ({stats:?})", stats.wer());
}

/// A long mono recording on two threads is transcribed as two halves side by side, which meet
/// at a quiet moment near the middle: the speech there is neither lost nor doubled. meeting_a
/// five times over (15 minutes) puts the middle in the third copy's pricing discussion.
#[test]
fn a_long_mono_recording_is_transcribed_in_two_halves_that_meet_cleanly() {
    let env = Env::new();
    let one = shared("corpus/synthetic/meeting_a.wav");
    let long = env.path("meeting_a_x5.wav");
    let joined = std::process::Command::new("sox")
        .args([&one, &one, &one, &one, &one, &long])
        .output()
        .expect("run sox");
    assert!(
        joined.status.success(),
        "{}",
        String::from_utf8_lossy(&joined.stderr)
    );
    let reference = std::fs::read_to_string(shared("corpus/synthetic/meeting_a.txt")).unwrap();
    let _one = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let (log, t) = transcribe_in_halves_logged(&env, &long);
    assert!(
        log.contains("halves meet here"),
        "not transcribed in halves: {log}"
    );
    assert_eq!(t["complete"], true);
    // Each copy scored on its own: the one the halves meet in may not do worse than the others
    // by more than a few words (a lost or doubled stretch of speech costs 10 % or more).
    let copy_ms = 181_436;
    let copies: Vec<f64> = (0..5u64)
        .map(|k| {
            let text: Vec<&str> = t["segments"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["start_ms"].as_u64().unwrap() / copy_ms == k)
                .map(|s| s["text"].as_str().unwrap())
                .collect();
            wer::score(&reference, &text.join(" ")).wer()
        })
        .collect();
    println!("WER per copy: {copies:?}");
    let others = [copies[0], copies[1], copies[3], copies[4]];
    let worst_other = others.iter().cloned().fold(0.0, f64::max);
    assert!(
        copies[2] <= worst_other + 0.04,
        "the copy the halves meet in: WER {:.3}, the others at most {worst_other:.3}",
        copies[2]
    );
    assert!(worst_other <= 0.2, "WER per copy {copies:?}");
}

/// Busy-looping processes (`minutes bench spin`), stopped when dropped even if the test fails.
struct Spinners(Vec<std::process::Child>);

impl Drop for Spinners {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// While other programs keep a core busy, a 3-minute mono meeting is transcribed in two halves
/// side by side (two single-thread calls never wait for each other at whisper's barrier, as one
/// call's two threads do when one of them is descheduled), and the transcript stays whole.
#[test]
fn a_mono_meeting_on_a_busy_machine_is_transcribed_in_halves() {
    let env = Env::new();
    let audio = shared("corpus/synthetic/meeting_a.wav");
    let reference = std::fs::read_to_string(shared("corpus/synthetic/meeting_a.txt")).unwrap();
    let _one = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    // Fewer than two cores left free, whatever the machine.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let spinners = Spinners(
        (0..cores.saturating_sub(1).max(1))
            .map(|_| {
                env.command(&["bench", "spin"])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .expect("start a busy loop")
            })
            .collect(),
    );
    let (log, t) = transcribe_in_halves_logged(&env, &audio);
    drop(spinners);
    assert!(
        log.contains("other programs keep a core busy") && log.contains("halves meet here"),
        "not transcribed in halves beside a busy core: {log}"
    );
    assert_eq!(t["complete"], true);
    // Measured with tiny.en beside one busy core: 0.135 (0.090 quiet, in one piece).
    let stats = wer::score(&reference, &text_of(&t, None));
    println!(
        "meeting_a in halves under load: WER {:.3} ({stats:?})",
        stats.wer()
    );
    assert!(
        stats.wer() <= 0.2,
        "WER {:.3}: {}",
        stats.wer(),
        text_of(&t, None)
    );
}

/// `--pipeline in_turn=true` (a measured alternative to halves, not the default): two workers
/// take a mono meeting's windows in turn. Each window is transcribed once, every one after the
/// first with the words of the windows before it as its prompt, and the transcript stays whole.
#[test]
fn two_workers_taking_a_meetings_windows_in_turn_transcribe_each_once() {
    let env = Env::new();
    let audio = shared("corpus/synthetic/meeting_a.wav");
    let reference = shared("corpus/synthetic/meeting_a.txt");
    let _one = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let out = env
        .command(&[
            "-v",
            "bench",
            "transcribe-one",
            "--model",
            &tiny(),
            "--threads",
            "2",
            "--language",
            "en",
            "--mode",
            "pipeline",
            "--pipeline",
            "in_turn=true",
            "--reference",
            reference.to_str().unwrap(),
            audio.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    let turns: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("a window transcribed in turn"))
        .collect();
    assert!(turns.len() >= 6, "not transcribed in turn: {log}");
    for k in 0..turns.len() {
        let n = turns
            .iter()
            .filter(|l| l.contains(&format!(" window={k} ")))
            .count();
        assert_eq!(n, 1, "window {k} transcribed {n} times: {turns:#?}");
    }
    assert!(
        turns
            .iter()
            .filter(|l| !l.contains(" window=0 "))
            .all(|l| !l.contains("prompt_chars=0")),
        "a window after the first went without the words before it: {turns:#?}"
    );
    let run: Value = serde_json::from_slice(&out.stdout).expect("a JSON measurement");
    // Measured with tiny.en: 0.125 (0.090 in one piece, 0.135 in halves).
    let wer = run["wer"].as_f64().expect("scored against the reference");
    println!("meeting_a in turn: WER {wer:.3}");
    assert!(wer <= 0.2, "WER {wer:.3}: {}", run["text"]);
}

#[test]
fn bad_audio_and_bad_models_get_clear_errors() {
    let env = Env::new();
    std::fs::write(env.path("notes.wav"), "this is not audio").unwrap();
    let model = tiny();
    let err = env.fails(&["transcribe", "notes.wav", "--model", &model]);
    assert!(err.contains("notes.wav"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    std::fs::write(env.path("fake.bin"), b"GGUF\x03\x00\x00\x00 an llm").unwrap();
    let jfk = shared("corpus/real/jfk.wav");
    let err = env.fails(&["transcribe", jfk.to_str().unwrap(), "--model", "fake.bin"]);
    assert!(err.contains("not a whisper ggml model"), "{err}");

    // A truncated model: the real one cut short.
    let bytes = std::fs::read(tiny()).unwrap();
    std::fs::write(env.path("cut.bin"), &bytes[..bytes.len() / 3]).unwrap();
    let err = env.fails(&["transcribe", jfk.to_str().unwrap(), "--model", "cut.bin"]);
    assert!(
        err.contains("could not load the model") && err.contains("pull it again"),
        "{err}"
    );

    let err = env.fails(&["transcribe", jfk.to_str().unwrap(), "--model", "base.en"]);
    assert!(err.contains("minutes models pull base.en"), "{err}");
    let err = env.fails(&["transcribe", jfk.to_str().unwrap()]);
    assert!(err.contains("no whisper model is installed"), "{err}");
}

#[test]
fn silence_gives_an_empty_transcript_with_a_warning() {
    let env = Env::new();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(env.path("silence.wav"), spec).unwrap();
    for _ in 0..16_000 * 5 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    let _one = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let model = tiny();
    let out = env.run(&["transcribe", "silence.wav", "--model", &model, "--json"]);
    assert!(out.status.success());
    let t: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        t["segments"].as_array().unwrap().is_empty(),
        "hallucinated text into silence: {t}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no speech found"));
}

#[test]
fn process_turns_a_recording_into_markdown_notes_offline() {
    let env = Env::new();
    env.install(&package("export-markdown"));
    env.install(&package("template-extractive"));
    let jfk = shared("corpus/real/jfk.wav");
    let model = tiny();
    let out = {
        let _one = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
        env.ok(&[
            "process",
            jfk.to_str().unwrap(),
            "--model",
            &model,
            "--threads",
            "1",
            "--title",
            "Inaugural address",
            "--label",
            "history",
            "--dir",
            "notes",
            "--json",
        ])
    };
    let report: Value = serde_json::from_str(&out).unwrap();
    let written = report["written"][0].as_str().unwrap();
    assert_eq!(
        written,
        "notes/2026-11-28-inaugural-address.md".replace(
            "2026-11-28",
            &report["meeting"]["started_at"].as_str().unwrap()[..10]
        )
    );
    let md = std::fs::read_to_string(env.path(written)).unwrap();
    assert!(
        md.starts_with("---\ntitle: \"Inaugural address\"\n"),
        "{md}"
    );
    assert!(md.contains("duration: \"0:00:11\""), "{md}");
    assert!(md.contains("tags:\n  - \"history\""), "{md}");
    assert!(
        md.to_lowercase().contains("fellow americans")
            && md
                .to_lowercase()
                .contains("what you can do for your country"),
        "{md}"
    );
    // Summarised offline by the extractive template before the export.
    assert_eq!(
        report["summary"]["template"]["id"], "template-extractive",
        "{report}"
    );
    assert!(report["summary"]["provider"].is_null());
    assert!(
        md.contains("## Key sentences") && md.find("## Key sentences") < md.find("## Transcript"),
        "{md}"
    );
    // whisper cuts the one sentence into short segments: they are ranked, not left out.
    assert!(
        md.contains("## Key sentences\n\n- ["),
        "empty heading: {md}"
    );
    // Nothing left the machine.
    let audit = env.ok(&["audit", "--json"]);
    assert!(
        serde_json::from_str::<Value>(&audit).unwrap()["records"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{audit}"
    );

    let err = Env::new().fails(&["process", jfk.to_str().unwrap(), "--model", &model]);
    assert!(
        err.contains("exporter `export-markdown` is not installed"),
        "{err}"
    );
}

#[test]
fn ctrl_c_keeps_what_was_transcribed() {
    let env = Env::new();
    let audio = shared("corpus/synthetic/meeting_a_2ch.wav");
    let model = tiny();
    let _one = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let mut child = env
        .command(&[
            "transcribe",
            audio.to_str().unwrap(),
            "--model",
            &model,
            "--threads",
            "1",
            "--json",
            "--out",
            "partial.json",
        ])
        // The debug log says when a window is transcribed: the signal is sent once windows with
        // ten tokens are done, however slow the machine is, and long before the end of the
        // 3-minute file (a fixed wait of 12 s raced the machine's speed).
        .env("MINUTES_LOG", "minutes=debug")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (first_words, heard) = std::sync::mpsc::channel();
    let log = std::thread::spawn(move || {
        use std::io::BufRead;
        let (mut lines, mut tokens) = (Vec::new(), 0);
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("window transcribed") {
                tokens += line
                    .split_whitespace()
                    .find_map(|f| f.strip_prefix("tokens="))
                    .and_then(|n| n.parse::<u32>().ok())
                    .unwrap_or(0);
                if tokens >= 10 {
                    let _ = first_words.send(());
                }
            }
            lines.push(line);
        }
        lines.join("\n")
    });
    if heard
        .recv_timeout(std::time::Duration::from_secs(300))
        .is_err()
    {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "no words transcribed within 300 s:\n{}",
            log.join().unwrap()
        );
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let stderr = log.join().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    let t: Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("partial.json")).unwrap()).unwrap();
    assert_eq!(t["complete"], false);
    let n = t["segments"].as_array().unwrap().len();
    assert!(n > 0, "nothing kept: {t}");
    let segs = t["segments"].as_array().unwrap();
    assert!(
        segs.iter().all(|s| s["end_ms"].as_u64().unwrap() < 120_000),
        "kept more than was reached: {t}"
    );
    assert!(text_of(&t, None).split_whitespace().count() >= 5, "{t}");
}

/// Ctrl-C before the first window is done: the file is full of speech, so "no speech found"
/// would be false; the user is told that nothing was transcribed yet.
#[test]
fn ctrl_c_before_any_text_does_not_claim_there_is_no_speech() {
    let env = Env::new();
    let audio = shared("corpus/synthetic/meeting_a_2ch.wav");
    let model = tiny();
    let _one = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let mut child = env
        .command(&[
            "transcribe",
            audio.to_str().unwrap(),
            "--model",
            &model,
            "--threads",
            "1",
            "--json",
            "--out",
            "partial.json",
            "-v",
        ])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the audio is being read (the Ctrl-C handler is in place by then), long
    // before tiny.en on one thread finishes its first 30 s window.
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap_or_default();
            let started = line.contains("transcribing ");
            seen.push(line);
            if started {
                break;
            }
        }
        (lines, seen)
    });
    let (lines, mut seen) = reader.join().unwrap();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().unwrap();
    let stderr = seen.join("\n");
    assert_eq!(status.code(), Some(130), "{stderr}");
    let t: Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("partial.json")).unwrap()).unwrap();
    assert!(
        t["segments"].as_array().unwrap().is_empty(),
        "interrupted too late for this test: {t}"
    );
    assert!(!stderr.contains("no speech found"), "{stderr}");
    assert!(stderr.contains("nothing was transcribed yet"), "{stderr}");
}

/// `process` on a recording without speech stores a meeting without a summary: it says why.
#[test]
fn process_warns_when_a_recording_has_no_speech() {
    let env = Env::new();
    env.install(&package("export-markdown"));
    env.install(&package("template-extractive"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(env.path("silence.wav"), spec).unwrap();
    for _ in 0..16_000 * 3 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    let _one = WHISPER.lock().unwrap_or_else(|p| p.into_inner());
    let model = tiny();
    let out = env.run(&[
        "process",
        "silence.wav",
        "--model",
        &model,
        "--threads",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no speech") && stderr.contains("no summary"),
        "{stderr}"
    );
}
