use crate::plugins::{Home, Registry};
use crate::secrets::{SecretStore, env_name};
use std::io::{BufRead, IsTerminal, Write};

#[derive(clap::Subcommand)]
pub enum SecretCommand {
    /// Store a plugin's secret; the value is read from the terminal (not echoed) or stdin,
    /// never from the command line
    #[command(after_help = "Examples:\n  minutes secret set fireworks api-key\n  \
        printf %s \"$FIREWORKS_KEY\" | minutes secret set fireworks api-key\n\n\
        MINUTES_SECRET_<PLUGIN>__<NAME> (e.g. MINUTES_SECRET_FIREWORKS__API_KEY: two underscores \
        between plugin and name, `-` as `_`; `minutes secret list` shows each) overrides a stored value.")]
    Set { plugin: String, name: String },
    /// Forget a stored secret
    #[command(after_help = "Example:\n  minutes secret remove fireworks api-key")]
    Remove { plugin: String, name: String },
    /// Which secrets plugins declare and whether they are set (values are never shown)
    #[command(
        after_help = "Examples:\n  minutes secret list\n  minutes secret list fireworks --json"
    )]
    List {
        plugin: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(home: &Home, cmd: SecretCommand) -> anyhow::Result<()> {
    let registry = Registry::open(home.clone())?;
    let store = SecretStore::new(home.secrets_dir());
    match cmd {
        SecretCommand::Set { plugin, name } => {
            declared(&registry, &plugin, &name)?;
            let value = read_value(&plugin, &name)?;
            let where_ = match store.set(&plugin, &name, &value)? {
                crate::secrets::Backend::Keyring => "in the OS keyring".to_string(),
                crate::secrets::Backend::File => format!(
                    "in {} (no OS keyring answered)",
                    home.secrets_dir().display()
                ),
            };
            println!(
                "stored `{name}` for plugin `{plugin}` {where_} ({} bytes)",
                value.len()
            );
        }
        SecretCommand::Remove { plugin, name } => {
            if store.remove(&plugin, &name)? {
                println!("removed `{name}` of plugin `{plugin}`");
            } else {
                println!("plugin `{plugin}` had no stored `{name}`");
            }
        }
        SecretCommand::List { plugin, json } => {
            let mut rows = Vec::new();
            for entry in registry
                .installed()
                .iter()
                .filter(|e| plugin.as_deref().is_none_or(|p| p == e.id))
            {
                let Ok(m) = registry.manifest(&entry.id) else {
                    continue;
                };
                for s in &m.secrets {
                    rows.push(serde_json::json!({
                        "plugin": m.id,
                        "name": s.name,
                        "header": s.header,
                        "origins": s.origins,
                        "granted": entry.granted_secrets.contains(&s.name),
                        "source": store.source(&m.id, &s.name)?,
                        "env": env_name(&m.id, &s.name),
                    }));
                }
            }
            if json {
                return super::print_json(&rows);
            }
            if rows.is_empty() {
                println!("No installed plugin declares a secret.");
            }
            for r in rows {
                let source = r["source"]
                    .as_str()
                    .map(|s| format!("set ({s})"))
                    .unwrap_or_else(|| "not set".into());
                println!(
                    "{} {}: {source}; sent as `{}`; override with {}",
                    r["plugin"].as_str().unwrap_or(""),
                    r["name"].as_str().unwrap_or(""),
                    r["header"].as_str().unwrap_or(""),
                    r["env"].as_str().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}

fn declared(registry: &Registry, plugin: &str, name: &str) -> anyhow::Result<()> {
    let m = registry.manifest(plugin)?;
    if !m.secrets.iter().any(|s| s.name == name) {
        let names: Vec<&str> = m.secrets.iter().map(|s| s.name.as_str()).collect();
        anyhow::bail!(
            "plugin `{plugin}` declares no secret `{name}` ({})",
            if names.is_empty() {
                "it declares none".to_string()
            } else {
                format!("it declares: {}", names.join(", "))
            }
        );
    }
    Ok(())
}

/// From the terminal without echo, or the first line of stdin.
fn read_value(plugin: &str, name: &str) -> anyhow::Result<String> {
    let value = if std::io::stdin().is_terminal() {
        eprint!("Value of `{name}` for plugin `{plugin}` (not shown): ");
        std::io::stderr().flush()?;
        rpassword::read_password()?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line
    };
    let value = value.trim().to_string();
    anyhow::ensure!(
        !value.is_empty(),
        "no value given for `{name}`; nothing stored"
    );
    anyhow::ensure!(
        !value.chars().any(char::is_control),
        "the value of `{name}` contains control characters; nothing stored"
    );
    Ok(value)
}
