//! Loopback calls from the demo's panel to the simulators' control APIs and paysim's `/sim`
//! routes, over reqwest: one client for the process, no proxy (everything is on this machine).

use std::sync::LazyLock;
use std::time::Duration;

use anyhow::{anyhow, Context};
use reqwest::header::{ACCEPT, CONTENT_TYPE};

/// How long a loopback call may take in all.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The process's client; a build error is kept and reported by each call instead of panicking.
static CLIENT: LazyLock<Result<reqwest::Client, String>> = LazyLock::new(|| {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| format!("{e:#}"))
});

/// An answer: status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON, or the body as a JSON string when it is not JSON (`null` when empty).
    pub fn json(&self) -> serde_json::Value {
        if self.body.is_empty() {
            return serde_json::Value::Null;
        }
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&self.body).into_owned())
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// `METHOD url` with an optional JSON body.
pub async fn request(
    method: &str,
    url: &str,
    body: Option<&serde_json::Value>,
) -> anyhow::Result<Answer> {
    let client = CLIENT
        .as_ref()
        .map_err(|e| anyhow!("the HTTP client: {e}"))?;
    let verb = reqwest::Method::from_bytes(method.as_bytes())
        .with_context(|| format!("{method}: not an HTTP method"))?;
    let mut call = client.request(verb, url).header(ACCEPT, "application/json");
    call = match body {
        Some(body) => call.json(body),
        // The control APIs read a POST or PUT without a body as JSON all the same.
        None if matches!(method, "POST" | "PUT") => call.header(CONTENT_TYPE, "application/json"),
        None => call,
    };
    let answer = call
        .send()
        .await
        .with_context(|| format!("{method} {url}"))?;
    let status = answer.status().as_u16();
    let body = answer
        .bytes()
        .await
        .with_context(|| format!("{method} {url}: reading the answer"))?;
    Ok(Answer {
        status,
        body: body.to_vec(),
    })
}
