//! Long-transcript planning: split a transcript into chunks that fit a model's context window.
//!
//! Every template that calls a model uses this one planner (through [`crate::notes_llm`]). The
//! room for transcript text in one request is the context window minus the prompt around it and
//! the tokens reserved for the answer. Chunks overlap by a few lines so that a decision spoken
//! across a chunk boundary is seen whole at least once. Nothing is ever dropped: a segment too long
//! for one chunk is split at sentence boundaries (then words, then characters) into pieces that
//! are each marked `(continued)`, and the concatenated pieces are the whole segment.

use crate::delimit::{defuse, one_line};
use crate::prompt::{speaker_of, timestamp};
use crate::tokens;
use crate::types::{PluginError, Transcript};
use std::fmt;
use std::ops::Range;

/// Least room for transcript text worth a request; below this the window is unusable.
pub const MIN_CHUNK_TOKENS: u32 = 64;

/// How a request's context window is shared out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub context_window: u32,
    /// Everything in the request except the transcript lines (instructions, schema, headers).
    pub prompt_tokens: u32,
    /// Reserved for the answer (sent as `max-tokens`).
    pub output_tokens: u32,
}

impl Window {
    /// Room for transcript lines in one request.
    pub fn chunk_tokens(&self) -> Result<u32, PlanError> {
        let room = self
            .context_window
            .saturating_sub(self.prompt_tokens)
            .saturating_sub(self.output_tokens);
        if room < MIN_CHUNK_TOKENS {
            return Err(PlanError::WindowTooSmall(*self));
        }
        Ok(room)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    WindowTooSmall(Window),
    EmptyTranscript,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::WindowTooSmall(w) => write!(
                f,
                "the model's context window ({} tokens) cannot hold the instructions (~{} tokens), the answer \
                 ({} tokens) and at least {MIN_CHUNK_TOKENS} tokens of transcript; choose a model with a larger \
                 context window",
                w.context_window, w.prompt_tokens, w.output_tokens
            ),
            PlanError::EmptyTranscript => f.write_str("the transcript has no text to summarise"),
        }
    }
}

impl std::error::Error for PlanError {}

impl From<PlanError> for PluginError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::WindowTooSmall(_) => PluginError::ContextLengthExceeded(e.to_string()),
            PlanError::EmptyTranscript => PluginError::InvalidInput(e.to_string()),
        }
    }
}

/// One line of transcript as sent to the model: `[s12 mm:ss] speaker: text`, where `s12` is the
/// segment's id, which the model cites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Index of the segment in the transcript.
    pub segment: usize,
    /// Which piece of that segment this is (0-based) and of how many.
    pub piece: usize,
    pub pieces: usize,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The segment's text (or this piece of it), whitespace collapsed and defused.
    pub content: String,
    /// The rendered line, newline included.
    pub text: String,
    pub tokens: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Indexes into [`ChunkPlan::lines`].
    pub lines: Range<usize>,
    /// How many leading lines repeat the end of the previous chunk.
    pub overlap: usize,
    /// Estimated tokens of this chunk's lines.
    pub tokens: u32,
    pub start_ms: u64,
    pub end_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPlan {
    pub lines: Vec<Line>,
    pub chunks: Vec<Chunk>,
    pub window: Window,
    /// Room for transcript lines per chunk.
    pub chunk_tokens: u32,
}

impl ChunkPlan {
    /// The transcript lines of chunk `i`, ready to be wrapped in delimiters.
    pub fn chunk_text(&self, i: usize) -> String {
        self.lines[self.chunks[i].lines.clone()]
            .iter()
            .map(|l| l.text.as_str())
            .collect()
    }

    /// One line for logs and provenance.
    pub fn describe(&self) -> String {
        let sizes: Vec<String> = self.chunks.iter().map(|c| c.tokens.to_string()).collect();
        format!(
            "{} chunk(s) of ≤{} transcript tokens (context {}, prompt ~{}, answer {}); chunk tokens: {}",
            self.chunks.len(),
            self.chunk_tokens,
            self.window.context_window,
            self.window.prompt_tokens,
            self.window.output_tokens,
            sizes.join(", ")
        )
    }
}

/// Plans the chunks of `transcript` for `window`, repeating up to `overlap_lines` lines between
/// neighbours (less when they would take more than a quarter of a chunk).
pub fn plan(
    transcript: &Transcript,
    channel_names: &[String],
    window: Window,
    overlap_lines: usize,
) -> Result<ChunkPlan, PlanError> {
    let chunk_tokens = window.chunk_tokens()?;
    let lines = render_lines(transcript, channel_names, chunk_tokens);
    if lines.is_empty() {
        return Err(PlanError::EmptyTranscript);
    }
    let chunks = pack_lines(&lines, chunk_tokens, overlap_lines);
    Ok(ChunkPlan {
        lines,
        chunks,
        window,
        chunk_tokens,
    })
}

