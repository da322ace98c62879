//! Where the session's captured data (live photo, signature, fingerprints, video) is kept:
//! the [`BlobSink`] seam. [`StoreBlobSink`] keeps them in the database table
//! `center_session_blobs`, sealed by the store's `BlobCipher` (the default);
//! [`EncryptedBlobSink`] puts them in `store::BlobStore` (AES-256-GCM, a data key per blob
//! wrapped by the master key, ciphertext in an object store), owner = the session id.
//!
//! Before a blob is stored ([`crate::steps::blob`]): its kind's size limit, its content (a video
//! parses as MP4 box by box, a photo decodes as JPEG, the others start with their magic bytes)
//! and the quotas of [`BlobQuotas`] (the session's bytes, the kiosk's bytes of the day), charged
//! in the database so replicas share them.
//!
//! Where the encrypted store's ciphertext goes (a local folder, or S3) is `[center.blobs]`
//! ([`BlobBackend`], [`open_blob_store`]); [`migrate`] copies a local folder's ciphertext to S3.

use async_trait::async_trait;
use axum::http::StatusCode;
use store::Store;

mod backend;
pub mod migrate;

pub use backend::{
    open_blob_store, s3_object_store, BlobBackend, BlobsFile, S3Credentials, S3Settings,
    ACCESS_KEY_ID_ENV, SECRET_ACCESS_KEY_ENV,
};

use crate::error::AppError;
use crate::AppState;

/// The kinds of blob a kiosk uploads, and the magic bytes each must start with.
pub const BLOB_KINDS: [(&str, &[u8]); 8] = [
    ("live_photo", b"\xFF\xD8\xFF"),
    ("signature", b"\x89PNG\r\n\x1a\n"),
    ("fingerprint_1", b"FMR\0"),
    ("fingerprint_2", b"FMR\0"),
    ("fingerprint_image_1", b"\x89PNG\r\n\x1a\n"),
    ("fingerprint_image_2", b"\x89PNG\r\n\x1a\n"),
    ("video", b""),
    ("certified_photo", b"\xFF\xD8\xFF"),
];

/// The kind under which the video of a session without application is kept when
/// [`UnfinishedVideo::KeepForAudit`] says so (purged after its own, shorter retention).
pub const AUDIT_VIDEO: &str = "audit_video";

const MIB: u64 = 1024 * 1024;

/// Upload quotas ([`crate::CenterConfig::blob_quotas`]). A kind is stored once per session, so
/// a kind's limit is the most a session stores of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobQuotas {
    /// The live photo (a 358×441 JPEG is 20–60 KB): 1 MiB.
    pub photo_bytes: u64,
    /// The signature PNG: 1 MiB.
    pub signature_bytes: u64,
    /// One ISO/IEC 19794-2 template (a few hundred bytes): 64 KiB.
    pub template_bytes: u64,
    /// One fingerprint image PNG: 2 MiB.
    pub fingerprint_image_bytes: u64,
    /// The session video (a few minutes at the recorder's bit rate): 192 MiB.
    pub video_bytes: u64,
    /// All the blobs of one session together: 200 MiB.
    pub session_bytes: u64,
    /// All the uploads of one kiosk in one Asia/Shanghai day: 8 GiB (some 40 sessions with a
    /// maximal video; a kiosk serves fewer, with far shorter videos).
    pub kiosk_daily_bytes: u64,
}

impl Default for BlobQuotas {
    fn default() -> BlobQuotas {
        BlobQuotas {
            photo_bytes: MIB,
            signature_bytes: MIB,
            template_bytes: 64 * 1024,
            fingerprint_image_bytes: 2 * MIB,
            video_bytes: 192 * MIB,
            session_bytes: 200 * MIB,
            kiosk_daily_bytes: 8 * 1024 * MIB,
        }
    }
}

impl BlobQuotas {
    /// The most a session stores of `kind` (a known kind, see [`check_kind`]).
    pub fn kind_limit(&self, kind: &str) -> u64 {
        match kind {
            "live_photo" => self.photo_bytes,
            "signature" => self.signature_bytes,
            "fingerprint_1" | "fingerprint_2" => self.template_bytes,
            "fingerprint_image_1" | "fingerprint_image_2" => self.fingerprint_image_bytes,
            "video" => self.video_bytes,
            _ => 0,
        }
    }

