//! A scriptable fake of the model services the provider plugins speak to (OpenAI chat
//! completions, Anthropic Messages, Ollama), on 127.0.0.1: each route answers from a queue of
//! scripted replies, including what a real server rarely does on demand — error statuses with
//! `Retry-After`, malformed JSON, a stream cut in the middle, a reply slower than any deadline.
//! It records every request with the time it arrived, so tests can see retries and their waits.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Hit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

/// How a streamed body ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum End {
    /// Chunked encoding, properly terminated.
    Complete,
    /// Chunked encoding, connection dropped before the terminating chunk.
    Dropped,
    /// No framing: the body ends when the connection closes (a clean end, as far as HTTP knows).
    Eof,
}

#[derive(Debug, Clone)]
pub enum Reply {
    Whole {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    Stream {
        content_type: &'static str,
        pieces: Vec<String>,
        end: End,
    },
    /// Waits before answering.
    Slow(Duration, Box<Reply>),
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Whole {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    pub fn with_header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Whole {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.into(), value.into()));
                Reply::Whole {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }

    /// Server-sent events, one `data:` line each (`event:` lines when given as `name|data`).
    pub fn sse(events: &[&str], end: End) -> Reply {
        let pieces = events
            .iter()
            .map(|e| match e.split_once('|') {
                Some((name, data)) if !name.starts_with('{') => {
                    format!("event: {name}\ndata: {data}\n\n")
                }
                _ => format!("data: {e}\n\n"),
            })
            .collect();
        Reply::Stream {
            content_type: "text/event-stream",
            pieces,
            end,
        }
    }

    /// An OpenAI chat-completions stream of `pieces`, with usage and `[DONE]`.
    pub fn openai_stream(model: &str, pieces: &[&str], finish: &str, usage: (u32, u32)) -> Reply {
        let mut events: Vec<String> = pieces
            .iter()
            .map(|p| serde_json::json!({"model": model, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]}).to_string())
            .collect();
        events.push(serde_json::json!({"model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}).to_string());
        events.push(serde_json::json!({"model": model, "choices": [], "usage": {"prompt_tokens": usage.0, "completion_tokens": usage.1}}).to_string());
        events.push("[DONE]".into());
        let refs: Vec<&str> = events.iter().map(String::as_str).collect();
        Reply::sse(&refs, End::Complete)
    }

    /// Newline-delimited JSON, one object per piece (Ollama's streaming).
    pub fn ndjson(lines: &[serde_json::Value], end: End) -> Reply {
        Reply::Stream {
            content_type: "application/x-ndjson",
            pieces: lines.iter().map(|l| format!("{l}\n")).collect(),
            end,
        }
    }

    pub fn slow(by: Duration, then: Reply) -> Reply {
        Reply::Slow(by, Box::new(then))
    }
}

#[derive(Default)]
struct State {
    /// "METHOD /path" → replies; the last one repeats.
    routes: Mutex<HashMap<String, VecDeque<Reply>>>,
    hits: Mutex<Vec<Hit>>,
}

pub struct FakeLlm {
    pub port: u16,
    state: Arc<State>,
}

impl FakeLlm {
    pub fn start() -> FakeLlm {
        let state = Arc::new(State::default());
        let st = state.clone();
        let port = crate::server::listen(move |conn| {
            let _ = serve(conn, &st);
        });
        FakeLlm { port, state }
    }

    /// Scripts `route` ("POST /v1/chat/completions") to answer with `replies` in turn.
    pub fn on(&self, route: &str, replies: Vec<Reply>) -> &Self {
        self.state
            .routes
            .lock()
            .expect("routes")
            .insert(route.to_string(), replies.into());
        self
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().expect("hits").clone()
    }

    pub fn hits_on(&self, path: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.path == path).collect()
    }
}

fn serve(conn: TcpStream, st: &State) -> std::io::Result<()> {
    let crate::server::Hit {
        method,
        path,
        headers,
        body,
    } = crate::server::read_request(&conn)?;
    let route = format!("{method} {}", path.split('?').next().unwrap_or(""));
    st.hits.lock().expect("hits").push(Hit {
        method,
        path: path.clone(),
        headers,
        body,
        at: Instant::now(),
    });
    let reply = {
        let mut routes = st.routes.lock().expect("routes");
        match routes.get_mut(&route) {
            Some(q) if q.len() > 1 => q.pop_front(),
            Some(q) => q.front().cloned(),
            None => None,
        }
    };
    let reply = reply.unwrap_or_else(|| {
        Reply::json(
            404,
            &format!("{{\"error\":{{\"message\":\"no route {route}\"}}}}"),
        )
    });
    respond(conn, reply)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

fn respond(mut conn: TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Slow(by, then) => {
            std::thread::sleep(by);
            respond(conn, *then)
        }
        Reply::Whole {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            conn.write_all(format!("{head}\r\n{body}").as_bytes())
        }
        Reply::Stream {
            content_type,
            pieces,
            end,
        } => {
            let framing = if end == End::Eof {
                ""
            } else {
                "Transfer-Encoding: chunked\r\n"
            };
            conn.write_all(format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{framing}Connection: close\r\n\r\n").as_bytes())?;
            for p in &pieces {
                match end {
                    End::Eof => conn.write_all(p.as_bytes())?,
                    _ => conn.write_all(format!("{:x}\r\n{p}\r\n", p.len()).as_bytes())?,
                }
                conn.flush()?;
                // Separate TCP writes, so the client really reads a stream.
                std::thread::sleep(Duration::from_millis(5));
            }
            if end == End::Complete {
                conn.write_all(b"0\r\n\r\n")?;
            }
            conn.flush()?;
            conn.shutdown(std::net::Shutdown::Both)
        }
    }
}
