//! What each kind of plugin may import. Checked at install and at every load, before anything
//! runs: a component that imports more than its kind allows is refused with the reason.

use super::manifest::Kind;

/// The contract versions a component may import from (which one it speaks, and that it speaks
/// only one, is checked against its manifest in `Runtime::check_contract`).
const CONTRACT_VERSIONS: &[&str] = &["0.1.0", "0.2.0"];

/// Why `import` (e.g. `minutes:plugin/http@0.1.0`) is refused for `kind`, or `None` if allowed.
pub fn refusal(kind: Kind, import: &str) -> Option<String> {
    let (interface, version) = import.split_once('@').unwrap_or((import, ""));
    if let Some(name) = interface.strip_prefix("minutes:plugin/") {
        if !CONTRACT_VERSIONS.contains(&version) {
            return Some(format!(
                "this minutes speaks minutes:plugin@{}, not @{version}",
                CONTRACT_VERSIONS.join(" and @")
            ));
        }
        return match name {
            "types" | "log" | "config" => None,
            "http" if kind.uses_network() => None,
            "http" if kind == Kind::Template => Some(
                "templates may not use the network; they reach a language model only through `llm`, \
                 which the host routes to the provider the user chose"
                    .into(),
            ),
            "http" => Some(format!(
                "a plain {kind} may not use the network; a plugin that sends data out must be a \
                 networked-exporter (or a provider) and declare its origins"
            )),
            "llm" if kind == Kind::Template => None,
            "llm" => Some("only templates call the language model".into()),
            other => Some(format!("`{other}` is not part of the minutes:plugin contract")),
        };
    }
    let (package, name) = interface.split_once('/').unwrap_or((interface, ""));
    match package {
        "wasi:sockets" => Some(
            "raw sockets would bypass the host's network checks; plugins reach the network only \
             through minutes:plugin/http"
                .into(),
        ),
        "wasi:http" => Some("plugins reach the network only through minutes:plugin/http".into()),
        // Linked with nothing behind them: no preopened directories, no environment, captured
        // output. A Rust guest imports these even if it never uses them.
        "wasi:cli" | "wasi:io" | "wasi:clocks" | "wasi:random" => None,
        "wasi:filesystem" if matches!(name, "types" | "preopens") => None,
        _ => Some(format!("`{interface}` is not offered to plugins")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_by_kind() {
        use Kind::*;
        let cases: &[(Kind, &str, bool)] = &[
            (Exporter, "minutes:plugin/log@0.1.0", true),
            (Exporter, "minutes:plugin/config@0.1.0", true),
            (Exporter, "minutes:plugin/http@0.1.0", false),
            (Exporter, "minutes:plugin/llm@0.1.0", false),
            (NetworkedExporter, "minutes:plugin/http@0.1.0", true),
            (Provider, "minutes:plugin/http@0.1.0", true),
            (Provider, "minutes:plugin/llm@0.1.0", false),
            (Template, "minutes:plugin/http@0.1.0", false),
            (Template, "minutes:plugin/llm@0.1.0", true),
            (Template, "minutes:plugin/log@0.2.0", true),
            (Template, "minutes:plugin/log@0.3.0", false),
            (Template, "minutes:plugin/secrets@0.1.0", false),
            (Exporter, "wasi:sockets/tcp@0.2.6", false),
            (Provider, "wasi:sockets/ip-name-lookup@0.2.0", false),
            (Provider, "wasi:http/outgoing-handler@0.2.0", false),
            (Exporter, "wasi:cli/environment@0.2.6", true),
            (Exporter, "wasi:io/streams@0.2.6", true),
            (Exporter, "wasi:filesystem/preopens@0.2.6", true),
            (Exporter, "wasi:keyvalue/store@0.2.0", false),
            (Exporter, "my:own/thing", false),
        ];
        for (kind, import, allowed) in cases {
            assert_eq!(
                refusal(*kind, import).is_none(),
                *allowed,
                "{kind} importing {import}"
            );
        }
    }
}
