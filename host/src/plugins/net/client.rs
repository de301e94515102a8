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

/// Denials of the same (plugin, origin, reason) closer together than this are one burst: one
/// ledger row with a count, one warning line. A plugin retrying in a loop cannot flood the
/// terminal or the disk.
const BURST_GAP: Duration = Duration::from_secs(60);
/// A growing burst's row is rewritten at most this often (and once more when the run ends).
const BURST_WRITE_EVERY: Duration = Duration::from_millis(250);

/// One (plugin, origin, reason) burst of denials.
struct Burst {
    row: Option<i64>,
    rec: EgressRecord,
    first: Instant,
    last: Instant,
    written: Instant,
    dirty: bool,
}

/// What every plugin's network access shares: one client, the resolver, the ledger, offline mode.
pub struct NetShared {
    client: reqwest::Client,
    pins: Arc<PinnedResolver>,
    resolver: Arc<dyn HostResolver>,
    ledger: Option<Arc<EgressLedger>>,
    offline: bool,
    bursts: Mutex<HashMap<(String, String, String), Burst>>,
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
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(NetShared {
            client,
            pins,
            resolver: options.resolver,
            ledger: options.ledger,
            offline: options.offline,
            bursts: Mutex::default(),
        })
    }

    pub fn offline(&self) -> bool {
        self.offline
    }

    /// Records one denial in its burst; true when it starts a new burst (worth a warning).
    fn record_denial(&self, rec: EgressRecord, reason: &str) -> bool {
        let key = (
            rec.plugin_id.clone(),
            rec.origin.clone(),
            reason.to_string(),
        );
        let now = Instant::now();
        let mut bursts = self.bursts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = bursts.get_mut(&key)
            && now.duration_since(b.last) < BURST_GAP
        {
            b.rec.attempts += 1;
            b.rec.bytes_refused = b.rec.bytes_refused.saturating_add(rec.bytes_refused);
            b.rec.duration_ms = now.duration_since(b.first).as_millis() as u64;
            b.last = now;
            b.dirty = true;
            if now.duration_since(b.written) >= BURST_WRITE_EVERY {
                self.write_burst(b);
            }
            return false;
        }
        if let Some(mut old) = bursts.remove(&key) {
            self.write_burst(&mut old);
        }
        let row = self.ledger.as_ref().and_then(|l| match l.record(&rec) {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::error!("could not record a denied request in the egress ledger: {e}");
                None
            }
        });
        bursts.insert(
            key,
            Burst {
                row,
                rec,
                first: now,
                last: now,
                written: now,
                dirty: false,
            },
        );
        true
    }

    fn write_burst(&self, b: &mut Burst) {
        if let (Some(ledger), Some(row), true) = (&self.ledger, b.row, b.dirty)
            && let Err(e) = ledger.update(row, &b.rec)
        {
            tracing::error!("could not count denied requests in the egress ledger: {e}");
        }
        b.written = Instant::now();
        b.dirty = false;
    }

    /// Writes the counts of bursts that grew since their last write.
    fn flush_bursts(&self) {
        let mut bursts = self.bursts.lock().unwrap_or_else(|p| p.into_inner());
        for b in bursts.values_mut() {
            self.write_burst(b);
        }
    }
}

impl Drop for NetShared {
    fn drop(&mut self) {
        self.flush_bursts();
    }
}

/// A secret the host adds to requests for some origins; the plugin never sees the value.
#[derive(Clone)]
pub struct SecretRule {
    pub name: String,
    pub header: reqwest::header::HeaderName,
    pub value: reqwest::header::HeaderValue,
    /// The secret itself, as stored (without the header's format): what is redacted from
    /// responses, in case a server echoes it.
    pub secret: String,
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

