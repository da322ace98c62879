//! The fleet's records (migration `0005_fleet`): kiosk client certificates issued by the center's
//! CA and their revocation, each kiosk's last heartbeat, and the versioned remote configuration.
//!
//! Invariants:
//! - A certificate is accepted only while its serial is recorded here for the kiosk named in it
//!   and not revoked; revocation is one `UPDATE`, seen by every replica on the next request.
//! - A heartbeat replaces the kiosk's previous one (the fleet view shows the latest).
//! - Configuration versions are allocated by the database (identity / autoincrement), never in
//!   memory, so two replicas storing at once get two versions.
//! - Nothing here holds personal data: kiosk ids, device states, counts.

use crate::{Store, StoreError};

/// A client certificate issued to a kiosk at enrolment.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CertificateRecord {
    /// The certificate's serial number, lower-case hex.
    pub serial: String,
    /// The kiosk it was issued to (its subject CN).
    pub kiosk_id: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// End of validity, unix seconds.
    pub not_after: i64,
    /// When it was revoked, unix seconds.
    pub revoked_at: Option<i64>,
}

/// What the database says about a certificate presented on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateStatus {
    /// Recorded for this kiosk and not revoked.
    Valid,
    /// Recorded for this kiosk and revoked.
    Revoked,
    /// Not recorded, or recorded for another kiosk.
    Unknown,
}

/// A kiosk's heartbeat as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HeartbeatRecord {
    /// The kiosk (from its authentication, never from the body).
    pub kiosk_id: String,
    /// When the center received it, unix seconds.
    pub received_at: i64,
    /// The kiosk agent's version.
    pub software_version: String,
    /// Messages waiting in the kiosk's outbox.
    pub outbox_backlog: i64,
    /// Device health as JSON (`{"card_reader":{"state":"ready"}, …}`).
    pub devices: String,
    /// The configuration version the kiosk runs, if it said.
    pub config_version: Option<i64>,
}

/// One version of the fleet's remote configuration.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConfigRecord {
    /// Allocated by the database, increasing.
    pub version: i64,
    /// The configuration, JSON.
    pub config: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Who stored it (a kiosk id or an operator).
    pub created_by: String,
}

impl Store {
    /// Records a certificate issued at enrolment (a repeat of the same serial changes nothing).
    pub async fn record_certificate(&self, cert: &CertificateRecord) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO fleet_certificates (serial, kiosk_id, issued_at, not_after, revoked_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (serial) DO NOTHING"
        )
        .bind(&cert.serial)
        .bind(&cert.kiosk_id)
        .bind(cert.issued_at)
        .bind(cert.not_after)
        .bind(cert.revoked_at)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Whether the certificate `serial` presented by `kiosk_id` may be used.
    pub async fn certificate_status(
        &self,
        serial: &str,
        kiosk_id: &str,
    ) -> Result<CertificateStatus, StoreError> {
        let row: Option<(String, Option<i64>)> = on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT kiosk_id, revoked_at FROM fleet_certificates WHERE serial = $1"
        )
        .bind(serial)
        .fetch_optional(pool)
        .await)?;
        Ok(match row {
            Some((owner, None)) if owner == kiosk_id => CertificateStatus::Valid,
            Some((owner, Some(_))) if owner == kiosk_id => CertificateStatus::Revoked,
            _ => CertificateStatus::Unknown,
        })
    }

    /// Revokes every certificate of `kiosk_id` not yet revoked; returns how many.
    pub async fn revoke_kiosk(&self, kiosk_id: &str, now: i64) -> Result<u64, StoreError> {
        let done = on_pool!(&self.pool, |pool| sqlx::query(
            "UPDATE fleet_certificates SET revoked_at = $2 \
             WHERE kiosk_id = $1 AND revoked_at IS NULL"
        )
        .bind(kiosk_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done)
    }

    /// Revokes one certificate; false when it is unknown or already revoked.
    pub async fn revoke_certificate(&self, serial: &str, now: i64) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, |pool| {
            sqlx::query(
            "UPDATE fleet_certificates SET revoked_at = $2 WHERE serial = $1 AND revoked_at IS NULL"
        )
        .bind(serial)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Every certificate issued, by kiosk then issue time.
    pub async fn certificates(&self) -> Result<Vec<CertificateRecord>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT serial, kiosk_id, issued_at, not_after, revoked_at FROM fleet_certificates \
             ORDER BY kiosk_id, issued_at, serial"
        )
        .fetch_all(pool)
        .await)?)
    }

    /// Stores a kiosk's heartbeat in place of its previous one.
    pub async fn record_heartbeat(&self, beat: &HeartbeatRecord) -> Result<(), StoreError> {
        on_pool!(&self.pool, |pool| sqlx::query(
            "INSERT INTO fleet_heartbeats \
               (kiosk_id, received_at, software_version, outbox_backlog, devices, config_version) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (kiosk_id) DO UPDATE SET received_at = excluded.received_at, \
               software_version = excluded.software_version, \
               outbox_backlog = excluded.outbox_backlog, devices = excluded.devices, \
               config_version = excluded.config_version"
        )
        .bind(&beat.kiosk_id)
        .bind(beat.received_at)
        .bind(&beat.software_version)
        .bind(beat.outbox_backlog)
        .bind(&beat.devices)
        .bind(beat.config_version)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// The last heartbeat of every kiosk that sent one, by kiosk id.
    pub async fn heartbeats(&self) -> Result<Vec<HeartbeatRecord>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT kiosk_id, received_at, software_version, outbox_backlog, devices, \
               config_version FROM fleet_heartbeats ORDER BY kiosk_id"
        )
        .fetch_all(pool)
        .await)?)
    }

    /// How many sessions each kiosk started in `[from, to)` (unix seconds), by kiosk id.
    pub async fn sessions_per_kiosk(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT kiosk_id, COUNT(*) FROM center_sessions \
             WHERE started_at >= $1 AND started_at < $2 GROUP BY kiosk_id ORDER BY kiosk_id"
        )
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await)?)
    }

    /// Stores a new configuration version; returns it with the number the database allocated.
    pub async fn put_fleet_config(
        &self,
        config_json: &str,
        created_by: &str,
        now: i64,
    ) -> Result<ConfigRecord, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(
            "INSERT INTO fleet_configs (config, created_at, created_by) VALUES ($1, $2, $3) \
             RETURNING version, config, created_at, created_by"
        )
        .bind(config_json)
        .bind(now)
        .bind(created_by)
        .fetch_one(pool)
        .await)?)
    }

    /// The newest configuration version, if any was stored.
    pub async fn latest_fleet_config(&self) -> Result<Option<ConfigRecord>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT version, config, created_at, created_by FROM fleet_configs \
             ORDER BY version DESC LIMIT 1"
        )
        .fetch_optional(pool)
        .await)?)
    }
}
