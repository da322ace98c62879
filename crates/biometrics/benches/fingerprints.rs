//! Fingerprint benchmark, one run, figures side by side as ratios: generation per impression,
//! quality, template extraction and 1:1 matching (time per operation, matches per second) of this
//! crate against the baselines on the same images, and the error rates of each on the same
//! comparisons.
//!
//! Baselines: the brute-force aligner ([`biometrics::matcher::brute_force`]) always, and NIST
//! NBIS (MINDTCT extraction, Bozorth3 matching, through the `nbis-rs` crate) with
//! `--features nbis`:
//!
//! ```text
//! cargo bench -p biometrics --bench fingerprints                  # ours and brute force
//! cargo bench -p biometrics --bench fingerprints --features nbis  # and NBIS
//! FINGERS=30 cargo bench -p biometrics --bench fingerprints       # a smaller set
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use biometrics::eval::{equal_error_rate, rates_at};
use biometrics::matcher::brute_force;
use biometrics::{
    assess, compare, extract, GreyImage, MasterFinger, MatchConfig, Minutia, PressKind,
    QualityConfig,
};

const IMPRESSIONS: u32 = 4;

fn per(total: Duration, n: usize) -> f64 {
    total.as_secs_f64() * 1e3 / n as f64
}

/// Genuine pairs (all pairs of impressions of a finger) and impostor pairs (first impressions of
/// different fingers), as (finger, impression) indices.
type Pair = ((usize, usize), (usize, usize));

fn protocol(fingers: usize) -> (Vec<Pair>, Vec<Pair>) {
    let mut genuine = Vec::new();
    let mut impostor = Vec::new();
    let k = IMPRESSIONS as usize;
    for f in 0..fingers {
        for i in 0..k {
            for j in i + 1..k {
                genuine.push(((f, i), (f, j)));
            }
        }
        for g in f + 1..fingers {
            impostor.push(((f, 0), (g, 0)));
        }
    }
    (genuine, impostor)
}

struct Row {
    name: &'static str,
    ms: f64,
}

fn report_rates(name: &str, genuine: &[f64], impostor: &[f64], threshold: f64) -> (f64, f64, f64) {
    let at = rates_at(genuine, impostor, threshold);
    let eer = equal_error_rate(genuine, impostor);
    println!(
        "  {name:<28} threshold {threshold:>4}: FMR {:>6.2} %  FNMR {:>6.2} %  EER {:>6.2} % (at {})",
        100.0 * at.false_match_rate,
        100.0 * at.false_non_match_rate,
        100.0 * eer.false_match_rate,
        eer.threshold
    );
    (
        at.false_match_rate,
        at.false_non_match_rate,
        eer.false_match_rate,
    )
}