    fn ledger_record(
        &self,
        meeting_id: Option<&str>,
        method: &str,
        url: &url::Url,
        outcome: Outcome,
        reason: Option<String>,
    ) -> EgressRecord {
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        EgressRecord {
            id: None,
            time_ms: now_ms(),
            plugin_id: self.plugin_id.clone(),
            plugin_version: self.plugin_version.clone(),
            meeting_id: meeting_id.map(str::to_owned),
            method: method.to_string(),
            origin: origin_of(url),
            path: String::new(),
            path_sha256: String::new(),
            bytes_sent: 0,
            bytes_received: 0,
            status: None,
            duration_ms: 0,
            outcome,
            reason,
            attempts: 1,
            bytes_refused: 0,
        }
        .with_path(&path)
    }

    /// Writes the row of a request about to be sent, as interrupted until it completes. With
    /// no row, no request: what minutes cannot record, it does not send.
    fn begin(
        &self,
        meeting_id: Option<&str>,
        method: &str,
        url: &url::Url,
        bytes_sent: u64,
    ) -> Result<PendingRow, HttpError> {
        let mut rec = self.ledger_record(
            meeting_id,
            method,
            url,
            Outcome::Interrupted,
            Some(UNFINISHED.into()),
        );
        rec.bytes_sent = bytes_sent;
        let Some(ledger) = &self.shared.ledger else {
            return Ok(PendingRow::unrecorded(rec));
        };
        match ledger.record(&rec) {
            Ok(id) => Ok(PendingRow {
                ledger: Some((ledger.clone(), id)),
                rec,
                started: Instant::now(),
                done: false,
                call_deadline: None,
            }),
            Err(e) => {
                tracing::error!(
                    "{e}; the request of plugin '{}' was not sent",
                    self.plugin_id
                );
                Err(HttpError::Denied(wit::Denial {
                    origin: origin_of(url),
                    reason: format!(
                        "the egress ledger cannot be written, and minutes sends nothing it cannot record: {e}"
                    ),
                }))
            }
        }
    }

    /// A request refused by the policy: counted in its burst, warned about once per burst.
    fn refuse(
        &self,
        meeting_id: Option<&str>,
        method: &str,
        url: &url::Url,
        attempted: u64,
        d: &Denial,
    ) {
        let mut rec = self.ledger_record(
            meeting_id,
            method,
            url,
            Outcome::Denied,
            Some(d.reason.clone()),
        );
        rec.bytes_refused = attempted;
        if self.shared.record_denial(rec, &d.reason) {
            warn_denial(&self.plugin_id, d);
        }
    }

    /// A request that failed before anything was sent (its name did not resolve).
    fn failed_unsent(&self, meeting_id: Option<&str>, method: &str, url: &url::Url, why: &str) {
        if let Some(ledger) = &self.shared.ledger {
            let rec = self.ledger_record(
                meeting_id,
                method,
                url,
                Outcome::Failed,
                Some(why.to_string()),
            );
            if let Err(e) = ledger.record(&rec) {
                tracing::error!("could not record a failed request in the egress ledger: {e}");
            }
        }
    }
}

impl Drop for PluginNet {
    fn drop(&mut self) {
        self.shared.flush_bursts();
    }
}

/// What a row says until its request completes: if nothing rewrites it, the run ended first.
const UNFINISHED: &str =
    "no answer recorded: the run ended before it (Ctrl-C, kill, crash), or it is still running";
const CUT_SHORT: &str =
    "cut short: the plugin's call ended (its deadline, or a cancellation) before the answer";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A request's ledger row between sending and completion. Dropped without `finish` (the
/// plugin's call was cancelled mid-request), it says the request was cut short.
struct PendingRow {
    ledger: Option<(Arc<EgressLedger>, i64)>,
    rec: EgressRecord,
    started: Instant,
    done: bool,
    /// The plugin call's deadline, when it (not the request's own timeout) bounds the request.
    call_deadline: Option<Instant>,
}

impl PendingRow {
    fn unrecorded(rec: EgressRecord) -> PendingRow {
        PendingRow {
            ledger: None,
            rec,
            started: Instant::now(),
            done: false,
            call_deadline: None,
        }
    }

