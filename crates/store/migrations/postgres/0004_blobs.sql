-- Encrypted blobs (photos, fingerprints, signatures, session videos): the metadata of each blob;
-- its AES-256-GCM ciphertext is in the object store at object_path (store::blobs, docs/security.md).
-- wrapped_key is the blob's data key wrapped by master key key_id; deleting a row destroys the
-- only copy of that data key. Rotation rewrites key_id and wrapped_key only.

CREATE TABLE blobs (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner       TEXT        NOT NULL CHECK (length(owner) BETWEEN 1 AND 128),
    kind        TEXT        NOT NULL CHECK (length(kind) BETWEEN 1 AND 128),
    object_path TEXT        NOT NULL UNIQUE,
    key_id      TEXT        NOT NULL CHECK (length(key_id) BETWEEN 1 AND 255),
    wrapped_key BYTEA       NOT NULL,
    nonce       BYTEA       NOT NULL CHECK (length(nonce) = 12),
    size        BIGINT      NOT NULL CHECK (size >= 0),
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (owner, kind)
);

CREATE INDEX blobs_kind_created ON blobs (kind, created_at);
CREATE INDEX blobs_key_id ON blobs (key_id, id);
