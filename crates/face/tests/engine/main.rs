//! The face crate's tests, one test binary: the engine on real faces (the test images of the PyPI
//! `face_recognition` 1.3.0 sdist, fetched by scripts/setup/20-face.sh), bad inputs, the ID photo
//! crop, liveness, and bounded memory on huge pictures (`memory`, measured in a child process).

mod bad_inputs;
mod common;
mod id_photo;
mod liveness;
mod memory;
mod real_faces;
