//! export-webhook: POSTs the meeting document as JSON (the same shape export-json writes) to a
//! URL the user configures. The host lets the request out only to an origin the user granted
//! (`minutes plugin allow export-webhook <origin>`), adds the optional bearer token itself and
//! records the request in the egress ledger. Nothing is written to disk.

use minutes_sdk::exporter::OneFormat;
use minutes_sdk::http::Request;
use minutes_sdk::networked_exporter::{Exporter, export_networked_exporter};
use minutes_sdk::types::{Document, ExporterInfo, OutputFile, PluginError, UpstreamError};

pub struct Webhook;

/// Per request; the manifest's call limit stays above it so a slow endpoint fails cleanly.
const TIMEOUT_MS: u32 = 20_000;

const WEBHOOK: OneFormat = OneFormat {
    plugin: "export-webhook",
    name: "Webhook",
    format: "json",
    description: "POST the meeting document as JSON to the configured URL",
    media_type: "application/json",
};

impl Exporter for Webhook {
    fn info() -> ExporterInfo {
        WEBHOOK.info()
    }

    fn export(format: String, doc: Document) -> Result<Vec<OutputFile>, PluginError> {
        WEBHOOK.check(&format)?;
        let url = target_url(minutes_sdk::config::string("url"))?;
        let reply = Request::post(&url)
            .json(&doc)?
            .timeout_ms(TIMEOUT_MS)
            .send()
            .map_err(PluginError::from)?;
        check_reply(&url, reply.status, &reply.body)?;
        minutes_sdk::log::info(&format!(
            "delivered meeting {} to {url}: HTTP {}",
            doc.metadata.id, reply.status
        ));
        Ok(Vec::new())
    }
}

export_networked_exporter!(Webhook);

/// The configured URL, or a config error saying how to set it.
pub fn target_url(configured: Option<String>) -> Result<String, PluginError> {
    const HOW: &str = "set it in config.toml in the minutes home: [plugins.export-webhook] url = \"https://example.com/hook\", \
                       then let it through with `minutes plugin allow export-webhook https://example.com`";
    let url = configured.map(|u| u.trim().to_string()).unwrap_or_default();
    if url.is_empty() {
        return Err(PluginError::Config(format!("`url` is not set: {HOW}")));
    }
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://"))
        || url.len() <= "https://".len()
    {
        return Err(PluginError::Config(format!(
            "`url` = {url:?} is not an http(s) URL: {HOW}"
        )));
    }
    Ok(url)
}

/// 2xx is delivered; anything else (redirects included: a POST body must not be re-sent to
/// wherever a redirect points) is the endpoint's refusal, with the start of its answer.
pub fn check_reply(url: &str, status: u16, body: &[u8]) -> Result<(), PluginError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(body);
    let mut snippet: String = minutes_sdk::meeting::one_line(&text)
        .chars()
        .take(200)
        .collect();
    if snippet.is_empty() {
        snippet = "(empty body)".into();
    }
    Err(PluginError::Upstream(UpstreamError {
        status,
        message: format!("webhook {url} did not accept the meeting: {snippet}"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_odd_url_is_a_config_error_that_says_how_to_fix_it() {
        for bad in [
            None,
            Some("  ".to_string()),
            Some("ftp://x/y".into()),
            Some("example.com/hook".into()),
            Some("https://".into()),
        ] {
            match target_url(bad.clone()) {
                Err(PluginError::Config(m)) => {
                    assert!(
                        m.contains("`url`")
                            && m.contains("config.toml")
                            && m.contains("minutes plugin allow export-webhook"),
                        "{m}"
                    )
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        assert_eq!(
            target_url(Some(" https://hooks.example.com/m ".into())).unwrap(),
            "https://hooks.example.com/m"
        );
        assert_eq!(
            target_url(Some("HTTP://127.0.0.1:9/x".into())).unwrap(),
            "HTTP://127.0.0.1:9/x"
        );
    }

    #[test]
    fn only_2xx_counts_as_delivered() {
        assert!(check_reply("u", 200, b"").is_ok());
        assert!(check_reply("u", 204, b"").is_ok());
        for status in [301, 302, 400, 401, 404, 500, 503] {
            match check_reply(
                "https://h/x",
                status,
                "  nope,\n go away ".repeat(40).as_bytes(),
            ) {
                Err(PluginError::Upstream(u)) => {
                    assert_eq!(u.status, status);
                    assert!(
                        u.message.starts_with(
                            "webhook https://h/x did not accept the meeting: nope, go away"
                        ),
                        "{}",
                        u.message
                    );
                    assert!(u.message.chars().count() < 300, "{}", u.message);
                }
                other => panic!("{status} gave {other:?}"),
            }
        }
        match check_reply("u", 500, b"") {
            Err(PluginError::Upstream(u)) => {
                assert!(u.message.ends_with("(empty body)"), "{}", u.message)
            }
            other => panic!("{other:?}"),
        }
    }
}