    /// `413 kind_bytes` when `size` is over `kind`'s limit.
    pub fn check_kind_size(&self, kind: &str, size: usize) -> Result<(), AppError> {
        let limit = self.kind_limit(kind);
        if size as u64 > limit {
            return Err(AppError::too_large(
                StatusCode::PAYLOAD_TOO_LARGE,
                "kind_bytes",
                limit,
                format!("a {kind} is at most {limit} bytes ({size} sent)"),
            ));
        }
        Ok(())
    }
}

/// What happens to the video of a session that ended without an application
/// ([`crate::CenterConfig::unfinished_video`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnfinishedVideo {
    /// Deleted with the session's other captures when it ends (the default).
    #[default]
    Delete,
    /// Kept for audit, sealed like every blob, as kind [`AUDIT_VIDEO`], deleted after
    /// `retention` (the center's hourly purge job), shorter than the session videos' 180 days.
    KeepForAudit {
        /// How long it is kept.
        retention: time::Duration,
    },
}

/// Checks that `kind` is one a kiosk uploads.
pub fn check_kind(kind: &str) -> Result<(), String> {
    if BLOB_KINDS
        .iter()
        .any(|(k, _)| *k == kind && *k != "certified_photo")
    {
        Ok(())
    } else {
        Err(format!(
            "unknown kind {kind:?}: live_photo, signature, fingerprint_1, fingerprint_2, \
             fingerprint_image_1, fingerprint_image_2 or video"
        ))
    }
}

/// Checks `kind` and that `bytes` are of it: a video must parse as MP4 ([`check_mp4`]), a live
/// photo must decode as a JPEG, the others start with their magic bytes. An error says what is
/// wrong. Decoding is CPU work: call it off the async threads.
pub fn check_blob(kind: &str, bytes: &[u8]) -> Result<(), String> {
    check_kind(kind)?;
    let magic = BLOB_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&b""[..], |(_, magic)| magic);
    if bytes.is_empty() {
        return Err("the body is empty".into());
    }
    match kind {
        "video" => check_mp4(bytes),
        "live_photo" => check_jpeg(bytes),
        _ if bytes.starts_with(magic) => Ok(()),
        _ => {
            let what = match kind {
                "fingerprint_1" | "fingerprint_2" => "an ISO/IEC 19794-2 template (FMR)",
                _ => "PNG",
            };
            Err(format!("a {kind} must be {what}"))
        }
    }
}

/// A JPEG that decodes whole (not just its first bytes).
fn check_jpeg(bytes: &[u8]) -> Result<(), String> {
    if !bytes.starts_with(b"\xFF\xD8\xFF") {
        return Err("a live_photo must be JPEG".into());
    }
    let limits = face::DecodeLimits::default();
    face::Picture::from_bytes("live_photo", bytes, &limits)
        .map(drop)
        .map_err(|err| format!("a live_photo must be a JPEG that decodes: {err}"))
}

/// Walks the top-level boxes of an ISO base media file (MP4): each box's size must fit in what
/// is left (a 64-bit size where the 32-bit one is 1; size 0 only for the last box, to the end),
/// its type four printable characters; the first box is `ftyp` (with its brands), and a `moov`
/// and an `mdat` follow. Anything else with `ftyp` up front (the bytes of some other file behind
/// a copied header) is refused.
pub fn check_mp4(bytes: &[u8]) -> Result<(), String> {
    let mut offset = 0usize;
    let (mut moov, mut mdat) = (false, false);
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        if rest.len() < 8 {
            return Err(format!("a video: a truncated box header at byte {offset}"));
        }
        let size32 = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let kind = &rest[4..8];
        let (header, size) = match size32 {
            0 => (8u64, rest.len() as u64),
            1 => {
                if rest.len() < 16 {
                    return Err(format!("a video: a truncated box header at byte {offset}"));
                }
                let mut large = [0u8; 8];
                large.copy_from_slice(&rest[8..16]);
                (16u64, u64::from_be_bytes(large))
            }
            n => (8u64, u64::from(n)),
        };
        let name = String::from_utf8_lossy(kind).into_owned();
        if !kind
            .iter()
            .all(|&b| b == b' ' || b.is_ascii_graphic() || b == 0xA9)
        {
            return Err(format!("a video: no box type at byte {offset}"));
        }
        if size < header || size > rest.len() as u64 {
            return Err(format!(
                "a video: box {name:?} at byte {offset} claims {size} bytes, {} are left",
                rest.len()
            ));
        }
        if offset == 0 && (kind != b"ftyp" || size < header + 8) {
            return Err("a video must be MP4: the first box must be ftyp with its brands".into());
        }
        match kind {
            b"moov" => moov = true,
            b"mdat" => mdat = true,
            _ => {}
        }
        // size <= rest.len(), so this stays within the body.
        offset += size as usize;
    }
    if !moov || !mdat {
        return Err("a video must be MP4 with a moov and an mdat box".into());
    }
    Ok(())
}

