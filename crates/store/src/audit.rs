//! The audit chain (migration `0006_staff_audit`): every look by staff at a citizen's record,
//! photo, video or document, and every staff login, as an append-only, hash-chained log.
//!
//! Invariants:
//! - Entries are only ever inserted; `seq` counts from 1 without gaps.
//! - `hash` = hex SHA-256 of [`canonical`] (a JSON array of every field, `prev_hash` included);
//!   `prev_hash` is the hash of entry `seq - 1`, [`GENESIS`] for entry 1. Editing, removing or
//!   reordering any entry breaks the chain at that entry, and [`Store::verify_audit`] names it.
//! - The head (`audit_head`: last seq and hash) moves in the same transaction as the append, and
//!   the next append chains from the head (not from the last row), so removing the newest entries
//!   is detected too, also after later appends.
//! - Appends are serialised across replicas: on PostgreSQL by a transaction-scoped advisory lock
//!   ([`AUDIT_LOCK_KEY`]); on SQLite by its single writer (and `seq` being the primary key, a racing
//!   append fails instead of forking the chain, and is retried).
//! - The chain alone cannot tell that it was emptied or rewound (rows deleted and the head moved
//!   back): [`checkpoint`] anchors the head outside the database, and
//!   [`Store::verify_audit_anchored`] fails on a chain behind any checkpoint.

pub mod checkpoint;

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use crate::{Pool, Store, StoreError};

/// `prev_hash` of entry 1.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The PostgreSQL advisory lock key serialising appends (`pg_advisory_xact_lock`).
pub const AUDIT_LOCK_KEY: i64 = 0x6964_6b5f_6175_6474; // "idk_audt"

/// An entry to append: who did what to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// Unix seconds.
    pub at: i64,
    /// The staff user name (or the name tried, for a failed login).
    pub actor: String,
    /// `window_clerk`, `auditor`, `administrator`, or `-` when unknown.
    pub role: String,
    /// What was done: `view_record`, `view_photo`, `view_video`, `reprint_document`, `login`, …
    pub action: String,
    /// Whose data: an application number or a masked ID number, never a full ID number.
    pub subject: String,
    /// Anything else (the blob kind, the document kind, the search kind, …).
    pub detail: String,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// The staff user.
    pub actor: String,
    /// Their role.
    pub role: String,
    /// What was done.
    pub action: String,
    /// Whose data (application number or masked ID number).
    pub subject: String,
    /// Anything else.
    pub detail: String,
    /// The hash of the entry before.
    pub prev_hash: String,
    /// SHA-256 (hex) of [`canonical`].
    pub hash: String,
}

/// The bytes hashed for an entry: `["idkiosk-audit-v1",seq,at,actor,role,action,subject,detail,prev_hash]`
/// as compact JSON (unambiguous whatever the fields contain).
#[allow(clippy::too_many_arguments)]
pub fn canonical(
    seq: i64,
    at: i64,
    actor: &str,
    role: &str,
    action: &str,
    subject: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    serde_json::json!([
        "idkiosk-audit-v1",
        seq,
        at,
        actor,
        role,
        action,
        subject,
        detail,
        prev_hash
    ])
    .to_string()
}

/// The hash of an entry with these fields.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    seq: i64,
    at: i64,
    actor: &str,
    role: &str,
    action: &str,
    subject: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    hex(&Sha256::digest(
        canonical(seq, at, actor, role, action, subject, detail, prev_hash).as_bytes(),
    ))
}

impl AuditEntry {
    /// What the hash of this entry should be.
    pub fn expected_hash(&self) -> String {
        entry_hash(
            self.seq,
            self.at,
            &self.actor,
            &self.role,
            &self.action,
            &self.subject,
            &self.detail,
            &self.prev_hash,
        )
    }
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every entry is intact and chained; the count.
    Intact {
        /// How many entries.
        entries: u64,
    },
    /// The first broken entry and why.
    Broken {
        /// The entry number (`seq`) at which the chain breaks.
        entry: i64,
        /// What is wrong.
        why: String,
    },
}

/// The PostgreSQL statement that serialises appends ([`AUDIT_LOCK_KEY`]).
pub(crate) const PG_AUDIT_LOCK: &str = "SELECT pg_advisory_xact_lock($1)";

