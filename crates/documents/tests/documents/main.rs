//! The documents rendered from the committed examples (docs/examples/*.json): text extracted by
//! poppler's `pdftotext` against snapshots, one page each, fonts embedded as subsets.

mod fixtures;
mod render;
