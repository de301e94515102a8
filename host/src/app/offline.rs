//! Offline mode from the app: `offline = true` at the top of config.toml, the same switch the
//! CLI reads. The file is edited in place (comments and other settings kept). `minutes app
//! --offline` holds it on for the app's run, and the page says so.

use super::App;
use maud::{Markup, html};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// Plugins may not use the network now.
    pub on: bool,
    /// `--offline` on the command line: the switch cannot turn it off.
    pub forced: bool,
}

/// Offline mode as it stands now (config.toml is read again each time).
pub fn state(app: &App) -> anyhow::Result<State> {
    let config = crate::cli::offline_in_config(&app.ctx.home)?;
    Ok(State {
        on: app.offline_flag || config,
        forced: app.offline_flag,
    })
}

/// Writes `offline = on` at the top of config.toml, keeping the rest of the file as it is.
pub fn set(app: &App, on: bool) -> Result<(), crate::config_edit::ConfigEditError> {
    use crate::config_edit::{Edit, apply};
    apply(&app.ctx.home, &[Edit::set(None, "offline", on)])?;
    tracing::info!(offline = on, "app: offline mode set in config.toml");
    Ok(())
}

/// The switch, as a form with one button.
pub fn switch(state: State) -> Markup {
    html! {
        div.card.offline.on[state.on] {
            @if state.on {
                p { strong { "Offline: " } "no plugin may use the network. Summaries are made on this machine." }
            } @else {
                p { strong { "Online: " } "plugins may reach the hosts granted to them below, and nothing else." }
            }
            @if state.forced {
                p.muted { "minutes app was started with " code { "--offline" } ": it stays offline until it is started without it." }
            } @else {
                form.inline method="post" action="/privacy/offline" {
                    input type="hidden" name="offline" value=(if state.on { "false" } else { "true" });
                    button type="submit" { @if state.on { "Go online" } @else { "Go offline" } }
                    span.muted { "(" code { "offline = " (state.on) } " in config.toml)" }
                }
            }
        }
    }
}
