//! The kiosk agent's link to the center: [`kiosk::center_api::CenterApi`] over the center's own
//! typed client ([`center::client::CenterClient`], the HTTP session API of docs/kiosk-api.md),
//! converting its wire answers into domain types. Connection errors and 5xx are
//! [`CenterError::Unavailable`] (the agent retries), refusals are [`CenterError::Refused`].

use async_trait::async_trait;
use base64::Engine as _;
use center::client::{CenterClient, ClientError};
use center::paper::{IdentityRequest, PortraitRequest};
use center::payments::{CreatePaymentRequest, PaymentAnswer, PosReport};
use center::steps::{
    ApplicationRequest, FacesLiveness, FacesRequest, FingerJson, ReceiptRefusal, ReceiptRequest,
};
use center::wire::{CardJson, ScopeRequest as ScopeJson, ScopeResponse};
use domain::id::CitizenId;
use domain::rules::{Decision, NewCardValidity, Reason};
use domain::session::{
    FaceScores, PaymentMethod, PortraitApplication, ReceiptAnswer, ReceiptCode, ScopeRequest,
    SessionId, SessionOutcome,
};
use kiosk::center_api::{
    ApplicationRecord, CenterApi, CenterError, CollectionOffice, DocumentKind, LiveScore, PayState,
    PaymentOrder, PosResult, ScopeAnswer,
};

/// The link: the center's client plus the conversions.
pub struct CenterLink {
    client: CenterClient,
}

impl CenterLink {
    /// A link to the center at `base` (`http://host:port`).
    pub fn new(base: &str, kiosk_id: &str, secret: &str) -> anyhow::Result<CenterLink> {
        anyhow::ensure!(
            base.starts_with("http://") || base.starts_with("https://"),
            "the center URL must start with http:// or https://"
        );
        Ok(CenterLink {
            client: CenterClient::new(base, kiosk_id, secret),
        })
    }

    /// A link over mutual TLS to the center at `base` (`https://host:port`), with the
    /// certificate, key and CA that `idkiosk fleet enrol` wrote into `tls_dir` (`kiosk.pem`,
    /// `kiosk.key`, `ca.pem`); no shared secret.
    pub fn with_tls(
        base: &str,
        kiosk_id: &str,
        tls_dir: &std::path::Path,
    ) -> anyhow::Result<CenterLink> {
        anyhow::ensure!(
            base.starts_with("https://"),
            "with a TLS folder the center URL must start with https://"
        );
        let client = CenterClient::from_tls_dir(
            base,
            kiosk_id,
            tls_dir,
            std::time::Duration::from_secs(30),
        )?;
        Ok(CenterLink { client })
    }
}

#[async_trait]
impl kiosk::fleet::FleetApi for CenterLink {
    async fn heartbeat(
        &self,
        heartbeat: &kiosk::fleet::Heartbeat,
    ) -> Result<Option<i64>, CenterError> {
        // The kiosk's body and the center's type are the same JSON; the center's type checks it.
        let request: center::fleet::heartbeat::HeartbeatRequest = serde_json::to_value(heartbeat)
            .and_then(serde_json::from_value)
            .map_err(|err| CenterError::Refused(format!("heartbeat: {err}")))?;
        let answer = self.client.heartbeat(&request).await.map_err(failed)?;
        Ok(answer.config_version)
    }

    async fn config_since(
        &self,
        since: Option<i64>,
    ) -> Result<Option<kiosk::fleet::RemoteConfig>, CenterError> {
        let Some(answer) = self.client.fleet_config(since).await.map_err(failed)? else {
            return Ok(None);
        };
        serde_json::to_value(&answer)
            .and_then(serde_json::from_value)
            .map(Some)
            .map_err(|_| refused("configuration"))
    }
}

