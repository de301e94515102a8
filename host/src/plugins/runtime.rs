//! The sandbox: one wasmtime `Engine` with epoch interruption, a `Linker` per kind built once,
//! an `InstancePre` per loaded plugin, and a fresh `Store` per call with a memory cap and a
//! deadline.

use super::bindings::{
    exporter, host::minutes::plugin as host_if, networked_exporter, provider, template, types,
};
use super::capabilities;
use super::error::Error;
use super::host_api::{LlmHandle, PluginContext, PluginState, WaitClock};
use super::manifest::{Kind, Manifest};
use super::net::allowlist::Allowlist;
use super::net::{NetOptions, NetShared, PluginNet, SecretRule};
use super::package::sha256_hex;
use super::wit::since_v0_1 as v0_1;
use super::wit::since_v0_2 as v0_2;
use super::wit::{self, ContractVersion};
use crate::model;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, UpdateDeadline};

/// How often the epoch advances: the granularity of stopping a runaway guest.
const EPOCH_TICK: Duration = Duration::from_millis(10);

pub struct Runtime {
    engine: Engine,
    /// One linker per kind and contract version, built on first use: a command that runs one
    /// exporter does not pay for the other kinds' WASI bindings.
    linkers: HashMap<(Kind, ContractVersion), std::sync::OnceLock<Linker<PluginState>>>,
    cache_dir: PathBuf,
    compat: String,
    net_options: NetOptions,
    /// Built on first use: commands that load no networked plugin never set up TLS.
    net: std::sync::OnceLock<Arc<NetShared>>,
    _ticker: EpochTicker,
}

/// What the user granted a plugin on the network, resolved by the registry.
#[derive(Default)]
pub struct NetGrant {
    pub allowlist: Allowlist,
    pub secrets: Vec<SecretRule>,
}

/// Advances the engine's epoch so that guests yield regularly; stops with the runtime.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: &Engine) -> Result<Self, Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("minutes-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .map_err(Error::io("cannot start the plugin timer thread"))?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct HasIo;
impl wasmtime::component::HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

/// WASI p2 without sockets: the CLI, I/O, clock and random interfaces a Rust guest imports,
/// and filesystem types with no preopened directory (nothing can be opened).
fn add_wasi(l: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::WasiView;
    use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView as _};
    use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, io, random};
    use wasmtime_wasi::random::WasiRandom;
    type S = PluginState;
    io::error::add_to_linker::<S, HasIo>(l, |t| t.ctx().table)?;
    io::poll::add_to_linker::<S, HasIo>(l, |t| t.ctx().table)?;
    io::streams::add_to_linker::<S, HasIo>(l, |t| t.ctx().table)?;
    clocks::wall_clock::add_to_linker::<S, WasiClocks>(l, S::clocks)?;
    clocks::monotonic_clock::add_to_linker::<S, WasiClocks>(l, S::clocks)?;
    filesystem::types::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?;
    filesystem::preopens::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?;
    random::random::add_to_linker::<S, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure::add_to_linker::<S, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<S, WasiRandom>(l, |t| t.ctx().ctx.random())?;
    cli::exit::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::environment::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::stdin::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::stdout::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::stderr::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_input::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_output::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_stdin::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_stdout::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_stderr::add_to_linker::<S, WasiCli>(l, S::cli)?;
    Ok(())
}

/// The linker for one kind: exactly the interfaces of its world.
fn linker_for(
    engine: &Engine,
    kind: Kind,
    version: ContractVersion,
) -> wasmtime::Result<Linker<PluginState>> {
    let mut l = Linker::new(engine);
    add_wasi(&mut l)?;
    match version {
        ContractVersion::V0_1 => {
            host_if::log::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?;
            host_if::config::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?;
            if kind.uses_network() {
                host_if::http::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?;
            }
            if kind == Kind::Template {
                host_if::llm::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?;
            }
        }
        ContractVersion::V0_2 => {
            v0_2::log::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?;
            v0_2::config::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?;
            if kind.uses_network() {
                v0_2::http::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?;
            }
            if kind == Kind::Template {
                v0_2::llm::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?;
            }
        }
    }
    Ok(l)
}

