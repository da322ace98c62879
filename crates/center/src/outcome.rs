//! The body of `POST /v1/sessions/{sid}/end` as it crosses the wire: a flat struct with every
//! field named and unknown ones refused, converted by hand into
//! [`domain::session::SessionOutcome`] so that a bad value is named by its field (a referral's
//! `step` is 1–12; a completion names its payment, a referral its step and reason, and nothing
//! else).

use domain::session::{PaymentMethod, ReferralReason, SessionOutcome};
use serde::Deserialize;

use crate::error::AppError;

/// `{"outcome":"completed","payment":"wechat"}`, `{"outcome":"referred","step":7,"reason":"…"}`
/// or `{"outcome":"portrait_form_printed"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeJson {
    /// `completed`, `referred` or `portrait_form_printed`.
    pub outcome: String,
    /// A completion's payment method.
    #[serde(default)]
    pub payment: Option<PaymentMethod>,
    /// A referral's step, 1–12.
    #[serde(default)]
    pub step: Option<u8>,
    /// A referral's reason code.
    #[serde(default)]
    pub reason: Option<ReferralReason>,
}

impl OutcomeJson {
    /// The outcome, or a `422` naming the field that does not fit it.
    pub fn into_outcome(self) -> Result<SessionOutcome, AppError> {
        let refuse_extra = |present: bool, field: &str| {
            if present {
                Err(AppError::invalid(
                    field,
                    format!("does not belong to the outcome {}", self.outcome),
                ))
            } else {
                Ok(())
            }
        };
        match self.outcome.as_str() {
            "completed" => {
                refuse_extra(self.step.is_some(), "step")?;
                refuse_extra(self.reason.is_some(), "reason")?;
                let payment = self.payment.ok_or_else(|| {
                    AppError::invalid("payment", "a completion names its payment")
                })?;
                Ok(SessionOutcome::Completed { payment })
            }
            "referred" => {
                refuse_extra(self.payment.is_some(), "payment")?;
                let step = self
                    .step
                    .ok_or_else(|| AppError::invalid("step", "a referral names its step"))?;
                if !(1..=12).contains(&step) {
                    return Err(AppError::invalid("step", "must be a step from 1 to 12"));
                }
                let reason = self
                    .reason
                    .ok_or_else(|| AppError::invalid("reason", "a referral names its reason"))?;
                Ok(SessionOutcome::Referred { step, reason })
            }
            "portrait_form_printed" => {
                refuse_extra(self.payment.is_some(), "payment")?;
                refuse_extra(self.step.is_some(), "step")?;
                refuse_extra(self.reason.is_some(), "reason")?;
                Ok(SessionOutcome::PortraitFormPrinted)
            }
            other => Err(AppError::invalid(
                "outcome",
                format!("{other:?}: must be completed, referred or portrait_form_printed"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(body: &str) -> Result<SessionOutcome, String> {
        crate::json::parse::<OutcomeJson>(body.as_bytes())
            .and_then(OutcomeJson::into_outcome)
            .map_err(|err| match err {
                AppError::Invalid { field, .. } => field,
                AppError::BadRequest { field, message } => field.unwrap_or(message),
                other => other.to_string(),
            })
    }

    // Regression (issue 14): `step` 0 or 250 and unknown fields were stored.
    #[test]
    fn a_referral_step_is_1_to_12_and_unknown_fields_are_refused() {
        let referred = |step: u32| {
            outcome(&format!(
                r#"{{"outcome":"referred","step":{step},"reason":"face_mismatch"}}"#
            ))
        };
        assert!(referred(1).is_ok());
        assert!(referred(12).is_ok());
        assert_eq!(referred(0), Err("step".into()));
        assert_eq!(referred(13), Err("step".into()));
        assert_eq!(referred(250), Err("step".into()));
        assert!(referred(300).is_err());
        assert!(outcome(r#"{"outcome":"completed","payment":"wechat","note":"x"}"#).is_err());
        assert_eq!(
            outcome(r#"{"outcome":"completed","payment":"wechat","step":3}"#),
            Err("step".into())
        );
        assert_eq!(
            outcome(r#"{"outcome":"completed","payment":"wechat"}"#),
            Ok(SessionOutcome::Completed {
                payment: PaymentMethod::WeChat
            })
        );
        assert_eq!(
            outcome(r#"{"outcome":"portrait_form_printed"}"#),
            Ok(SessionOutcome::PortraitFormPrinted)
        );
    }
}
