//! The 56 nation (民族) names of GB 3304 live in `domain::nation`.

pub use domain::nation::{nation_code, nation_name};
