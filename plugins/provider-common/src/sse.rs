//! Server-sent events (the `text/event-stream` format OpenAI and Anthropic stream in).

use crate::lines::LineBuffer;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field, empty when absent (OpenAI sends only `data:`).
    pub name: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseParser {
    lines: LineBuffer,
    name: String,
    data: Vec<String>,
}

impl SseParser {
    /// The events completed by `chunk`.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        for line in self.lines.push(chunk) {
            self.line(&line, &mut out);
        }
        out
    }

    /// The last event when the body ended without the blank line that closes it.
    pub fn finish(&mut self) -> Option<Event> {
        let mut out = Vec::new();
        if let Some(line) = self.lines.finish() {
            self.line(&line, &mut out);
        }
        self.dispatch(&mut out);
        out.pop()
    }

    fn line(&mut self, line: &str, out: &mut Vec<Event>) {
        if line.is_empty() {
            return self.dispatch(out);
        }
        if line.starts_with(':') {
            return; // a comment / keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.name = value.to_string(),
            "data" => self.data.push(value.to_string()),
            _ => {} // id, retry: not used by chat APIs
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Event>) {
        if self.data.is_empty() {
            self.name.clear();
            return;
        }
        out.push(Event {
            name: std::mem::take(&mut self.name),
            data: std::mem::take(&mut self.data).join("\n"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_across_chunks_with_comments_and_names() {
        let body = ": keep-alive\n\nevent: message_start\ndata: {\"a\":1}\n\ndata: one\r\ndata: two\r\n\r\ndata: [DONE]";
        let mut p = SseParser::default();
        let mut events = Vec::new();
        for piece in body.as_bytes().chunks(5) {
            events.extend(p.push(piece));
        }
        assert_eq!(
            events,
            vec![
                Event {
                    name: "message_start".into(),
                    data: "{\"a\":1}".into()
                },
                Event {
                    name: String::new(),
                    data: "one\ntwo".into()
                },
            ]
        );
        assert_eq!(
            p.finish(),
            Some(Event {
                name: String::new(),
                data: "[DONE]".into()
            })
        );
    }
}
