//! Codes stored as text (`expiry_renewal`, `local`, `10_years`, `right_index`, …) read back into
//! their types. The store decodes rows through these `TryFrom<String>` impls
//! (`#[sqlx(try_from = "String")]`), so a row holding a code nobody knows is a decoding error that
//! names it, never a string compared somewhere later.

use crate::id::{CitizenId, IdError};
use crate::journey::ApplicationState;
use crate::notice::NoticeKind;
use crate::rules::{Business, Household, NewCardValidity, RecordStatus};
use crate::session::Finger;

/// A stored text that is none of its type's codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {text:?}")]
pub struct UnknownCode {
    /// What the text should have named ("business", "household", …).
    pub kind: &'static str,
    /// The text as found.
    pub text: String,
}

macro_rules! stored_code {
    ($($ty:ty => $kind:literal),* $(,)?) => {$(
        impl TryFrom<String> for $ty {
            type Error = UnknownCode;
            fn try_from(text: String) -> Result<$ty, UnknownCode> {
                <$ty>::parse(&text).ok_or(UnknownCode { kind: $kind, text })
            }
        }
    )*};
}

stored_code!(
    Business => "business",
    Household => "household",
    NewCardValidity => "card validity",
    RecordStatus => "record status",
    Finger => "finger",
    ApplicationState => "application state",
    NoticeKind => "notice kind",
);

/// A stored ID number, checked again (it was checked on the way in; the database may have been
/// edited since). `Date::MAX` as "today": a stored birth date is never "in the future".
impl TryFrom<String> for CitizenId {
    type Error = IdError;
    fn try_from(text: String) -> Result<CitizenId, IdError> {
        CitizenId::parse(&text, time::Date::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::UnknownCode;
    use crate::rules::{Business, Household, NewCardValidity};
    use crate::session::Finger;
    use crate::CitizenId;

    #[test]
    fn every_code_reads_back_and_nothing_else_does() {
        for business in [Business::ExpiryRenewal, Business::Lost, Business::Damaged] {
            assert_eq!(
                Business::try_from(business.as_str().to_owned()),
                Ok(business)
            );
        }
        for validity in [
            NewCardValidity::TenYears,
            NewCardValidity::TwentyYears,
            NewCardValidity::LongTerm,
        ] {
            assert_eq!(
                NewCardValidity::try_from(validity.as_str().to_owned()),
                Ok(validity)
            );
        }
        for finger in Finger::ALL {
            assert_eq!(Finger::try_from(finger.code().to_owned()), Ok(finger));
        }
        assert_eq!(
            Household::try_from("LOCAL".to_owned()),
            Err(UnknownCode {
                kind: "household",
                text: "LOCAL".into()
            })
        );
        assert!(CitizenId::try_from("110101199003070000".to_owned()).is_err());
    }
}
