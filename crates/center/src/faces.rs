//! Step 7's face work at scale (issue 18).
//!
//! - [`FacePool`]: decoding and describing photos is CPU work, done on a fixed set of worker
//!   threads sized to the cores, behind a bounded queue. When the queue is full the call is
//!   refused at once with `503 face` and `Retry-After` instead of waiting without bound: at a
//!   province's peak the kiosk retries in a moment rather than the center piling up requests
//!   until they all time out.
//! - The historical photo's embedding is computed once and kept in the store, sealed, under the
//!   SHA-256 of the photo's bytes and the engine's name and version
//!   (`store::face_embeddings`), so a session describes only the live and certified photos.
//!   The kept vector is the computed one bit for bit: a session that finds it decides as one
//!   that computed it.
//! - [`describe_ahead`]: the same embedding computed before the citizen comes (`idkiosk center
//!   faces warm`, for the numbers of cards about to expire, off the peak), so that at the peak a
//!   first-time citizen's session describes two photos, not three.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use store::face_embeddings::{EmbeddingEngine, PhotoHash};

use crate::error::AppError;
use crate::AppState;

/// The size of the face pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FacePoolConfig {
    /// Worker threads (default: one per core).
    pub workers: usize,
    /// Calls waiting for a worker beyond those running (default: eight per worker, about one to
    /// two seconds of work at 120–240 ms a session, well within the kiosk's 30-second timeout);
    /// one more is refused with 503.
    pub queue: usize,
}

impl FacePoolConfig {
    /// The same workers with `per_worker` waiting calls each.
    pub fn with_queue_per_worker(self, per_worker: usize) -> FacePoolConfig {
        FacePoolConfig {
            queue: self.workers * per_worker,
            ..self
        }
    }
}

impl Default for FacePoolConfig {
    fn default() -> FacePoolConfig {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        FacePoolConfig {
            workers: cores,
            queue: 8 * cores,
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A bounded pool of worker threads for CPU-bound face work. Cheap to clone; the threads end
/// when the last clone is dropped.
#[derive(Clone)]
pub struct FacePool {
    jobs: SyncSender<Job>,
    config: FacePoolConfig,
}

impl std::fmt::Debug for FacePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FacePool")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why [`FacePool::run`] did not give the job's answer.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// Every worker is busy and the queue is full: try again in a moment.
    #[error("the face pool is busy: {workers} workers busy and {queue} calls waiting")]
    Busy {
        /// Workers of the pool.
        workers: usize,
        /// Calls the queue holds.
        queue: usize,
    },
    /// The job panicked (logged by the worker, which goes on).
    #[error("the face job failed")]
    Failed,
}

impl From<PoolError> for AppError {
    fn from(err: PoolError) -> AppError {
        match err {
            PoolError::Busy { .. } => AppError::unavailable("face", err),
            PoolError::Failed => AppError::internal("the face engine", err),
        }
    }
}

impl FacePool {
    /// Starts `config.workers` threads (at least one) behind a queue of `config.queue` calls.
    pub fn new(config: FacePoolConfig) -> FacePool {
        let (jobs, queue) = sync_channel::<Job>(config.queue);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..config.workers.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("face-{n}"))
                .spawn(move || work(&queue))
                .expect("spawning a face worker thread");
        }
        FacePool { jobs, config }
    }

    /// The pool's size.
    pub fn config(&self) -> FacePoolConfig {
        self.config
    }

    /// Runs `job` on a worker and waits for its answer; [`PoolError::Busy`] at once when the
    /// queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have gone (a dropped request): nothing to answer.
            let _ = answer.send(job());
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                return Err(PoolError::Busy {
                    workers: self.config.workers,
                    queue: self.config.queue,
                })
            }
        }
        answered.await.map_err(|_| PoolError::Failed)
    }
}

impl Default for FacePool {
    fn default() -> FacePool {
        FacePool::new(FacePoolConfig::default())
    }
}

/// A worker: takes the next job until every sender is gone. A job that panics is logged and
/// the worker goes on (its caller gets [`PoolError::Failed`]).
fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.recv()
        };
        let Ok(job) = job else { return };
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
            tracing::error!("a face job panicked");
        }
    }
}

/// The engine's key for kept embeddings.
fn engine_key(engine: &dyn face::FaceEngine) -> EmbeddingEngine<'_> {
    EmbeddingEngine {
        name: engine.name(),
        version: engine.version(),
    }
}

