//! `idkiosk docs render KIND --data FILE.json --out FILE.pdf`: renders one document from its JSON
//! (schemas in docs/documents.md). Bad data exits 1 with `{"error":"…","field":"…"}` on standard
//! output; a missing font or an unwritable file is an internal failure (exit 3).

use crate::outcome::Outcome;
use std::path::PathBuf;

use anyhow::Context;
use documents::{json, Fonts, Kind, Renderer};
use serde::Serialize;

/// Arguments of `idkiosk docs`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DocsCommand,
}

#[derive(clap::Subcommand)]
enum DocsCommand {
    /// Render a document as a one-page PDF
    Render {
        /// certificate | form | notice-wechat | notice-unionpay | portrait
        #[arg(value_parser = parse_kind)]
        kind: Kind,
        /// The document's data (JSON, see docs/documents.md)
        #[arg(long)]
        data: PathBuf,
        /// Where to write the PDF
        #[arg(long)]
        out: PathBuf,
    },
}

fn parse_kind(text: &str) -> Result<Kind, String> {
    Kind::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        format!("must be one of {}", names.join(", "))
    })
}

#[derive(Serialize)]
struct BadData<'a> {
    error: &'a str,
    field: &'a str,
}

/// Runs `idkiosk docs`.
pub async fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        DocsCommand::Render { kind, data, out } => {
            let text =
                std::fs::read(&data).with_context(|| format!("reading {}", data.display()))?;
            let document = match json::parse(kind, &text) {
                Ok(document) => document,
                Err(err) => {
                    println!(
                        "{}",
                        serde_json::to_string(&BadData {
                            error: &err.message,
                            field: &err.field
                        })?
                    );
                    return Ok(Outcome::Negative);
                }
            };
            let fonts = Fonts::system().context("loading the CJK fonts")?;
            let pdf = Renderer::new(fonts)
                .render(&document)
                .context("rendering the PDF")?;
            std::fs::write(&out, &pdf).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "{}",
                serde_json::json!({ "document": kind.as_str(), "out": out.display().to_string(), "bytes": pdf.len() })
            );
            Ok(Outcome::Success)
        }
    }
}