/// Appends `$entry` inside the open transaction `$tx` (after taking `$lock`, the PostgreSQL
/// advisory lock, when given) and evaluates to the stored [`AuditEntry`]; `?` on a database
/// error. For writes that must be audited in their own transaction (`store::journey`).
macro_rules! append_in_tx {
    ($tx:expr, $lock:expr, $entry:expr) => {{
        let tx = $tx;
        let entry: &$crate::audit::NewAuditEntry = $entry;
        if let Some(lock) = $lock {
            sqlx::query(lock)
                .bind($crate::audit::AUDIT_LOCK_KEY)
                .execute(&mut **tx)
                .await?;
        }
        // The head, not the last row: entries removed from the end stay detectable after
        // the next append (its seq and prev_hash follow the head, leaving the gap).
        let mut head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_optional(&mut **tx)
                .await?;
        if head.is_none() {
            head = sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut **tx)
                .await?;
        }
        let (seq, prev_hash) = match head {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, $crate::audit::GENESIS.to_owned()),
        };
        let hash = $crate::audit::entry_hash(
            seq,
            entry.at,
            &entry.actor,
            &entry.role,
            &entry.action,
            &entry.subject,
            &entry.detail,
            &prev_hash,
        );
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, role, action, subject, detail, \
             prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(seq)
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(&entry.role)
        .bind(&entry.action)
        .bind(&entry.subject)
        .bind(&entry.detail)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        )
        .bind(seq)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
        $crate::audit::AuditEntry {
            seq,
            at: entry.at,
            actor: entry.actor.clone(),
            role: entry.role.clone(),
            action: entry.action.clone(),
            subject: entry.subject.clone(),
            detail: entry.detail.clone(),
            prev_hash,
            hash,
        }
    }};
}
pub(crate) use append_in_tx;

const COLUMNS: &str = "seq, at, actor, role, action, subject, detail, prev_hash, hash";

/// How many times a racing append is retried before giving up.
const APPEND_ATTEMPTS: usize = 20;

impl Store {
    /// Appends an entry at the end of the chain and returns it as stored.
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let mut last_err = None;
        for _ in 0..APPEND_ATTEMPTS {
            match self.try_append_audit(entry).await {
                Ok(stored) => return Ok(stored),
                // Another writer took this seq first (SQLite without the lock, or a busy database):
                // read the new head and try again.
                Err(err @ (StoreError::Rejected(_) | StoreError::Database(_))) => {
                    last_err = Some(err);
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                Err(other) => return Err(other),
            }
        }
        Err(last_err.unwrap_or_else(|| StoreError::Rejected("audit append failed".into())))
    }

