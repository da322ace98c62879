//! [`StorePopulationSystem`]: the reference population system, directly on the [`Store`].

use async_trait::async_trait;
use domain::id::CitizenId;
use domain::region::KioskCity;
use store::registers::{NewSubmission, SubmitOutcome};
use store::{CitizenView, PhotoReceipt, RedeemOutcome, Store};
use time::Date;

use crate::{
    ApplicationStatus, ApplicationSubmission, BlobDigest, CitizenRecord, FiledApplication,
    HistoryPhoto, LossReport, PopsysError, PopulationSystem, Receipt, ReceiptCode, ReceiptOutcome,
    ResidenceEntry, SubmissionOutcome,
};

/// The population system on our own database (the demo's and the tests').
#[derive(Debug, Clone)]
pub struct StorePopulationSystem {
    store: Store,
}

impl StorePopulationSystem {
    /// Serves the population records of `store`.
    pub fn new(store: Store) -> StorePopulationSystem {
        StorePopulationSystem { store }
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

fn receipt(stored: PhotoReceipt) -> Receipt {
    Receipt {
        last_valid_day: stored.last_valid_day(),
        code: stored.code,
        id: stored.id,
        created_on: stored.created_on,
        used_on: stored.used_on,
        jpeg: stored.jpeg,
    }
}

fn citizen_record(view: CitizenView) -> CitizenRecord {
    let citizen = view.citizen;
    CitizenRecord {
        id: citizen.id,
        name: citizen.name,
        sex: citizen.sex,
        nation_code: citizen.nation_code,
        birth_date: citizen.birth_date,
        address: citizen.address,
        household_region: citizen.household_region,
        status: citizen.status,
        card: view.card,
        floating_registered: view.floating_registered,
        history_photo: view.history_photo,
        application_in_progress: view.application_in_progress,
        remote_area: citizen.remote_area,
    }
}

#[async_trait]
impl PopulationSystem for StorePopulationSystem {
    async fn citizen(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError> {
        Ok(self
            .store
            .citizen_view(id, city, today)
            .await?
            .map(citizen_record))
    }

    async fn local_resident(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError> {
        Ok(self
            .citizen(id, city, today)
            .await?
            .filter(|record| city.contains(&record.household_region)))
    }

    async fn provincial_resident(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError> {
        Ok(self
            .citizen(id, city, today)
            .await?
            .filter(|record| city.same_province(&record.household_region)))
    }

    async fn residence_registration(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<ResidenceEntry>, PopsysError> {
        Ok(self
            .store
            .residence_registration_until(id, city.code())
            .await?
            .map(|valid_until| ResidenceEntry {
                valid_until,
                in_force: valid_until >= today,
            }))
    }

    async fn submit_application(
        &self,
        submission: &ApplicationSubmission,
        today: Date,
    ) -> Result<SubmissionOutcome, PopsysError> {
        let new = NewSubmission {
            idempotency_key: submission.idempotency_key.clone(),
            application_number: submission.application_number.clone(),
            id: submission.id.clone(),
            business: submission.business,
            household: submission.household,
            acceptance_unit: submission.acceptance_unit.clone(),
            photo: submission.photo_jpeg.clone(),
            fingers: submission.fingers.clone(),
            signature: submission.signature_png.clone(),
            mobile: submission.mobile.as_str().to_owned(),
            fee_fen: submission.fee_fen,
            payment_method: submission.payment_method,
            payment_reference: submission.payment_reference.clone(),
            issue_by: submission.issue_by,
            received_on: today,
            received_at: time::OffsetDateTime::now_utc().unix_timestamp(),
        };
        Ok(match self.store.submit_application(&new).await? {
            SubmitOutcome::Created(stored) => SubmissionOutcome::Accepted {
                application_number: stored.application_number,
                received_on: stored.received_on,
                created: true,
            },
            SubmitOutcome::Existing(stored) => SubmissionOutcome::Accepted {
                application_number: stored.application_number,
                received_on: stored.received_on,
                created: false,
            },
            SubmitOutcome::Refused { reason, message } => SubmissionOutcome::Refused {
                reason: reason.to_owned(),
                message,
            },
        })
    }

    async fn report_card_lost(
        &self,
        id: &CitizenId,
        application_number: &str,
        today: Date,
    ) -> Result<Option<LossReport>, PopsysError> {
        Ok(self
            .store
            .report_card_lost(id, application_number, today)
            .await?)
    }

    async fn filed_application(
        &self,
        application_number: &str,
    ) -> Result<Option<FiledApplication>, PopsysError> {
        let Some(stored) = self.store.submission_by_number(application_number).await? else {
            return Ok(None);
        };
        let Some(status) = self
            .store
            .population_application_status(application_number)
            .await?
        else {
            return Ok(None);
        };
        let rejection_reason = match status {
            ApplicationStatus::Rejected => {
                self.store
                    .population_rejection_reason(application_number)
                    .await?
            }
            _ => None,
        };
        Ok(Some(FiledApplication {
            application_number: stored.application_number,
            idempotency_key: stored.idempotency_key,
            id: stored.id,
            business: stored.business,
            household: stored.household,
            acceptance_unit: stored.acceptance_unit,
            photo: BlobDigest::of(&stored.photo),
            fingers: stored
                .fingers
                .iter()
                .map(|finger| {
                    (
                        finger.position,
                        finger.quality,
                        BlobDigest::of(&finger.template),
                    )
                })
                .collect(),
            signature: BlobDigest::of(&stored.signature),
            mobile: stored.mobile,
            fee_fen: stored.fee_fen,
            payment_method: stored.payment_method,
            payment_reference: stored.payment_reference,
            issue_by: stored.issue_by,
            received_on: stored.received_on,
            status,
            rejection_reason,
        }))
    }

    async fn card_collected(&self, application_number: &str) -> Result<bool, PopsysError> {
        match self
            .store
            .advance_population_application(application_number, ApplicationStatus::Collected)
            .await
        {
            Ok(Some(_)) => Ok(true),
            Ok(None) => Ok(false),
            Err(store::StoreError::Rejected(why)) => {
                match self
                    .store
                    .population_application_status(application_number)
                    .await?
                {
                    Some(ApplicationStatus::Collected) => Ok(true),
                    _ => Err(PopsysError::Protocol(why)),
                }
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn ready(&self) -> Result<(), PopsysError> {
        Ok(self.store.ping().await?)
    }

    async fn history_photo(&self, id: &CitizenId) -> Result<Option<HistoryPhoto>, PopsysError> {
        Ok(self
            .store
            .history_photo(id)
            .await?
            .map(|photo| HistoryPhoto {
                taken_on: photo.taken_on,
                jpeg: photo.jpeg,
            }))
    }

    async fn resolve_receipt(
        &self,
        code: &ReceiptCode,
        id: &CitizenId,
        today: Date,
    ) -> Result<ReceiptOutcome, PopsysError> {
        let Some(stored) = self.store.photo_receipt(code).await? else {
            return Ok(ReceiptOutcome::NotFound);
        };
        // One dated after today does not exist yet.
        if stored.created_on > today {
            return Ok(ReceiptOutcome::NotFound);
        }
        if stored.id != *id {
            return Ok(ReceiptOutcome::OtherPerson);
        }
        if let Some(used_on) = stored.used_on {
            return Ok(ReceiptOutcome::AlreadyUsed { used_on });
        }
        let last_valid_day = stored.last_valid_day();
        if today > last_valid_day {
            return Ok(ReceiptOutcome::Expired { last_valid_day });
        }
        Ok(ReceiptOutcome::Usable(receipt(stored)))
    }

    async fn redeem_receipt(
        &self,
        code: &ReceiptCode,
        id: &CitizenId,
        today: Date,
    ) -> Result<ReceiptOutcome, PopsysError> {
        Ok(match self.store.redeem_receipt(code, id, today).await? {
            RedeemOutcome::Redeemed(stored) => ReceiptOutcome::Usable(receipt(stored)),
            RedeemOutcome::NotFound => ReceiptOutcome::NotFound,
            RedeemOutcome::Expired { last_valid_day } => ReceiptOutcome::Expired { last_valid_day },
            RedeemOutcome::AlreadyUsed { used_on } => ReceiptOutcome::AlreadyUsed { used_on },
        })
    }
}
