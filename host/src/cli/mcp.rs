//! `minutes mcp`: see crate::mcp.

#[derive(clap::Args)]
#[command(
    after_help = "An AI assistant (Claude Desktop, Cursor, Zed, …) starts this itself as a local MCP server: \
    see \"Meetings in your AI assistant\" in the README for the settings each expects.\n\n\
    What it may see is set under [mcp] in config.toml:\n  \
    [mcp]\n  \
    hidden_labels = [\"hr\"]     # never exposed (default: labels with local_only in [policy.labels.*])\n  \
    allowed_labels = [\"acme\"]  # only these (an unlabelled meeting is hidden too)\n  \
    transcripts = true         # default false: metadata, summaries, decisions, action items only\n\n\
    Every call is recorded: `minutes audit` shows what the assistant read. Nothing is changed or \
    deleted while serving (retention does not run)."
)]
pub struct McpArgs {}

pub fn run(home: &crate::plugins::Home, _args: McpArgs) -> anyhow::Result<()> {
    crate::mcp::serve(home)
}