/// The kept embedding of the historical photo `photo` for `engine`, if any. A kept value that
/// cannot be read (a changed key file, a damaged row) is logged and computed again.
pub(crate) async fn kept_history_embedding(
    state: &AppState,
    engine: &dyn face::FaceEngine,
    photo: &PhotoHash,
) -> Result<Option<face::Embedding>, AppError> {
    match state.store.face_embedding(photo, engine_key(engine)).await {
        Ok(kept) => Ok(kept.map(face::Embedding)),
        Err(err) if err.is_unavailable() => Err(err.into()),
        Err(err) => {
            tracing::warn!(photo = %photo.hex(), error = %err, "kept face embedding not read; computing it again");
            Ok(None)
        }
    }
}

/// Keeps the embedding of the historical photo `photo` computed by `engine`. A failure is
/// logged, not the session's: the next session computes it again.
pub(crate) async fn keep_history_embedding(
    state: &AppState,
    engine: &dyn face::FaceEngine,
    photo: &PhotoHash,
    embedding: &face::Embedding,
) {
    if let Err(err) = state
        .store
        .put_face_embedding(photo, engine_key(engine), &embedding.0, state.now())
        .await
    {
        tracing::warn!(photo = %photo.hex(), error = %err, "face embedding not kept");
    }
}

/// What [`describe_ahead`] did for one citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ahead {
    /// The historical photo was described and its embedding kept.
    Described,
    /// Its embedding was kept already (by a session or an earlier run): nothing done.
    AlreadyKept,
    /// The population system holds no historical photo for this number.
    NoPhoto,
}

/// Describes the historical photo of the citizen `id` ahead of their session and keeps its
/// embedding, exactly as step 7 does on first need (same engine, same key), so their step 7
/// describes only the live and certified photos. The work runs on the face pool, so it never
/// takes more than the pool's cores; a full queue is `503 face` as for a session. A photo without
/// exactly one face is an error naming why: step 7 will refuse it too.
pub async fn describe_ahead(
    state: &AppState,
    id: &domain::id::CitizenId,
) -> Result<Ahead, AppError> {
    let engine = state
        .face
        .clone()
        .ok_or_else(|| AppError::unavailable("face", anyhow::anyhow!("no face engine loaded")))?;
    let Some(photo) = state
        .population
        .history_photo(id)
        .await?
        .and_then(|photo| photo.jpeg)
    else {
        return Ok(Ahead::NoPhoto);
    };
    let hash = PhotoHash::of(&photo);
    if kept_history_embedding(state, engine.as_ref(), &hash)
        .await?
        .is_some()
    {
        return Ok(Ahead::AlreadyKept);
    }
    let job_engine = engine.clone();
    let embedding = state
        .face_pool
        .run(move || -> Result<face::Embedding, face::FaceError> {
            let limits = face::DecodeLimits::default();
            let picture = face::Picture::from_bytes("historical_photo", &photo, &limits)?;
            Ok(job_engine.describe(&picture)?.embedding)
        })
        .await?
        .map_err(|err| AppError::invalid("historical_photo", err.to_string()))?;
    state
        .store
        .put_face_embedding(
            &hash,
            engine_key(engine.as_ref()),
            &embedding.0,
            state.now(),
        )
        .await?;
    Ok(Ahead::Described)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With one worker and a queue of one, a third call while the first runs and the second
    /// waits is refused at once; once the worker is free the pool takes calls again.
    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_frees_up() {
        let pool = FacePool::new(FacePoolConfig {
            workers: 1,
            queue: 1,
        });
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, started_rx) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(move || {
                    let _ = started.send(());
                    released.recv().ok();
                    1
                })
                .await
            }
        });
        started_rx.await.unwrap();
        // The second call: polled once, which queues it.
        let mut waiting = Box::pin(pool.run(|| 2));
        tokio::select! {
            biased;
            _ = &mut waiting => panic!("answered while the worker is busy"),
            _ = std::future::ready(()) => {}
        }
        let refused = pool.run(|| 3).await.unwrap_err();
        assert!(
            matches!(
                refused,
                PoolError::Busy {
                    workers: 1,
                    queue: 1
                }
            ),
            "{refused:?}"
        );
        assert_eq!(
            AppError::from(refused).to_string(),
            "face unavailable: the face pool is busy: 1 workers busy and 1 calls waiting"
        );
        release.send(()).unwrap();
        assert_eq!(running.await.unwrap().unwrap(), 1);
        assert_eq!(waiting.await.unwrap(), 2);
        assert_eq!(pool.run(|| 4).await.unwrap(), 4);
    }

    #[tokio::test]
    async fn a_panicking_job_fails_its_call_and_the_worker_goes_on() {
        let pool = FacePool::new(FacePoolConfig {
            workers: 1,
            queue: 1,
        });
        let err = pool.run(|| -> u32 { panic!("boom") }).await.unwrap_err();
        assert!(matches!(err, PoolError::Failed), "{err:?}");
        assert_eq!(pool.run(|| 5).await.unwrap(), 5);
    }
}