    /// A request that ended in `e`. A timeout at the plugin call's deadline is the call being
    /// cut short, not the network failing.
    fn fail(&mut self, status: Option<u16>, received: u64, e: &HttpError) {
        let at_call_deadline = self
            .call_deadline
            .is_some_and(|d| Instant::now() + Duration::from_millis(50) >= d);
        let why = crate::plugins::net::describe(e);
        match (e, at_call_deadline) {
            (HttpError::Timeout(_), true) => self.finish(
                status,
                received,
                Outcome::Interrupted,
                Some(format!(
                    "cut short by the plugin's call deadline (limits.call_timeout_secs): {why}"
                )),
            ),
            _ => self.finish(status, received, Outcome::Failed, Some(why)),
        }
    }

    fn finish(
        &mut self,
        status: Option<u16>,
        received: u64,
        outcome: Outcome,
        reason: Option<String>,
    ) {
        self.rec.status = status;
        self.rec.bytes_received = received;
        self.rec.outcome = outcome;
        self.rec.reason = reason;
        self.rec.duration_ms = self.started.elapsed().as_millis() as u64;
        self.done = true;
        if let Some((ledger, id)) = &self.ledger
            && let Err(e) = ledger.update(*id, &self.rec)
        {
            // The request already happened and its row says so (as interrupted); only how it
            // ended is lost.
            tracing::error!("could not complete a request's row in the egress ledger: {e}");
        }
    }
}

impl Drop for PendingRow {
    fn drop(&mut self) {
        if !self.done {
            let (status, received) = (self.rec.status, self.rec.bytes_received);
            self.finish(
                status,
                received,
                Outcome::Interrupted,
                Some(CUT_SHORT.into()),
            );
        }
    }
}

const USER_AGENT: &str = concat!("minutes/", env!("CARGO_PKG_VERSION"));

/// The size of a request as written on the wire (HTTP/1.1): request line with the query,
/// the headers minutes and the plugin set, and the body.
fn wire_size(req: &reqwest::Request) -> u64 {
    let url = req.url();
    let target = match url.query() {
        Some(q) => url.path().len() + 1 + q.len(),
        None => url.path().len(),
    };
    let header = |name: &str, value: usize| (name.len() + 2 + value + 2) as u64;
    let mut n = (req.method().as_str().len() + 1 + target + " HTTP/1.1\r\n".len()) as u64;
    let host =
        url.host_str().map_or(0, str::len) + url.port().map_or(0, |p| 1 + p.to_string().len());
    n += header("host", host);
    if !req.headers().contains_key(reqwest::header::USER_AGENT) {
        n += header("user-agent", USER_AGENT.len());
    }
    if !req.headers().contains_key(reqwest::header::ACCEPT) {
        n += header("accept", "*/*".len());
    }
    for (k, v) in req.headers() {
        n += header(k.as_str(), v.len());
    }
    if let Some(len) = req.body().and_then(|b| b.as_bytes()).map(<[u8]>::len) {
        n += header("content-length", len.to_string().len()) + len as u64;
    }
    n + 2
}

/// Replaces the plugin's secret values in what a server sends back, so an echoing or
/// misbehaving server cannot hand a plugin the key it was never allowed to read. Streamed
/// bodies keep the last `longest - 1` bytes back until the next chunk, so a value split
/// across two chunks is still caught.
pub(crate) struct Redactor {
    needles: Vec<Vec<u8>>,
    keep: usize,
    carry: Vec<u8>,
}

pub(crate) const REDACTED: &str = "[redacted]";