/// Charges an upload of `size` bytes to the session's and the kiosk's daily quota: `413
/// session_bytes` or `429 kiosk_daily_bytes` when either would be passed (then nothing is
/// charged). [`refund`] gives it back.
pub(crate) async fn charge(
    store: &Store,
    quotas: &BlobQuotas,
    scopes: &QuotaScopes,
    size: u64,
    now: i64,
) -> Result<(), AppError> {
    if store
        .charge_blob_quota(&scopes.session, size, quotas.session_bytes, now)
        .await?
        .is_none()
    {
        return Err(AppError::too_large(
            StatusCode::PAYLOAD_TOO_LARGE,
            "session_bytes",
            quotas.session_bytes,
            format!(
                "the session's uploads would pass its quota of {} bytes",
                quotas.session_bytes
            ),
        ));
    }
    if store
        .charge_blob_quota(&scopes.kiosk_day, size, quotas.kiosk_daily_bytes, now)
        .await?
        .is_none()
    {
        store.refund_blob_quota(&scopes.session, size).await?;
        return Err(AppError::too_large(
            StatusCode::TOO_MANY_REQUESTS,
            "kiosk_daily_bytes",
            quotas.kiosk_daily_bytes,
            format!(
                "this kiosk's uploads today would pass its daily quota of {} bytes",
                quotas.kiosk_daily_bytes
            ),
        ));
    }
    Ok(())
}

/// Gives back what [`charge`] charged (the upload was not stored).
pub(crate) async fn refund(store: &Store, scopes: &QuotaScopes, size: u64) -> Result<(), AppError> {
    store.refund_blob_quota(&scopes.session, size).await?;
    store.refund_blob_quota(&scopes.kiosk_day, size).await?;
    Ok(())
}

/// The quota rows an upload is charged to.
pub(crate) struct QuotaScopes {
    session: String,
    kiosk_day: String,
}

impl QuotaScopes {
    /// The session's row and the kiosk's row of `day` (`YYYY-MM-DD`).
    pub(crate) fn new(session_id: &str, kiosk_id: &str, day: &str) -> QuotaScopes {
        QuotaScopes {
            session: format!("session:{session_id}"),
            kiosk_day: format!("kiosk:{kiosk_id}:{day}"),
        }
    }
}

/// Stores a checked upload of the session `sid` (the kiosk's `kiosk_id`): charged to the quotas
/// first (refunded when the blob is not stored after all: a repeat of a kind, or a failure).
/// A session that ended without an application stores nothing more (its captures were deleted at
/// its end), except a video kept for audit when the policy says so.
pub(crate) async fn store_upload(
    state: &AppState,
    kiosk_id: &str,
    sid: &str,
    kind: &str,
    bytes: &[u8],
) -> Result<(), AppError> {
    let mut kind = kind;
    if state.store.session_outcome(sid).await?.is_some()
        && state.store.application_by_session(sid).await?.is_none()
    {
        match (kind, state.config.unfinished_video) {
            ("video", UnfinishedVideo::KeepForAudit { .. }) => kind = AUDIT_VIDEO,
            _ => {
                tracing::info!(
                    session = sid,
                    kind,
                    "upload for a session ended without application not kept"
                );
                return Ok(());
            }
        }
    }
    let day = crate::wire::format_date(state.today.today());
    let scopes = QuotaScopes::new(sid, kiosk_id, &day);
    let size = bytes.len() as u64;
    if let Err(err) = charge(
        &state.store,
        &state.config.blob_quotas,
        &scopes,
        size,
        state.now(),
    )
    .await
    {
        // A repeat of a kind already stored (a retry after a lost answer) is not a new upload.
        if state
            .blobs
            .get(sid, kind)
            .await
            .map_err(AppError::Internal)?
            .is_some()
        {
            return Ok(());
        }
        tracing::warn!(
            session = sid,
            kiosk = kiosk_id,
            kind,
            "upload refused: {err}"
        );
        return Err(err);
    }
    match state.blobs.put(sid, kind, bytes).await {
        Ok(true) => Ok(()),
        Ok(false) => refund(&state.store, &scopes, size).await,
        Err(err) => {
            refund(&state.store, &scopes, size).await?;
            Err(AppError::Internal(err))
        }
    }
}