/// The center's step-6 answer in domain terms; a refusal without a reason (an older center) is
/// "not found".
fn receipt_answer(found: bool, reason: Option<ReceiptRefusal>) -> ReceiptAnswer {
    match (found, reason) {
        (true, _) => ReceiptAnswer::Found,
        (false, Some(ReceiptRefusal::Expired)) => ReceiptAnswer::Expired,
        (false, Some(ReceiptRefusal::AlreadyUsed)) => ReceiptAnswer::AlreadyUsed,
        (false, Some(ReceiptRefusal::OtherPerson)) => ReceiptAnswer::OtherPerson,
        (false, Some(ReceiptRefusal::NotFound) | None) => ReceiptAnswer::NotFound,
    }
}

fn failed(error: ClientError) -> CenterError {
    if error.is_retryable() {
        CenterError::Unavailable(error.to_string())
    } else {
        CenterError::Refused(error.to_string())
    }
}

fn refused(what: &str) -> CenterError {
    CenterError::Refused(format!("the center's answer has no valid {what}"))
}

fn pay_state(answer: &PaymentAnswer) -> Result<PayState, CenterError> {
    match answer.state.as_str() {
        "SUCCESS" => Ok(PayState::Success),
        "NOTPAY" | "USERPAYING" => Ok(PayState::Notpay),
        "CLOSED" | "REVOKED" | "REFUND" => Ok(PayState::Closed),
        "PAYERROR" => Ok(PayState::Payerror),
        _ => Err(refused("state")),
    }
}

fn method_code(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::WeChat => "wechat",
        PaymentMethod::UnionPay => "unionpay",
    }
}

/// The decision of a scope answer.
fn decision(answer: &ScopeResponse) -> Result<Decision, CenterError> {
    match answer.outcome.as_str() {
        "accept" => {
            let fee_cny = answer.fee_cny.ok_or_else(|| refused("fee_cny"))?;
            let validity = match answer.new_card_validity.as_deref() {
                Some("10_years") => NewCardValidity::TenYears,
                Some("20_years") => NewCardValidity::TwentyYears,
                Some("long_term") => NewCardValidity::LongTerm,
                _ => return Err(refused("new_card_validity")),
            };
            let issue_by = answer
                .issue_by
                .as_deref()
                .and_then(|d| {
                    time::Date::parse(d, &time::format_description::well_known::Iso8601::DATE).ok()
                })
                .ok_or_else(|| refused("issue_by"))?;
            Ok(Decision::Accept {
                fee_cny,
                validity,
                issue_by,
            })
        }
        "refer" => Reason::parse(&answer.reason)
            .map(Decision::Refer)
            .ok_or_else(|| refused("reason")),
        _ => Err(refused("outcome")),
    }
}

fn iso(date: time::Date) -> String {
    date.to_string()
}

#[async_trait]
impl CenterApi for CenterLink {
    async fn scope(
        &self,
        session: &SessionId,
        request: &ScopeRequest,
    ) -> Result<ScopeAnswer, CenterError> {
        let card = request.card.as_ref().map(|card| CardJson {
            id: card.id.as_str().to_owned(),
            valid_from: iso(card.valid_from),
            valid_until: match card.valid_until {
                domain::rules::CardExpiry::On(date) => iso(date),
                domain::rules::CardExpiry::LongTerm => "long_term".to_owned(),
            },
        });
        let body = ScopeJson {
            business: request.business.as_str().to_owned(),
            household: request.household.as_str().to_owned(),
            id: request.id.as_str().to_owned(),
            card,
        };
        let answer = self
            .client
            .session_scope(session, &body)
            .await
            .map_err(failed)?;
        Ok(ScopeAnswer {
            decision: decision(&answer)?,
            name: answer.name.clone(),
        })
    }

    async fn receipt(
        &self,
        session: &SessionId,
        id: &CitizenId,
        receipt: &ReceiptCode,
    ) -> Result<ReceiptAnswer, CenterError> {
        let body = ReceiptRequest {
            id: id.as_str().to_owned(),
            receipt: receipt.as_str().to_owned(),
        };
        let answer = self.client.receipt(session, &body).await.map_err(failed)?;
        Ok(receipt_answer(answer.found, answer.reason))
    }

