//! What a plugin can ask of the host during a call: log, config, http and llm. One
//! [`PluginState`] lives in each call's `Store` and dies with it.

use super::bindings::host::minutes::plugin::{config, http, llm, log};
use super::manifest::{ConfigValue, Kind};
use super::net::{PluginNet, ResponseStream};
use super::wit::since_v0_1 as v0_1;
use crate::model::{Completion, CompletionRequest, LlmInfo, Plan, PluginError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::ResourceLimiter;
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Longest log message a plugin may write; the rest is cut.
const MAX_LOG_MESSAGE: usize = 4096;
/// Log messages per call; past this the plugin is muted for the rest of the call.
const MAX_LOG_MESSAGES: u32 = 1000;
/// Guest stdout/stderr kept per call (the tail names a panic).
pub(crate) const STDIO_CAPACITY: usize = 64 * 1024;

/// What the host knows about a loaded plugin, shared by all its calls.
#[derive(Debug, Clone)]
pub struct PluginContext {
    pub id: String,
    pub version: String,
    pub kind: Kind,
    pub config: BTreeMap<String, ConfigValue>,
    pub memory_limit: usize,
    /// Network rights; `None` for kinds without `http`.
    pub net: Option<Arc<PluginNet>>,
    /// The meeting this plugin works on, for the egress ledger.
    pub meeting_id: Option<String>,
    /// Where a template's `llm` calls go; `None`: no provider (offline templates only).
    pub llm: Option<LlmHandle>,
}

/// Where a template's `llm` calls go. The summary orchestration implements it over a provider
/// plugin, after the data policy has allowed that provider for this meeting.
pub trait LlmBackend: Send + Sync {
    fn info(&self) -> LlmInfo;
    fn announce_plan(&self, plan: Plan);
    fn complete(
        &self,
        request: CompletionRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Completion, PluginError>> + Send + 'static>,
    >;
}

#[derive(Clone)]
pub struct LlmHandle(pub Arc<dyn LlmBackend>);

impl std::fmt::Debug for LlmHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let info = self.0.info();
        write!(f, "LlmHandle({} / {})", info.provider, info.model)
    }
}

/// Time a call spent waiting for its language model. A template's own deadline does not count
/// it: a slow local model must not make a template look hung (the provider has its own deadline).
#[derive(Clone, Default)]
pub struct WaitClock(Arc<std::sync::Mutex<(std::time::Duration, Option<Instant>)>>);

impl WaitClock {
    pub fn waited(&self) -> std::time::Duration {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        guard.0 + guard.1.map(|since| since.elapsed()).unwrap_or_default()
    }

    fn start(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).1 = Some(Instant::now());
    }

    fn stop(&self) {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(since) = guard.1.take() {
            guard.0 += since.elapsed();
        }
    }
}

pub struct PluginState {
    pub(crate) ctx: Arc<PluginContext>,
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) stdio: MemoryOutputPipe,
    /// When the current call must end; outbound requests never outlive it.
    pub(crate) deadline: Instant,
    pub(crate) llm_wait: WaitClock,
    log_count: u32,
}

impl PluginState {
    pub(crate) fn new(ctx: Arc<PluginContext>, deadline: Instant) -> Self {
        let stdio = MemoryOutputPipe::new(STDIO_CAPACITY);
        // No preopens, no sockets, no environment, no arguments: a plugin sees nothing of the
        // machine. Its output is captured so a panic message can be shown to the user.
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .stdout(stdio.clone())
            .stderr(stdio.clone())
            .build();
        let limiter = MemoryLimiter::new(ctx.memory_limit);
        let llm_wait = WaitClock::default();
        PluginState {
            ctx,
            wasi,
            table: ResourceTable::new(),
            limiter,
            stdio,
            deadline,
            llm_wait,
            log_count: 0,
        }
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Most core instances a call may create; a Rust component needs a handful.
pub(crate) const MAX_INSTANCES: usize = 100;
/// Most linear memories; each one reserves address space however small it is.
pub(crate) const MAX_MEMORIES: usize = 10;
pub(crate) const MAX_TABLES: usize = 100;
/// What a table element is counted as: a function reference is a pointer.
const TABLE_ELEMENT_BYTES: usize = 8;

/// Caps a call's memory: all linear memories and tables of the component together, since a
/// component may hold many core instances, each with memories of its own; and the number of
/// instances, memories and tables. Remembers that the cap was hit so the error can say so.
pub struct MemoryLimiter {
    max: usize,
    /// Bytes of all memories and tables of the store so far.
    used: usize,
    /// The last growth allowed, taken back if wasmtime then fails it.
    pending: usize,
    pub(crate) hit: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(max: usize) -> MemoryLimiter {
        MemoryLimiter {
            max,
            used: 0,
            pending: 0,
            hit: false,
        }
    }

    /// Wasmtime asks before every growth, and with `current` 0 when a memory or table is
    /// created, so the sum of the differences is what the store holds.
    fn grow(&mut self, current: usize, desired: usize) -> bool {
        match self.used.checked_add(desired.saturating_sub(current)) {
            Some(total) if total <= self.max => {
                self.pending = total - self.used;
                self.used = total;
                true
            }
            _ => {
                self.hit = true;
                false
            }
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired))
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.used -= std::mem::take(&mut self.pending);
        Ok(())
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.used -= std::mem::take(&mut self.pending);
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(
            current.saturating_mul(TABLE_ELEMENT_BYTES),
            desired.saturating_mul(TABLE_ELEMENT_BYTES),
        ))
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }
}

