//! `minutes app`: a local web interface to the meetings, served on 127.0.0.1 only. It is the
//! same library as the CLI: the store, the meeting job, the plugins. Pages are rendered on the
//! server with maud, which escapes every value it interpolates; a little plain JavaScript
//! (search as you type, the player) is embedded in the binary with the CSS. Nothing is fetched
//! from elsewhere, so the app works offline.

pub(crate) mod assets;
mod audio;
mod forms;
mod import;
mod jobs;
mod manage;
mod offline;
mod pages;
mod plugins;
mod privacy;
mod record;
mod resummarize;
mod security;
mod server;
mod settings;
mod upload;

use crate::cli::Context;
use crate::store::{Store, StoreError};
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

pub use pages::FIRST_LINES;
pub use record::TestSources;
pub use server::router;

/// How `minutes app` starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// 0: a free port.
    pub port: u16,
    pub open_browser: bool,
    /// WAV files offered as the record page's sources (tests, demos).
    pub test_sources: record::TestSources,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(
        "cannot listen on {addr}: {source}; pick another port with --port, or leave it out for a free one"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the app's server failed: {0}")]
    Serve(std::io::Error),
    #[error("cannot start the app's runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot make the app's secret: {0}")]
    Random(String),
}

/// What every request handler shares.
pub struct App {
    pub(crate) ctx: Context,
    pub(crate) store: Store,
    pub(crate) secrets: security::Secrets,
    /// The port the server listens on: the Host and Origin headers must name it.
    pub(crate) port: u16,
    /// Work started from pages, with its progress.
    pub(crate) jobs: jobs::Jobs,
    /// Started with `--offline`: offline whatever config.toml says.
    pub(crate) offline_flag: bool,
    /// The recording started from the record page, while it runs and is finished.
    pub(crate) recording: std::sync::Mutex<Option<record::Active>>,
    pub(crate) test_sources: record::TestSources,
}

impl App {
    /// The app over the store of `ctx`'s home, answering on `port`.
    pub fn new(ctx: Context, port: u16) -> Result<App, AppError> {
        let store = Store::open(&ctx.home)?;
        // Offline at start but not in config.toml: the command line asked for it.
        let offline_flag =
            ctx.offline && !crate::cli::offline_in_config(&ctx.home).unwrap_or(false);
        Ok(App {
            offline_flag,
            ctx,
            store,
            secrets: security::Secrets::new()?,
            port,
            jobs: jobs::Jobs::default(),
            recording: std::sync::Mutex::new(None),
            test_sources: record::TestSources::default(),
        })
    }

    /// The context for work started now: offline mode as config.toml says at this moment
    /// (the privacy page switches it), or as `--offline` holds it.
    pub(crate) fn context(&self) -> anyhow::Result<Context> {
        Ok(Context {
            home: self.ctx.home.clone(),
            offline: offline::state(self)?.on,
        })
    }

    /// The address to open: it carries this start's token.
    pub fn address(&self) -> String {
        format!(
            "http://127.0.0.1:{}/?token={}",
            self.port,
            self.secrets.token()
        )
    }
}

/// Serves until Ctrl-C.
pub fn run(ctx: Context, options: Options) -> Result<(), AppError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(AppError::Runtime)?;
    rt.block_on(serve(ctx, options))
}

async fn serve(ctx: Context, options: Options) -> Result<(), AppError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| AppError::Bind { addr, source })?;
    let port = listener
        .local_addr()
        .map_err(|source| AppError::Bind { addr, source })?
        .port();
    // Retention and migrations run as for every command that opens the store.
    let _ = crate::cli::meetings::open_store(&ctx.home)
        .map_err(|e| tracing::warn!("meetings store: {e:#}"));
    let mut app = App::new(ctx, port)?;
    app.test_sources = options.test_sources.clone();
    let app = Arc::new(app);
    let address = app.address();
    // One line on stdout, for people and for scripts: `minutes app: <address>`.
    println!("minutes app: {address}");
    let _ = std::io::stdout().flush();
    eprintln!("serving your meetings on 127.0.0.1:{port} — Ctrl-C stops");
    if options.open_browser {
        open_browser(&address);
    }
    let shutdown = app.clone();
    axum::serve(listener, router(app))
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            // A recording from the record page is stopped and its meeting made before the
            // app exits (the runtime waits for its job); killed instead, the audio waits for
            // `minutes recover`.
            if record::stop(&shutdown).is_some() {
                eprintln!(
                    "stopping the recording and making its meeting before the app exits (kill it to leave that to `minutes recover`)"
                );
            }
        })
        .await
        .map_err(AppError::Serve)
}

/// Opens `url` in the default browser; says so when there is none, and goes on serving.
fn open_browser(url: &str) {
    let (program, args): (&str, Vec<&str>) = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(windows) {
        ("cmd", vec!["/C", "start", "", url])
    } else {
        ("xdg-open", vec![url])
    };
    let spawned = std::process::Command::new(program)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reaped in the background: xdg-open may wait for the browser.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => eprintln!("could not open a browser ({program}: {e}); open the address above"),
    }
}
