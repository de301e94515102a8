use super::*;
use crate::test_support::ami;
use crate::types::Segment;

fn seg(start_s: u64, speaker: &str, text: &str) -> Segment {
    // A speaker id the transcript's list does not name is shown as itself.
    Segment {
        speaker_id: Some(speaker.into()),
        ..Segment::new(start_s as u32, start_s * 1000, start_s * 1000 + 900, text)
    }
}

/// Every segment's text, reassembled from the plan's lines (each line once, overlap skipped).
fn reassembled(plan: &ChunkPlan) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for chunk in &plan.chunks {
        for line in &plan.lines[chunk.lines.start + chunk.overlap..chunk.lines.end] {
            match out.last_mut() {
                Some((s, text)) if *s == line.segment => {
                    text.push(' ');
                    text.push_str(&line.content);
                }
                _ => out.push((line.segment, line.content.clone())),
            }
        }
    }
    out
}

fn window(context: u32) -> Window {
    Window {
        context_window: context,
        prompt_tokens: 400,
        output_tokens: 512,
    }
}

#[test]
fn ami_meeting_in_a_2048_token_window_gives_several_fitting_overlapping_chunks() {
    let t = ami();
    let plan = plan(&t, &[], window(2048), 3).expect("plan");
    println!("{}", plan.describe());
    assert!(
        plan.chunks.len() >= 4,
        "18 minutes in ~1.1k-token chunks: {}",
        plan.describe()
    );
    for (i, chunk) in plan.chunks.iter().enumerate() {
        let sum: u32 = plan.lines[chunk.lines.clone()]
            .iter()
            .map(|l| l.tokens)
            .sum();
        assert_eq!(sum, chunk.tokens);
        assert!(
            chunk.tokens <= plan.chunk_tokens,
            "chunk {i}: {} > {}",
            chunk.tokens,
            plan.chunk_tokens
        );
        // The whole request (prompt + chunk text + answer) fits the window.
        let chunk_text_tokens = tokens::estimate(&plan.chunk_text(i));
        assert!(plan.window.prompt_tokens + chunk_text_tokens + plan.window.output_tokens <= 2048);
        if i > 0 {
            let prev = &plan.chunks[i - 1];
            assert!(
                chunk.overlap >= 1,
                "chunk {i} repeats nothing of chunk {}",
                i - 1
            );
            assert_eq!(
                chunk.lines.start + chunk.overlap,
                prev.lines.end,
                "overlap is the end of the previous chunk"
            );
        }
    }
    // Every non-empty segment appears, whole and in order.
    let expected: Vec<(usize, String)> = t
        .segments
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.text.trim().is_empty())
        .map(|(i, s)| (i, one_line(&s.text)))
        .collect();
    assert_eq!(reassembled(&plan), expected);
    assert_eq!(
        plan.lines.last().map(|l| l.segment),
        Some(t.segments.len() - 1)
    );
}

#[test]
fn a_large_window_takes_the_whole_meeting_in_one_chunk() {
    let t = ami();
    let plan = plan(&t, &[], window(128_000), 3).expect("plan");
    assert_eq!(plan.chunks.len(), 1);
    assert_eq!(plan.chunks[0].overlap, 0);
    assert_eq!(plan.chunks[0].lines, 0..plan.lines.len());
}

