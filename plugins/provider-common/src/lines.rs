//! Splitting a streamed body into lines (NDJSON, and the lines of server-sent events) when
//! chunks end anywhere, even inside a UTF-8 character.

#[derive(Debug, Default)]
pub struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// The complete lines in `chunk` (with what earlier chunks left), without `\n` / `\r\n`.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(pos) = self.pending.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.pending.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            out.push(String::from_utf8_lossy(&line).into_owned());
        }
        out
    }

    /// What is left after the last newline (a final line without one), if anything.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        let text = String::from_utf8_lossy(&rest)
            .trim_end_matches('\r')
            .to_string();
        (!text.trim().is_empty()).then_some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_chunks_and_characters() {
        let mut b = LineBuffer::default();
        let text = "{\"a\":\"é\"}\r\n{\"b\":2}\n{\"c\"";
        let bytes = text.as_bytes();
        let mut lines = Vec::new();
        for piece in bytes.chunks(3) {
            lines.extend(b.push(piece));
        }
        assert_eq!(lines, vec!["{\"a\":\"é\"}", "{\"b\":2}"]);
        assert_eq!(b.finish().as_deref(), Some("{\"c\""));
        assert_eq!(b.finish(), None);
    }
}
