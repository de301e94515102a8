//! `minutes devices`: what can be recorded, and what `minutes record` picks by default.

use crate::audio::device::{DeviceKind, list};

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  minutes devices\n  minutes devices --json | jq -r '.devices[] | select(.kind == \"monitor\") | .name'\n\n\
    Inputs are microphones; a monitor is what an output plays (the system audio), recorded as \
    channel 1. Pass a NAME to `minutes record --mic NAME` or `--system NAME`. On Linux, monitors \
    come from PulseAudio or PipeWire (pipewire-pulse); with ALSA alone there are none, and only the \
    default device, sound servers and sound cards are listed: ALSA's plugins (rate converters such as \
    lavrate or speex, upmix, jack, oss) are not devices, though `--mic NAME` still opens one by name."
)]
pub struct DevicesArgs {
    /// Print the list as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: DevicesArgs) -> anyhow::Result<()> {
    let devices = list()?;
    if args.json {
        return super::print_json(&devices);
    }
    println!("audio host: {}", devices.host);
    for (kind, heading) in [
        (DeviceKind::Input, "inputs (microphones)"),
        (DeviceKind::Monitor, "monitors of outputs (system audio)"),
        (DeviceKind::Output, "outputs"),
    ] {
        println!("\n{heading}:");
        let mut any = false;
        for d in devices.devices.iter().filter(|d| d.kind == kind) {
            any = true;
            let fmt = match (d.sample_rate, d.channels) {
                (Some(r), Some(c)) => format!("  {r} Hz, {c} ch"),
                _ => String::new(),
            };
            let mark = if d.default { "* " } else { "  " };
            println!("{mark}{}{fmt}\n      {}", d.name, d.description);
        }
        if !any {
            println!("  (none)");
        }
    }
    println!(
        "\n* = default.  minutes record uses: mic {}, system {}",
        devices.default_mic.as_deref().unwrap_or("(none)"),
        devices
            .default_system
            .as_deref()
            .unwrap_or("(none — pass --system NAME)")
    );
    Ok(())
}