/// The typed entry points of a loaded plugin, by kind and contract version (`…2`: v0.2).
#[derive(Clone)]
enum Entry {
    Provider(provider::ProviderPre<PluginState>),
    Template(template::TemplatePre<PluginState>),
    Exporter(exporter::ExporterPre<PluginState>),
    NetworkedExporter(networked_exporter::NetworkedExporterPre<PluginState>),
    Provider2(v0_2::provider::ProviderPre<PluginState>),
    Template2(v0_2::template::TemplatePre<PluginState>),
    Exporter2(v0_2::exporter::ExporterPre<PluginState>),
    NetworkedExporter2(v0_2::networked_exporter::NetworkedExporterPre<PluginState>),
}

impl Runtime {
    /// `cache_dir` holds precompiled components; only this host writes there. Plugins get the
    /// network with the default options (online, no ledger).
    pub fn new(cache_dir: &Path) -> Result<Runtime, Error> {
        Self::with_network(cache_dir, NetOptions::default())
    }

    pub fn with_network(cache_dir: &Path, net_options: NetOptions) -> Result<Runtime, Error> {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config).map_err(|e| Error::Engine(e.to_string()))?;
        let linkers = Kind::ALL
            .into_iter()
            .flat_map(|k| ContractVersion::ALL.map(|v| ((k, v), std::sync::OnceLock::new())))
            .collect();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let compat = format!("{:016x}", h.finish());
        let _ticker = EpochTicker::start(&engine)?;
        Ok(Runtime {
            engine,
            linkers,
            cache_dir: cache_dir.to_path_buf(),
            compat,
            net_options,
            net: std::sync::OnceLock::new(),
            _ticker,
        })
    }

    fn linker(&self, kind: Kind, version: ContractVersion) -> Result<&Linker<PluginState>, Error> {
        let cell = &self.linkers[&(kind, version)];
        if let Some(l) = cell.get() {
            return Ok(l);
        }
        let linker =
            linker_for(&self.engine, kind, version).map_err(|e| Error::Engine(format!("{e:#}")))?;
        Ok(cell.get_or_init(|| linker))
    }

    /// True when no plugin may use the network in this run (`--offline`).
    pub fn offline(&self) -> bool {
        self.net_options.offline
    }

    fn net_shared(&self) -> Result<Arc<NetShared>, Error> {
        if let Some(n) = self.net.get() {
            return Ok(n.clone());
        }
        let shared = Arc::new(NetShared::new(self.net_options.clone()).map_err(Error::Engine)?);
        Ok(self.net.get_or_init(|| shared).clone())
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles a component and checks it against its declared kind. Nothing runs.
    pub fn compile_checked(&self, manifest: &Manifest, wasm: &[u8]) -> Result<Component, Error> {
        let component = Component::new(&self.engine, wasm).map_err(|e| Error::BadComponent {
            id: manifest.id.clone(),
            detail: format!("{e:#}"),
        })?;
        self.check(manifest, &component)?;
        Ok(component)
    }

    /// Imports allowed for the kind, exports present with the right types.
    fn check(&self, manifest: &Manifest, component: &Component) -> Result<Entry, Error> {
        let ty = component.component_type();
        let version = self.check_contract(manifest, component)?;
        for (name, _) in ty.imports(&self.engine) {
            if let Some(why) = capabilities::refusal(manifest.kind, name) {
                return Err(Error::ForbiddenImport {
                    id: manifest.id.clone(),
                    kind: manifest.kind,
                    import: name.to_string(),
                    why,
                });
            }
        }
        let linker = self.linker(manifest.kind, version)?;
        let bad = |e: wasmtime::Error| Error::BadExports {
            id: manifest.id.clone(),
            kind: manifest.kind,
            contract: version,
            detail: format!("{e:#}"),
        };
        let pre = linker
            .instantiate_pre(component)
            .map_err(|e| Error::BadComponent {
                id: manifest.id.clone(),
                detail: format!("{e:#}"),
            })?;
        Ok(match (version, manifest.kind) {
            (ContractVersion::V0_1, Kind::Provider) => {
                Entry::Provider(provider::ProviderPre::new(pre).map_err(bad)?)
            }
            (ContractVersion::V0_1, Kind::Template) => {
                Entry::Template(template::TemplatePre::new(pre).map_err(bad)?)
            }
            (ContractVersion::V0_1, Kind::Exporter) => {
                Entry::Exporter(exporter::ExporterPre::new(pre).map_err(bad)?)
            }
            (ContractVersion::V0_1, Kind::NetworkedExporter) => Entry::NetworkedExporter(
                networked_exporter::NetworkedExporterPre::new(pre).map_err(bad)?,
            ),
            (ContractVersion::V0_2, Kind::Provider) => {
                Entry::Provider2(v0_2::provider::ProviderPre::new(pre).map_err(bad)?)
            }
            (ContractVersion::V0_2, Kind::Template) => {
                Entry::Template2(v0_2::template::TemplatePre::new(pre).map_err(bad)?)
            }
            (ContractVersion::V0_2, Kind::Exporter) => {
                Entry::Exporter2(v0_2::exporter::ExporterPre::new(pre).map_err(bad)?)
            }
            (ContractVersion::V0_2, Kind::NetworkedExporter) => Entry::NetworkedExporter2(
                v0_2::networked_exporter::NetworkedExporterPre::new(pre).map_err(bad)?,
            ),
        })
    }

    /// The contract the component speaks, read from its own import and export names, must be
    /// the one its plugin.toml claims, and only one.
    pub fn check_contract(
        &self,
        manifest: &Manifest,
        component: &Component,
    ) -> Result<ContractVersion, Error> {
        let ty = component.component_type();
        let names: Vec<String> = ty
            .imports(&self.engine)
            .map(|(n, _)| n.to_string())
            .chain(ty.exports(&self.engine).map(|(n, _)| n.to_string()))
            .collect();
        let claimed = ContractVersion::from_api(&manifest.api);
        let speaks = match wit::spoken(names.iter().map(String::as_str)) {
            wit::Spoken::Mixed(versions) => {
                return Err(Error::MixedContract {
                    id: manifest.id.clone(),
                    claimed: manifest.api.clone(),
                    versions: versions
                        .iter()
                        .map(|v| format!("minutes:plugin@{v}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            wit::Spoken::One(v) if Some(v) != claimed => {
                return Err(Error::ContractMismatch {
                    id: manifest.id.clone(),
                    claimed: manifest.api.clone(),
                    speaks: v,
                });
            }
            wit::Spoken::One(v) => v,
            wit::Spoken::Unstated => claimed.unwrap_or(ContractVersion::V0_1),
        };
        Ok(speaks)
    }

    fn cache_path(&self, sha256: &str) -> PathBuf {
        self.cache_dir
            .join(format!("{sha256}-{}.cwasm", self.compat))
    }

    /// Writes the precompiled form of `component` where [`Runtime::load`] finds it.
    pub fn store_precompiled(&self, sha256: &str, component: &Component) -> Result<(), Error> {
        let bytes = component
            .serialize()
            .map_err(|e| Error::Engine(format!("{e:#}")))?;
        crate::fsperm::create_private_dir(&self.cache_dir).map_err(Error::io(format!(
            "cannot create {}",
            self.cache_dir.display()
        )))?;
        let path = self.cache_path(sha256);
        let tmp = tempfile::NamedTempFile::new_in(&self.cache_dir)
            .map_err(Error::io("cannot write the component cache"))?;
        std::fs::write(tmp.path(), bytes).map_err(Error::io("cannot write the component cache"))?;
        tmp.persist(&path)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()))(e.error))?;
        Ok(())
    }

    /// Drops precompiled artifacts of a component (all engine versions).
    pub fn forget_precompiled(&self, sha256: &str) {
        super::registry::remove_cached(&self.cache_dir, sha256)
    }

    /// Loads an installed plugin: its precompiled artifact when present (written by this host),
    /// else compiles the installed component after checking its hash.
    pub fn load(
        &self,
        manifest: &Manifest,
        component_file: &Path,
        config: ConfigMap,
        grant: NetGrant,
    ) -> Result<LoadedPlugin, Error> {
        let sha = &manifest.component.sha256;
        let cached = self.cache_path(sha);
        let component = match cached.is_file() {
            // SAFETY: the cache directory is written only by `store_precompiled`, atomically,
            // under a name that carries the component's sha256 and this engine's
            // compatibility hash; wasmtime additionally checks the artifact's header.
            true => unsafe { Component::deserialize_file(&self.engine, &cached) }.ok(),
            false => None,
        };
        let component = match component {
            Some(c) => c,
            None => {
                let wasm = std::fs::read(component_file).map_err(Error::io(format!(
                    "cannot read {}",
                    component_file.display()
                )))?;
                let actual = sha256_hex(&wasm);
                if &actual != sha {
                    return Err(super::package::PackageError::Checksum {
                        package: component_file.to_path_buf(),
                        file: manifest.component.file.clone(),
                        expected: sha.clone(),
                        actual,
                    }
                    .into());
                }
                let c = self.compile_checked(manifest, &wasm)?;
                if let Err(e) = self.store_precompiled(sha, &c) {
                    tracing::warn!("could not cache the compiled plugin {}: {e}", manifest.id);
                }
                c
            }
        };
        let entry = self.check(manifest, &component)?;
        let ctx = Arc::new(PluginContext {
            id: manifest.id.clone(),
            version: manifest.version.clone(),
            kind: manifest.kind,
            config,
            memory_limit: manifest.limits.memory_bytes(),
            net: match manifest.kind.uses_network() {
                true => Some(Arc::new(PluginNet::new(
                    &manifest.id,
                    &manifest.version,
                    grant.allowlist,
                    grant.secrets,
                    u64::from(manifest.limits.max_response_mib) * 1024 * 1024,
                    self.net_shared()?,
                ))),
                false => None,
            },
            meeting_id: None,
            llm: None,
        });
        Ok(LoadedPlugin {
            ctx,
            entry,
            engine: self.engine.clone(),
            timeout: Duration::from_secs(manifest.limits.call_timeout_secs.into()),
            memory_mib: manifest.limits.memory_mib,
        })
    }
}

pub type ConfigMap = std::collections::BTreeMap<String, super::manifest::ConfigValue>;

/// A plugin ready to be called. Each call runs in a fresh `Store`: no state survives between
/// calls, and a call that fails cannot poison the next one.
#[derive(Clone)]
pub struct LoadedPlugin {
    ctx: Arc<PluginContext>,
    entry: Entry,
    engine: Engine,
    timeout: Duration,
    memory_mib: u32,
}

/// Marker error returned by the epoch callback once the hard deadline has passed.
#[derive(Debug)]
struct DeadlinePassed;
impl std::fmt::Display for DeadlinePassed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("call deadline passed")
    }
}
impl std::error::Error for DeadlinePassed {}

