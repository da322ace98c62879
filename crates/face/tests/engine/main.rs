//! Integration tests of the face engine on real faces (the test images of the PyPI
//! `face_recognition` 1.3.0 sdist, fetched by scripts/setup/20-face.sh).

mod bad_inputs;
#[path = "../common/mod.rs"]
mod common;
mod id_photo;
mod liveness;
mod real_faces;