/// At the end of a session without application: deletes its blobs, its video included unless
/// [`UnfinishedVideo::KeepForAudit`] (then kept as [`AUDIT_VIDEO`]). Returns how many were
/// deleted.
pub(crate) async fn discard_unfinished(state: &AppState, sid: &str) -> anyhow::Result<u64> {
    if let UnfinishedVideo::KeepForAudit { .. } = state.config.unfinished_video {
        state.blobs.keep_as(sid, "video", AUDIT_VIDEO).await?;
    }
    state.blobs.discard_except(sid, AUDIT_VIDEO).await
}

/// Keeps a session's blobs. The first upload of a kind wins (a repeat changes nothing).
#[async_trait]
pub trait BlobSink: Send + Sync {
    /// Stores `bytes` as the session's `kind`; `Ok(false)` when one was already stored.
    async fn put(&self, session_id: &str, kind: &str, bytes: &[u8]) -> anyhow::Result<bool>;
    /// The session's `kind`, if stored.
    async fn get(&self, session_id: &str, kind: &str) -> anyhow::Result<Option<Vec<u8>>>;
    /// Deletes the session's blobs except the `keep` kind; returns how many.
    async fn discard_except(&self, session_id: &str, keep: &str) -> anyhow::Result<u64>;
    /// Keeps the session's `from` blob as kind `to` too (a video kept for audit; the caller then
    /// discards the rest); `false` when there is no `from` or a `to` already.
    async fn keep_as(&self, session_id: &str, from: &str, to: &str) -> anyhow::Result<bool>;
}

/// Blobs in the database, sealed by the store's cipher.
#[derive(Debug, Clone)]
pub struct StoreBlobSink {
    store: Store,
}

impl StoreBlobSink {
    /// Blobs in `store`.
    pub fn new(store: Store) -> StoreBlobSink {
        StoreBlobSink { store }
    }
}

#[async_trait]
impl BlobSink for StoreBlobSink {
    async fn put(&self, session_id: &str, kind: &str, bytes: &[u8]) -> anyhow::Result<bool> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Ok(self
            .store
            .put_session_blob(session_id, kind, bytes, now)
            .await?)
    }

    async fn get(&self, session_id: &str, kind: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.store.session_blob(session_id, kind).await?)
    }

    async fn discard_except(&self, session_id: &str, keep: &str) -> anyhow::Result<u64> {
        Ok(self
            .store
            .delete_session_blobs_except(session_id, keep)
            .await?)
    }

    async fn keep_as(&self, session_id: &str, from: &str, to: &str) -> anyhow::Result<bool> {
        Ok(self.store.rename_session_blob(session_id, from, to).await?)
    }
}

/// Blobs in the encrypted object store, owned by the session id.
#[derive(Debug, Clone)]
pub struct EncryptedBlobSink {
    blobs: store::BlobStore,
}

impl EncryptedBlobSink {
    /// Blobs in `blobs`.
    pub fn new(blobs: store::BlobStore) -> EncryptedBlobSink {
        EncryptedBlobSink { blobs }
    }
}

#[async_trait]
impl BlobSink for EncryptedBlobSink {
    async fn put(&self, session_id: &str, kind: &str, bytes: &[u8]) -> anyhow::Result<bool> {
        // BlobStore::put replaces (a retake); the kiosk API keeps the first upload.
        if self
            .blobs
            .list(session_id)
            .await?
            .iter()
            .any(|meta| meta.kind == kind)
        {
            return Ok(false);
        }
        self.blobs.put(session_id, kind, bytes).await?;
        Ok(true)
    }

