//! The SMS notices of an application's journey (docs/domain.md section 10): four texts, the
//! citizen's name masked (`*晓燕`), filled in by pure functions.
//!
//! The texts are constants here until the bureau's configuration carries its own templates
//! (issue 17); the wording is docs/domain.md's, with the English there.

use time::Date;

use crate::mask::mask_name;

/// Which notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// The population system took the application.
    Accepted,
    /// The card waits at the collection office.
    Ready,
    /// The application was refused.
    Rejected,
    /// The card is late: an apology and a new date.
    Overdue,
}

impl NoticeKind {
    /// Every kind.
    pub const ALL: [NoticeKind; 4] = [
        NoticeKind::Accepted,
        NoticeKind::Ready,
        NoticeKind::Rejected,
        NoticeKind::Overdue,
    ];

    /// `accepted`, `ready`, `rejected`, `overdue`.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Accepted => "accepted",
            NoticeKind::Ready => "ready",
            NoticeKind::Rejected => "rejected",
            NoticeKind::Overdue => "overdue",
        }
    }

    /// The inverse of [`NoticeKind::as_str`].
    pub fn parse(text: &str) -> Option<NoticeKind> {
        NoticeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// The text with `{name}`, `{no}`, `{date}`, `{office}`, `{address}`, `{hours}`, `{reason}`.
    pub fn template(self) -> &'static str {
        match self {
            NoticeKind::Accepted => ACCEPTED,
            NoticeKind::Ready => READY,
            NoticeKind::Rejected => REJECTED,
            NoticeKind::Overdue => OVERDUE,
        }
    }
}

/// Accepted: "【Resident ID card】{name}, your application (number {no}) has been accepted; the
/// card should be made by {date}, and a text will tell you when to collect it."
pub const ACCEPTED: &str = "【居民身份证】{name}，您的居民身份证申请（受理编号{no}）已受理，预计{date}前制证完成，届时将短信通知您领取。";
/// Ready: "【Resident ID card】{name}, your card is ready; please bring the collection
/// certificate to {office} ({address}, {hours})."
pub const READY: &str = "【居民身份证】{name}，您的居民身份证已制作完成，请持领取凭证到{office}（{address}，{hours}）领取。";
/// Rejected: "【Resident ID card】{name}, your application (number {no}) did not pass review:
/// {reason}. Please go to a household administration window."
pub const REJECTED: &str = "【居民身份证】{name}，您的居民身份证申请（受理编号{no}）未通过审核：{reason}。请到户政窗口办理。";
/// Overdue: "【Resident ID card】{name}, we are sorry: your card (application {no}) could not be
/// made in time; it should be ready by {date}, and you will be told then."
pub const OVERDUE: &str = "【居民身份证】{name}，抱歉，您的居民身份证（受理编号{no}）未能按期制作完成，预计{date}前完成，届时另行通知。";

/// Where a ready card is collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Office {
    /// 领证地点.
    pub name: String,
    /// Its address.
    pub address: String,
    /// Its opening hours.
    pub hours: String,
}

/// A notice with what it says: the name as stored (masked here), the rest as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The population system took the application; ready by `ready_by`.
    Accepted {
        /// The citizen's name (unmasked; the text masks it).
        name: String,
        /// 受理编号.
        application_no: String,
        /// The issue-by date.
        ready_by: Date,
    },
    /// The card waits at `office`.
    Ready {
        /// The citizen's name.
        name: String,
        /// Where to collect it.
        office: Office,
    },
    /// Refused, with the reason.
    Rejected {
        /// The citizen's name.
        name: String,
        /// 受理编号.
        application_no: String,
        /// Why, as the population system said it.
        reason: String,
    },
    /// Late; the new date.
    Overdue {
        /// The citizen's name.
        name: String,
        /// 受理编号.
        application_no: String,
        /// The date now promised.
        new_date: Date,
    },
}

impl Notice {
    /// Which notice this is.
    pub fn kind(&self) -> NoticeKind {
        match self {
            Notice::Accepted { .. } => NoticeKind::Accepted,
            Notice::Ready { .. } => NoticeKind::Ready,
            Notice::Rejected { .. } => NoticeKind::Rejected,
            Notice::Overdue { .. } => NoticeKind::Overdue,
        }
    }

    /// The text as sent, from the constant template of its kind.
    pub fn render(&self) -> String {
        self.render_with(self.kind().template())
    }

    /// The text from `template` (a bureau's own wording of this kind), the placeholders of
    /// [`NoticeKind::template`] filled in; a placeholder this notice has no value for stays.
    pub fn render_with(&self, template: &str) -> String {
        let (name, fields): (&str, Vec<(&str, String)>) = match self {
            Notice::Accepted {
                name,
                application_no,
                ready_by,
            } => (
                name,
                vec![
                    ("{no}", application_no.clone()),
                    ("{date}", chinese_date(*ready_by)),
                ],
            ),
            Notice::Ready { name, office } => (
                name,
                vec![
                    ("{office}", office.name.clone()),
                    ("{address}", office.address.clone()),
                    ("{hours}", office.hours.clone()),
                ],
            ),
            Notice::Rejected {
                name,
                application_no,
                reason,
            } => (
                name,
                vec![
                    ("{no}", application_no.clone()),
                    ("{reason}", reason.clone()),
                ],
            ),
            Notice::Overdue {
                name,
                application_no,
                new_date,
            } => (
                name,
                vec![
                    ("{no}", application_no.clone()),
                    ("{date}", chinese_date(*new_date)),
                ],
            ),
        };
        let mut text = template.replace("{name}", &mask_name(name));
        for (placeholder, value) in fields {
            text = text.replace(placeholder, &value);
        }
        text
    }
}

/// A date as the texts write it: 2026年4月1日.
pub fn chinese_date(date: Date) -> String {
    format!("{}年{}月{}日", date.year(), date.month() as u8, date.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn check(notice: Notice, expected: &str) {
        assert_eq!(notice.render(), expected);
    }

    #[test]
    fn the_four_texts() {
        check(
            Notice::Accepted {
                name: "王晓燕".into(),
                application_no: "320102202603010001".into(),
                ready_by: date!(2026 - 04 - 30),
            },
            "【居民身份证】*晓燕，您的居民身份证申请（受理编号320102202603010001）已受理，预计2026年4月30日前制证完成，届时将短信通知您领取。",
        );
        check(
            Notice::Ready {
                name: "欧阳娜娜".into(),
                office: Office {
                    name: "玄武分局户政办证大厅".into(),
                    address: "北京东路1号".into(),
                    hours: "周一至周五 9:00–17:00".into(),
                },
            },
            "【居民身份证】**娜娜，您的居民身份证已制作完成，请持领取凭证到玄武分局户政办证大厅（北京东路1号，周一至周五 9:00–17:00）领取。",
        );
        check(
            Notice::Rejected {
                name: "李四".into(),
                application_no: "320102202603010002".into(),
                reason: "照片不符合要求".into(),
            },
            "【居民身份证】*四，您的居民身份证申请（受理编号320102202603010002）未通过审核：照片不符合要求。请到户政窗口办理。",
        );
        check(
            Notice::Overdue {
                name: "王晓燕".into(),
                application_no: "320102202603010001".into(),
                new_date: date!(2026 - 05 - 30),
            },
            "【居民身份证】*晓燕，抱歉，您的居民身份证（受理编号320102202603010001）未能按期制作完成，预计2026年5月30日前完成，届时另行通知。",
        );
    }

    #[test]
    fn kinds_read_back() {
        for kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NoticeKind::parse("late"), None);
    }
}
