//! The demo's printer: a CUPS queue given by URI (`ipp://HOST:PORT/printers/NAME`). "Out of
//! paper" is the queue disabled (`cupsdisable -r "media-empty …"`): jobs wait, and the printer
//! reports the state reason `paused`, which the kiosk's IPP printer reads as an error; "paper
//! back" is `cupsenable`. CUPS cannot set `media-empty` on a cups-pdf queue itself.

use anyhow::{anyhow, Context};
use serde::Serialize;

/// The queue's server and name.
#[derive(Debug, Clone, Serialize)]
pub struct DemoPrinter {
    /// The URI the kiosk prints to.
    pub uri: String,
    /// `HOST:PORT` of the CUPS server.
    pub server: String,
    /// The queue's name.
    pub queue: String,
}

impl DemoPrinter {
    /// Parses `ipp://HOST:PORT/printers/NAME` (also `http://` and `/classes/NAME`).
    pub fn parse(uri: &str) -> anyhow::Result<DemoPrinter> {
        let rest = ["ipp://", "http://"]
            .iter()
            .find_map(|scheme| uri.strip_prefix(scheme))
            .ok_or_else(|| anyhow!("--printer {uri}: not an ipp://HOST:PORT/printers/NAME URI"))?;
        let (server, path) = rest
            .split_once('/')
            .ok_or_else(|| anyhow!("--printer {uri}: no queue path"))?;
        let queue = path
            .strip_prefix("printers/")
            .or_else(|| path.strip_prefix("classes/"))
            .filter(|q| !q.is_empty() && !q.contains('/'))
            .ok_or_else(|| anyhow!("--printer {uri}: the path is not printers/NAME"))?;
        let server = if server.contains(':') {
            server.to_owned()
        } else {
            format!("{server}:631")
        };
        Ok(DemoPrinter {
            uri: uri.to_owned(),
            server,
            queue: queue.to_owned(),
        })
    }

    /// Takes the paper out (`false`: the queue is disabled) or puts it back (`true`).
    pub async fn set_paper(&self, paper: bool) -> anyhow::Result<String> {
        let mut command = if paper {
            let mut c = tokio::process::Command::new("cupsenable");
            c.args(["-h", &self.server, &self.queue]);
            c
        } else {
            let mut c = tokio::process::Command::new("cupsdisable");
            c.args([
                "-h",
                &self.server,
                "-r",
                "media-empty: out of paper (idkiosk demo panel)",
                &self.queue,
            ]);
            c
        };
        let output = command
            .output()
            .await
            .context("running cupsenable/cupsdisable (install cups-client)")?;
        if !output.status.success() {
            return Err(anyhow!(
                "{}: {}",
                if paper { "cupsenable" } else { "cupsdisable" },
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        self.state().await
    }

    /// `lpstat -p NAME`'s line, e.g. `printer PDF is idle.  enabled since …`.
    pub async fn state(&self) -> anyhow::Result<String> {
        let output = tokio::process::Command::new("lpstat")
            .args(["-h", &self.server, "-p", &self.queue])
            .output()
            .await
            .context("running lpstat (install cups-client)")?;
        let text = String::from_utf8_lossy(&output.stdout);
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if output.status.success() {
            Ok(text)
        } else {
            Err(anyhow!(
                "lpstat: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_uris_parse() {
        let p = DemoPrinter::parse("ipp://127.0.0.1:4567/printers/PDF").unwrap();
        assert_eq!(
            (p.server.as_str(), p.queue.as_str()),
            ("127.0.0.1:4567", "PDF")
        );
        assert_eq!(
            DemoPrinter::parse("ipp://printhost/printers/Q")
                .unwrap()
                .server,
            "printhost:631"
        );
        assert!(DemoPrinter::parse("ipp://h:1/jobs/3").is_err());
        assert!(DemoPrinter::parse("lpd://h/q").is_err());
    }
}
