//! The console's HTML: one layout, inline CSS, no external assets, no script; Chinese first with
//! English beside it. Every value from the database goes through [`esc`].

use axum::response::Html;

use super::{Role, StaffSession};

/// Escapes text for HTML content and attribute values.
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

const STYLE: &str = "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:0;\
background:#f4f6f9;color:#1b2430}header{background:#0b4f8a;color:#fff;padding:10px 24px;\
display:flex;align-items:center;gap:24px}header h1{font-size:18px;margin:0}header nav a{color:#fff;\
margin-right:16px;text-decoration:none}header .who{margin-left:auto;font-size:14px}\
header form{display:inline}main{padding:20px 24px;max-width:1200px}table{border-collapse:collapse;\
width:100%;background:#fff}th,td{border:1px solid #d0d7e2;padding:6px 8px;text-align:left;\
font-size:14px;vertical-align:top}th{background:#e8eef6}tr.past td{background:#fde2e1}\
tr.near td{background:#fff4d6}.error{color:#b00020;font-weight:bold}.ok{color:#11703a;\
font-weight:bold}section{background:#fff;border:1px solid #d0d7e2;padding:12px 16px;\
margin-bottom:16px}section h2{font-size:16px;margin-top:0}img.capture{max-height:220px;\
border:1px solid #ccc;margin-right:12px}button,input[type=submit]{padding:6px 14px;\
font-size:14px;cursor:pointer}input[type=text],input[type=password],select,input[type=date]\
{padding:6px;font-size:14px}dl{display:grid;grid-template-columns:220px 1fr;gap:4px 12px}\
dt{color:#55606e}dd{margin:0}";

/// A whole page: header with the navigation of `staff`'s role, then `body`.
pub fn page(title: &str, staff: Option<&StaffSession>, body: &str) -> Html<String> {
    let nav = staff.map(nav).unwrap_or_default();
    Html(format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <title>{title} · 户政自助办证 Staff console</title><style>{STYLE}</style></head><body>\
         <header><h1>户政工作台 <span lang=\"en\">Staff console</span></h1>{nav}</header><main><h2>{title}</h2>{body}\
         </main></body></html>",
        title = esc(title),
    ))
}

fn nav(staff: &StaffSession) -> String {
    let mut links = String::from("<nav>");
    if staff.role == Role::WindowClerk {
        links.push_str(
            "<a href=\"/staff/today\">今日受理 Today</a>\
             <a href=\"/staff/referrals\">转窗口 Referrals</a>\
             <a href=\"/staff/applications\">受理查询 Applications</a>\
             <a href=\"/staff/deadlines\">办证时限 Deadlines</a>",
        );
    }
    if matches!(staff.role, Role::Auditor | Role::Administrator) {
        links.push_str("<a href=\"/staff/audit\">审计日志 Audit trail</a>");
    }
    if staff.role == Role::Administrator {
        links.push_str(
            "<a href=\"/fleet\">终端 Fleet</a><a href=\"/staff/accounts\">账号 Accounts</a>",
        );
    }
    links.push_str("</nav>");
    format!(
        "{links}<span class=\"who\">{} · {} <form method=\"post\" action=\"/staff/logout\">\
         {}<button type=\"submit\">退出 <span lang=\"en\">Sign out</span></button></form></span>",
        esc(&staff.username),
        esc(staff.role.label()),
        csrf_field(&staff.csrf)
    )
}

/// The hidden CSRF field every POST form carries.
pub fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(csrf)
    )
}

/// The sign-in form.
pub fn login_form(csrf: &str, error: Option<&str>) -> String {
    let error = error
        .map(|error| format!("<p class=\"error\">{}</p>", esc(error)))
        .unwrap_or_default();
    format!(
        "{error}<section><form method=\"post\" action=\"/staff/login\">{}\
         <dl><dt><label for=\"username\">用户名 <span lang=\"en\">User name</span></label></dt>\
         <dd><input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" \
         required></dd>\
         <dt><label for=\"password\">密码 <span lang=\"en\">Password</span></label></dt>\
         <dd><input type=\"password\" id=\"password\" name=\"password\" \
         autocomplete=\"current-password\" required></dd></dl>\
         <button type=\"submit\" id=\"login\">登录 <span lang=\"en\">Sign in</span></button></form></section>",
        csrf_field(csrf)
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
