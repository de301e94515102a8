//! The host side of `minutes:plugin/http`: every request a plugin makes is checked against its
//! effective allowlist, resolved and vetted by the host, sent with host-held secrets, capped in
//! size and time, and recorded in the egress ledger — allowed or not.

use super::allowlist::{AllowedOrigin, Allowlist, Denial, is_public, origin_of};
use crate::ledger::{EgressLedger, EgressRecord, Outcome};
use crate::plugins::bindings::host::minutes::plugin::http::{self as wit, HttpError};
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Redirect hops the host follows for a plugin that asked it to.
pub const MAX_REDIRECTS: usize = 5;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Generous because a local model on a slow CPU reads a long prompt for minutes before its
/// first byte; the request's own deadline (the plugin's limit) still bounds every wait.
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(300);
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Concurrent requests per plugin; more wait their turn.
pub const MAX_CONCURRENT: usize = 4;

/// Name resolution, injectable so tests can make a granted name resolve to a private address.
pub trait HostResolver: Send + Sync {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<IpAddr>>>;
}

/// The system resolver (getaddrinfo through tokio).
pub struct SystemResolver;

impl HostResolver for SystemResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, std::io::Result<Vec<IpAddr>>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host, port))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// Hands reqwest exactly the addresses the host vetted for a name, and never looks one up
/// itself: there is no second lookup that DNS rebinding could answer differently.
#[derive(Default)]
struct PinnedResolver {
    pins: Mutex<HashMap<String, Vec<SocketAddr>>>,
}

impl PinnedResolver {
    fn pin(&self, host: &str, addrs: Vec<SocketAddr>) {
        if let Ok(mut pins) = self.pins.lock() {
            pins.insert(host.to_string(), addrs);
        }
    }
}

impl reqwest::dns::Resolve for PinnedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let addrs = self
            .pins
            .lock()
            .ok()
            .and_then(|p| p.get(name.as_str()).cloned());
        Box::pin(async move {
            match addrs {
                Some(a) if !a.is_empty() => Ok(Box::new(a.into_iter()) as reqwest::dns::Addrs),
                _ => Err("name was not vetted by the minutes network policy".into()),
            }
        })
    }
}

/// What every plugin's network access shares: one client, the resolver, the ledger, offline mode.
pub struct NetShared {
    client: reqwest::Client,
    pins: Arc<PinnedResolver>,
    resolver: Arc<dyn HostResolver>,
    ledger: Option<Arc<EgressLedger>>,
    offline: bool,
}

#[derive(Clone)]
pub struct NetOptions {
    pub offline: bool,
    pub ledger: Option<Arc<EgressLedger>>,
    pub resolver: Arc<dyn HostResolver>,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            offline: false,
            ledger: None,
            resolver: Arc::new(SystemResolver),
        }
    }
}

impl NetShared {
    pub fn new(options: NetOptions) -> Result<NetShared, String> {
        // One crypto provider for the process; a second install attempt is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let pins = Arc::new(PinnedResolver::default());
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .dns_resolver(pins.clone())
            .user_agent(concat!("minutes/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(NetShared {
            client,
            pins,
            resolver: options.resolver,
            ledger: options.ledger,
            offline: options.offline,
        })
    }

    pub fn offline(&self) -> bool {
        self.offline
    }
}

/// A secret the host adds to requests for some origins; the plugin never sees the value.
#[derive(Clone)]
pub struct SecretRule {
    pub name: String,
    pub header: reqwest::header::HeaderName,
    pub value: reqwest::header::HeaderValue,
    pub origins: Vec<AllowedOrigin>,
}

impl std::fmt::Debug for SecretRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRule")
            .field("name", &self.name)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PluginNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginNet")
            .field("plugin_id", &self.plugin_id)
            .field("allowlist", &self.allowlist)
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

