//! Records the version of the system dlib the engine links, for the version string stored with
//! every verification.

fn main() {
    let version = std::process::Command::new("pkg-config")
        .args(["--modversion", "dlib-1"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=FACE_DLIB_VERSION={version}");
    println!("cargo:rerun-if-changed=build.rs");
}
