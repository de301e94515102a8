//! The terminal's drawing of a meeting job's [`Event`]s: the transcription bar with its lines,
//! the summary bar, warnings and the summary's provenance on stderr.

use crate::meeting_job::{Event, Events, Stage};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Bars {
    transcribe: Option<indicatif::ProgressBar>,
    summary: Option<super::summarize::ProgressBar>,
}

/// Draws events on the terminal. `lines`: print transcript lines as they come (`process`);
/// `record` has printed them live already.
pub(crate) fn terminal(lines: bool) -> Events {
    let bars = Arc::new(Mutex::new(Bars::default()));
    Arc::new(move |event| {
        let mut bars = bars.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::StageStarted {
                stage: Stage::Transcribe,
                total_ms,
            } => bars.transcribe = Some(super::transcribe::progress_bar(total_ms)),
            Event::Transcribing { position_ms, .. } => {
                if let Some(bar) = &bars.transcribe {
                    bar.set_position(position_ms / 1000);
                }
            }
            Event::Segment { start_ms, text, .. } if lines => {
                let line = format!("[{}] {}", super::transcribe::clock(start_ms), text);
                match &bars.transcribe {
                    Some(bar) => bar.println(line),
                    None => eprintln!("{line}"),
                }
            }
            Event::StageDone {
                stage: Stage::Transcribe,
            } => {
                if let Some(bar) = bars.transcribe.take() {
                    bar.finish_and_clear();
                }
            }
            Event::StageStarted {
                stage: Stage::Summarize,
                ..
            } => bars.summary = Some(super::summarize::ProgressBar::new()),
            Event::SummaryPlanned {
                chunks,
                expected_requests,
            } => {
                if let Some(bar) = &bars.summary {
                    bar.planned(chunks, expected_requests);
                }
            }
            Event::SummaryRequest {
                done,
                expected,
                output_tokens,
                secs,
            } => {
                if let Some(bar) = &bars.summary {
                    bar.request(done, expected, output_tokens, secs);
                }
            }
            Event::StageDone {
                stage: Stage::Summarize,
            } => {
                if let Some(bar) = bars.summary.take() {
                    bar.finish();
                }
            }
            Event::SummaryReady { description } => {
                eprintln!("{}", crate::term::clean(&description))
            }
            Event::Warning { message } => {
                eprintln!("warning: {}", crate::term::clean(&message))
            }
            // Printed before the error that follows, which names the exporters that failed.
            Event::Written { path } => eprintln!("wrote {}", path.display()),
            _ => {}
        }
    })
}
