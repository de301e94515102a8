//! `minutes mcp`: the meetings store as a local Model Context Protocol server over stdio, for
//! AI assistants (Claude Desktop, Cursor, Zed, …), with a disclosure ledger.
//!
//! What an assistant may see is the user's choice (`[mcp]` in config.toml, see [`config`]);
//! every tool call is recorded, with the meetings its answer carried and its size, in the
//! ledger beside the egress rows, so `minutes audit` shows what the assistant read.
//!
//! Serving is read-only: the store is opened without the retention pass other commands make
//! (nothing is ever deleted here), and no tool writes a meeting. Stdout carries the protocol
//! only: before anything else runs, the protocol gets its own copy of stdout and stdout itself
//! is pointed at stderr ([`reserve_stdout`]), so no notice, log line or stray print can
//! corrupt the stream.

pub mod config;
pub mod tools;

use crate::ledger::{Disclosure, DisclosureOutcome, EgressLedger};
use crate::plugins::Home;
use crate::store::Store;
use config::McpConfig;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use tools::{ToolError, Tools};

/// The server: one store, one ledger, one set of disclosure rules.
pub struct Server {
    store: Store,
    ledger: EgressLedger,
    config: McpConfig,
}

impl Server {
    /// Reads `[mcp]` from config.toml and opens the store (without retention) and the ledger.
    pub fn open(home: &Home) -> anyhow::Result<Server> {
        let table = crate::cli::config_table(home)?;
        let config = McpConfig::from_config(table.as_ref())
            .map_err(|e| anyhow::anyhow!("{}: {e}", home.config_path().display()))?;
        Ok(Server {
            store: Store::open(home)?,
            ledger: EgressLedger::open(&home.ledger_path())?,
            config,
        })
    }

    pub fn config(&self) -> &McpConfig {
        &self.config
    }

    /// The tools this server lists; get_transcript only when transcripts are exposed.
    pub fn tools(&self) -> Vec<Tool> {
        let transcripts = self.config.transcripts;
        tools::names(&self.config)
            .into_iter()
            .map(|name| {
                let description: String = match name {
                    "search_meetings" if transcripts => "Search the user's meetings: summaries and transcripts. Returns meetings with the matching passages (transcript passages with their times).".into(),
                    "search_meetings" => "Search the user's meeting summaries (transcripts are not exposed). Returns meetings with the matching passages.".into(),
                    "list_meetings" => "List the user's meetings, newest first: id, title, start time, length, labels.".into(),
                    "get_meeting" => "One meeting by id: metadata, summary sections, action items, decisions and open questions.".into(),
                    "get_transcript" => format!("A meeting's transcript, one page at a time (at most {} words a page), with times and speakers; start from a time with from_ms.", tools::WORDS_PER_PAGE),
                    _ => "Action items across the user's meetings, newest meetings first; filter by owner or start date.".into(),
                };
                Tool::new(name, description, tools::input_schema(name)).annotate(ToolAnnotations::from_raw(
                    None,
                    Some(true),
                    Some(false),
                    Some(true),
                    Some(false),
                ))
            })
            .collect()
    }