fn main() {
    let fingers: usize = std::env::var("FINGERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    println!("fingerprint benchmark: {fingers} fingers × {IMPRESSIONS} impressions, 256 × 288 px");

    // Generation.
    let start = Instant::now();
    let masters: Vec<MasterFinger> = (0..fingers as u64).map(MasterFinger::generate).collect();
    let master_time = start.elapsed();
    let start = Instant::now();
    let images: Vec<Vec<GreyImage>> = masters
        .iter()
        .map(|m| {
            (0..IMPRESSIONS)
                .map(|k| m.impression(k, PressKind::Good))
                .collect()
        })
        .collect();
    let n_images = fingers * IMPRESSIONS as usize;
    let impression_time = start.elapsed();
    let start = Instant::now();
    for m in masters.iter().take(20) {
        for kind in [PressKind::Smudged, PressKind::Partial, PressKind::Blank] {
            black_box(m.impression(0, kind));
        }
    }
    let degraded_time = start.elapsed();
    let degraded_n = 3 * fingers.min(20);
    println!();
    println!("generation");
    println!(
        "  master fingerprint           {:>8.2} ms",
        per(master_time, fingers)
    );
    println!(
        "  good impression              {:>8.2} ms",
        per(impression_time, n_images)
    );
    println!(
        "  degraded press (avg of 3)    {:>8.2} ms",
        per(degraded_time, degraded_n)
    );
    println!(
        "  impression incl. its master  {:>8.2} ms (one master per press, no reuse)",
        per(master_time, fingers) + per(impression_time, n_images)
    );

    // Quality.
    let start = Instant::now();
    for f in &images {
        for i in f {
            black_box(assess(i, &QualityConfig::default()));
        }
    }
    let quality_time = start.elapsed();

    // Extraction: ours from pixels; PNG decoding timed apart, as NBIS takes encoded images.
    let start = Instant::now();
    let ours: Vec<Vec<Vec<Minutia>>> = images
        .iter()
        .map(|f| f.iter().map(extract).collect())
        .collect();
    let extract_time = start.elapsed();
    let pngs: Vec<Vec<Vec<u8>>> = images
        .iter()
        .map(|f| f.iter().map(|i| i.to_png()).collect())
        .collect();
    let start = Instant::now();
    for f in &pngs {
        for p in f {
            black_box(GreyImage::from_png(p).expect("our own PNG"));
        }
    }
    let decode_time = start.elapsed();
    let minutiae_avg = ours.iter().flatten().map(Vec::len).sum::<usize>() as f64 / n_images as f64;
    println!();
    println!("quality and extraction (per image)");
    println!(
        "  quality score                {:>8.2} ms",
        per(quality_time, n_images)
    );
    println!(
        "  PNG decode                   {:>8.2} ms",
        per(decode_time, n_images)
    );
    // The NBIS rows join with --features nbis.
    #[allow(unused_mut, clippy::useless_vec)]
    let mut extraction = vec![Row {
        name: "ours (Gabor, thinning)",
        ms: per(extract_time, n_images),
    }];
    println!(
        "  {:<28} {:>8.2} ms, {minutiae_avg:.1} minutiae per image",
        extraction[0].name, extraction[0].ms
    );

    // Matching.
    let (genuine_pairs, impostor_pairs) = protocol(fingers);
    let config = MatchConfig::default();
    let run = |f: &dyn Fn(&[Minutia], &[Minutia]) -> u8, pairs: &[Pair]| -> (Vec<f64>, Duration) {
        let start = Instant::now();
        let scores = pairs
            .iter()
            .map(|&((fa, ia), (fb, ib))| f64::from(f(&ours[fa][ia], &ours[fb][ib])))
            .collect();
        (scores, start.elapsed())
    };
    let ours_match = |a: &[Minutia], b: &[Minutia]| compare(a, b, &config).score;
    let (g, tg) = run(&ours_match, &genuine_pairs);
    let (i, ti) = run(&ours_match, &impostor_pairs);
    let comparisons = genuine_pairs.len() + impostor_pairs.len();
    let ours_ms = per(tg + ti, comparisons);
    // Brute force on a subset: it is slow.
    let sub_g = &genuine_pairs[..genuine_pairs.len().min(300)];
    let sub_i = &impostor_pairs[..impostor_pairs.len().min(1200)];
    let brute = |a: &[Minutia], b: &[Minutia]| brute_force(a, b, &config).score;
    let (bg, btg) = run(&brute, sub_g);
    let (bi, bti) = run(&brute, sub_i);
    let brute_ms = per(btg + bti, sub_g.len() + sub_i.len());
    let (og, oi) = (&g[..sub_g.len()], &i[..sub_i.len()]);

    #[allow(unused_mut, clippy::useless_vec)]
    let mut matching = vec![
        Row {
            name: "ours (Hough)",
            ms: ours_ms,
        },
        Row {
            name: "brute force",
            ms: brute_ms,
        },
    ];

    #[cfg(feature = "nbis")]
    let nbis_scores = {
        let start = Instant::now();
        let nbis_min: Vec<Vec<nbis::Minutiae>> = pngs
            .iter()
            .map(|f| {
                f.iter()
                    .map(|p| nbis::extract_minutiae(p, Some(500.0)).expect("nbis extraction"))
                    .collect()
            })
            .collect();
        let nbis_extract = start.elapsed();
        extraction.push(Row {
            name: "NBIS MINDTCT (from PNG)",
            ms: per(nbis_extract, n_images),
        });
        let nbis_avg = nbis_min
            .iter()
            .flatten()
            .map(|m| m.get().len())
            .sum::<usize>() as f64
            / n_images as f64;
        println!(
            "  {:<28} {:>8.2} ms, {nbis_avg:.1} minutiae per image",
            extraction[1].name, extraction[1].ms
        );
        let run_nbis = |pairs: &[Pair]| -> (Vec<f64>, Duration) {
            let start = Instant::now();
            let s = pairs
                .iter()
                .map(|&((fa, ia), (fb, ib))| f64::from(nbis_min[fa][ia].compare(&nbis_min[fb][ib])))
                .collect();
            (s, start.elapsed())
        };
        let (ng, ntg) = run_nbis(&genuine_pairs);
        let (ni, nti) = run_nbis(&impostor_pairs);
        matching.push(Row {
            name: "NBIS Bozorth3",
            ms: per(ntg + nti, comparisons),
        });
        // NBIS reading our ISO records: Bozorth3 on our minutiae.
        let iso = |m: &[Minutia]| {
            let t = biometrics::Template {
                width: 256,
                height: 288,
                position: 0,
                quality: 0,
                minutiae: m.to_vec(),
            };
            nbis::load_iso_19794_2_2005(&t.to_bytes()).expect("NBIS reads our ISO record")
        };
        let ours_iso: Vec<Vec<nbis::Minutiae>> = ours
            .iter()
            .map(|f| f.iter().map(|m| iso(m)).collect())
            .collect();
        let run_iso = |pairs: &[Pair]| -> Vec<f64> {
            pairs
                .iter()
                .map(|&((fa, ia), (fb, ib))| f64::from(ours_iso[fa][ia].compare(&ours_iso[fb][ib])))
                .collect()
        };
        (ng, ni, run_iso(&genuine_pairs), run_iso(&impostor_pairs))
    };

    println!();
    println!(
        "1:1 matching ({} genuine + {} impostor comparisons)",
        genuine_pairs.len(),
        impostor_pairs.len()
    );
    let base = matching[0].ms;
    for r in &matching {
        println!(
            "  {:<28} {:>8.3} ms  {:>9.0} matches/s  time × {:.2} of ours",
            r.name,
            r.ms,
            1e3 / r.ms,
            r.ms / base
        );
    }
    if extraction.len() > 1 {
        println!(
            "  extraction time: NBIS / ours = {:.2} (NBIS's includes PNG decoding, {:.2} ms)",
            extraction[1].ms / extraction[0].ms,
            per(decode_time, n_images)
        );
    }

    println!();
    println!("error rates on the same comparisons");
    let threshold = f64::from(config.threshold);
    let (fm, fnm, eer) = report_rates("ours (Hough)", &g, &i, threshold);
    report_rates("ours, brute-force subset", og, oi, threshold);
    report_rates("brute force, same subset", &bg, &bi, threshold);
    #[cfg(feature = "nbis")]
    {
        let (ng, ni, ig, ii) = &nbis_scores;
        // 40 is Bozorth3's customary decision threshold.
        let (nfm, nfnm, neer) = report_rates("NBIS MINDTCT + Bozorth3", ng, ni, 40.0);
        report_rates("Bozorth3 on our ISO records", ig, ii, 40.0);
        println!(
            "  ratios NBIS / ours: FMR {}, FNMR {}, EER {}",
            ratio(nfm, fm),
            ratio(nfnm, fnm),
            ratio(neer, eer)
        );
    }
    #[cfg(not(feature = "nbis"))]
    {
        let _ = (fm, fnm, eer);
        println!("  (NBIS not built: run with --features nbis)");
    }
}

#[cfg(feature = "nbis")]
fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        if a == 0.0 {
            "both 0".into()
        } else {
            format!("{:.2} % vs 0", 100.0 * a)
        }
    } else {
        format!("{:.2}", a / b)
    }
}