/// One plugin's network rights, fixed at load.
pub struct PluginNet {
    pub plugin_id: String,
    pub plugin_version: String,
    pub allowlist: Allowlist,
    pub secrets: Vec<SecretRule>,
    pub max_response: u64,
    pub shared: Arc<NetShared>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl PluginNet {
    pub fn new(
        plugin_id: &str,
        plugin_version: &str,
        allowlist: Allowlist,
        secrets: Vec<SecretRule>,
        max_response: u64,
        shared: Arc<NetShared>,
    ) -> PluginNet {
        PluginNet {
            plugin_id: plugin_id.to_string(),
            plugin_version: plugin_version.to_string(),
            allowlist,
            secrets,
            max_response,
            shared,
            permits: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT)),
        }
    }
}

/// Per-request bookkeeping for the ledger.
struct Attempt<'a> {
    net: &'a PluginNet,
    meeting_id: Option<String>,
    started: Instant,
    method: String,
    bytes_sent: u64,
}

impl Attempt<'_> {
    fn record(
        &self,
        url: &url::Url,
        status: Option<u16>,
        received: u64,
        outcome: Outcome,
        reason: Option<String>,
    ) {
        record_egress(
            self.net,
            self.meeting_id.as_deref(),
            &self.method,
            url,
            self.bytes_sent,
            received,
            status,
            self.started,
            outcome,
            reason,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn record_egress(
    net: &PluginNet,
    meeting_id: Option<&str>,
    method: &str,
    url: &url::Url,
    bytes_sent: u64,
    bytes_received: u64,
    status: Option<u16>,
    started: Instant,
    outcome: Outcome,
    reason: Option<String>,
) {
    let Some(ledger) = &net.shared.ledger else {
        return;
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let rec = EgressRecord {
        id: None,
        time_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
        plugin_id: net.plugin_id.clone(),
        plugin_version: net.plugin_version.clone(),
        meeting_id: meeting_id.map(str::to_owned),
        method: method.to_string(),
        origin: origin_of(url),
        path: String::new(),
        path_sha256: String::new(),
        bytes_sent,
        bytes_received,
        status,
        duration_ms: started.elapsed().as_millis() as u64,
        outcome,
        reason,
    }
    .with_path(&path);
    if let Err(e) = ledger.record(&rec) {
        // The request already happened; losing its record must at least be loud.
        tracing::error!("could not record an outbound request in the egress ledger: {e}");
    }
}

/// Headers a plugin may not set: connection management is the host's, and `Host` would let a
/// plugin talk to one name while the policy checked another.
const FORBIDDEN_HEADERS: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
];

fn build_headers(headers: &[(String, String)]) -> Result<reqwest::header::HeaderMap, HttpError> {
    let mut map = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        if name.contains(['\r', '\n', '\0']) || value.contains(['\r', '\n', '\0']) {
            return Err(HttpError::Protocol(format!(
                "header `{}` contains CR, LF or NUL",
                name.escape_debug()
            )));
        }
        let lower = name.to_ascii_lowercase();
        if FORBIDDEN_HEADERS.contains(&lower.as_str()) {
            return Err(HttpError::Protocol(format!(
                "plugins may not set the `{lower}` header"
            )));
        }
        let n = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            HttpError::Protocol(format!(
                "`{}` is not a valid header name",
                name.escape_debug()
            ))
        })?;
        let v = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
            HttpError::Protocol(format!(
                "the value of `{lower}` is not a valid header value"
            ))
        })?;
        map.append(n, v);
    }
    Ok(map)
}

fn method_of(m: wit::Method) -> reqwest::Method {
    match m {
        wit::Method::Get => reqwest::Method::GET,
        wit::Method::Head => reqwest::Method::HEAD,
        wit::Method::Post => reqwest::Method::POST,
        wit::Method::Put => reqwest::Method::PUT,
        wit::Method::Patch => reqwest::Method::PATCH,
        wit::Method::Delete => reqwest::Method::DELETE,
    }
}

fn denied(d: Denial) -> HttpError {
    HttpError::Denied(wit::Denial {
        origin: d.origin,
        reason: d.reason,
    })
}

/// Says what to do about a denial, in the words the CLI prints.
fn warn_denial(plugin: &str, d: &Denial) {
    if d.reason.starts_with("not granted") {
        tracing::warn!(
            "plugin '{plugin}' tried to reach {} — {}. Allow with: minutes plugin allow {plugin} {}",
            d.origin,
            d.reason,
            d.origin
        );
    } else {
        tracing::warn!(
            "plugin '{plugin}' tried to reach {} — {}",
            d.origin,
            d.reason
        );
    }
}