    async fn get(&self, session_id: &str, kind: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.blobs.get(session_id, kind).await?)
    }

    async fn discard_except(&self, session_id: &str, keep: &str) -> anyhow::Result<u64> {
        Ok(self.blobs.delete_owner_except(session_id, keep).await?)
    }

    async fn keep_as(&self, session_id: &str, from: &str, to: &str) -> anyhow::Result<bool> {
        // Sealed again under the new kind: the ciphertext is bound to owner and kind.
        let Some(bytes) = self.blobs.get(session_id, from).await? else {
            return Ok(false);
        };
        self.put(session_id, to, &bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::{check_blob, check_mp4};

    /// One ISO BMFF box.
    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    fn mp4() -> Vec<u8> {
        let mut out = mp4_box(b"ftyp", b"isom\0\0\x02\0isomiso2mp41");
        out.extend(mp4_box(b"moov", &mp4_box(b"mvhd", &[0; 100])));
        out.extend(mp4_box(b"mdat", &[7; 300]));
        out
    }

    #[test]
    fn blobs_must_look_like_their_kind() {
        assert!(check_blob("signature", b"\x89PNG\r\n\x1a\nrest").is_ok());
        assert!(check_blob("signature", b"\xFF\xD8\xFF").is_err());
        assert!(check_blob("fingerprint_1", b"FMR\0 020").is_ok());
        assert!(check_blob("video", &mp4()).is_ok());
        assert!(check_blob("video", b"RIFF....").is_err());
        assert!(check_blob("passport", b"x").is_err());
        assert!(check_blob("certified_photo", b"\xFF\xD8\xFF").is_err());
        assert!(check_blob("signature", b"").is_err());
    }

    // Regression (issue 14): any bytes after an `ftyp` header passed as a video, and any bytes
    // after the JPEG magic as a photo.
    #[test]
    fn a_video_must_parse_as_mp4_and_a_photo_decode_as_jpeg() {
        assert!(check_mp4(b"\0\0\0\x18ftypmp42 then anything at all").is_err());
        let mut trailing = mp4();
        trailing.extend_from_slice(b"<script>");
        assert!(check_mp4(&trailing).is_err(), "bytes after the last box");
        let mut lying = mp4();
        lying[mp4().len() - 308..mp4().len() - 304].copy_from_slice(&9999u32.to_be_bytes());
        assert!(check_mp4(&lying).is_err(), "an mdat larger than the file");
        let no_moov = [mp4_box(b"ftyp", b"isom\0\0\0\0"), mp4_box(b"mdat", b"x")].concat();
        assert!(check_mp4(&no_moov).is_err());
        let moov_first = [mp4_box(b"moov", b""), mp4_box(b"ftyp", b"isom\0\0\0\0")].concat();
        assert!(check_mp4(&moov_first).is_err());
        // A 64-bit mdat size, and an mdat running to the end (size 0).
        let mut large = [mp4_box(b"ftyp", b"isom\0\0\0\0"), mp4_box(b"moov", b"")].concat();
        large.extend_from_slice(&1u32.to_be_bytes());
        large.extend_from_slice(b"mdat");
        large.extend_from_slice(&20u64.to_be_bytes());
        large.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(check_mp4(&large), Ok(()));
        let mut to_end = [mp4_box(b"ftyp", b"isom\0\0\0\0"), mp4_box(b"moov", b"")].concat();
        to_end.extend_from_slice(&0u32.to_be_bytes());
        to_end.extend_from_slice(b"mdat rest of the file");
        assert_eq!(check_mp4(&to_end), Ok(()));

        assert!(check_blob("live_photo", b"\xFF\xD8\xFF\xE0 not really a jpeg").is_err());
        let image = image::RgbImage::from_pixel(64, 80, image::Rgb([90, 80, 70]));
        let mut jpeg = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(image)
            .write_to(&mut jpeg, image::ImageOutputFormat::Jpeg(80))
            .unwrap();
        let jpeg = jpeg.into_inner();
        assert_eq!(check_blob("live_photo", &jpeg), Ok(()));
        assert!(check_blob("live_photo", &jpeg[..jpeg.len() / 2]).is_err());
    }
}
