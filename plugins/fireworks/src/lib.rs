//! Fireworks AI through its OpenAI-compatible chat-completions API (never its Responses API,
//! which stores data for 30 days with `store=true`).
provider_common::export_openai_preset!(Fireworks, include_str!("../plugin.toml"));

#[cfg(test)]
mod tests {
    use minutes_sdk::types::Tristate;

    /// The policy users are shown is the one in the issue, from Fireworks' documentation.
    #[test]
    fn the_declared_policy_is_the_verified_one() {
        let f = provider_common::manifest::Facts::parse(include_str!("../plugin.toml"));
        let p = f.data_policy;
        assert_eq!(f.id, "fireworks");
        assert!(
            p.retention.starts_with("none by default"),
            "{}",
            p.retention
        );
        assert_eq!(
            (
                p.trains_on_data,
                p.zero_retention_available,
                p.zero_retention_default
            ),
            (Tristate::No, Tristate::Yes, Tristate::Yes)
        );
        assert_eq!(p.region.as_deref(), Some("US"));
        assert_eq!(p.last_verified.as_deref(), Some("2026-06-29"));
        assert_eq!(
            p.certifications,
            [
                "SOC 2 Type II",
                "HIPAA",
                "ISO 27001",
                "ISO 27701",
                "ISO 42001"
            ]
        );
        assert_eq!(p.sources.len(), 3);
    }
}
