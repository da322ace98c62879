"""Python baseline for crates/face/benches/verify.rs: the `face_recognition` library on the same
pairs, with the same model and detector settings as the Rust engine (HOG, no upsampling, the
5-point landmarks, one jitter). Prints one JSON object on stdout.

Usage: python baseline.py ROUNDS A1 B1 A2 B2 ...
       python baseline.py ROUNDS --photos P1 P2 ...
The second form times the description (load, detect, encode) of each photo alone and prints its
median time and encoding, from which the benchmark builds per-session figures (issue 18).
"""
import json
import multiprocessing
import sys
import time

import dlib
import face_recognition


def describe(path):
    image = face_recognition.load_image_file(path)
    locations = face_recognition.face_locations(image, number_of_times_to_upsample=0, model="hog")
    if len(locations) != 1:
        return None, len(locations)
    encodings = face_recognition.face_encodings(
        image, known_face_locations=locations, num_jitters=1, model="small"
    )
    return encodings[0], 1


def verify_pair(pair):
    a, b = pair
    start = time.perf_counter()
    ea, na = describe(a)
    eb, nb = describe(b)
    distance = None
    if ea is not None and eb is not None:
        distance = float(face_recognition.face_distance([ea], eb)[0])
    return time.perf_counter() - start, distance, na, nb


def photos(rounds, paths):
    describe(paths[0])  # warm up
    results = []
    for path in paths:
        times, encoding, faces = [], None, 0
        for _ in range(rounds):
            start = time.perf_counter()
            encoding, faces = describe(path)
            times.append(time.perf_counter() - start)
        times.sort()
        results.append(
            {
                "path": path,
                "seconds": times[len(times) // 2],
                "encoding": None if encoding is None else [float(x) for x in encoding],
                "faces": faces,
            }
        )
    print(
        json.dumps(
            {
                "dlib": dlib.__version__,
                "blas": bool(getattr(dlib, "DLIB_USE_BLAS", False)),
                "avx": bool(getattr(dlib, "USE_AVX_INSTRUCTIONS", False)),
                "photos": results,
            }
        )
    )


def main():
    rounds = int(sys.argv[1])
    if sys.argv[2:3] == ["--photos"]:
        photos(rounds, sys.argv[3:])
        return
    paths = sys.argv[2:]
    pairs = list(zip(paths[0::2], paths[1::2]))
    verify_pair(pairs[0])  # warm up: models are loaded at import, first call touches them
    results = []
    for pair in pairs:
        times, distance, na, nb = [], None, 0, 0
        for _ in range(rounds):
            seconds, distance, na, nb = verify_pair(pair)
            times.append(seconds)
        times.sort()
        results.append(
            {"a": pair[0], "b": pair[1], "seconds": times[len(times) // 2], "distance": distance, "faces": [na, nb]}
        )
    # Throughput with one worker process per core, as a fair match for the Rust engine's threads.
    workers = multiprocessing.cpu_count()
    work = pairs * rounds
    with multiprocessing.Pool(workers) as pool:
        pool.map(verify_pair, pairs[:workers])
        start = time.perf_counter()
        pool.map(verify_pair, work, chunksize=1)
        elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "dlib": dlib.__version__,
                "blas": bool(getattr(dlib, "DLIB_USE_BLAS", False)),
                "avx": bool(getattr(dlib, "USE_AVX_INSTRUCTIONS", False)),
                "pairs": results,
                "throughput_pairs_per_second": len(work) / elapsed,
                "throughput_workers": workers,
            }
        )
    )


if __name__ == "__main__":
    main()
