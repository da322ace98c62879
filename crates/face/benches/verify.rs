//! Benchmark of step-7 verification per pair (decode both photos, detect, landmark and embed
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

use face::{
    crop_id_photo, CropConfig, DecodeLimits, DlibEngine, FaceEngine, LivenessEngine,
    MiniFasNetEngine, Picture, QualityConfig,
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

    // Warm up.
    verify_sequential(&engine, &paths[0], &paths[1]);

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
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
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

    let pythons = std::env::var("FACE_BENCH_PYTHONS").unwrap_or_default();
    if pythons.trim().is_empty() {
        println!("\nno Python baseline (set FACE_BENCH_PYTHONS, or run scripts/bench-face.sh)");
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/baseline.py");
    let mut failed = false;
    for entry in pythons.split(',').filter(|e| !e.trim().is_empty()) {
        let (label, python) = entry.split_once('=').unwrap_or(("python", entry));
        let mut cmd = std::process::Command::new(python.trim());
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
