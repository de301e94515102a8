use crate::transcribe::models::{self, CATALOG, Download};
use std::io::IsTerminal;

#[derive(clap::Subcommand)]
pub enum ModelsCommand {
    /// Known whisper models: size, languages, quantization, and whether installed
    #[command(
        after_help = "Examples:\n  minutes models list\n  minutes models list --json | jq -r '.[] | select(.installed) | .name'"
    )]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Download a model (resumes an interrupted download; checked before use)
    #[command(
        after_help = "Examples:\n  minutes models pull base.en-q5_1     # 57 MB, English, good on a laptop CPU\n  \
        minutes models pull large-v3-turbo-q5_0\n  \
        minutes models pull diarization      # 34 MB, tells speakers apart (two ONNX files)\n\n\
        MINUTES_MODEL_BASE_URL (whisper) and MINUTES_DIARIZATION_BASE_URL point at mirrors."
    )]
    Pull { name: String },
    /// Where models are kept, or the file a model name resolves to
    #[command(
        after_help = "Examples:\n  minutes models path                 # the folder\n  minutes models path base.en-q5_1"
    )]
    Path { name: Option<String> },
}

pub fn run(home: &crate::plugins::Home, cmd: ModelsCommand) -> anyhow::Result<()> {
    let dir = models::models_dir(home.root());
    match cmd {
        ModelsCommand::List { json } => {
            let rows: Vec<serde_json::Value> = CATALOG
                .iter()
                .map(|k| {
                    let path = dir.join(k.file_name());
                    serde_json::json!({
                        "name": k.name, "size_mb": k.size_mb,
                        "languages": if k.english_only { "English" } else { "99 languages" },
                        "quantization": k.quantization,
                        "installed": path.is_file(),
                        "path": path.is_file().then(|| path.display().to_string()),
                    })
                })
                .collect();
            if json {
                return super::print_json(&rows);
            }
            println!(
                "{:<22} {:>7}  {:<13} {:<6} INSTALLED",
                "NAME", "SIZE", "LANGUAGES", "QUANT"
            );
            for r in rows {
                println!(
                    "{:<22} {:>4} MB  {:<13} {:<6} {}",
                    r["name"].as_str().unwrap_or(""),
                    r["size_mb"],
                    r["languages"].as_str().unwrap_or(""),
                    r["quantization"].as_str().unwrap_or(""),
                    if r["installed"] == true { "yes" } else { "" }
                );
            }
            println!(
                "\nModels live in {}. Get one with `minutes models pull NAME`.",
                dir.display()
            );
        }
        ModelsCommand::Pull { name } if name == "diarization" => {
            let target = crate::diarize::default_models_dir(home.root());
            crate::fsperm::create_private_dir(home.root())?;
            let bar = if std::io::stderr().is_terminal() {
                indicatif::ProgressBar::new(0)
            } else {
                indicatif::ProgressBar::hidden()
            };
            let paths =
                super::block_on(crate::diarize::pull::pull(&target, &|file, done, total| {
                    bar.set_message(file.to_string());
                    if let Some(t) = total {
                        bar.set_length(t);
                    }
                    bar.set_position(done);
                }))??;
            bar.finish_and_clear();
            for p in paths {
                println!("installed {}", p.display());
            }
            println!("speakers are now told apart when transcribing (--no-diarize turns it off)");
        }
        ModelsCommand::Pull { name } => {
            let known =
                models::find(&name).ok_or_else(|| models::ModelError::Unknown(name.clone()))?;
            let dest = dir.join(known.file_name());
            if dest.is_file() {
                println!("{} is already installed at {}", known.name, dest.display());
                return Ok(());
            }
            let bar = if std::io::stderr().is_terminal() {
                indicatif::ProgressBar::new(0)
            } else {
                indicatif::ProgressBar::hidden()
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(known.name.to_string());
            let dl = Download::for_model(known);
            // The home holds meetings too: if this creates it, it is created private.
            crate::fsperm::create_private_dir(home.root())?;
            let path = super::block_on(models::pull(&dl, &dest, &|done, total| {
                if let Some(t) = total {
                    bar.set_length(t);
                }
                bar.set_position(done);
            }))??;
            bar.finish_and_clear();
            println!("installed {} at {}", known.name, path.display());
        }
        ModelsCommand::Path { name: None } => println!("{}", dir.display()),
        ModelsCommand::Path { name: Some(n) } => {
            println!("{}", models::resolve(&n, home.root())?.display())
        }
    }
    Ok(())
}