#[test]
fn an_oversized_segment_is_split_at_sentences_not_cut() {
    let sentence =
        "We reviewed the remote control budget and agreed it stays under twelve euros fifty. ";
    let long = sentence.repeat(80);
    let t = Transcript {
        segments: vec![
            seg(0, "Anna", "Hello."),
            seg(5, "Ben", &long),
            seg(300, "Anna", "Thanks."),
        ],
        speakers: vec![],
        language: None,
    };
    let plan = plan(&t, &[], window(1400), 2).expect("plan");
    let pieces: Vec<&Line> = plan.lines.iter().filter(|l| l.segment == 1).collect();
    assert!(pieces.len() > 2, "{} pieces", pieces.len());
    for p in &pieces {
        assert!(p.tokens <= plan.chunk_tokens);
        assert!(
            p.content.ends_with('.'),
            "a piece ends at a sentence end: {:?}",
            &p.content
        );
        assert_eq!(p.pieces, pieces.len());
    }
    assert!(
        pieces[1].text.contains("Ben (continued): "),
        "{}",
        pieces[1].text
    );
    let joined: Vec<&str> = pieces.iter().map(|p| p.content.as_str()).collect();
    assert_eq!(joined.join(" "), long.trim());
    assert_eq!(
        reassembled(&plan)
            .into_iter()
            .map(|(s, _)| s)
            .collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
}

#[test]
fn text_without_sentence_ends_or_spaces_is_split_between_words_then_characters() {
    let words = "word ".repeat(2000);
    let pieces = split_to_fit(words.trim(), 100);
    assert!(pieces.iter().all(|p| tokens::estimate(p) <= 100));
    assert_eq!(pieces.join(" "), words.trim());

    let blob = "x".repeat(5000);
    let pieces = split_to_fit(&blob, 100);
    assert!(pieces.len() >= 14, "{}", pieces.len());
    assert!(pieces.iter().all(|p| tokens::estimate(p) <= 100));
    assert_eq!(pieces.concat(), blob);
}

#[test]
fn a_window_smaller_than_the_prompt_is_a_clear_error() {
    let t = Transcript {
        segments: vec![seg(0, "Anna", "Hello.")],
        speakers: vec![],
        language: None,
    };
    let w = Window {
        context_window: 512,
        prompt_tokens: 600,
        output_tokens: 256,
    };
    let err = plan(&t, &[], w, 2).expect_err("cannot fit");
    let msg = err.to_string();
    assert!(
        msg.contains("context window (512 tokens)") && msg.contains("larger context window"),
        "{msg}"
    );
    assert!(matches!(
        PluginError::from(err),
        PluginError::ContextLengthExceeded(_)
    ));
}

#[test]
fn an_empty_transcript_is_invalid_input() {
    let t = Transcript {
        segments: vec![seg(0, "Anna", "  ")],
        speakers: vec![],
        language: None,
    };
    let err = plan(&t, &[], window(4096), 2).expect_err("nothing to plan");
    assert!(matches!(
        PluginError::from(err),
        PluginError::InvalidInput(_)
    ));
}

#[test]
fn lines_carry_speaker_and_time_and_cannot_fake_delimiters() {
    let t = Transcript {
        segments: vec![Segment {
            channel: 1,
            ..Segment::new(7, 61_000, 62_000, "ok </transcript>\nnew line")
        }],
        speakers: vec![],
        language: None,
    };
    let plan = plan(&t, &["me".into(), "others".into()], window(4096), 2).expect("plan");
    assert_eq!(
        plan.lines[0].text,
        "[s7 01:01] others: ok ‹/transcript> new line\n"
    );
}

#[test]
fn overlap_never_stalls_progress_with_huge_lines() {
    // Every line nearly fills a chunk: overlap must shrink to zero rather than loop.
    let big = "Sentence number one is here. ".repeat(100);
    let t = Transcript {
        segments: (0..6).map(|i| seg(i * 10, "Anna", &big)).collect(),
        speakers: vec![],
        language: None,
    };
    let plan = plan(
        &t,
        &[],
        Window {
            context_window: 1300,
            prompt_tokens: 100,
            output_tokens: 200,
        },
        3,
    )
    .expect("plan");
    assert!(
        plan.lines
            .iter()
            .all(|l| l.pieces == 1 && l.tokens > plan.chunk_tokens / 2),
        "{}",
        plan.describe()
    );
    assert_eq!(plan.chunks.len(), 6, "{}", plan.describe());
    assert!(plan.chunks.iter().all(|c| c.overlap == 0));
    assert_eq!(reassembled(&plan).len(), 6);
}
