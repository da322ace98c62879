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