    async fn verify_faces(
        &self,
        session: &SessionId,
        id: &CitizenId,
        receipt: &ReceiptCode,
        live_photo_jpeg: &[u8],
    ) -> Result<FaceScores, CenterError> {
        self.verify_faces_scored(session, id, receipt, live_photo_jpeg, None)
            .await
    }

    async fn verify_faces_scored(
        &self,
        session: &SessionId,
        id: &CitizenId,
        receipt: &ReceiptCode,
        live_photo_jpeg: &[u8],
        liveness: Option<&LiveScore>,
    ) -> Result<FaceScores, CenterError> {
        let body = FacesRequest {
            id: id.as_str().to_owned(),
            receipt: receipt.as_str().to_owned(),
            live_photo: base64::engine::general_purpose::STANDARD.encode(live_photo_jpeg),
            liveness: liveness.map(|l| FacesLiveness {
                score: f64::from(l.score),
                engine: l.engine.clone(),
            }),
        };
        let answer = self.client.faces(session, &body).await.map_err(failed)?;
        Ok(FaceScores {
            certified_vs_history: answer.certified_vs_history as f32,
            live_vs_history: answer.live_vs_history as f32,
        })
    }

    async fn put_blob(
        &self,
        session: &SessionId,
        kind: &str,
        bytes: &[u8],
    ) -> Result<(), CenterError> {
        self.client
            .put_blob(session, kind, bytes.to_vec())
            .await
            .map_err(failed)
    }

    async fn submit_application(
        &self,
        session: &SessionId,
        application: &ApplicationRecord,
    ) -> Result<String, CenterError> {
        let body = ApplicationRequest {
            business: application.business.clone(),
            household: application.household.clone(),
            id: application.id.clone(),
            receipt: application.receipt.clone(),
            mobile: application.mobile.clone(),
            fee_cny: application.fee_cny,
            validity: application.validity.clone(),
            issue_by: application.issue_by.clone(),
            fingers: application
                .fingers
                .iter()
                .map(|f| FingerJson {
                    position: f.position.clone(),
                    quality: f.quality,
                })
                .collect(),
        };
        Ok(self
            .client
            .application(session, &body)
            .await
            .map_err(failed)?
            .application_no)
    }

    async fn create_payment(
        &self,
        session: &SessionId,
        method: PaymentMethod,
        attempt: u8,
        amount_fen: u32,
    ) -> Result<PaymentOrder, CenterError> {
        let body = CreatePaymentRequest {
            method: method_code(method).to_owned(),
            attempt,
            amount_fen,
        };
        let answer = self
            .client
            .create_payment(session, &body)
            .await
            .map_err(failed)?;
        Ok(PaymentOrder {
            state: pay_state(&answer)?,
            out_trade_no: answer.out_trade_no,
            code_url: answer.code_url,
        })
    }

    async fn payment_state(
        &self,
        session: &SessionId,
        attempt: u8,
    ) -> Result<PayState, CenterError> {
        pay_state(
            &self
                .client
                .payment(session, attempt)
                .await
                .map_err(failed)?,
        )
    }

    async fn close_payment(
        &self,
        session: &SessionId,
        attempt: u8,
    ) -> Result<PayState, CenterError> {
        pay_state(
            &self
                .client
                .close_payment(session, attempt)
                .await
                .map_err(failed)?,
        )
    }

