//! `minutes app`: the local web interface (see `crate::app`).

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  minutes app\n  minutes app --port 8765 --no-open\n\n\
    The app listens on 127.0.0.1 only. The address it prints carries a secret for this start: \
    open that address (it is opened for you unless --no-open); other programs and web sites \
    cannot reach your meetings without it. Ctrl-C stops the app (a recording started on its record page is stopped and its meeting made first)."
)]
pub struct AppArgs {
    /// Port on 127.0.0.1 [default: a free one]
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Do not open the browser; just print the address
    #[arg(long)]
    no_open: bool,
    /// Offer this WAV as a microphone on the record page (tests, demos)
    #[arg(long, hide = true, value_name = "WAV")]
    mic_file: Option<std::path::PathBuf>,
    /// Offer this WAV as system audio on the record page (tests, demos)
    #[arg(long, hide = true, value_name = "WAV")]
    system_file: Option<std::path::PathBuf>,
}

pub(crate) fn run(ctx: super::Context, args: AppArgs) -> anyhow::Result<()> {
    Ok(crate::app::run(
        ctx,
        crate::app::Options {
            port: args.port,
            open_browser: !args.no_open,
            test_sources: crate::app::TestSources {
                mic: args.mic_file,
                system: args.system_file,
            },
        },
    )?)
}
