//! [`HttpPopulationSystem`]: the [`PopulationSystem`] over the popsys HTTP API (`docs/popsys.md`),
//! for a center whose population system runs as its own service.

use std::time::Duration;

use async_trait::async_trait;
use domain::id::CitizenId;
use domain::region::KioskCity;
use reqwest::StatusCode;
use time::Date;

use crate::wire::{
    format_date, parse_date, CardStatusJson, CitizenJson, ErrorJson, ReceiptJson, ReceiptRequest,
    ReportLostJson, ResidenceJson, SubmissionAnswerJson, SubmissionJson, SubmissionViewJson,
};
use crate::{
    ApplicationSubmission, CardStatus, CitizenRecord, FiledApplication, HistoryPhoto, LossReport,
    PopsysError, PopulationSystem, ReceiptCode, ReceiptOutcome, ResidenceEntry, SubmissionOutcome,
};

/// A client of a popsys server. It sends its client token ([`HttpPopulationSystem::with_token`])
/// on every call; the server answers for its own date, so the `today` the trait passes is not
/// sent unless [`HttpPopulationSystem::sending_dates`] (a server started to let callers choose
/// the day: tests, demos).
#[derive(Clone)]
pub struct HttpPopulationSystem {
    client: reqwest::Client,
    base_url: String,
    token: Option<String>,
    send_dates: bool,
}

impl std::fmt::Debug for HttpPopulationSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPopulationSystem")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("send_dates", &self.send_dates)
            .finish()
    }
}

impl HttpPopulationSystem {
    /// A client of the server at `base_url` (`http://127.0.0.1:8081`), with a 2 s connect and a
    /// 10 s request timeout.
    pub fn new(base_url: &str) -> Result<HttpPopulationSystem, PopsysError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| PopsysError::Unavailable(format!("cannot build the client: {err}")))?;
        Ok(HttpPopulationSystem::with_client(base_url, client))
    }

    /// A client of the server at `base_url` using `client` (shared pools, custom timeouts).
    pub fn with_client(base_url: &str, client: reqwest::Client) -> HttpPopulationSystem {
        HttpPopulationSystem {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: None,
            send_dates: false,
        }
    }

    /// This client with its token (`Authorization: Bearer TOKEN` on every call).
    pub fn with_token(mut self, token: &str) -> HttpPopulationSystem {
        self.token = Some(token.to_owned());
        self
    }

    /// This client sending the caller's date as `on` (only for a server that lets callers choose
    /// the day; any other refuses such a call).
    pub fn sending_dates(mut self) -> HttpPopulationSystem {
        self.send_dates = true;
        self
    }

    /// `on`, when this client sends dates.
    fn on(&self, today: Date) -> Option<String> {
        self.send_dates.then(|| format_date(today))
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, PopsysError> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        request.send().await.map_err(|err| {
            // reqwest's error text carries the URL, which may hold an ID number: keep it out.
            PopsysError::Unavailable(err.without_url().to_string())
        })
    }
}

/// The error answer of a non-success status, as a [`PopsysError`].
async fn unexpected(what: &str, response: reqwest::Response) -> PopsysError {
    let status = response.status();
    let body: Option<ErrorJson> = response.json().await.ok();
    let detail = match body {
        Some(body) => match body.request_id {
            Some(id) => format!("{} (request id {id})", body.error),
            None => format!("{} (field {})", body.error, body.field.unwrap_or_default()),
        },
        None => "no error body".to_owned(),
    };
    let message = format!("{what}: HTTP {status}: {detail}");
    if status.is_server_error() {
        PopsysError::Unavailable(message)
    } else {
        PopsysError::Protocol(message)
    }
}

async fn json<T: serde::de::DeserializeOwned>(
    what: &str,
    response: reqwest::Response,
) -> Result<T, PopsysError> {
    response
        .json()
        .await
        .map_err(|err| PopsysError::Protocol(format!("{what}: unreadable answer: {err}")))
}

/// A 404 that says "nothing under this key" (the field named), not "no such route".
async fn not_found_for(field: &str, response: reqwest::Response) -> Result<(), PopsysError> {
    let body: Option<ErrorJson> = response.json().await.ok();
    match body.and_then(|body| body.field) {
        Some(named) if named == field => Ok(()),
        other => Err(PopsysError::Protocol(format!(
            "404 naming {other:?} instead of {field:?}: is the base URL a popsys server?"
        ))),
    }
}

