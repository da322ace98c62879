//! The store contract for the kept embeddings of historical photos (`store::face_embeddings`,
//! issue 18), on both backends: `store contract (face embeddings): <backend> ok (<n> checks)`.

use std::sync::Arc;

use store::face_embeddings::{EmbeddingEngine, PhotoHash};
use store::testing::{self, TestDatabase};
use store::StoreError;

super::checks!(
    EMBEDDING_CHECKS:
    an_embedding_comes_back_bit_for_bit_under_its_photo_and_engine,
    the_first_embedding_kept_stays,
    an_embedding_is_sealed_with_its_photo,
);

async fn run_embedding_suite(backend: &'static str, admin_url: Option<String>) {
    super::run_checks(
        "store contract (face embeddings)",
        EMBEDDING_CHECKS,
        backend,
        admin_url,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_face_embeddings_sqlite() {
    run_embedding_suite("sqlite", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_contract_face_embeddings_postgres() {
    if let Some(url) = testing::postgres_url("store contract (face embeddings)") {
        run_embedding_suite("postgres", Some(url)).await;
    }
}

const ENGINE: EmbeddingEngine<'static> = EmbeddingEngine {
    name: "dlib-resnet-v1",
    version: "dlib 19.24.0; face_recognition_models 0.3.0",
};

/// Values whose last bits a text or `REAL` round trip would lose.
fn embedding() -> Vec<f64> {
    vec![
        -0.0926506295800209,
        0.12424805015325546,
        f64::MIN_POSITIVE,
        -0.0,
        1.0 / 3.0,
    ]
}

async fn an_embedding_comes_back_bit_for_bit_under_its_photo_and_engine(db: Arc<TestDatabase>) {
    let store = db.store();
    let photo = PhotoHash::of(b"\xff\xd8historical\xff\xd9");
    assert_eq!(store.face_embedding(&photo, ENGINE).await.unwrap(), None);
    store
        .put_face_embedding(&photo, ENGINE, &embedding(), 1_764_000_000)
        .await
        .unwrap();
    let kept = store.face_embedding(&photo, ENGINE).await.unwrap().unwrap();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&kept), bits(&embedding()));
    // Another photo, another engine version: not the same embedding.
    let other = PhotoHash::of(b"\xff\xd8historical!\xff\xd9");
    assert_eq!(store.face_embedding(&other, ENGINE).await.unwrap(), None);
    let upgraded = EmbeddingEngine {
        version: "dlib 20.0.0; face_recognition_models 0.3.0",
        ..ENGINE
    };
    assert_eq!(store.face_embedding(&photo, upgraded).await.unwrap(), None);
}

async fn the_first_embedding_kept_stays(db: Arc<TestDatabase>) {
    let store = db.store();
    let photo = PhotoHash::of(b"photo");
    store
        .put_face_embedding(&photo, ENGINE, &embedding(), 1)
        .await
        .unwrap();
    store
        .put_face_embedding(&photo, ENGINE, &[0.5; 5], 2)
        .await
        .unwrap();
    assert_eq!(
        store.face_embedding(&photo, ENGINE).await.unwrap(),
        Some(embedding())
    );
}

async fn an_embedding_is_sealed_with_its_photo(db: Arc<TestDatabase>) {
    let sealing = db.store().clone().with_cipher(Arc::new(super::Reversing));
    let photo = PhotoHash::of(b"photo");
    sealing
        .put_face_embedding(&photo, ENGINE, &embedding(), 1)
        .await
        .unwrap();
    assert_eq!(
        sealing.face_embedding(&photo, ENGINE).await.unwrap(),
        Some(embedding())
    );
    // Read without the cipher, the stored bytes are not the photo's hash and the vector: refused,
    // naming the column, rather than read as some other vector.
    let err = db.store().face_embedding(&photo, ENGINE).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { column, .. } if column == "center_face_embeddings.embedding"),
        "{err:?}"
    );
}
