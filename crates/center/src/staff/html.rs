//! The console's HTML: askama templates under `templates/staff/` (one layout, inline CSS, no
//! external assets, no script; Chinese first with English beside it). Askama escapes every value.

use askama::Template;
use axum::response::Html;

use super::{Role, StaffError, StaffSession};

/// Renders a page (a template cannot fail on the strings and numbers it is given; if it does, the
/// answer is a 500 and the log says why).
pub fn render<T: Template>(page: &T) -> Result<Html<String>, StaffError> {
    page.render()
        .map(Html)
        .map_err(|err| StaffError::Internal(err.into()))
}

/// A page whose body is already HTML, in the console's layout: for the pages not yet written as
/// their own template.
#[derive(Template)]
#[template(path = "staff/raw.html")]
struct RawPage<'a> {
    title: &'a str,
    staff: Option<&'a StaffSession>,
    body: &'a str,
}

/// A whole page: header with the navigation of `staff`'s role, then `body` (HTML).
pub fn page(title: &str, staff: Option<&StaffSession>, body: &str) -> Html<String> {
    let page = RawPage { title, staff, body };
    Html(page.render().unwrap_or_else(|err| {
        tracing::error!(error = %err, "staff page template");
        String::new()
    }))
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "staff/login.html")]
pub struct LoginPage<'a> {
    pub title: &'a str,
    pub staff: Option<&'a StaffSession>,
    pub csrf: &'a str,
    pub error: Option<&'a str>,
}

/// A refusal or failure, with a way back.
#[derive(Template)]
#[template(path = "staff/error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub staff: Option<&'a StaffSession>,
    pub message: &'a str,
}

/// The home page: the role's pages.
#[derive(Template)]
#[template(path = "staff/home.html")]
pub struct HomePage<'a> {
    pub title: &'a str,
    pub staff: Option<&'a StaffSession>,
}

/// Escapes text for HTML content and attribute values (the pages still built with `format!`).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The hidden CSRF field every POST form carries.
pub fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(csrf)
    )
}

/// A table with a header row; cells are already HTML.
pub fn table(headers: &[&str], rows: &[(String, Vec<String>)]) -> String {
    let mut out = String::from("<table><thead><tr>");
    for header in headers {
        out.push_str(&format!("<th>{}</th>", esc(header)));
    }
    out.push_str("</tr></thead><tbody>");
    for (class, cells) in rows {
        if class.is_empty() {
            out.push_str("<tr>");
        } else {
            out.push_str(&format!("<tr class=\"{}\">", esc(class)));
        }
        for cell in cells {
            out.push_str(&format!("<td>{cell}</td>"));
        }
        out.push_str("</tr>");
    }
    if rows.is_empty() {
        out.push_str(&format!(
            "<tr><td colspan=\"{}\">无 <span lang=\"en\">None</span></td></tr>",
            headers.len()
        ));
    }
    out.push_str("</tbody></table>");
    out
}

/// A definition list of (label, HTML value).
pub fn fields(items: &[(&str, String)]) -> String {
    let mut out = String::from("<dl>");
    for (label, value) in items {
        out.push_str(&format!("<dt>{}</dt><dd>{value}</dd>", esc(label)));
    }
    out.push_str("</dl>");
    out
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` in China Standard Time.
pub fn time(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(at) => {
            let at = at.to_offset(domain::time_zone::CHINA_STANDARD_TIME);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            )
        }
        Err(_) => unix.to_string(),
    }
}
