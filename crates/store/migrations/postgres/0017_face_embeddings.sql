-- The face embeddings of historical photos (issue 18, store::face_embeddings): computed once by
-- the center's face engine and kept under the SHA-256 of the photo's bytes and the engine that
-- computed them, so step 7 computes only the live and certified photos' embeddings. The
-- embedding is sealed like the photos (the store's BlobCipher). Same layout as the SQLite
-- migration of the same number.
CREATE TABLE center_face_embeddings (
    photo_sha256   TEXT   NOT NULL CHECK (length(photo_sha256) = 64),
    engine         TEXT   NOT NULL,
    engine_version TEXT   NOT NULL,
    embedding      BYTEA  NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (photo_sha256, engine, engine_version)
);
