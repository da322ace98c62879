-- Encrypted blobs (photos, fingerprints, signatures, session videos): the metadata of each blob;
-- its AES-256-GCM ciphertext is in the object store at object_path (store::blobs, docs/security.md).
-- wrapped_key is the blob's data key wrapped by master key key_id; deleting a row destroys the
-- only copy of that data key. Rotation rewrites key_id and wrapped_key only.
-- created_at is RFC 3339 UTC text to the second, so it compares in time order.

CREATE TABLE blobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner       TEXT    NOT NULL CHECK (length(owner) BETWEEN 1 AND 128),
    kind        TEXT    NOT NULL CHECK (length(kind) BETWEEN 1 AND 128),
    object_path TEXT    NOT NULL UNIQUE,
    key_id      TEXT    NOT NULL CHECK (length(key_id) BETWEEN 1 AND 255),
    wrapped_key BLOB    NOT NULL,
    nonce       BLOB    NOT NULL CHECK (length(nonce) = 12),
    size        INTEGER NOT NULL CHECK (size >= 0),
    created_at  TEXT    NOT NULL,
    UNIQUE (owner, kind)
);

CREATE INDEX blobs_kind_created ON blobs (kind, created_at);
CREATE INDEX blobs_key_id ON blobs (key_id, id);