    async fn report_pos(
        &self,
        session: &SessionId,
        attempt: u8,
        result: &PosResult,
    ) -> Result<PayState, CenterError> {
        let report = PosReport {
            approved: result.approved,
            response_code: result.response_code.clone(),
            card_masked: Some(result.card_masked.clone()),
            reference: Some(result.reference.clone()),
            auth_code: Some(result.auth_code.clone()),
            time: Some(result.time.clone()),
            voucher: Some(result.voucher.clone()).filter(|v| !v.is_empty()),
            batch: Some(result.batch.clone()).filter(|b| !b.is_empty()),
            amount_fen: Some(result.amount_fen).filter(|fen| *fen > 0),
        };
        pay_state(
            &self
                .client
                .report_pos(session, attempt, &report)
                .await
                .map_err(failed)?,
        )
    }

    async fn collection(
        &self,
        session: &SessionId,
    ) -> Result<Option<CollectionOffice>, CenterError> {
        let answer = self.client.collection(session).await.map_err(failed)?;
        Ok(Some(CollectionOffice {
            office: answer.office,
            address: answer.address,
            hours: answer.hours,
        }))
    }

    async fn document(
        &self,
        session: &SessionId,
        kind: DocumentKind,
    ) -> Result<Vec<u8>, CenterError> {
        self.client
            .document(session, kind.as_str())
            .await
            .map_err(failed)
    }

    async fn identity(
        &self,
        session: &SessionId,
        id: &CitizenId,
    ) -> Result<Option<String>, CenterError> {
        let body = IdentityRequest {
            id: id.as_str().to_owned(),
        };
        let answer = self.client.identity(session, &body).await.map_err(failed)?;
        match answer.identity {
            None => Ok(None),
            Some(identity) if identity.id_masked == id.masked() => Ok(Some(identity.name_masked)),
            Some(_) => Err(CenterError::Refused(
                "identity: the center answered for another number".into(),
            )),
        }
    }

    async fn portrait_form(
        &self,
        session: &SessionId,
        id: &CitizenId,
        application: PortraitApplication,
    ) -> Result<Vec<u8>, CenterError> {
        let body = PortraitRequest {
            id: id.as_str().to_owned(),
            business: Some(application.as_str().to_owned()),
        };
        self.client
            .session_portrait_form(session, &body)
            .await
            .map_err(failed)
    }