impl log::Host for PluginState {
    async fn log(&mut self, level: log::Level, mut message: String) -> wasmtime::Result<()> {
        self.log_count += 1;
        if self.log_count > MAX_LOG_MESSAGES {
            if self.log_count == MAX_LOG_MESSAGES + 1 {
                tracing::warn!(plugin = %self.ctx.id, "plugin logged more than {MAX_LOG_MESSAGES} messages in one call; muting it");
            }
            return Ok(());
        }
        if message.len() > MAX_LOG_MESSAGE {
            let mut cut = MAX_LOG_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        // The plugin's words go to the user's terminal: no escape sequences.
        let message = crate::term::clean(&message);
        let id = &self.ctx.id;
        match level {
            log::Level::Trace => tracing::trace!(plugin = %id, "{message}"),
            log::Level::Debug => tracing::debug!(plugin = %id, "{message}"),
            log::Level::Info => tracing::info!(plugin = %id, "{message}"),
            log::Level::Warn => tracing::warn!(plugin = %id, "{message}"),
            log::Level::Error => tracing::error!(plugin = %id, "{message}"),
        }
        Ok(())
    }
}

impl config::Host for PluginState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<config::Value>> {
        Ok(self.ctx.config.get(&key).map(|v| match v {
            ConfigValue::Text(s) => config::Value::Text(s.clone()),
            ConfigValue::Integer(i) => config::Value::Integer(*i),
            ConfigValue::Number(n) => config::Value::Number(*n),
            ConfigValue::Boolean(b) => config::Value::Boolean(*b),
        }))
    }
}

/// A request from a plugin whose kind has no network rights never gets this far (the linker
/// does not offer `http`); this answers one that has no grant at all.
fn no_network(plugin: &str, url: &str) -> http::HttpError {
    let origin = url::Url::parse(url)
        .map(|u| super::net::allowlist::origin_of(&u))
        .unwrap_or_else(|_| url.to_string());
    tracing::warn!("plugin '{plugin}' tried to reach {origin} — it has no network access");
    http::HttpError::Denied(http::Denial {
        origin,
        reason: "this plugin has no network access".into(),
    })
}

impl http::Host for PluginState {
    async fn fetch(
        &mut self,
        request: http::Request,
    ) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
        let Some(net) = self.ctx.net.clone() else {
            return Ok(Err(no_network(&self.ctx.id, &request.url)));
        };
        Ok(net
            .fetch(&request, self.ctx.meeting_id.as_deref(), self.deadline)
            .await)
    }

    async fn fetch_stream(
        &mut self,
        request: http::Request,
    ) -> wasmtime::Result<Result<Resource<ResponseStream>, http::HttpError>> {
        let Some(net) = self.ctx.net.clone() else {
            return Ok(Err(no_network(&self.ctx.id, &request.url)));
        };
        match net
            .fetch_stream(&request, self.ctx.meeting_id.as_deref(), self.deadline)
            .await
        {
            Ok(stream) => Ok(Ok(self.table.push(stream)?)),
            Err(e) => Ok(Err(e)),
        }
    }
}

impl http::HostResponseStream for PluginState {
    async fn status(&mut self, stream: Resource<ResponseStream>) -> wasmtime::Result<u16> {
        Ok(self.table.get(&stream)?.status())
    }

    async fn headers(
        &mut self,
        stream: Resource<ResponseStream>,
    ) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.table.get(&stream)?.headers())
    }

    async fn next_chunk(
        &mut self,
        stream: Resource<ResponseStream>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, http::HttpError>> {
        Ok(self.table.get_mut(&stream)?.next_chunk().await)
    }

    async fn drop(&mut self, stream: Resource<ResponseStream>) -> wasmtime::Result<()> {
        self.table.delete(stream)?;
        Ok(())
    }
}

impl llm::Host for PluginState {
    async fn info(&mut self) -> wasmtime::Result<Option<llm::LlmInfo>> {
        Ok(self.llm_info().map(v0_1::llm_info_to_wit))
    }

    async fn announce_plan(&mut self, plan: llm::Plan) -> wasmtime::Result<()> {
        self.plan_announced(v0_1::plan_from_wit(plan));
        Ok(())
    }

