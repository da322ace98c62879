//! Benchmark of step 7 per session (issue 18): the live and certified photos against the
//! historical photo, the historical embedding kept from an earlier session and the face found
//! with [`Detection::Fast`], as ratios in the same run against (a) Python's `face_recognition`
//! describing the same photos and (b) the engine's path before issue 18 (full-frame detection,
//! the historical photo described every time). Then, as before, verification per pair (decode both photos, detect, landmark and embed
//! both, compare) and of the ID-photo crop per frame, side by side with Python's
//! `face_recognition` on the same pairs in the same run: same model, same detector settings (HOG,
//! no upsampling), same 5-point landmarks, one jitter.
//!
//! Run through `scripts/bench-face.sh`, which installs the Python baselines and sets
//! `FACE_BENCH_PYTHONS=label=/path/to/python,…`. Without it only the Rust side runs.
//! `FACE_BENCH_ROUNDS` (default 5) sets the repetitions; each figure is a median. The liveness
//! check (MiniFASNet) is timed per photo on one core, beside the comparison, as a ratio to it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use std::collections::HashMap;

use face::{
    crop_id_photo, Comparison, CropConfig, DecodeLimits, Detection, DlibEngine, Embedding,
    FaceEngine, FastDetection, LivenessEngine, MiniFasNetEngine, Picture, QualityConfig,
    Thresholds,
};

const FACES: [&str; 6] = [
    "obama.jpg",
    "obama2.jpg",
    "obama3.jpg",
    "biden.jpg",
    "obama_partial_face.jpg",
    "obama_partial_face2.jpg",
];

fn person(name: &str) -> &str {
    name.split(['_', '.'])
        .next()
        .unwrap_or(name)
        .trim_end_matches(|c: char| c.is_ascii_digit())
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct RustPair {
    a: PathBuf,
    b: PathBuf,
    same: bool,
    sequential: Duration,
    parallel: Duration,
    distance: f64,
}

fn verify_sequential(engine: &DlibEngine, a: &PathBuf, b: &PathBuf) -> f64 {
    let limits = DecodeLimits::default();
    let pa = Picture::open(a, &limits).expect("picture a");
    let pb = Picture::open(b, &limits).expect("picture b");
    let da = engine.describe(&pa).expect("face a");
    let db = engine.describe(&pb).expect("face b");
    engine.compare(&da.embedding, &db.embedding).distance
}

fn verify_parallel(engine: &DlibEngine, a: &PathBuf, b: &PathBuf) -> f64 {
    let limits = DecodeLimits::default();
    let describe = |p: &PathBuf| {
        engine
            .describe(&Picture::open(p, &limits).expect("picture"))
            .expect("face")
    };
    let (da, db) = std::thread::scope(|s| {
        let first = s.spawn(|| describe(a));
        let second = describe(b);
        (first.join().expect("thread"), second)
    });
    engine.compare(&da.embedding, &db.embedding).distance
}

/// One step-7 session over the test faces: indexes into the photos.
#[derive(Debug, Clone, Copy)]
struct Session {
    historical: usize,
    certified: usize,
    live: usize,
}

/// A session for each of the 15 pairs: the first photo is the historical one, the second the
/// certified one, the next photo along (not the historical one) the live one.
fn sessions(count: usize) -> Vec<Session> {
    let mut out = Vec::new();
    for i in 0..count {
        for j in i + 1..count {
            let mut k = (j + 1) % count;
            if k == i {
                k = (k + 1) % count;
            }
            out.push(Session {
                historical: i,
                certified: j,
                live: k,
            });
        }
    }
    out
}

/// Step 7's two decisions: certified above 95, live above 60.
fn decisions(engine: &DlibEngine, certified: f64, live: f64) -> (bool, bool) {
    let t = Thresholds::default();
    let cal = engine.calibration();
    (
        cal.similarity(certified) > t.certified,
        cal.similarity(live) > t.live,
    )
}

fn describe_path(engine: &DlibEngine, path: &PathBuf, detection: Detection) -> Embedding {
    let picture = Picture::open(path, &DecodeLimits::default()).expect("picture");
    engine
        .describe_with(&picture, detection)
        .expect("face")
        .embedding
}

/// The engine's path before issue 18: three photos decoded and described on the full frame.
fn session_before(engine: &DlibEngine, paths: &[PathBuf], s: Session) -> (Comparison, Comparison) {
    let full = Detection::FullFrame;
    let historical = describe_path(engine, &paths[s.historical], full);
    let certified = describe_path(engine, &paths[s.certified], full);
    let live = describe_path(engine, &paths[s.live], full);
    (
        engine.compare(&certified, &historical),
        engine.compare(&live, &historical),
    )
}

/// Issue 18's path: the historical embedding kept, two photos described the fast way.
fn session_now(
    engine: &DlibEngine,
    paths: &[PathBuf],
    s: Session,
    kept: &HashMap<usize, Embedding>,
) -> (Comparison, Comparison) {
    let fast = Detection::Fast(FastDetection::default());
    let historical = &kept[&s.historical];
    let certified = describe_path(engine, &paths[s.certified], fast);
    let live = describe_path(engine, &paths[s.live], fast);
    (
        engine.compare(&certified, historical),
        engine.compare(&live, historical),
    )
}

/// Sessions per second with one worker thread per core pulling sessions.
fn sessions_per_second(workers: usize, work: &[Session], run: &(dyn Fn(Session) + Sync)) -> f64 {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&s) = work.get(k) else { break };
                run(s);
            });
        }
    });
    work.len() as f64 / t.elapsed().as_secs_f64()
}