/// The call ran past its deadline.
struct TimedOut;

type CallResult<T> = Result<wasmtime::Result<T>, TimedOut>;

impl LoadedPlugin {
    pub fn id(&self) -> &str {
        &self.ctx.id
    }

    pub fn kind(&self) -> Kind {
        self.ctx.kind
    }

    /// The same plugin, with its outbound requests recorded against `meeting_id`.
    pub fn for_meeting(&self, meeting_id: &str) -> LoadedPlugin {
        let ctx = PluginContext {
            meeting_id: Some(meeting_id.to_string()),
            ..(*self.ctx).clone()
        };
        LoadedPlugin {
            ctx: Arc::new(ctx),
            ..self.clone()
        }
    }

    /// The same plugin with one setting replaced for this use (e.g. a template's `language`).
    pub fn with_config(&self, key: &str, value: super::manifest::ConfigValue) -> LoadedPlugin {
        let mut ctx = (*self.ctx).clone();
        ctx.config.insert(key.to_string(), value);
        LoadedPlugin {
            ctx: Arc::new(ctx),
            ..self.clone()
        }
    }

    pub fn version(&self) -> &str {
        &self.ctx.version
    }

    /// The same template, with its `llm` calls going to `llm`.
    pub fn with_llm(&self, llm: Option<LlmHandle>) -> LoadedPlugin {
        let ctx = PluginContext {
            llm,
            ..(*self.ctx).clone()
        };
        LoadedPlugin {
            ctx: Arc::new(ctx),
            ..self.clone()
        }
    }