/// One line per non-empty segment; a segment longer than `max_tokens` becomes several lines.
pub fn render_lines(
    transcript: &Transcript,
    channel_names: &[String],
    max_tokens: u32,
) -> Vec<Line> {
    let mut lines = Vec::new();
    for (index, seg) in transcript.segments.iter().enumerate() {
        let content = defuse(&one_line(&seg.text));
        if content.is_empty() {
            continue;
        }
        let speaker = short_label(&defuse(&one_line(&speaker_of(
            transcript,
            seg,
            channel_names,
        ))));
        let prefix = |continued: bool| {
            let more = if continued { " (continued)" } else { "" };
            format!(
                "[s{} {}] {speaker}{more}: ",
                seg.id,
                timestamp(seg.start_ms)
            )
        };
        let whole = format!("{}{content}\n", prefix(false));
        let whole_tokens = tokens::estimate(&whole);
        if whole_tokens <= max_tokens {
            lines.push(Line {
                segment: index,
                piece: 0,
                pieces: 1,
                start_ms: seg.start_ms,
                end_ms: seg.end_ms,
                content,
                text: whole,
                tokens: whole_tokens,
            });
            continue;
        }
        // The longer prefix and the newline bound the room for text in every piece.
        let overhead = tokens::estimate(&prefix(true)) + 1;
        let pieces = split_to_fit(&content, max_tokens.saturating_sub(overhead).max(1));
        let count = pieces.len();
        for (piece, part) in pieces.into_iter().enumerate() {
            let text = format!("{}{part}\n", prefix(piece > 0));
            lines.push(Line {
                segment: index,
                piece,
                pieces: count,
                start_ms: seg.start_ms,
                end_ms: seg.end_ms,
                tokens: tokens::estimate(&text),
                content: part,
                text,
            });
        }
    }
    lines
}

fn pack_lines(lines: &[Line], budget: u32, overlap_lines: usize) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let (mut start, mut overlap) = (0, 0);
    loop {
        let mut end = start;
        let mut used = 0u32;
        // Every line fits a chunk on its own (render_lines splits the ones that do not), and the
        // overlap leaves room for the next line, so each chunk takes at least one new line.
        while end < lines.len() && (end == start || used + lines[end].tokens <= budget) {
            used += lines[end].tokens;
            end += 1;
        }
        chunks.push(Chunk {
            lines: start..end,
            overlap,
            tokens: used,
            start_ms: lines[start].start_ms,
            end_ms: lines[start..end]
                .iter()
                .map(|l| l.end_ms)
                .max()
                .unwrap_or(lines[start].end_ms),
        });
        if end >= lines.len() {
            return chunks;
        }
        let (mut repeat, mut repeat_tokens) = (0, 0u32);
        while repeat < overlap_lines && end - repeat - 1 > start {
            let t = lines[end - repeat - 1].tokens;
            if repeat_tokens + t > budget / 4 || repeat_tokens + t + lines[end].tokens > budget {
                break;
            }
            repeat_tokens += t;
            repeat += 1;
        }
        start = end - repeat;
        overlap = repeat;
    }
}

/// Speaker labels are metadata, not speech: a pathological one is shortened so that the line
/// prefix always leaves room for text.
fn short_label(label: &str) -> String {
    const MAX: usize = 48;
    if label.chars().count() <= MAX {
        return label.to_string();
    }
    let mut short: String = label.chars().take(MAX - 1).collect();
    short.push('…');
    short
}

/// Splits `text` into pieces of at most `max_tokens` each: at sentence ends where possible, else
/// between words, else between characters. Joining the pieces with spaces gives back `text`.
pub fn split_to_fit(text: &str, max_tokens: u32) -> Vec<String> {
    let mut packer = Packer {
        max_milli: u64::from(max_tokens.max(1)) * 1000,
        pieces: Vec::new(),
        current: String::new(),
        current_milli: 0,
    };
    for sentence in sentences(text) {
        packer.push(sentence, Granularity::Sentence);
    }
    packer.flush();
    packer.pieces
}

#[derive(Clone, Copy)]
enum Granularity {
    Sentence,
    Word,
    Char,
}

struct Packer {
    max_milli: u64,
    pieces: Vec<String>,
    current: String,
    current_milli: u64,
}

impl Packer {
    fn push(&mut self, unit: &str, level: Granularity) {
        let unit_milli = tokens::estimate_milli(unit);
        if unit_milli > self.max_milli {
            match level {
                Granularity::Sentence => unit
                    .split_inclusive(' ')
                    .for_each(|w| self.push(w, Granularity::Word)),
                Granularity::Word | Granularity::Char => {
                    let mut buf = [0u8; 4];
                    unit.chars()
                        .for_each(|c| self.push(c.encode_utf8(&mut buf), Granularity::Char))
                }
            }
            return;
        }
        if self.current_milli + unit_milli > self.max_milli {
            self.flush();
        }
        self.current.push_str(unit);
        self.current_milli += unit_milli;
    }

    fn flush(&mut self) {
        let piece = self.current.trim();
        if !piece.is_empty() {
            self.pieces.push(piece.to_string());
        }
        self.current.clear();
        self.current_milli = 0;
    }
}

/// Sentences with their trailing space, split after `.`, `!`, `?`, `…` and CJK full stops.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let cjk_end = matches!(c, '。' | '！' | '？');
        let end =
            matches!(c, '.' | '!' | '?' | '…') && chars.peek().is_some_and(|(_, n)| *n == ' ');
        if cjk_end || end {
            let mut stop = i + c.len_utf8();
            if let Some((j, ' ')) = chars.peek().copied() {
                chars.next();
                stop = j + 1;
            }
            out.push(&text[start..stop]);
            start = stop;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests;
