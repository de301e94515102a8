//! A small HTTP/1.1 server on 127.0.0.1 for the network tests: it counts hits, remembers
//! what it was sent, and can misbehave on purpose (redirects, huge and gzip-bomb bodies,
//! trickling, slowness, hanging, echoing credentials). Every connection is closed after one
//! response.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Hit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    hits: Mutex<Vec<Hit>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    connections: AtomicUsize,
}

pub struct TestServer {
    pub port: u16,
    state: Arc<State>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let state = Arc::new(State::default());
        let st = state.clone();
        let port = listen(move |conn| {
            st.connections.fetch_add(1, Ordering::SeqCst);
            let _ = serve(conn, &st);
        });
        TestServer { port, state }
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().expect("hits").clone()
    }

    /// Connections accepted, whether or not a request followed.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

/// Serves every connection to a new 127.0.0.1 port on a thread of its own; returns the port.
pub fn listen(handle: impl Fn(TcpStream) + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = Arc::new(handle);
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let handle = handle.clone();
            std::thread::spawn(move || handle(conn));
        }
    });
    port
}

/// Reads one request: the request line, the headers and a Content-Length body.
pub fn read_request(conn: &TcpStream) -> std::io::Result<Hit> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(Hit {
        method,
        path,
        headers,
        body,
    })
}

fn serve(conn: TcpStream, st: &State) -> std::io::Result<()> {
    let hit = read_request(&conn)?;
    let path = hit.path.clone();
    st.hits.lock().expect("hits").push(hit.clone());
    let now = st.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    st.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let result = respond(conn, &path, &hit);
    st.in_flight.fetch_sub(1, Ordering::SeqCst);
    result
}

/// 64 MiB of zeros, gzipped, made once. Compressing it takes seconds in a debug build on a
/// loaded machine: made inside a request it raced the plugin's call deadline, so tests make it
/// before they start the plugin.
pub fn gzip_bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        use flate2::{Compression, write::GzEncoder};
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..64 {
            gz.write_all(&zeros).expect("gzip into memory");
        }
        gz.finish().expect("gzip into memory")
    })
}

fn head(status: &str, extra: &str, len: usize) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nConnection: close\r\n{extra}\r\n")
}

fn respond(mut conn: TcpStream, path: &str, hit: &Hit) -> std::io::Result<()> {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    match route {
        "/ok" => conn.write_all(format!("{}hello", head("200 OK", "", 5)).as_bytes()),
        "/echo" => {
            let mut text = String::new();
            for (k, v) in &hit.headers {
                text.push_str(&format!("{k}: {v}\n"));
            }
            conn.write_all(format!("{}{text}", head("200 OK", "", text.len())).as_bytes())
        }
        // Hands back the Authorization header it got, in a header and in a chunked body whose
        // chunks split the value in two: what a misbehaving server could do with a key.
        "/echo-auth" => {
            let auth = hit.header("authorization").unwrap_or("none").to_string();
            conn.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\
                     X-Echo: {auth}\r\n\r\n"
                )
                .as_bytes(),
            )?;
            let body = format!("you sent {auth} to us");
            let cut = "you sent ".len() + auth.len() / 2;
            for part in [&body[..cut], &body[cut..]] {
                conn.write_all(format!("{:x}\r\n{part}\r\n", part.len()).as_bytes())?;
                conn.flush()?;
                std::thread::sleep(Duration::from_millis(300));
            }
            conn.write_all(b"0\r\n\r\n")
        }
        // Never answers: a request that hangs until the client gives up or dies.
        "/hang" => {
            std::thread::sleep(Duration::from_secs(60));
            Ok(())
        }
        "/redirect" => {
            let to = query.strip_prefix("to=").unwrap_or("/ok");
            conn.write_all(head("302 Found", &format!("Location: {to}\r\n"), 0).as_bytes())
        }
        "/huge" => {
            let n = 3 * 1024 * 1024;
            conn.write_all(head("200 OK", "", n).as_bytes())?;
            let block = vec![b'x'; 64 * 1024];
            for _ in 0..n / block.len() {
                conn.write_all(&block)?;
            }
            Ok(())
        }
        "/gzip-bomb" => {
            let bomb = gzip_bomb();
            conn.write_all(head("200 OK", "Content-Encoding: gzip\r\n", bomb.len()).as_bytes())?;
            conn.write_all(bomb)
        }
        "/trickle" => {
            conn.write_all(head("200 OK", "", 100).as_bytes())?;
            for _ in 0..100 {
                conn.write_all(b"x")?;
                std::thread::sleep(Duration::from_secs(1));
            }
            Ok(())
        }
        "/slow" => {
            std::thread::sleep(Duration::from_millis(700));
            conn.write_all(format!("{}slow", head("200 OK", "", 4)).as_bytes())
        }
        "/sse" => {
            let events: String = (1..=5)
                .map(|i| format!("data: {{\"n\": {i}}}\n\n"))
                .collect();
            conn.write_all(
                format!(
                    "{}{events}",
                    head(
                        "200 OK",
                        "Content-Type: text/event-stream\r\n",
                        events.len()
                    )
                )
                .as_bytes(),
            )
        }
        _ => conn.write_all(head("404 Not Found", "", 0).as_bytes()),
    }
}