    fn new_store(&self) -> Store<PluginState> {
        call_store(&self.engine, self.ctx.clone(), self.timeout)
    }

    /// Runs `call` within the plugin's deadline, not counting time spent waiting for the model.
    async fn timed<T>(
        &self,
        waited: WaitClock,
        call: impl std::future::Future<Output = T>,
    ) -> Result<T, TimedOut> {
        let start = Instant::now();
        let mut call = std::pin::pin!(call);
        loop {
            let deadline = start + self.timeout + waited.waited();
            tokio::select! {
                out = &mut call => return Ok(out),
                _ = tokio::time::sleep_until(deadline.into()) => {
                    if Instant::now() >= start + self.timeout + waited.waited() {
                        return Err(TimedOut);
                    }
                }
            }
        }
    }

    /// Maps how a call ended to what the user is told.
    fn finish<T>(&self, store: Store<PluginState>, result: CallResult<T>) -> Result<T, Error> {
        let id = self.ctx.id.clone();
        let secs = self.timeout.as_secs() as u32;
        let state = store.into_data();
        let output = String::from_utf8_lossy(&state.stdio.contents()).into_owned();
        if !output.trim().is_empty() {
            tracing::debug!(plugin = %id, "plugin output:\n{}", output.trim_end());
        }
        match result {
            Err(_) => Err(Error::Timeout { id, secs }),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if e.downcast_ref::<DeadlinePassed>().is_some() => {
                Err(Error::Timeout { id, secs })
            }
            Ok(Err(_)) if state.limiter.hit => Err(Error::MemoryLimit {
                id,
                mib: self.memory_mib,
            }),
            Ok(Err(e)) => {
                let trap = e
                    .downcast_ref::<wasmtime::Trap>()
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| format!("{e:#}"));
                let detail = match panic_message(&output) {
                    Some(p) => format!("{p} ({trap})"),
                    None => trap,
                };
                Err(Error::Crashed { id, detail })
            }
        }
    }

    fn wrong_kind(&self, expected: Kind) -> Error {
        Error::WrongKind {
            id: self.ctx.id.clone(),
            actual: self.ctx.kind,
            expected,
        }
    }

    fn plugin_result<T>(&self, r: Result<T, types::PluginError>) -> Result<T, Error> {
        r.map_err(|error| Error::Plugin {
            id: self.ctx.id.clone(),
            error: v0_1::error_from_wit(error),
        })
    }

    fn plugin_result2<T>(&self, r: Result<T, v0_2::types::PluginError>) -> Result<T, Error> {
        r.map_err(|error| Error::Plugin {
            id: self.ctx.id.clone(),
            error: v0_2::error_from_wit(error),
        })
    }

    /// Runs one call of a plugin in a fresh store: instantiate, call, and turn traps, timeouts
    /// and the memory cap into errors.
    async fn run<T, F>(&self, waited: Option<WaitClock>, call: F) -> Result<T, Error>
    where
        F: AsyncFnOnce(&mut Store<PluginState>) -> wasmtime::Result<T>,
    {
        let mut store = self.new_store();
        let waited = match waited {
            Some(_) => store.data().llm_wait.clone(),
            None => WaitClock::default(),
        };
        let result = self.timed(waited, call(&mut store)).await;
        self.finish(store, result)
    }

    pub async fn exporter_info(&self) -> Result<model::ExporterInfo, Error> {
        match &self.entry {
            Entry::Exporter(pre) => self
                .run(None, async |s| {
                    pre.instantiate_async(&mut *s).await?.call_info(s).await
                })
                .await
                .map(v0_1::exporter_info_from_wit),
            Entry::NetworkedExporter(pre) => self
                .run(None, async |s| {
                    pre.instantiate_async(&mut *s).await?.call_info(s).await
                })
                .await
                .map(v0_1::exporter_info_from_wit),
            Entry::Exporter2(pre) => self
                .run(None, async |s| {
                    pre.instantiate_async(&mut *s).await?.call_info(s).await
                })
                .await
                .map(v0_2::exporter_info_from_wit),
            Entry::NetworkedExporter2(pre) => self
                .run(None, async |s| {
                    pre.instantiate_async(&mut *s).await?.call_info(s).await
                })
                .await
                .map(v0_2::exporter_info_from_wit),
            _ => Err(self.wrong_kind(Kind::Exporter)),
        }
    }

    pub async fn export(
        &self,
        format: &str,
        document: &model::Document,
    ) -> Result<Vec<model::OutputFile>, Error> {
        let files = |r: Vec<types::OutputFile>| -> Vec<model::OutputFile> {
            r.into_iter().map(v0_1::output_file_from_wit).collect()
        };
        let files2 = |r: Vec<v0_2::types::OutputFile>| -> Vec<model::OutputFile> {
            r.into_iter().map(v0_2::output_file_from_wit).collect()
        };
        match &self.entry {
            Entry::Exporter(pre) => {
                let doc = v0_1::document_to_wit(document);
                let r = self
                    .run(None, async |s| {
                        pre.instantiate_async(&mut *s)
                            .await?
                            .call_export(s, format, &doc)
                            .await
                    })
                    .await?;
                self.plugin_result(r).map(files)
            }
            Entry::NetworkedExporter(pre) => {
                let doc = v0_1::document_to_wit(document);
                let r = self
                    .run(None, async |s| {
                        pre.instantiate_async(&mut *s)
                            .await?
                            .call_export(s, format, &doc)
                            .await
                    })
                    .await?;
                self.plugin_result(r).map(files)
            }
            Entry::Exporter2(pre) => {
                let doc = v0_2::document_to_wit(document);
                let r = self
                    .run(None, async |s| {
                        pre.instantiate_async(&mut *s)
                            .await?
                            .call_export(s, format, &doc)
                            .await
                    })
                    .await?;
                self.plugin_result2(r).map(files2)
            }
            Entry::NetworkedExporter2(pre) => {
                let doc = v0_2::document_to_wit(document);
                let r = self
                    .run(None, async |s| {
                        pre.instantiate_async(&mut *s)
                            .await?
                            .call_export(s, format, &doc)
                            .await
                    })
                    .await?;
                self.plugin_result2(r).map(files2)
            }
            _ => Err(self.wrong_kind(Kind::Exporter)),
        }
    }

    pub async fn template_info(&self) -> Result<model::TemplateInfo, Error> {
        match &self.entry {
            Entry::Template(pre) => self
                .run(None, async |s| {
                    pre.instantiate_async(&mut *s).await?.call_info(s).await
                })
                .await
                .map(v0_1::template_info_from_wit),
            Entry::Template2(pre) => self
                .run(None, async |s| {
                    pre.instantiate_async(&mut *s).await?.call_info(s).await
                })
                .await
                .map(v0_2::template_info_from_wit),
            _ => Err(self.wrong_kind(Kind::Template)),
        }
    }

    pub async fn summarize(
        &self,
        transcript: &model::Transcript,
        metadata: &model::MeetingMetadata,
    ) -> Result<model::Summary, Error> {
        let waited = Some(WaitClock::default());
        match &self.entry {
            Entry::Template(pre) => {
                let t = v0_1::transcript_to_wit(transcript);
                let m = v0_1::metadata_to_wit(metadata);
                let r = self
                    .run(waited, async |s| {
                        pre.instantiate_async(&mut *s)
                            .await?
                            .call_summarize(s, &t, &m)
                            .await
                    })
                    .await?;
                self.plugin_result(r).map(v0_1::summary_from_wit)
            }
            Entry::Template2(pre) => {
                let t = v0_2::transcript_to_wit(transcript);
                let m = v0_2::metadata_to_wit(metadata, &transcript.speakers);
                let r = self
                    .run(waited, async |s| {
                        pre.instantiate_async(&mut *s)
                            .await?
                            .call_summarize(s, &t, &m)
                            .await
                    })
                    .await?;
                self.plugin_result2(r).map(v0_2::summary_from_wit)
            }
            _ => Err(self.wrong_kind(Kind::Template)),
        }
    }

    /// Answers a question from passages (v0.2 templates only; a v0.1 template has no `ask`
    /// and says so through its info's `answers_questions`).
    pub async fn ask(
        &self,
        question: &str,
        passages: &[model::Passage],
    ) -> Result<model::Answer, Error> {
        match &self.entry {
            Entry::Template2(pre) => {
                let p: Vec<_> = passages.iter().map(v0_2::passage_to_wit).collect();
                let r = self
                    .run(Some(WaitClock::default()), async |s| {
                        pre.instantiate_async(&mut *s)
                            .await?
                            .call_ask(s, question, &p)
                            .await
                    })
                    .await?;
                self.plugin_result2(r).map(v0_2::answer_from_wit)
            }
            Entry::Template(_) => Err(Error::Plugin {
                id: self.ctx.id.clone(),
                error: model::PluginError::InvalidInput(
                    "this template was built for minutes:plugin@0.1.0, which cannot answer questions"
                        .into(),
                ),
            }),
            _ => Err(self.wrong_kind(Kind::Template)),
        }
    }

    pub async fn provider_info(&self) -> Result<model::ProviderInfo, Error> {
        match &self.entry {
            Entry::Provider(pre) => self
                .run(None, async |s| {
                    pre.instantiate_async(&mut *s).await?.call_info(s).await
                })
                .await
                .map(v0_1::provider_info_from_wit),
            Entry::Provider2(pre) => self
                .run(None, async |s| {
                    pre.instantiate_async(&mut *s).await?.call_info(s).await
                })
                .await
                .map(v0_2::provider_info_from_wit),
            _ => Err(self.wrong_kind(Kind::Provider)),
        }
    }

    pub async fn complete(
        &self,
        request: &model::CompletionRequest,
    ) -> Result<model::Completion, Error> {
        match &self.entry {
            Entry::Provider(pre) => {
                let req = v0_1::request_to_wit(request);
                let r = self
                    .run(None, async |s| {
                        pre.instantiate_async(&mut *s)
                            .await?
                            .call_complete(s, &req)
                            .await
                    })
                    .await?;
                self.plugin_result(r).map(v0_1::completion_from_wit)
            }
            Entry::Provider2(pre) => {
                let req = v0_2::request_to_wit(request);
                let r = self
                    .run(None, async |s| {
                        pre.instantiate_async(&mut *s)
                            .await?
                            .call_complete(s, &req)
                            .await
                    })
                    .await?;
                self.plugin_result2(r).map(v0_2::completion_from_wit)
            }
            _ => Err(self.wrong_kind(Kind::Provider)),
        }
    }
}