    async fn try_append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let stored = append_in_tx!(&mut tx, None::<&str>, entry);
                tx.commit().await?;
                stored
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let stored = append_in_tx!(&mut tx, Some(PG_AUDIT_LOCK), entry);
                tx.commit().await?;
                stored
            }
        })
    }

    /// Entries with `from <= at < to` (unix seconds), oldest first, at most `limit`.
    pub async fn audit_entries(
        &self,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE at >= $1 AND at < $2 ORDER BY seq LIMIT $3"
        );
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(from)
            .bind(to)
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }

    /// The newest `limit` entries, newest first.
    pub async fn latest_audit_entries(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT $1");
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }

    /// Walks the whole chain from entry 1 and names the first broken entry: one whose hash does
    /// not match its contents (edited), whose `prev_hash` is not the hash of the entry before
    /// (removed, inserted or reordered), a gap in the numbering (removed), or a chain shorter or
    /// longer than the recorded head (the newest entries removed).
    pub async fn verify_audit(&self) -> Result<Verification, StoreError> {
        Ok(self.walk_audit(&BTreeSet::new()).await?.0)
    }

    /// [`Store::verify_audit`], then every checkpoint against the chain: the chain must reach
    /// each checkpoint's entry count, and that entry's hash must be the checkpoint's head hash. A
    /// chain emptied, or rewound (rows deleted and the head moved back), or rewritten up to a
    /// checkpointed entry fails, naming the checkpoint (the one with the most entries first).
    pub async fn verify_audit_anchored(
        &self,
        checkpoints: &[checkpoint::Checkpoint],
    ) -> Result<Verification, StoreError> {
        let wanted: BTreeSet<i64> = checkpoints.iter().map(|c| c.entries).collect();
        let (result, hashes) = self.walk_audit(&wanted).await?;
        let Verification::Intact { entries } = result else {
            return Ok(result);
        };
        let length = i64::try_from(entries).unwrap_or(i64::MAX);
        let mut newest_first: Vec<&checkpoint::Checkpoint> = checkpoints.iter().collect();
        newest_first.sort_by_key(|c| std::cmp::Reverse((c.entries, c.at)));
        for checkpoint in newest_first {
            if checkpoint.entries > length {
                let missing = if length + 1 == checkpoint.entries {
                    format!("entry #{} is missing", checkpoint.entries)
                } else {
                    format!(
                        "entries #{}–#{} are missing",
                        length + 1,
                        checkpoint.entries
                    )
                };
                return Ok(Verification::Broken {
                    entry: length + 1,
                    why: format!(
                        "the chain ends at entry {length} but {}: {missing} ({})",
                        checkpoint.describe(),
                        if length == 0 {
                            "the chain was emptied"
                        } else {
                            "the chain was rewound"
                        }
                    ),
                });
            }
            let found = if checkpoint.entries == 0 {
                Some(GENESIS)
            } else {
                hashes.get(&checkpoint.entries).map(String::as_str)
            };
            if found != Some(checkpoint.head.as_str()) && checkpoint.entries > 0 {
                return Ok(Verification::Broken {
                    entry: checkpoint.entries,
                    why: format!(
                        "entry #{} has hash {} but {}: the chain was rewritten up to there",
                        checkpoint.entries,
                        short(found.unwrap_or("-")),
                        checkpoint.describe()
                    ),
                });
            }
        }
        Ok(Verification::Intact { entries })
    }

    /// The chain's recorded head (`audit_head`): its entry count and last hash.
    pub async fn audit_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(
            "SELECT seq, hash FROM audit_head WHERE id = 1"
        )
        .fetch_optional(pool)
        .await)?)
    }

    /// Walks the chain; also returns the hashes of the entries in `wanted` that it passed.
    async fn walk_audit(
        &self,
        wanted: &BTreeSet<i64>,
    ) -> Result<(Verification, HashMap<i64, String>), StoreError> {
        let mut hashes = HashMap::new();
        let broken = |entry: i64, why: String| Verification::Broken { entry, why };
        const PAGE: i64 = 5000;
        let mut expected_seq = 1i64;
        let mut prev_hash = GENESIS.to_owned();
        loop {
            let sql =
                format!("SELECT {COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2");
            let page: Vec<AuditEntry> = on_pool!(&self.pool, |pool| sqlx::query_as(&sql)
                .bind(expected_seq)
                .bind(PAGE)
                .fetch_all(pool)
                .await)?;
            let done = (page.len() as i64) < PAGE;
            for entry in page {
                if entry.seq != expected_seq {
                    return Ok((
                        broken(
                            expected_seq,
                            format!(
                                "entry #{expected_seq} is missing (the next entry is #{}): removed",
                                entry.seq
                            ),
                        ),
                        hashes,
                    ));
                }
                if entry.prev_hash != prev_hash {
                    return Ok((
                        Verification::Broken {
                            entry: entry.seq,
                            why: format!(
                                "its prev_hash {} is not the hash of entry #{} ({}): an entry was \
                             removed, inserted or reordered",
                                short(&entry.prev_hash),
                                entry.seq - 1,
                                short(&prev_hash)
                            ),
                        },
                        hashes,
                    ));
                }
                let expected = entry.expected_hash();
                if entry.hash != expected {
                    return Ok((
                        Verification::Broken {
                            entry: entry.seq,
                            why: format!(
                            "its contents do not match its hash (stored {}, computed {}): edited",
                            short(&entry.hash),
                            short(&expected)
                        ),
                        },
                        hashes,
                    ));
                }
                if wanted.contains(&entry.seq) {
                    hashes.insert(entry.seq, entry.hash.clone());
                }
                prev_hash = entry.hash;
                expected_seq += 1;
            }
            if done {
                break;
            }
        }
        let entries = expected_seq - 1;
        let head = self.audit_head().await?;
        match head {
            None if entries == 0 => {}
            None => {
                return Ok((
                    Verification::Broken {
                        entry: 1,
                        why: "the chain's head record is missing".into(),
                    },
                    hashes,
                ))
            }
            Some((seq, hash)) => {
                if seq > entries {
                    return Ok((
                        Verification::Broken {
                            entry: entries + 1,
                            why: format!(
                                "the head records {seq} entries but the chain ends at #{entries}: \
                             the newest entries were removed"
                            ),
                        },
                        hashes,
                    ));
                }
                if seq < entries {
                    return Ok((
                        Verification::Broken {
                            entry: seq + 1,
                            why: format!(
                            "the head records {seq} entries but the chain goes on to #{entries}: \
                             entries were added outside the store"
                        ),
                        },
                        hashes,
                    ));
                }
                if hash != prev_hash {
                    return Ok((
                        Verification::Broken {
                            entry: seq,
                            why: "the head's hash is not the last entry's hash".into(),
                        },
                        hashes,
                    ));
                }
            }
        }
        Ok((
            Verification::Intact {
                entries: u64::try_from(entries).unwrap_or(0),
            },
            hashes,
        ))
    }
}