impl Redactor {
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut needles: Vec<Vec<u8>> = secrets
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_bytes().to_vec())
            .collect();
        // Longest first, so a secret that contains another is replaced whole.
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        let keep = needles.first().map_or(0, |n| n.len() - 1);
        Redactor {
            needles,
            keep,
            carry: Vec::new(),
        }
    }

    fn for_net(net: &PluginNet) -> Redactor {
        Redactor::new(net.secrets.iter().map(|s| s.secret.trim()))
    }

    /// The part of the stream so far that is safe to hand on.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.needles.is_empty() {
            return chunk.to_vec();
        }
        self.carry.extend_from_slice(chunk);
        self.drain(self.keep)
    }

    /// What was held back, at the end of the stream.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        self.drain(0)
    }

    fn drain(&mut self, keep: usize) -> Vec<u8> {
        let buf = std::mem::take(&mut self.carry);
        let safe_end = buf.len().saturating_sub(keep);
        let mut out = Vec::with_capacity(buf.len());
        let mut i = 0;
        while i < buf.len() {
            // A match starting before safe_end lies wholly in `buf` (needles are at most
            // keep + 1 long); one starting later may still be completed by the next chunk.
            if let Some(n) = self.needles.iter().find(|n| buf[i..].starts_with(n)) {
                out.extend_from_slice(REDACTED.as_bytes());
                i += n.len();
                continue;
            }
            if i >= safe_end {
                break;
            }
            out.push(buf[i]);
            i += 1;
        }
        self.carry = buf[i..].to_vec();
        out
    }

    pub(crate) fn text(&self, text: &str) -> String {
        let mut text = text.to_string();
        for n in &self.needles {
            if let Ok(n) = std::str::from_utf8(n) {
                text = text.replace(n, REDACTED);
            }
        }
        text
    }

    fn whole(&self, body: &[u8]) -> Vec<u8> {
        let mut one = Redactor {
            needles: self.needles.clone(),
            keep: 0,
            carry: body.to_vec(),
        };
        one.finish()
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

/// Why a request does not go out.
enum Refusal {
    /// The policy refused it.
    Denied(Denial),
    /// Allowed, but its name does not resolve: the network failed, the policy did not refuse.
    Unresolved(String),
}

/// Names answered here, never by the network's DNS (RFC 6761): `localhost` and `*.localhost`
/// are this machine, `*.invalid` never exists.
enum SpecialName {
    Loopback,
    Invalid,
}

fn special_name(name: &str) -> Option<SpecialName> {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let under = |tld: &str| name == tld || name.ends_with(&format!(".{tld}"));
    if under("localhost") {
        Some(SpecialName::Loopback)
    } else if under("invalid") {
        Some(SpecialName::Invalid)
    } else {
        None
    }
}

impl PluginNet {
    /// Checks the URL against the allowlist, then vets and pins the addresses it resolves to.
    async fn vet(&self, url: &url::Url) -> Result<(), Refusal> {
        let deny = |reason: String| {
            Refusal::Denied(Denial {
                origin: origin_of(url),
                reason,
            })
        };
        if self.shared.offline {
            return Err(deny(
                "offline mode: no plugin may use the network in this run".into(),
            ));
        }
        let entry = self.allowlist.check(url).map_err(Refusal::Denied)?.clone();
        let port = url.port_or_known_default().unwrap_or(443);
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
                let found =
                    match special_name(name) {
                        Some(SpecialName::Loopback) => vec![
                            IpAddr::from([127, 0, 0, 1]),
                            IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
                        ],
                        Some(SpecialName::Invalid) => {
                            return Err(Refusal::Unresolved(format!(
                                "cannot resolve {name}: names under .invalid never exist"
                            )));
                        }
                        None => self.shared.resolver.lookup(name, port).await.map_err(|e| {
                            Refusal::Unresolved(format!("cannot resolve {name}: {e}"))
                        })?,
                    };
                if found.is_empty() {
                    return Err(Refusal::Unresolved(format!(
                        "cannot resolve {name}: no addresses"
                    )));
                }
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

    /// Public addresses, plus non-public ones the entry names literally. A loopback entry
    /// (`http://localhost:11434`) accepts loopback addresses only: its plain-HTTP traffic
    /// must never leave the machine, whatever the name turned out to resolve to.
    fn vet_addresses(
        &self,
        entry: &AllowedOrigin,
        found: &[IpAddr],
    ) -> Result<Vec<IpAddr>, String> {
        let loopback_only = entry.is_loopback();
        let ok: Vec<IpAddr> = found
            .iter()
            .copied()
            .filter(|ip| match loopback_only {
                true => is_loopback(*ip),
                false => is_public(*ip) || entry.names_address(*ip),
            })
            .collect();
        if ok.is_empty() {
            let list: Vec<String> = found.iter().map(|ip| ip.to_string()).collect();
            let list = match list.is_empty() {
                true => "none".to_string(),
                false => list.join(", "),
            };
            return Err(match loopback_only {
                true => format!(
                    "resolves to {list}, not to this machine; a loopback grant reaches loopback addresses only"
                ),
                false => format!(
                    "resolves only to non-public addresses ({list}); a plugin reaches those only when the grant names the address literally"
                ),
            });
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
    /// caller to read and the ledger row to complete. Every hop is vetted, and recorded
    /// before it is sent.
    async fn send(
        &self,
        request: &wit::Request,
        meeting_id: Option<&str>,
        deadline: Instant,
        call_deadline: Instant,
    ) -> Result<(reqwest::Response, url::Url, PendingRow), HttpError> {
        let mut url = url::Url::parse(&request.url)
            .map_err(|e| HttpError::Protocol(format!("invalid URL {:?}: {e}", request.url)))?;
        let first_origin = origin_of(&url);
        let mut left_first_origin = false;
        let mut method = method_of(request.method);
        let mut body = request.body.clone();
        let mut headers = build_headers(&request.headers)?;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HttpError::Connect("shutting down".into()))?;
        for hop in 0..=MAX_REDIRECTS {
            left_first_origin |= origin_of(&url) != first_origin;
            let mut rb = self
                .shared
                .client
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if let Some(b) = &body {
                rb = rb.body(b.clone());
            }
            let built = rb.build();
            let attempted = built.as_ref().map(wire_size).unwrap_or(0);
            match self.vet(&url).await {
                Err(Refusal::Denied(d)) => {
                    self.refuse(meeting_id, method.as_str(), &url, attempted, &d);
                    return Err(denied(d));
                }
                Err(Refusal::Unresolved(why)) => {
                    self.failed_unsent(meeting_id, method.as_str(), &url, &why);
                    return Err(HttpError::Connect(why));
                }
                Ok(()) => {}
            }
            let mut req = built.map_err(|e| {
                HttpError::Protocol(format!(
                    "cannot build the request: {}",
                    describe_reqwest(&e)
                ))
            })?;
            // A secret goes only with a request the plugin itself addressed to the secret's
            // origin: a server elsewhere must not collect it by redirecting there.
            if !left_first_origin {
                for s in self.secrets_for(&url) {
                    req.headers_mut().insert(s.header.clone(), s.value.clone());
                }
            }
            let mut row = self.begin(meeting_id, method.as_str(), &url, wire_size(&req))?;
            row.call_deadline = (deadline == call_deadline).then_some(call_deadline);
            let remaining = deadline.saturating_duration_since(Instant::now());
            let first_byte = remaining.min(FIRST_BYTE_TIMEOUT);
            let resp = match tokio::time::timeout(first_byte, self.shared.client.execute(req)).await
            {
                Err(_) => {
                    let e = HttpError::Timeout(format!(
                        "no response from {} within {} ms",
                        origin_of(&url),
                        first_byte.as_millis()
                    ));
                    row.fail(None, 0, &e);
                    return Err(e);
                }
                Ok(Err(e)) => {
                    let msg = describe_reqwest(&e);
                    let e = if e.is_timeout() {
                        HttpError::Timeout(msg)
                    } else {
                        HttpError::Connect(msg)
                    };
                    row.fail(None, 0, &e);
                    return Err(e);
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
                    row.finish(
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
                    row.finish(
                        Some(status.as_u16()),
                        0,
                        Outcome::Failed,
                        Some("too many redirects".into()),
                    );
                    return Err(HttpError::Protocol(format!(
                        "more than {MAX_REDIRECTS} redirects"
                    )));
                }
                _ => return Ok((resp, url, row)),
            }
        }
        Err(HttpError::Protocol(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// `fetch`: the whole response, its decoded body capped at the plugin's limit, with the
    /// plugin's secrets redacted.
    pub async fn fetch(
        &self,
        request: &wit::Request,
        meeting_id: Option<&str>,
        call_deadline: Instant,
    ) -> Result<wit::Response, HttpError> {
        let deadline = request_deadline(request, call_deadline);
        let (mut resp, _url, mut row) = self
            .send(request, meeting_id, deadline, call_deadline)
            .await?;
        let redactor = Redactor::for_net(self);
        let status = resp.status().as_u16();
        let headers = response_headers(&resp, &redactor);
        let mut body = Vec::new();
        let result = read_body(&mut resp, &mut body, self.max_response, deadline).await;
        let received = body.len() as u64;
        match result {
            Ok(()) => {
                row.finish(Some(status), received, Outcome::Sent, None);
                Ok(wit::Response {
                    status,
                    headers,
                    body: redactor.whole(&body),
                })
            }
            Err(e) => {
                row.fail(Some(status), received, &e);
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
        let (resp, _url, row) = self
            .send(request, meeting_id, deadline, call_deadline)
            .await?;
        let redactor = Redactor::for_net(self);
        Ok(ResponseStream {
            net: self.clone(),
            row,
            status: resp.status().as_u16(),
            headers: response_headers(&resp, &redactor),
            redactor,
            resp: Some(resp),
            received: 0,
            deadline,
        })
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
        v4 => v4.is_loopback(),
    }
}

fn request_deadline(request: &wit::Request, call_deadline: Instant) -> Instant {
    match request.timeout_ms {
        Some(ms) => call_deadline.min(Instant::now() + Duration::from_millis(ms.into())),
        None => call_deadline,
    }
}

fn response_headers(resp: &reqwest::Response, redactor: &Redactor) -> Vec<(String, String)> {
    resp.headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                redactor.text(&String::from_utf8_lossy(v.as_bytes())),
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

/// The error and its causes in one line. A refused connection says so plainly: it means no
/// server listens there (a local model server not started), not that anything was denied.
fn describe_reqwest(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
            && let Some(url) = e.url()
        {
            return format!(
                "connection refused by {}: nothing is listening there",
                origin_of(url)
            );
        }
        source = s.source();
    }
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    msg
}

/// A streamed response body, redacted chunk by chunk. Its ledger row is completed when it
/// ends or is dropped.
pub struct ResponseStream {
    net: Arc<PluginNet>,
    row: PendingRow,
    status: u16,
    headers: Vec<(String, String)>,
    redactor: Redactor,
    resp: Option<reqwest::Response>,
    received: u64,
    deadline: Instant,
}

impl ResponseStream {
    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn headers(&self) -> Vec<(String, String)> {
        self.headers.clone()
    }

    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HttpError> {
        loop {
            let Some(resp) = self.resp.as_mut() else {
                // The end: what the redactor held back, then nothing.
                let tail = self.redactor.finish();
                return Ok((!tail.is_empty()).then_some(tail));
            };
            match next_chunk(resp, self.received, self.net.max_response, self.deadline).await {
                Ok(Some(chunk)) => {
                    self.received += chunk.len() as u64;
                    let out = self.redactor.push(&chunk);
                    // All held back (a possible start of a secret): read on rather than hand
                    // the plugin an empty chunk.
                    if !out.is_empty() {
                        return Ok(Some(out));
                    }
                }
                Ok(None) => {
                    self.resp = None;
                    self.row
                        .finish(Some(self.status), self.received, Outcome::Sent, None);
                }
                Err(e) => {
                    self.resp = None;
                    self.redactor.carry.clear();
                    self.row.fail(Some(self.status), self.received, &e);
                    return Err(e);
                }
            }
        }
    }
}

impl Drop for ResponseStream {
    fn drop(&mut self) {
        if !self.row.done {
            self.row.finish(
                Some(self.status),
                self.received,
                Outcome::Sent,
                Some("stream closed before its end".into()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact_in_chunks(secrets: &[&str], body: &[u8], cut: &[usize]) -> Vec<u8> {
        let mut r = Redactor::new(secrets.iter().copied());
        let mut out = Vec::new();
        let mut from = 0;
        for &to in cut.iter().chain(std::iter::once(&body.len())) {
            out.extend(r.push(&body[from..to]));
            from = to;
        }
        out.extend(r.finish());
        out
    }

    /// Issue 15.4: an echoing server's body reaches the plugin with the secret replaced,
    /// wherever the stream's chunks happen to cut it.
    #[test]
    fn a_secret_split_across_chunks_is_still_redacted() {
        let body = b"key=sk-live-123456789 and again sk-live-123456789, bye";
        let expected = b"key=[redacted] and again [redacted], bye".to_vec();
        for a in 0..body.len() {
            for b in a..body.len() {
                assert_eq!(
                    redact_in_chunks(&["sk-live-123456789"], body, &[a, b]),
                    expected,
                    "cut at {a} and {b}"
                );
            }
        }
        // One byte at a time, with two secrets where one contains the other.
        let cuts: Vec<usize> = (1..body.len()).collect();
        assert_eq!(
            redact_in_chunks(&["123", "sk-live-123456789"], body, &cuts),
            expected
        );
        // Text that only starts like the secret is handed on whole at the end.
        assert_eq!(
            redact_in_chunks(&["sk-live-123456789"], b"ends with sk-live-12", &[15]),
            b"ends with sk-live-12".to_vec()
        );
        // Without secrets, chunks pass untouched and nothing is held back.
        let mut none = Redactor::new(Vec::<&str>::new());
        assert_eq!(none.push(b"abc"), b"abc".to_vec());
        assert!(none.finish().is_empty());
        let r = Redactor::new(["tok-42"]);
        assert_eq!(r.text("Bearer tok-42"), "Bearer [redacted]");
        assert_eq!(r.whole(b"tok-42tok-42"), b"[redacted][redacted]".to_vec());
    }

    fn localhost_net() -> (PluginNet, AllowedOrigin) {
        let entry = AllowedOrigin::parse("http://localhost:11434").expect("entry");
        let shared = Arc::new(NetShared::new(NetOptions::default()).expect("client"));
        let net = PluginNet::new(
            "p",
            "1.0.0",
            Allowlist::from_entries(vec![entry.clone()]),
            Vec::new(),
            1 << 20,
            shared,
        );
        (net, entry)
    }

    /// Issue 15.5: a loopback grant accepted any public address a name resolved to, so its
    /// plain-HTTP traffic could leave the machine.
    #[test]
    fn a_loopback_grant_accepts_loopback_addresses_only() {
        let (net, entry) = localhost_net();
        let public = IpAddr::from([93, 184, 216, 34]);
        let err = net
            .vet_addresses(&entry, &[public])
            .expect_err("a public address passed a loopback grant");
        assert!(err.contains("not to this machine"), "{err}");
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().expect("ip");
        assert_eq!(
            net.vet_addresses(&entry, &[public, IpAddr::from([127, 0, 0, 1]), mapped]),
            Ok(vec![IpAddr::from([127, 0, 0, 1]), mapped])
        );
        assert!(
            net.vet_addresses(&entry, &[IpAddr::from([10, 0, 0, 1])])
                .is_err()
        );
    }

    #[test]
    fn localhost_and_invalid_names_are_answered_locally() {
        for name in ["localhost", "LOCALHOST.", "app.localhost", "a.b.localhost."] {
            assert!(
                matches!(special_name(name), Some(SpecialName::Loopback)),
                "{name}"
            );
        }
        for name in ["nonexistent.invalid", "invalid."] {
            assert!(
                matches!(special_name(name), Some(SpecialName::Invalid)),
                "{name}"
            );
        }
        for name in ["localhost.example.com", "notlocalhost", "invalid.example"] {
            assert!(special_name(name).is_none(), "{name}");
        }
    }
}