/// The `Store` of one call: the memory cap and instance counts of [`MemoryLimiter`], and a
/// deadline.
///
/// [`MemoryLimiter`]: super::host_api::MemoryLimiter
fn call_store(engine: &Engine, ctx: Arc<PluginContext>, timeout: Duration) -> Store<PluginState> {
    let deadline = Instant::now() + timeout;
    let mut store = Store::new(engine, PluginState::new(ctx, deadline));
    store.limiter(|s| &mut s.limiter);
    // The guest yields to the executor at every epoch tick, so the timeout around the call
    // can stop a spinning guest; host awaits (network) are not interrupted by epochs. Past
    // the deadline plus a grace period the guest is trapped outright. Time spent waiting
    // for the language model moves both deadlines.
    let hard_deadline = Instant::now() + timeout + Duration::from_secs(1);
    let waited = store.data().llm_wait.clone();
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= hard_deadline + waited.waited() {
            return Err(wasmtime::Error::new(DeadlinePassed));
        }
        Ok(UpdateDeadline::Yield(1))
    });
    store
}

/// The message of a Rust guest's panic, from its captured stderr.
fn panic_message(output: &str) -> Option<String> {
    let start = output.rfind("panicked at")?;
    let text = &output[start..];
    // "panicked at src/lib.rs:12:9:\nthe message\nnote: ..."
    let mut lines = text.lines();
    let location = lines.next()?.trim_end_matches(':').to_string();
    let message: Vec<&str> = lines.take_while(|l| !l.starts_with("note:")).collect();
    let text = format!("{} — {}", message.join(" ").trim(), location);
    Some(crate::term::clean(&text).into_owned())
}