impl PluginNet {
    /// Checks the URL and returns the entry that allows it, after vetting and pinning the
    /// addresses it resolves to.
    async fn vet(&self, url: &url::Url) -> Result<(), Denial> {
        if self.shared.offline {
            return Err(Denial {
                origin: origin_of(url),
                reason: "offline mode: no plugin may use the network in this run".into(),
            });
        }
        let entry = self.allowlist.check(url)?.clone();
        let port = url.port_or_known_default().unwrap_or(443);
        let deny = |reason: String| Denial {
            origin: origin_of(url),
            reason,
        };
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self
                .vet_addresses(&entry, &[IpAddr::V4(ip)])
                .map_err(deny)
                .map(|_| ()),
            Some(url::Host::Ipv6(ip)) => self
                .vet_addresses(&entry, &[IpAddr::V6(ip)])
                .map_err(deny)
                .map(|_| ()),
            Some(url::Host::Domain(name)) => {
                let found = if name.eq_ignore_ascii_case("localhost") {
                    vec![
                        IpAddr::from([127, 0, 0, 1]),
                        IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
                    ]
                } else {
                    self.shared
                        .resolver
                        .lookup(name, port)
                        .await
                        .map_err(|e| deny(format!("cannot resolve {name}: {e}")))?
                };
                let vetted = self.vet_addresses(&entry, &found).map_err(deny)?;
                let addrs = vetted
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect();
                self.shared.pins.pin(name, addrs);
                Ok(())
            }
            None => Err(deny("the URL has no host".into())),
        }
    }

    /// Public addresses, plus non-public ones the entry names literally.
    fn vet_addresses(
        &self,
        entry: &AllowedOrigin,
        found: &[IpAddr],
    ) -> Result<Vec<IpAddr>, String> {
        let ok: Vec<IpAddr> = found
            .iter()
            .copied()
            .filter(|ip| is_public(*ip) || entry.names_address(*ip))
            .collect();
        if ok.is_empty() {
            let list: Vec<String> = found.iter().map(|ip| ip.to_string()).collect();
            return Err(format!(
                "resolves only to non-public addresses ({}); a plugin reaches those only when the grant names the address literally",
                if list.is_empty() {
                    "none".into()
                } else {
                    list.join(", ")
                }
            ));
        }
        Ok(ok)
    }

    /// The secrets to add for this URL (those whose origins match it).
    fn secrets_for(&self, url: &url::Url) -> Vec<&SecretRule> {
        self.secrets
            .iter()
            .filter(|s| s.origins.iter().any(|o| o.matches(url)))
            .collect()
    }

    /// Sends one request (following redirects if asked), returning the response head for the
    /// caller to read. Every hop is vetted and recorded.
    async fn send(
        &self,
        request: &wit::Request,
        meeting_id: Option<&str>,
        deadline: Instant,
    ) -> Result<(reqwest::Response, url::Url, Attempt<'_>), HttpError> {
        let mut url = url::Url::parse(&request.url)
            .map_err(|e| HttpError::Protocol(format!("invalid URL {:?}: {e}", request.url)))?;
        let mut method = method_of(request.method);
        let mut body = request.body.clone();
        let mut headers = build_headers(&request.headers)?;
        let mut attempt = Attempt {
            net: self,
            meeting_id: meeting_id.map(str::to_owned),
            started: Instant::now(),
            method: method.to_string(),
            bytes_sent: 0,
        };
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HttpError::Connect("shutting down".into()))?;
        for hop in 0..=MAX_REDIRECTS {
            attempt.method = method.to_string();
            attempt.bytes_sent = body.as_ref().map(|b| b.len() as u64).unwrap_or(0);
            attempt.started = Instant::now();
            if let Err(d) = self.vet(&url).await {
                warn_denial(&self.plugin_id, &d);
                attempt.record(&url, None, 0, Outcome::Denied, Some(d.reason.clone()));
                return Err(denied(d));
            }
            let mut hop_headers = headers.clone();
            for s in self.secrets_for(&url) {
                hop_headers.insert(s.header.clone(), s.value.clone());
            }
            let mut rb = self
                .shared
                .client
                .request(method.clone(), url.clone())
                .headers(hop_headers);
            if let Some(b) = &body {
                rb = rb.body(b.clone());
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            let first_byte = remaining.min(FIRST_BYTE_TIMEOUT);
            let resp = match tokio::time::timeout(first_byte, rb.send()).await {
                Err(_) => {
                    attempt.record(
                        &url,
                        None,
                        0,
                        Outcome::Failed,
                        Some("timed out waiting for the response".into()),
                    );
                    return Err(HttpError::Timeout(format!(
                        "no response from {} within {} ms",
                        origin_of(&url),
                        first_byte.as_millis()
                    )));
                }
                Ok(Err(e)) => {
                    let msg = describe_reqwest(&e);
                    attempt.record(&url, None, 0, Outcome::Failed, Some(msg.clone()));
                    return Err(if e.is_timeout() {
                        HttpError::Timeout(msg)
                    } else {
                        HttpError::Connect(msg)
                    });
                }
                Ok(Ok(r)) => r,
            };
            let status = resp.status();
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            match (
                request.follow_redirects && status.is_redirection(),
                location,
            ) {
                (true, Some(loc)) if hop < MAX_REDIRECTS => {
                    attempt.record(
                        &url,
                        Some(status.as_u16()),
                        0,
                        Outcome::Sent,
                        Some(format!("redirect to {loc}")),
                    );
                    let next = url.join(&loc).map_err(|e| {
                        HttpError::Protocol(format!("bad redirect location {loc:?}: {e}"))
                    })?;
                    if origin_of(&next) != origin_of(&url) {
                        // Credentials the plugin set are for the origin it named, not the next.
                        for h in [
                            reqwest::header::AUTHORIZATION,
                            reqwest::header::COOKIE,
                            reqwest::header::PROXY_AUTHORIZATION,
                        ] {
                            headers.remove(h);
                        }
                        for s in &self.secrets {
                            headers.remove(&s.header);
                        }
                    }
                    if status == reqwest::StatusCode::SEE_OTHER
                        || (matches!(status.as_u16(), 301 | 302) && method == reqwest::Method::POST)
                    {
                        method = reqwest::Method::GET;
                        body = None;
                        headers.remove(reqwest::header::CONTENT_TYPE);
                    }
                    url = next;
                }
                (true, Some(_)) => {
                    attempt.record(
                        &url,
                        Some(status.as_u16()),
                        0,
                        Outcome::Failed,
                        Some("too many redirects".into()),
                    );
                    return Err(HttpError::Protocol(format!(
                        "more than {MAX_REDIRECTS} redirects"
                    )));
                }
                _ => return Ok((resp, url, attempt)),
            }
        }
        Err(HttpError::Protocol(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// `fetch`: the whole response, its decoded body capped at the plugin's limit.
    pub async fn fetch(
        &self,
        request: &wit::Request,
        meeting_id: Option<&str>,
        call_deadline: Instant,
    ) -> Result<wit::Response, HttpError> {
        let deadline = request_deadline(request, call_deadline);
        let (mut resp, url, attempt) = self.send(request, meeting_id, deadline).await?;
        let status = resp.status().as_u16();
        let headers = response_headers(&resp);
        let mut body = Vec::new();
        let result = read_body(&mut resp, &mut body, self.max_response, deadline).await;
        let received = body.len() as u64;
        match result {
            Ok(()) => {
                attempt.record(&url, Some(status), received, Outcome::Sent, None);
                Ok(wit::Response {
                    status,
                    headers,
                    body,
                })
            }
            Err(e) => {
                attempt.record(
                    &url,
                    Some(status),
                    received,
                    Outcome::Failed,
                    Some(crate::plugins::net::describe(&e)),
                );
                Err(e)
            }
        }
    }

    /// `fetch-stream`: the response head now, the body chunk by chunk.
    pub async fn fetch_stream(
        self: &Arc<Self>,
        request: &wit::Request,
        meeting_id: Option<&str>,
        call_deadline: Instant,
    ) -> Result<ResponseStream, HttpError> {
        let deadline = request_deadline(request, call_deadline);
        let (resp, url, attempt) = self.send(request, meeting_id, deadline).await?;
        Ok(ResponseStream {
            net: self.clone(),
            meeting_id: meeting_id.map(str::to_owned),
            method: attempt.method.clone(),
            bytes_sent: attempt.bytes_sent,
            started: attempt.started,
            status: resp.status().as_u16(),
            headers: response_headers(&resp),
            url,
            resp: Some(resp),
            received: 0,
            deadline,
            failure: None,
        })
    }
}

fn request_deadline(request: &wit::Request, call_deadline: Instant) -> Instant {
    match request.timeout_ms {
        Some(ms) => call_deadline.min(Instant::now() + Duration::from_millis(ms.into())),
        None => call_deadline,
    }
}

fn response_headers(resp: &reqwest::Response) -> Vec<(String, String)> {
    resp.headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Reads the decoded body into `out`, stopping at `max` bytes, the idle limit or the deadline.
async fn read_body(
    resp: &mut reqwest::Response,
    out: &mut Vec<u8>,
    max: u64,
    deadline: Instant,
) -> Result<(), HttpError> {
    loop {
        match next_chunk(resp, out.len() as u64, max, deadline).await? {
            Some(chunk) => out.extend_from_slice(&chunk),
            None => return Ok(()),
        }
    }
}

async fn next_chunk(
    resp: &mut reqwest::Response,
    received: u64,
    max: u64,
    deadline: Instant,
) -> Result<Option<bytes::Bytes>, HttpError> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    let wait = remaining.min(IDLE_TIMEOUT);
    match tokio::time::timeout(wait, resp.chunk()).await {
        Err(_) if wait < IDLE_TIMEOUT => Err(HttpError::Timeout(
            "the response did not finish before the deadline".into(),
        )),
        Err(_) => Err(HttpError::Timeout(format!(
            "no data for {} s",
            IDLE_TIMEOUT.as_secs()
        ))),
        Ok(Err(e)) => Err(HttpError::Protocol(describe_reqwest(&e))),
        Ok(Ok(None)) => Ok(None),
        Ok(Ok(Some(chunk))) if received + chunk.len() as u64 > max => Err(HttpError::TooLarge(max)),
        Ok(Ok(Some(chunk))) => Ok(Some(chunk)),
    }
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    msg
}

/// A streamed response body. Recorded in the ledger when it ends or is dropped.
pub struct ResponseStream {
    net: Arc<PluginNet>,
    meeting_id: Option<String>,
    method: String,
    bytes_sent: u64,
    started: Instant,
    status: u16,
    headers: Vec<(String, String)>,
    url: url::Url,
    resp: Option<reqwest::Response>,
    received: u64,
    deadline: Instant,
    failure: Option<String>,
}

impl ResponseStream {
    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn headers(&self) -> Vec<(String, String)> {
        self.headers.clone()
    }

    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HttpError> {
        let Some(resp) = self.resp.as_mut() else {
            return Ok(None);
        };
        match next_chunk(resp, self.received, self.net.max_response, self.deadline).await {
            Ok(Some(chunk)) => {
                self.received += chunk.len() as u64;
                Ok(Some(chunk.to_vec()))
            }
            Ok(None) => {
                self.resp = None;
                Ok(None)
            }
            Err(e) => {
                self.resp = None;
                self.failure = Some(crate::plugins::net::describe(&e));
                Err(e)
            }
        }
    }
}

impl Drop for ResponseStream {
    fn drop(&mut self) {
        let (outcome, reason) = match (&self.failure, &self.resp) {
            (Some(f), _) => (Outcome::Failed, Some(f.clone())),
            (None, Some(_)) => (Outcome::Sent, Some("stream closed before its end".into())),
            (None, None) => (Outcome::Sent, None),
        };
        record_egress(
            &self.net,
            self.meeting_id.as_deref(),
            &self.method,
            &self.url,
            self.bytes_sent,
            self.received,
            Some(self.status),
            self.started,
            outcome,
            reason,
        );
    }
}