/// What the Python baseline gave for each photo: median seconds to describe it alone, and its
/// encoding.
struct PythonPhotos {
    label: String,
    detail: String,
    seconds: Vec<f64>,
    encodings: Vec<Option<Embedding>>,
}

fn python_photos(label: &str, python: &str, rounds: usize, paths: &[PathBuf]) -> PythonPhotos {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/baseline.py");
    let out = std::process::Command::new(python.trim())
        .arg(&script)
        .arg(rounds.to_string())
        .arg("--photos")
        .args(paths)
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"));
    if !out.status.success() {
        panic!(
            "python baseline {label} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("baseline JSON");
    let photos = json["photos"].as_array().expect("photos");
    PythonPhotos {
        label: label.to_owned(),
        detail: format!(
            "face_recognition on dlib {} (BLAS {}, AVX {})",
            json["dlib"], json["blas"], json["avx"]
        ),
        seconds: photos
            .iter()
            .map(|p| p["seconds"].as_f64().unwrap_or(f64::NAN))
            .collect(),
        encodings: photos
            .iter()
            .map(|p| {
                p["encoding"]
                    .as_array()
                    .map(|e| Embedding(e.iter().filter_map(|x| x.as_f64()).collect()))
            })
            .collect(),
    }
}

/// Step 7 per session: today's path, the path before issue 18 and Python, in one run. Returns
/// whether today's path decided as the path before on every session.
fn session_section(
    engine: &DlibEngine,
    paths: &[PathBuf],
    rounds: usize,
    workers: usize,
    pythons: &[(String, String)],
) -> bool {
    let sessions = sessions(paths.len());
    // The kept embeddings: what the first session of each citizen computed and stored.
    let fast = Detection::Fast(FastDetection::default());
    let kept: HashMap<usize, Embedding> = (0..paths.len())
        .map(|i| (i, describe_path(engine, &paths[i], fast)))
        .collect();
    let mut before_ms = Vec::new();
    let mut now_ms = Vec::new();
    let mut agree_before = 0;
    let mut rows = Vec::new();
    for &s in &sessions {
        let (mut tb, mut tn) = (Vec::new(), Vec::new());
        let (mut before, mut now) = (None, None);
        for _ in 0..rounds {
            let t = Instant::now();
            before = Some(session_before(engine, paths, s));
            tb.push(t.elapsed());
            let t = Instant::now();
            now = Some(session_now(engine, paths, s, &kept));
            tn.push(t.elapsed());
        }
        let (before, now) = (before.expect("a round"), now.expect("a round"));
        let db = decisions(engine, before.0.distance, before.1.distance);
        let dn = decisions(engine, now.0.distance, now.1.distance);
        if db == dn {
            agree_before += 1;
        }
        before_ms.push(ms(median(tb)));
        now_ms.push(ms(median(tn)));
        rows.push((s, before, now, db == dn));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (before_mean, now_mean) = (mean(&before_ms), mean(&now_ms));
    let work: Vec<Session> = sessions
        .iter()
        .copied()
        .cycle()
        .take(sessions.len() * rounds)
        .collect();
    let before_rate = sessions_per_second(workers, &work, &|s| {
        session_before(engine, paths, s);
    });
    let now_rate = sessions_per_second(workers, &work, &|s| {
        session_now(engine, paths, s, &kept);
    });
    let name = |i: usize| paths[i].file_name().unwrap().to_string_lossy().to_string();
    println!(
        "step 7 per session: {} sessions (historical / certified / live), {rounds} rounds, medians",
        sessions.len()
    );
    println!(
        "{:<58} {:>9} {:>9} {:>9} {:>9} {:>6}",
        "session", "before ms", "now ms", "d cert", "d live", "agree"
    );
    for ((s, _before, now, agree), (b, n)) in rows.iter().zip(before_ms.iter().zip(&now_ms)) {
        println!(
            "{:<58} {:>9.1} {:>9.1} {:>9.4} {:>9.4} {:>6}",
            format!(
                "{} / {} / {}",
                name(s.historical),
                name(s.certified),
                name(s.live)
            ),
            b,
            n,
            now.0.distance,
            now.1.distance,
            agree
        );
    }
    println!(
        "rust now (historical embedding kept, fast detection, 2 photos): {now_mean:.1} ms per session, {now_rate:.2} sessions/s on {workers} threads"
    );
    println!(
        "rust before issue 18 (full frame, 3 photos): {before_mean:.1} ms per session, {before_rate:.2} sessions/s on {workers} threads"
    );
    println!(
        "ratio vs before: {:.2}x per session, {:.2}x throughput; same decisions on {agree_before}/{} sessions",
        before_mean / now_mean,
        now_rate / before_rate,
        sessions.len()
    );
    let all_agree = agree_before == sessions.len();
    for (label, python) in pythons {
        let py = python_photos(label, python, rounds, paths);
        let mut py_all = Vec::new();
        let mut py_kept = Vec::new();
        let mut agree = 0;
        for (s, _, now, _) in &rows {
            py_all.push(
                1000.0 * (py.seconds[s.historical] + py.seconds[s.certified] + py.seconds[s.live]),
            );
            py_kept.push(1000.0 * (py.seconds[s.certified] + py.seconds[s.live]));
            let enc = |i: usize| py.encodings[i].as_ref();
            let py_decisions = match (enc(s.historical), enc(s.certified), enc(s.live)) {
                (Some(h), Some(c), Some(l)) => Some(decisions(
                    engine,
                    c.euclidean_distance(h),
                    l.euclidean_distance(h),
                )),
                _ => None,
            };
            if py_decisions == Some(decisions(engine, now.0.distance, now.1.distance)) {
                agree += 1;
            }
        }
        let (py_all, py_kept) = (mean(&py_all), mean(&py_kept));
        println!(
            "python `{}` ({}): {py_all:.1} ms per session describing 3 photos, {py_kept:.1} ms describing 2 (had it kept the historical one)",
            py.label, py.detail
        );
        println!(
            "ratio vs python `{}`: {:.2}x per session (vs its 3 photos), {:.2}x (vs its 2 photos); same decisions on {agree}/{} sessions",
            py.label,
            py_all / now_mean,
            py_kept / now_mean,
            sessions.len()
        );
        // Reported, not required: Python decodes JPEGs with another decoder and runs another
        // dlib, so a pair near a bar can fall on either side.
    }
    println!();
    all_agree
}

/// The liveness check per live photo (crop, resize, both MiniFASNet forward passes) on one core,
/// given the decoded picture and the face box step 7's comparison has already found, as a ratio
/// to the comparison per pair measured above in the same run.
fn liveness_section(engine: &DlibEngine, paths: &[PathBuf], rounds: usize, compare_ms: f64) {
    // candle reads this on every operation: no thread pool for the matrix products.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let load_start = Instant::now();
    let models = MiniFasNetEngine::shared().unwrap_or_else(|e| panic!("{e}"));
    let load = load_start.elapsed();
    println!();
    println!(
        "liveness: {} ({}), loaded in {:.0} ms, RAYON_NUM_THREADS={}",
        models.name(),
        models.version(),
        ms(load),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_default()
    );
    let mut means = Vec::new();
    for p in paths {
        let picture = Picture::open(p, &DecodeLimits::default()).expect("frame");
        let faces = engine.detect(&picture).expect("detect");
        let Some(face) = faces.first() else { continue };
        models.check(&picture, face).expect("warm up");
        let mut times = Vec::new();
        let mut verdict = None;
        for _ in 0..rounds.max(5) {
            let t = Instant::now();
            verdict = Some(models.check(&picture, face).expect("liveness"));
            times.push(t.elapsed());
        }
        let t = median(times);
        let verdict = verdict.expect("one round");
        println!(
            "liveness {:<24} {:>8.1} ms  {} {:.3}",
            p.file_name().unwrap().to_string_lossy(),
            ms(t),
            verdict.label.as_str(),
            verdict.score
        );
        means.push(ms(t));
    }
    let mean = means.iter().sum::<f64>() / means.len().max(1) as f64;
    println!(
        "liveness: mean {mean:.1} ms per live photo on one core (budget 30 ms) = {:.3} x the comparison's {compare_ms:.1} ms per pair in this run",
        mean / compare_ms
    );
}

fn main() {
    let rounds: usize = std::env::var("FACE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let dir = face::paths::faces_dir();
    let load_start = Instant::now();
    let engine = DlibEngine::shared().unwrap_or_else(|e| panic!("{e}"));
    let load = load_start.elapsed();
    let paths: Vec<PathBuf> = FACES.iter().map(|f| dir.join(f)).collect();
    for p in &paths {
        assert!(
            p.is_file(),
            "{} missing: run scripts/setup/20-face.sh",
            p.display()
        );
    }
    let mut pairs = Vec::new();
    for i in 0..FACES.len() {
        for j in i + 1..FACES.len() {
            pairs.push((i, j));
        }
    }
    println!(
        "face verification benchmark: {} pairs, {rounds} rounds, medians",
        pairs.len()
    );
    println!(
        "rust engine: {} ({}), loaded in {:.0} ms",
        engine.name(),
        engine.version(),
        ms(load)
    );
    // OpenBLAS reads it when the library loads, before main: scripts/bench-face.sh sets it to 1
    // so that each figure is one thread's work.
    println!(
        "OPENBLAS_NUM_THREADS={}",
        std::env::var("OPENBLAS_NUM_THREADS").unwrap_or_else(|_| "unset (one per core)".into())
    );

    // Warm up.
    verify_sequential(&engine, &paths[0], &paths[1]);

    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let pythons: Vec<(String, String)> = std::env::var("FACE_BENCH_PYTHONS")
        .unwrap_or_default()
        .split(',')
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let (label, python) = e.split_once('=').unwrap_or(("python", e));
            (label.trim().to_owned(), python.trim().to_owned())
        })
        .collect();
    let sessions_agree = session_section(&engine, &paths, rounds, workers, &pythons);
    if std::env::var_os("FACE_BENCH_SESSIONS_ONLY").is_some() {
        if !sessions_agree {
            eprintln!("decisions differ on some session");
            std::process::exit(1);
        }
        return;
    }

    let mut rust = Vec::new();
    for &(i, j) in &pairs {
        let (a, b) = (&paths[i], &paths[j]);
        let mut seq = Vec::new();
        let mut par = Vec::new();
        let mut distance = 0.0;
        for _ in 0..rounds {
            let t = Instant::now();
            distance = verify_sequential(&engine, a, b);
            seq.push(t.elapsed());
            let t = Instant::now();
            verify_parallel(&engine, a, b);
            par.push(t.elapsed());
        }
        rust.push(RustPair {
            a: a.clone(),
            b: b.clone(),
            same: person(FACES[i]) == person(FACES[j]),
            sequential: median(seq),
            parallel: median(par),
            distance,
        });
    }

    // Throughput: one worker thread per core pulling pairs (the engine keeps a detector and a
    // network per core).
    let work: Vec<(usize, usize)> = pairs
        .iter()
        .copied()
        .cycle()
        .take(pairs.len() * rounds)
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(i, j)) = work.get(k) else { break };
                verify_sequential(&engine, &paths[i], &paths[j]);
            });
        }
    });
    let rust_throughput = work.len() as f64 / t.elapsed().as_secs_f64();

    // Crop per frame: decode, detect, landmarks, warp, quality, JPEG encode.
    let mut crop_times = Vec::new();
    for p in &paths {
        let mut times = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            let frame = Picture::open(p, &DecodeLimits::default()).expect("frame");
            crop_id_photo(
                &*engine,
                &frame,
                &CropConfig::default(),
                &QualityConfig::default(),
            )
            .expect("crop");
            times.push(t.elapsed());
        }
        crop_times.push((
            p.file_name().unwrap().to_string_lossy().to_string(),
            median(times),
        ));
    }

    let rust_total: Duration = rust.iter().map(|p| p.sequential).sum();
    let rust_par_total: Duration = rust.iter().map(|p| p.parallel).sum();
    println!();
    println!(
        "{:<48} {:>6} {:>9} {:>10} {:>10}",
        "pair", "same", "distance", "rust ms", "rust 2thr"
    );
    for p in &rust {
        println!(
            "{:<48} {:>6} {:>9.4} {:>10.1} {:>10.1}",
            format!(
                "{} / {}",
                p.a.file_name().unwrap().to_string_lossy(),
                p.b.file_name().unwrap().to_string_lossy()
            ),
            p.same,
            p.distance,
            ms(p.sequential),
            ms(p.parallel)
        );
    }
    println!(
        "rust: mean per pair {:.1} ms sequential, {:.1} ms with the two photos on two threads; throughput {:.2} pairs/s on {workers} threads",
        ms(rust_total) / rust.len() as f64,
        ms(rust_par_total) / rust.len() as f64,
        rust_throughput
    );
    let rust_decisions_right = rust.iter().filter(|p| (p.distance < 0.6) == p.same).count();
    println!(
        "rust decisions right (d < 0.6 ⇔ same person): {rust_decisions_right}/{}",
        rust.len()
    );
    println!();
    for (name, t) in &crop_times {
        println!("crop {name:<28} {:>8.1} ms", ms(*t));
    }
    let crop_mean = crop_times.iter().map(|(_, t)| ms(*t)).sum::<f64>() / crop_times.len() as f64;
    println!(
        "crop: mean {crop_mean:.1} ms per frame (decode, detect, landmarks, warp, quality, JPEG)"
    );

    liveness_section(&engine, &paths, rounds, ms(rust_total) / rust.len() as f64);

    if pythons.is_empty() {
        println!("\nno Python baseline (set FACE_BENCH_PYTHONS, or run scripts/bench-face.sh)");
        if !sessions_agree {
            eprintln!("decisions differ on some session");
            std::process::exit(1);
        }
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/baseline.py");
    let mut failed = !sessions_agree;
    for (label, python) in &pythons {
        let mut cmd = std::process::Command::new(python);
        cmd.arg(&script).arg(rounds.to_string());
        for p in &rust {
            cmd.arg(&p.a).arg(&p.b);
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("running {python}: {e}"));
        if !out.status.success() {
            panic!(
                "python baseline {label} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("baseline JSON");
        let py_pairs = json["pairs"].as_array().expect("pairs");
        println!();
        println!(
            "python baseline `{label}`: face_recognition on dlib {} (BLAS {}, AVX {}), HOG with number_of_times_to_upsample=0",
            json["dlib"], json["blas"], json["avx"]
        );
        println!(
            "{:<48} {:>9} {:>10} {:>10} {:>7} {:>7}",
            "pair", "py dist", "py ms", "rust ms", "ratio", "agree"
        );
        let mut py_total = 0.0;
        let mut agree = 0;
        for (p, py) in rust.iter().zip(py_pairs) {
            let py_ms = py["seconds"].as_f64().unwrap_or(f64::NAN) * 1000.0;
            py_total += py_ms;
            let py_distance = py["distance"].as_f64();
            let same_decision = py_distance.is_some_and(|d| (d < 0.6) == (p.distance < 0.6));
            // The decision the center takes: the calibrated score against the live threshold.
            let cal = engine.calibration();
            let scores_agree = py_distance
                .is_some_and(|d| (cal.similarity(d) > 60.0) == (cal.similarity(p.distance) > 60.0));
            if same_decision && scores_agree {
                agree += 1;
            }
            println!(
                "{:<48} {:>9.4} {:>10.1} {:>10.1} {:>7.2} {:>7}",
                format!(
                    "{} / {}",
                    p.a.file_name().unwrap().to_string_lossy(),
                    p.b.file_name().unwrap().to_string_lossy()
                ),
                py_distance.unwrap_or(f64::NAN),
                py_ms,
                ms(p.sequential),
                py_ms / ms(p.sequential),
                same_decision && scores_agree
            );
        }
        let py_throughput = json["throughput_pairs_per_second"]
            .as_f64()
            .unwrap_or(f64::NAN);
        let ratio = py_total / ms(rust_total);
        let ratio_parallel = py_total / ms(rust_par_total);
        println!(
            "`{label}`: per-pair latency {:.1} ms (python) vs {:.1} ms (rust, sequential): rust {ratio:.2}x faster; {:.2}x with the two photos on two threads",
            py_total / rust.len() as f64,
            ms(rust_total) / rust.len() as f64,
            ratio_parallel
        );
        println!(
            "`{label}`: throughput {py_throughput:.2} pairs/s (python, {} processes) vs {rust_throughput:.2} pairs/s (rust, {workers} threads): {:.2}x",
            json["throughput_workers"],
            rust_throughput / py_throughput
        );
        println!("`{label}`: same decision on {agree}/{} pairs", rust.len());
        failed |= agree != rust.len();
    }
    if failed {
        eprintln!("decisions differ between rust and python on some pair");
        std::process::exit(1);
    }
}