#[cfg(test)]
mod tests {
    //! Components no plugin SDK would build, made by hand: the limits must hold for any shape
    //! of component, not only for one memory in one instance.
    use super::*;
    use wasm_encoder::{
        Component as ComponentBytes, InstanceSection, MemorySection, MemoryType, Module, ModuleArg,
        ModuleSection, TableSection, TableType,
    };

    const MIB: u64 = 1024 * 1024;
    const PAGE: u64 = 64 * 1024;

    /// A core module that only defines memories of `pages` each and `tables` tables.
    fn module(memories: &[u64], table_elements: &[u64]) -> Module {
        let mut module = Module::new();
        let mut tables = TableSection::new();
        for &minimum in table_elements {
            tables.table(TableType {
                element_type: wasm_encoder::RefType::FUNCREF,
                table64: false,
                minimum,
                maximum: None,
                shared: false,
            });
        }
        module.section(&tables);
        let mut mems = MemorySection::new();
        for &minimum in memories {
            mems.memory(MemoryType {
                minimum,
                maximum: None,
                memory64: false,
                shared: false,
                page_size_log2: None,
            });
        }
        module.section(&mems);
        module
    }

    /// A component that instantiates each module `times` times.
    fn component(modules: &[Module], times: usize) -> Vec<u8> {
        let mut c = ComponentBytes::new();
        for m in modules {
            c.section(&ModuleSection(m));
        }
        let mut instances = InstanceSection::new();
        for index in 0..modules.len() as u32 {
            for _ in 0..times {
                instances.instantiate(index, Vec::<(&str, ModuleArg)>::new());
            }
        }
        c.section(&instances);
        c.finish()
    }