    async fn complete(
        &mut self,
        request: v0_1::types::CompletionRequest,
    ) -> wasmtime::Result<Result<v0_1::types::Completion, v0_1::types::PluginError>> {
        let result = self.llm_complete(v0_1::request_from_wit(request)).await;
        Ok(result
            .map(v0_1::completion_to_wit)
            .map_err(v0_1::error_to_wit))
    }
}

/// The `llm` import over host types, whichever contract version the template speaks.
impl PluginState {
    fn llm_info(&self) -> Option<LlmInfo> {
        self.ctx.llm.as_ref().map(|h| h.0.info())
    }

    fn plan_announced(&self, plan: Plan) {
        if let Some(h) = &self.ctx.llm {
            h.0.announce_plan(plan);
        }
    }

    async fn llm_complete(
        &mut self,
        request: CompletionRequest,
    ) -> Result<Completion, PluginError> {
        let Some(handle) = &self.ctx.llm else {
            return Err(PluginError::Config(
                "no summary provider is configured: set one with `--provider` or `[summary] provider` in config.toml, \
                 or use a template that works offline (`--template extractive`)"
                    .into(),
            ));
        };
        // The provider runs in its own store on its own task, so its fiber never nests in ours.
        let call = handle.0.complete(request);
        self.llm_wait.start();
        let result = tokio::spawn(call).await;
        self.llm_wait.stop();
        result.unwrap_or_else(|e| Err(PluginError::Other(format!("the provider call failed: {e}"))))
    }
}

/// The same host interfaces for plugins built for contract v0.2: each call is converted and
/// handled by the one implementation above.
mod for_v0_2 {
    use super::PluginState;
    use crate::plugins::bindings::host::minutes::plugin as v1;
    use crate::plugins::net::ResponseStream;
    use crate::plugins::wit::since_v0_2::{self as v0_2, config, http, llm, log};
    use wasmtime::component::Resource;

    impl log::Host for PluginState {
        async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
            <Self as v1::log::Host>::log(self, v0_2::log_level_to_v1(level), message).await
        }
    }

    impl config::Host for PluginState {
        async fn get(&mut self, key: String) -> wasmtime::Result<Option<config::Value>> {
            Ok(<Self as v1::config::Host>::get(self, key)
                .await?
                .map(v0_2::config_value_from_v1))
        }
    }

    impl http::Host for PluginState {
        async fn fetch(
            &mut self,
            request: http::Request,
        ) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
            let r =
                <Self as v1::http::Host>::fetch(self, v0_2::http_request_to_v1(request)).await?;
            Ok(r.map(v0_2::http_response_from_v1)
                .map_err(v0_2::http_error_from_v1))
        }

        async fn fetch_stream(
            &mut self,
            request: http::Request,
        ) -> wasmtime::Result<Result<Resource<ResponseStream>, http::HttpError>> {
            let r = <Self as v1::http::Host>::fetch_stream(self, v0_2::http_request_to_v1(request))
                .await?;
            Ok(r.map_err(v0_2::http_error_from_v1))
        }
    }

    impl http::HostResponseStream for PluginState {
        async fn status(&mut self, stream: Resource<ResponseStream>) -> wasmtime::Result<u16> {
            <Self as v1::http::HostResponseStream>::status(self, stream).await
        }

        async fn headers(
            &mut self,
            stream: Resource<ResponseStream>,
        ) -> wasmtime::Result<Vec<(String, String)>> {
            <Self as v1::http::HostResponseStream>::headers(self, stream).await
        }

        async fn next_chunk(
            &mut self,
            stream: Resource<ResponseStream>,
        ) -> wasmtime::Result<Result<Option<Vec<u8>>, http::HttpError>> {
            Ok(
                <Self as v1::http::HostResponseStream>::next_chunk(self, stream)
                    .await?
                    .map_err(v0_2::http_error_from_v1),
            )
        }

        async fn drop(&mut self, stream: Resource<ResponseStream>) -> wasmtime::Result<()> {
            <Self as v1::http::HostResponseStream>::drop(self, stream).await
        }
    }

    impl llm::Host for PluginState {
        async fn info(&mut self) -> wasmtime::Result<Option<llm::LlmInfo>> {
            Ok(self.llm_info().map(v0_2::llm_info_to_wit))
        }

        async fn announce_plan(&mut self, plan: llm::Plan) -> wasmtime::Result<()> {
            self.plan_announced(v0_2::plan_from_wit(plan));
            Ok(())
        }

        async fn complete(
            &mut self,
            request: v0_2::types::CompletionRequest,
        ) -> wasmtime::Result<Result<v0_2::types::Completion, v0_2::types::PluginError>> {
            let result = self.llm_complete(v0_2::request_from_wit(request)).await;
            Ok(result
                .map(v0_2::completion_to_wit)
                .map_err(v0_2::error_to_wit))
        }
    }
}
