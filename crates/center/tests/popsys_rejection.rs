//! Issue 17: a population system that refuses an application after it accepted it (审核不通过,
//! with its reason). The center's production poll sees the report, moves the application to
//! rejected with the reason as actor `popsys`, and the rejection notice reaches the SMSC word for
//! word, once. On SQLite and, when configured, PostgreSQL.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use center::delivery::{deliver_due, DeliverySettings};
use center::journey::{poll_production, send_due_notices, JourneySettings};
use domain::id::CitizenId;
use domain::journey::ApplicationState;
use domain::notice::NoticeKind;
use domain::region::KioskCity;
use popsys::seed::demo;
use popsys::{
    ApplicationStatus, ApplicationSubmission, CitizenRecord, FiledApplication, HistoryPhoto,
    LossReport, PopsysError, PopulationSystem, ReceiptCode, ReceiptOutcome, ResidenceEntry,
    SubmissionOutcome,
};
use sms::sim::{start_smsc, SmscSimConfig};
use sms::{SmppConfig, SmppGateway};
use time::Date;

use crate::integrity::{file, pay_and_complete};
use crate::world::{databases, new_session, world_with};

const REASON: &str = "照片不符合要求";
const REJECTED_TEXT: &str = "【居民身份证】*晓燕，您的居民身份证申请（受理编号{no}）未通过审核：照片不符合要求。请到户政窗口办理。";

/// A population system that answers as `inner`, except that the applications in `rejected` are
/// reported refused with their reason (what a bureau's system behind the trait reports).
struct Rejecting {
    inner: Arc<dyn PopulationSystem>,
    rejected: Arc<Mutex<Vec<(String, String)>>>,
}

#[async_trait]
impl PopulationSystem for Rejecting {
    async fn citizen(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError> {
        self.inner.citizen(id, city, today).await
    }
    async fn history_photo(&self, id: &CitizenId) -> Result<Option<HistoryPhoto>, PopsysError> {
        self.inner.history_photo(id).await
    }
    async fn resolve_receipt(
        &self,
        code: &ReceiptCode,
        id: &CitizenId,
        today: Date,
    ) -> Result<ReceiptOutcome, PopsysError> {
        self.inner.resolve_receipt(code, id, today).await
    }
    async fn redeem_receipt(
        &self,
        code: &ReceiptCode,
        id: &CitizenId,
        today: Date,
    ) -> Result<ReceiptOutcome, PopsysError> {
        self.inner.redeem_receipt(code, id, today).await
    }
    async fn local_resident(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError> {
        self.inner.local_resident(id, city, today).await
    }
    async fn provincial_resident(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError> {
        self.inner.provincial_resident(id, city, today).await
    }
    async fn residence_registration(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<ResidenceEntry>, PopsysError> {
        self.inner.residence_registration(id, city, today).await
    }
    async fn submit_application(
        &self,
        submission: &ApplicationSubmission,
        today: Date,
    ) -> Result<SubmissionOutcome, PopsysError> {
        self.inner.submit_application(submission, today).await
    }
    async fn report_card_lost(
        &self,
        id: &CitizenId,
        application_number: &str,
        today: Date,
    ) -> Result<Option<LossReport>, PopsysError> {
        self.inner
            .report_card_lost(id, application_number, today)
            .await
    }
    async fn card_collected(&self, application_number: &str) -> Result<bool, PopsysError> {
        self.inner.card_collected(application_number).await
    }
    async fn filed_application(
        &self,
        application_number: &str,
    ) -> Result<Option<FiledApplication>, PopsysError> {
        let filed = self.inner.filed_application(application_number).await?;
        let rejected = self.rejected.lock().unwrap().clone();
        Ok(filed.map(|mut filed| {
            if let Some((_, reason)) = rejected.iter().find(|(n, _)| n == application_number) {
                filed.status = ApplicationStatus::Rejected;
                filed.rejection_reason = Some(reason.clone());
            }
            filed
        }))
    }
}

#[tokio::test]
async fn a_rejection_after_acceptance_is_seen_by_the_poll_and_told_once() {
    for db in databases("center popsys rejection").await {
        let backend = db.store().backend();
        let rejected = Arc::new(Mutex::new(Vec::new()));
        let report = rejected.clone();
        let world = world_with(db, move |state| {
            state.population = Arc::new(Rejecting {
                inner: state.population.clone(),
                rejected: report,
            });
        })
        .await;
        let sim = start_smsc(SmscSimConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..SmscSimConfig::default()
        })
        .await
        .expect("the SMSC simulator starts");
        let gateway = SmppGateway::new(SmppConfig::new(
            &sim.smpp_addr().to_string(),
            "idkiosk",
            "secret",
            "10690001",
        ))
        .expect("a valid gateway configuration");
        let settings = JourneySettings::default();

        let sid = new_session();
        crate::sessions::scoped(&world, &sid).await;
        let number = file(&world, &sid, demo::RECEIPT).await;
        pay_and_complete(&world, &sid).await;
        deliver_due(&world.state, &DeliverySettings::default())
            .await
            .unwrap();
        let store = world.store();
        assert_eq!(
            store.application_state(&number).await.unwrap(),
            Some(ApplicationState::Accepted),
            "{backend}"
        );

        // The population system refuses it after all.
        rejected
            .lock()
            .unwrap()
            .push((number.clone(), REASON.to_owned()));
        let pass = poll_production(&world.state, &settings).await.unwrap();
        assert_eq!(pass.moved, [(number.clone(), ApplicationState::Rejected)]);
        assert_eq!(
            store.application_state(&number).await.unwrap(),
            Some(ApplicationState::Rejected)
        );
        // Polled again: finished, nothing moves and nothing is queued twice.
        let pass = poll_production(&world.state, &settings).await.unwrap();
        assert!(pass.moved.is_empty(), "{pass:?}");

        let moves = store.application_transitions(&number).await.unwrap();
        let last = moves.last().expect("moves");
        assert_eq!(
            (
                last.from.as_str(),
                last.to.as_str(),
                last.actor.as_str(),
                last.reason.as_deref()
            ),
            ("accepted", "rejected", "popsys", Some(REASON))
        );

        let sent = send_due_notices(&world.state, &gateway, &settings)
            .await
            .unwrap();
        assert_eq!(
            sent.sent,
            [
                (number.clone(), NoticeKind::Accepted),
                (number.clone(), NoticeKind::Rejected)
            ]
        );
        let received = sim.messages();
        let last = received.last().expect("messages");
        assert_eq!(
            (last.to.as_str(), last.text.as_str()),
            (
                "13912345678",
                REJECTED_TEXT.replace("{no}", &number).as_str()
            ),
            "{backend}"
        );
        world.finish().await;
    }
}