    /// Instantiates `wasm` in a plugin call's store with a cap of `limit` bytes.
    fn instantiate(wasm: &[u8], limit: u64) -> (Result<(), String>, bool) {
        let cache = tempfile::tempdir().expect("tempdir");
        let runtime = Runtime::new(cache.path()).expect("runtime");
        let component = Component::new(runtime.engine(), wasm).expect("valid component");
        let ctx = Arc::new(PluginContext {
            id: "hand-built".into(),
            version: "0.1.0".into(),
            kind: Kind::Exporter,
            config: ConfigMap::new(),
            memory_limit: limit as usize,
            net: None,
            meeting_id: None,
            llm: None,
        });
        let mut store = call_store(runtime.engine(), ctx, Duration::from_secs(10));
        let linker = Linker::<PluginState>::new(runtime.engine());
        let result = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("tokio")
            .block_on(linker.instantiate_async(&mut store, &component))
            .map(|_| ())
            .map_err(|e| format!("{e:#}"));
        (result, store.data().limiter.hit)
    }

    #[test]
    fn memories_of_all_instances_count_against_one_cap() {
        let cap = 10 * MIB;
        let sixty_percent = cap * 6 / 10 / PAGE;
        // One memory of 60 %: fits.
        let one = component(&[module(&[sixty_percent], &[])], 1);
        let (result, hit) = instantiate(&one, cap);
        assert!(result.is_ok() && !hit, "{result:?}");
        // Two of them, in two core instances of two modules: 120 % of the cap.
        let two_modules = component(
            &[module(&[sixty_percent], &[]), module(&[sixty_percent], &[])],
            1,
        );
        let (result, hit) = instantiate(&two_modules, cap);
        assert!(
            result.is_err() && hit,
            "two 60 % memories were allowed: {result:?}"
        );
        // Two in one module (multi-memory).
        let multi = component(&[module(&[sixty_percent, sixty_percent], &[])], 1);
        let (result, hit) = instantiate(&multi, cap);
        assert!(
            result.is_err() && hit,
            "two 60 % memories were allowed: {result:?}"
        );
        // The same module instantiated twice.
        let twice = component(&[module(&[sixty_percent], &[])], 2);
        let (result, hit) = instantiate(&twice, cap);
        assert!(
            result.is_err() && hit,
            "two 60 % memories were allowed: {result:?}"
        );
    }