impl HttpPopulationSystem {
    /// A citizen record from one of the registers (`citizens`, `registers/local/citizens`, …).
    async fn register_record(
        &self,
        register: &str,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError> {
        let url = format!("{}/v1/{register}/{}", self.base_url, id.as_str());
        let mut request = self.client.get(url).query(&[("city", city.code())]);
        if let Some(on) = self.on(today) {
            request = request.query(&[("on", on)]);
        }
        let response = self.send(request).await?;
        match response.status() {
            StatusCode::OK => {
                let body: CitizenJson = json(register, response).await?;
                if body.id != id.as_str() || body.city != city.code() {
                    return Err(PopsysError::Protocol(format!(
                        "{register}: the answer is about another number or city"
                    )));
                }
                body.into_record()
                    .map(Some)
                    .map_err(|err| PopsysError::Protocol(format!("{register}: {err}")))
            }
            StatusCode::NOT_FOUND => {
                not_found_for("id", response).await?;
                Ok(None)
            }
            _ => Err(unexpected(register, response).await),
        }
    }

    async fn receipt(
        &self,
        action: &str,
        code: &ReceiptCode,
        id: &CitizenId,
        today: Date,
    ) -> Result<ReceiptOutcome, PopsysError> {
        let what = format!("{action} receipt");
        let url = format!("{}/v1/receipts/{}/{action}", self.base_url, code.as_str());
        let body = ReceiptRequest {
            id_number: Some(id.as_str().to_owned()),
            on: self.on(today),
        };
        let response = self.send(self.client.post(url).json(&body)).await?;
        match response.status() {
            StatusCode::OK => {
                let receipt: ReceiptJson = json(&what, response).await?;
                Ok(ReceiptOutcome::Usable(
                    receipt.into_receipt().map_err(PopsysError::Protocol)?,
                ))
            }
            StatusCode::NOT_FOUND => {
                let body: Option<ErrorJson> = response.json().await.ok();
                match body {
                    Some(body) if body.field.as_deref() == Some("code") => {
                        if body.reason.as_deref() == Some("other_person") {
                            Ok(ReceiptOutcome::OtherPerson)
                        } else {
                            Ok(ReceiptOutcome::NotFound)
                        }
                    }
                    other => Err(PopsysError::Protocol(format!(
                        "{what}: 404 naming {:?} instead of \"code\": is the base URL a popsys server?",
                        other.and_then(|body| body.field)
                    ))),
                }
            }
            StatusCode::CONFLICT => {
                let body: ErrorJson = json(&what, response).await?;
                let used_on = body
                    .used_on
                    .as_deref()
                    .and_then(parse_date)
                    .ok_or_else(|| {
                        PopsysError::Protocol(format!("{what}: 409 without a used_on date"))
                    })?;
                Ok(ReceiptOutcome::AlreadyUsed { used_on })
            }
            StatusCode::GONE => {
                let body: ErrorJson = json(&what, response).await?;
                let last_valid_day = body
                    .last_valid_day
                    .as_deref()
                    .and_then(parse_date)
                    .ok_or_else(|| {
                        PopsysError::Protocol(format!("{what}: 410 without a last_valid_day"))
                    })?;
                Ok(ReceiptOutcome::Expired { last_valid_day })
            }
            _ => Err(unexpected(&what, response).await),
        }
    }
}

#[async_trait]
impl PopulationSystem for HttpPopulationSystem {
    async fn ready(&self) -> Result<(), PopsysError> {
        let response = self
            .send(self.client.get(format!("{}/health", self.base_url)))
            .await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(unexpected("health", response).await)
        }
    }