/// The entries as CSV (RFC 4180: a header line, CRLF line ends, a field quoted when it holds a
/// comma, a quote or a line break), `at` also as RFC 3339 UTC, for export.
pub fn to_csv(entries: &[AuditEntry]) -> String {
    // Writing to memory cannot fail, and every record has the header's ten fields.
    let bytes = csv_bytes(entries).expect("CSV written to memory");
    // Every field was a `String`, so the bytes are UTF-8 and nothing is replaced.
    String::from_utf8_lossy(&bytes).into_owned()
}

fn csv_bytes(entries: &[AuditEntry]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    out.write_record([
        "seq",
        "at",
        "at_utc",
        "actor",
        "role",
        "action",
        "subject",
        "detail",
        "prev_hash",
        "hash",
    ])?;
    for e in entries {
        let at_utc = time::OffsetDateTime::from_unix_timestamp(e.at)
            .ok()
            .and_then(|at| {
                at.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        let (seq, at) = (e.seq.to_string(), e.at.to_string());
        let fields = [
            &seq,
            &at,
            &at_utc,
            &e.actor,
            &e.role,
            &e.action,
            &e.subject,
            &e.detail,
            &e.prev_hash,
            &e.hash,
        ]
        .map(|field| defused(field));
        out.write_record(fields.iter().map(|field| field.as_bytes()))?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// A field a spreadsheet would run as a formula (a leading `=`, `+`, `-` or `@`) gets a leading
/// apostrophe; the unknown role's lone `-` is left as it is.
fn defused(field: &str) -> std::borrow::Cow<'_, str> {
    if field.starts_with(['=', '+', '-', '@']) && field != "-" {
        format!("'{field}").into()
    } else {
        field.into()
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_is_unambiguous() {
        assert_ne!(
            canonical(1, 2, "a\",\"b", "r", "x", "s", "d", GENESIS),
            canonical(1, 2, "a", "b\",\"r", "x", "s", "d", GENESIS)
        );
        assert_eq!(entry_hash(1, 2, "a", "r", "x", "s", "d", GENESIS).len(), 64);
    }

    fn entry(detail: &str) -> AuditEntry {
        AuditEntry {
            seq: 7,
            at: 1_795_000_000,
            actor: "clerk1".into(),
            role: "window_clerk".into(),
            action: "view_photo".into(),
            subject: "320100-20261125-000123".into(),
            detail: detail.into(),
            prev_hash: "ab12".into(),
            hash: "cd34".into(),
        }
    }

    /// The CSV line of an entry whose `detail` is `detail`.
    #[track_caller]
    fn check(detail: &str, line: &str) {
        let csv = to_csv(&[entry(detail)]);
        let expected = format!(
            "seq,at,at_utc,actor,role,action,subject,detail,prev_hash,hash\r\n\
             7,1795000000,2026-11-18T11:06:40Z,clerk1,window_clerk,view_photo,\
             320100-20261125-000123,{line},ab12,cd34\r\n"
        );
        assert_eq!(csv, expected);
    }

    #[test]
    fn csv_has_a_header_and_one_crlf_line_per_entry() {
        check("photo", "photo");
        check("", "");
        check("两张 two photos", "两张 two photos");
        assert_eq!(
            to_csv(&[]),
            "seq,at,at_utc,actor,role,action,subject,detail,prev_hash,hash\r\n"
        );
        assert_eq!(to_csv(&[entry("a"), entry("b")]).matches("\r\n").count(), 3);
    }

    #[test]
    fn csv_quotes_commas_quotes_and_line_breaks() {
        check("a,b", "\"a,b\"");
        check("say \"hi\"", "\"say \"\"hi\"\"\"");
        check("two\nlines", "\"two\nlines\"");
        check("cr\r", "\"cr\r\"");
    }

    #[test]
    fn csv_fields_that_would_be_formulas_get_an_apostrophe() {
        check("=SUM(A1:A9)", "'=SUM(A1:A9)");
        check("+86", "'+86");
        check("-1", "'-1");
        check("@cmd", "'@cmd");
        check("=a,\"b\"", "\"'=a,\"\"b\"\"\"");
        // The unknown role is a lone dash, not a formula.
        check("-", "-");
    }

    /// What a spreadsheet or CSV reader sees: every field back, the guarded ones with their
    /// apostrophe.
    #[test]
    fn csv_reads_back_field_for_field() {
        let details = [
            "plain",
            "a,b",
            "say \"hi\"",
            "two\r\nlines",
            "=1+1",
            "-",
            "",
        ];
        let entries: Vec<AuditEntry> = details.iter().map(|d| entry(d)).collect();
        let text = to_csv(&entries);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let read: Vec<String> = reader
            .records()
            .map(|record| record.expect("a record")[7].to_owned())
            .collect();
        assert_eq!(
            read,
            [
                "plain",
                "a,b",
                "say \"hi\"",
                "two\r\nlines",
                "'=1+1",
                "-",
                ""
            ]
        );
    }
}