    /// Runs one tool call for `client` and records it in the disclosure ledger: the path the
    /// protocol and the benchmark both take. An answer whose record cannot be written is not
    /// given: nothing is disclosed off the record.
    pub fn answer(
        &self,
        client: &str,
        name: &str,
        arguments: Option<JsonObject>,
    ) -> Result<CallToolResult, ErrorData> {
        let mut record = Disclosure {
            id: None,
            time_ms: now_ms(),
            client: client.chars().take(200).collect(),
            tool: name.chars().take(100).collect(),
            arguments: serde_json::to_string(&arguments).unwrap_or_default(),
            meeting_ids: Vec::new(),
            bytes_returned: 0,
            outcome: DisclosureOutcome::Refused,
            reason: None,
        };
        let tools = Tools {
            store: &self.store,
            config: &self.config,
        };
        match tools.call(name, arguments.unwrap_or_default()) {
            Ok(answer) => {
                let result = CallToolResult::structured(answer.value);
                record.bytes_returned = serde_json::to_vec(&result).map_or(0, |v| v.len() as u64);
                record.meeting_ids = answer.meeting_ids;
                record.outcome = DisclosureOutcome::Returned;
                if let Err(e) = self.ledger.record_disclosure(&record) {
                    tracing::error!("not answering {name}: {e}");
                    return Err(ErrorData::internal_error(
                        "minutes could not record this call in its disclosure ledger, so it gives no answer; the user can see why in minutes' log",
                        None,
                    ));
                }
                Ok(result)
            }
            Err(e) => {
                let error = match &e {
                    ToolError::Store(inner) => {
                        // The details name files on the user's disk: they go to the log only.
                        tracing::error!("{name}: {inner}");
                        ErrorData::internal_error(
                            "the meetings store failed; the user can see why in minutes' log",
                            None,
                        )
                    }
                    _ => ErrorData::invalid_params(e.to_string(), None),
                };
                record.reason = Some(e.to_string());
                if let Err(e) = self.ledger.record_disclosure(&record) {
                    tracing::error!("cannot record a refused {name} call: {e}");
                }
                Err(error)
            }
        }
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("minutes", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "The user's meetings, recorded and transcribed on their machine by minutes. \
                 Read-only. The user decides what is exposed: {}. Every call is recorded and \
                 shown to the user by `minutes audit`.",
                self.config.describe()
            ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let client = context
            .client_info()
            .map(|i| format!("{} {}", i.name, i.version))
            .unwrap_or_else(|| "unnamed client".into());
        self.answer(&client, &request.name, request.arguments)
            .map(Into::into)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Serves MCP on stdin/stdout until the client closes stdin.
pub fn serve(home: &Home) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    let server = Server::open(home)?;
    let at_terminal = std::io::stdin().is_terminal();
    let output = protocol_output()?;
    eprintln!(
        "minutes mcp: serving the meetings in {} to an MCP client on stdin/stdout; exposing {}. \
         Every call is recorded: `minutes audit` shows them.",
        home.root().display(),
        server.config().describe()
    );
    if at_terminal {
        eprintln!(
            "(an AI assistant starts this itself: see \"Meetings in your AI assistant\" in the README; Ctrl-D ends it)"
        );
    }
    crate::cli::block_on(async move {
        let running = server
            .serve((tokio::io::stdin(), output))
            .await
            .map_err(|e| anyhow::anyhow!("the MCP client did not start a session: {e}"))?;
        running.waiting().await?;
        anyhow::Ok(())
    })?
}

/// The protocol's own copy of stdout, taken by [`reserve_stdout`].
#[cfg(unix)]
static PROTOCOL_OUT: std::sync::Mutex<Option<std::fs::File>> = std::sync::Mutex::new(None);

/// Gives the protocol its own copy of stdout and points stdout itself at stderr, so that
/// anything else printed from now on (a notice from deep inside, a panic message) cannot land
/// in the protocol stream. Called first thing by `minutes mcp`, before any notice is possible.
#[cfg(unix)]
pub fn reserve_stdout() -> anyhow::Result<()> {
    use std::os::fd::{FromRawFd as _, OwnedFd};
    let mut slot = PROTOCOL_OUT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if slot.is_some() {
        return Ok(());
    }
    // SAFETY: dup on the standard output descriptor, checked below.
    let protocol = unsafe { libc::dup(1) };
    if protocol < 0 {
        anyhow::bail!(
            "cannot duplicate stdout: {}",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: `protocol` is a fresh descriptor nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(protocol) };
    // SAFETY: dup2 between the standard descriptors, checked.
    if unsafe { libc::dup2(2, 1) } < 0 {
        anyhow::bail!(
            "cannot point stdout at stderr: {}",
            std::io::Error::last_os_error()
        );
    }
    *slot = Some(std::fs::File::from(owned));
    Ok(())
}

#[cfg(not(unix))]
pub fn reserve_stdout() -> anyhow::Result<()> {
    Ok(())
}

/// Where protocol messages go: the copy of stdout [`reserve_stdout`] took.
#[cfg(unix)]
fn protocol_output() -> anyhow::Result<tokio::fs::File> {
    reserve_stdout()?;
    let file = PROTOCOL_OUT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
        .ok_or_else(|| anyhow::anyhow!("stdout was already handed to the protocol"))?;
    Ok(tokio::fs::File::from_std(file))
}

#[cfg(not(unix))]
fn protocol_output() -> anyhow::Result<tokio::io::Stdout> {
    Ok(tokio::io::stdout())
}