    async fn citizen(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError> {
        self.register_record("citizens", id, city, today).await
    }

    async fn local_resident(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError> {
        self.register_record("registers/local/citizens", id, city, today)
            .await
    }

    async fn provincial_resident(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError> {
        self.register_record("registers/province/citizens", id, city, today)
            .await
    }

    async fn residence_registration(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<ResidenceEntry>, PopsysError> {
        let what = "residence registration";
        let url = format!(
            "{}/v1/registers/residence/citizens/{}",
            self.base_url,
            id.as_str()
        );
        let mut request = self.client.get(url).query(&[("city", city.code())]);
        if let Some(on) = self.on(today) {
            request = request.query(&[("on", on)]);
        }
        let response = self.send(request).await?;
        match response.status() {
            StatusCode::OK => {
                let body: ResidenceJson = json(what, response).await?;
                if body.city != city.code() {
                    return Err(PopsysError::Protocol(format!(
                        "{what}: the answer is about another city"
                    )));
                }
                let valid_until = parse_date(&body.valid_until).ok_or_else(|| {
                    PopsysError::Protocol(format!("{what}: valid_until is not a date"))
                })?;
                Ok(Some(ResidenceEntry {
                    valid_until,
                    in_force: body.in_force,
                }))
            }
            StatusCode::NOT_FOUND => {
                not_found_for("id", response).await?;
                Ok(None)
            }
            _ => Err(unexpected(what, response).await),
        }
    }

    async fn submit_application(
        &self,
        submission: &ApplicationSubmission,
        today: Date,
    ) -> Result<SubmissionOutcome, PopsysError> {
        let what = "submit application";
        let url = format!("{}/v1/applications", self.base_url);
        let mut body = SubmissionJson::from_submission(submission, today);
        body.on = self.on(today);
        let response = self.send(self.client.post(url).json(&body)).await?;
        match response.status() {
            StatusCode::OK | StatusCode::CREATED => {
                let answer: SubmissionAnswerJson = json(what, response).await?;
                if answer.application_number != submission.application_number {
                    return Err(PopsysError::Protocol(format!(
                        "{what}: filed under another number"
                    )));
                }
                let received_on = parse_date(&answer.received_on).ok_or_else(|| {
                    PopsysError::Protocol(format!("{what}: received_on is not a date"))
                })?;
                Ok(SubmissionOutcome::Accepted {
                    application_number: answer.application_number,
                    received_on,
                    created: answer.created,
                })
            }
            StatusCode::CONFLICT => {
                let body: ErrorJson = json(what, response).await?;
                let reason = body.reason.ok_or_else(|| {
                    PopsysError::Protocol(format!("{what}: 409 without a reason"))
                })?;
                Ok(SubmissionOutcome::Refused {
                    reason,
                    message: body.error,
                })
            }
            _ => Err(unexpected(what, response).await),
        }
    }

    async fn report_card_lost(
        &self,
        id: &CitizenId,
        application_number: &str,
        today: Date,
    ) -> Result<Option<LossReport>, PopsysError> {
        let what = "report card lost";
        let url = format!("{}/v1/cards/{}/report-lost", self.base_url, id.as_str());
        let body = ReportLostJson {
            application_number: application_number.to_owned(),
            on: self.on(today),
        };
        let response = self.send(self.client.post(url).json(&body)).await?;
        match response.status() {
            StatusCode::OK => {
                let answer: CardStatusJson = json(what, response).await?;
                let card_status = answer
                    .status
                    .as_deref()
                    .map(|text| {
                        CardStatus::parse(text).ok_or_else(|| {
                            PopsysError::Protocol(format!("{what}: unknown card status {text:?}"))
                        })
                    })
                    .transpose()?;
                let reported_on = answer
                    .reported_lost_on
                    .as_deref()
                    .and_then(parse_date)
                    .ok_or_else(|| {
                        PopsysError::Protocol(format!("{what}: no reported_lost_on date"))
                    })?;
                Ok(Some(LossReport {
                    card_status,
                    reported_on,
                }))
            }
            StatusCode::NOT_FOUND => {
                not_found_for("id", response).await?;
                Ok(None)
            }
            _ => Err(unexpected(what, response).await),
        }
    }

    async fn filed_application(
        &self,
        application_number: &str,
    ) -> Result<Option<FiledApplication>, PopsysError> {
        let what = "filed application";
        if application_number.is_empty() || !application_number.bytes().all(|b| b.is_ascii_digit())
        {
            return Ok(None);
        }
        let url = format!("{}/v1/applications/{application_number}", self.base_url);
        let response = self.send(self.client.get(url)).await?;
        match response.status() {
            StatusCode::OK => {
                let body: SubmissionViewJson = json(what, response).await?;
                body.into_filed()
                    .map(Some)
                    .map_err(|err| PopsysError::Protocol(format!("{what}: {err}")))
            }
            StatusCode::NOT_FOUND => {
                not_found_for("number", response).await?;
                Ok(None)
            }
            _ => Err(unexpected(what, response).await),
        }
    }

    async fn card_collected(&self, application_number: &str) -> Result<bool, PopsysError> {
        let what = "card collected";
        if application_number.is_empty() || !application_number.bytes().all(|b| b.is_ascii_digit())
        {
            return Ok(false);
        }
        let url = format!(
            "{}/v1/applications/{application_number}/collected",
            self.base_url
        );
        let response = self.send(self.client.post(url)).await?;
        match response.status() {
            StatusCode::NO_CONTENT => Ok(true),
            StatusCode::NOT_FOUND => {
                not_found_for("number", response).await?;
                Ok(false)
            }
            _ => Err(unexpected(what, response).await),
        }
    }

    async fn history_photo(&self, id: &CitizenId) -> Result<Option<HistoryPhoto>, PopsysError> {
        let url = format!(
            "{}/v1/citizens/{}/history-photo",
            self.base_url,
            id.as_str()
        );
        let response = self.send(self.client.get(url)).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            not_found_for("id", response).await?;
            return Ok(None);
        }
        if status != StatusCode::OK && status != StatusCode::NO_CONTENT {
            return Err(unexpected("history photo", response).await);
        }
        let taken_on = response
            .headers()
            .get("x-photo-taken-on")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_date)
            .ok_or_else(|| {
                PopsysError::Protocol("history photo: no x-photo-taken-on date".into())
            })?;
        let jpeg = if status == StatusCode::OK {
            let bytes = response.bytes().await.map_err(|err| {
                PopsysError::Unavailable(format!("history photo: {}", err.without_url()))
            })?;
            Some(bytes.to_vec())
        } else {
            None
        };
        Ok(Some(HistoryPhoto { taken_on, jpeg }))
    }

    async fn resolve_receipt(
        &self,
        code: &ReceiptCode,
        id: &CitizenId,
        today: Date,
    ) -> Result<ReceiptOutcome, PopsysError> {
        self.receipt("resolve", code, id, today).await
    }

    async fn redeem_receipt(
        &self,
        code: &ReceiptCode,
        id: &CitizenId,
        today: Date,
    ) -> Result<ReceiptOutcome, PopsysError> {
        self.receipt("redeem", code, id, today).await
    }
}