    #[test]
    fn tables_count_against_the_memory_cap() {
        let cap = 10 * MIB;
        // 8 bytes an element: 60 % of the cap in each of two tables.
        let elements = cap * 6 / 10 / 8;
        let tables = component(&[module(&[], &[elements, elements])], 1);
        let (result, hit) = instantiate(&tables, cap);
        assert!(
            result.is_err() && hit,
            "tables beyond the cap were allowed: {result:?}"
        );
    }

    #[test]
    fn instances_memories_and_tables_are_counted() {
        let cap = 64 * MIB;
        let empty = component(
            &[module(&[], &[])],
            crate::plugins::host_api::MAX_INSTANCES + 1,
        );
        let (result, _) = instantiate(&empty, cap);
        let err = result.expect_err("more instances than the limit");
        assert!(err.contains("instance"), "{err}");
        let (result, _) = instantiate(&component(&[module(&[], &[])], 10), cap);
        assert!(result.is_ok(), "{result:?}");

        let memories = vec![0; crate::plugins::host_api::MAX_MEMORIES + 1];
        let memories = component(&[module(&memories, &[])], 1);
        let err = instantiate(&memories, cap)
            .0
            .expect_err("too many memories");
        assert!(err.contains("memor"), "{err}");

        // A module may declare at most 100 tables: two modules of half the limit and one more.
        let half = vec![0; crate::plugins::host_api::MAX_TABLES / 2 + 1];
        let tables = component(&[module(&[], &half), module(&[], &half)], 1);
        let err = instantiate(&tables, cap).0.expect_err("too many tables");
        assert!(err.contains("table"), "{err}");
    }
}