    async fn end_session(
        &self,
        session: &SessionId,
        outcome: &SessionOutcome,
    ) -> Result<(), CenterError> {
        self.client.end(session, outcome).await.map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    //! The fleet side of the link over mutual TLS to a real center (in process, SQLite): the
    //! heartbeat shows in the fleet view under the certificate's kiosk, a pushed configuration
    //! is fetched; without the kiosk's identity the TLS port refuses.

    use std::collections::BTreeMap;
    use std::sync::Arc;

    use center::auth::KioskSecrets;
    use center::fleet::ca::{CertificateAuthority, LEAF_VALIDITY};
    use devices::DeviceHealth;
    use domain::region::KioskCity;
    use kiosk::fleet::{DeviceReport, FleetApi, Heartbeat};
    use serde_json::{json, Value};
    use time::OffsetDateTime;

    use super::CenterLink;

    const OPERATOR: &str = "operator-token-center-link";

    async fn spawn_plain(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    async fn operator(method: reqwest::Method, url: &str, body: Option<Value>) -> Value {
        let mut request = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(OPERATOR);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    fn heartbeat(config_version: Option<i64>) -> Heartbeat {
        let mut devices = BTreeMap::new();
        devices.insert(
            "fingerprint".to_owned(),
            DeviceReport::from_health(&DeviceHealth::Error {
                reason: "timeout".into(),
            }),
        );
        devices.insert(
            "printer".to_owned(),
            DeviceReport {
                state: "warning".into(),
                reason: Some("toner-low".into()),
                paper: Some("ok".into()),
                toner: Some("low".into()),
            },
        );
        Heartbeat {
            software_version: env!("CARGO_PKG_VERSION").to_owned(),
            outbox_backlog: 2,
            config_version,
            devices,
        }
    }

    #[tokio::test]
    async fn fleet_calls_over_mutual_tls_reach_the_fleet_view_and_fetch_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::Store::connect(&format!(
            "sqlite://{}",
            dir.path().join("center.db").display()
        ))
        .await
        .unwrap();
        let mut state = center::AppState::new(
            Arc::new(popsys::StorePopulationSystem::new(store.clone())),
            Arc::new(|| time::macros::date!(2026 - 11 - 25)),
            KioskCity::parse("320100").unwrap(),
            KioskSecrets::new([("K0001", "s3cret-K0001")]),
            store.clone(),
        );
        state.fleet.operator_token = Some(OPERATOR.into());
        let ca_dir = dir.path().join("ca");
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let ca = CertificateAuthority::init(&ca_dir, &names, OffsetDateTime::now_utc()).unwrap();
        let issued = ca
            .issue_kiosk("K0042", OffsetDateTime::now_utc(), LEAF_VALIDITY)
            .unwrap();
        store.record_certificate(&issued.record()).await.unwrap();
        let kiosk_dir = ca.write_kiosk(&issued).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tls_url = format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        );
        tokio::spawn(center::tls::serve(
            listener,
            center::tls::server_config_from_dir(&ca_dir).unwrap(),
            center::app(state.clone()),
        ));
        let plain = spawn_plain(center::app(state)).await;

        let link = CenterLink::with_tls(&tls_url, "K0042", &kiosk_dir).unwrap();
        assert_eq!(link.heartbeat(&heartbeat(None)).await.unwrap(), None);
        let view = operator(
            reqwest::Method::GET,
            &format!("{plain}/v1/fleet/kiosks"),
            None,
        )
        .await;
        let kiosk = view["kiosks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kiosk_id"] == "K0042")
            .unwrap_or_else(|| panic!("K0042 not in {view}"))
            .clone();
        assert_eq!(kiosk["outbox_backlog"], 2, "{kiosk}");
        assert_eq!(kiosk["software_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(kiosk["devices"]["printer"]["toner"], "low");
        assert_eq!(kiosk["devices"]["fingerprint"]["state"], "error");

        let pushed = operator(
            reqwest::Method::PUT,
            &format!("{plain}/v1/fleet/config"),
            Some(json!({
                "thresholds": {"face_certified": 96.0, "face_live": 65.0, "fingerprint_quality": 45},
                "timeouts": {"idle_s": 90, "step_s": 40, "payment_s": 300},
                "fees": {"expiry_renewal_cny": 20, "lost_cny": 40, "damaged_cny": 40},
                "payment_methods": ["wechat", "unionpay"]})),
        )
        .await;
        let version = pushed["version"].as_i64().unwrap();
        assert_eq!(
            link.heartbeat(&heartbeat(None)).await.unwrap(),
            Some(version)
        );
        let fetched = link.config_since(None).await.unwrap().expect("a version");
        assert_eq!(fetched.version, version);
        assert_eq!(fetched.config.timeouts.idle_s, 90);
        assert_eq!(fetched.config.thresholds.fingerprint_quality, 45);
        assert_eq!(link.config_since(Some(version)).await.unwrap(), None);

        // No identity: a folder without the key is refused before any call; a client that
        // does not trust the center's CA and presents nothing never gets an answer.
        let ca_only = dir.path().join("ca-only");
        std::fs::create_dir_all(&ca_only).unwrap();
        std::fs::copy(kiosk_dir.join("ca.pem"), ca_only.join("ca.pem")).unwrap();
        assert!(CenterLink::with_tls(&tls_url, "K0042", &ca_only).is_err());
        assert!(CenterLink::with_tls(&plain, "K0042", &kiosk_dir).is_err());
        let secret_only = CenterLink::new(&tls_url, "K0001", "s3cret-K0001").unwrap();
        let refused = secret_only.heartbeat(&heartbeat(None)).await.unwrap_err();
        assert!(refused.is_retryable(), "{refused:?}");
    }
}
