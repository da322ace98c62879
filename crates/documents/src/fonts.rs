//! The CJK fonts every document is set in, loaded once and shared by every render.
//!
//! The fonts come from the distribution (Debian's `fonts-noto-cjk`, installed by
//! `scripts/setup/30-documents.sh`): Noto Sans CJK SC for the body and Noto Serif CJK SC Bold for
//! headings, both faces of TrueType collections (`.ttc`). krilla embeds only the glyphs a document
//! uses (a subset), so a page stays around 100 KB whatever the size of the collection.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

/// Where a face is: a font file and, for a collection, the index of the face in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FontFile {
    /// The `.ttf`, `.otf` or `.ttc` file.
    pub path: PathBuf,
    /// The face inside a collection (0 for a single font).
    pub index: u32,
}

/// The faces a document uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FontSources {
    /// Body text, labels and values.
    pub regular: FontFile,
    /// Titles.
    pub heading: FontFile,
}

/// Index of the Simplified Chinese face in Noto's CJK collections (JP, KR, SC, TC, HK, …).
const NOTO_CJK_SC: u32 = 2;

impl Default for FontSources {
    /// Debian's `fonts-noto-cjk`: Noto Sans CJK SC Regular and Noto Serif CJK SC Bold.
    fn default() -> FontSources {
        let dir = Path::new("/usr/share/fonts/opentype/noto");
        FontSources {
            regular: FontFile {
                path: dir.join("NotoSansCJK-Regular.ttc"),
                index: NOTO_CJK_SC,
            },
            heading: FontFile {
                path: dir.join("NotoSerifCJK-Bold.ttc"),
                index: NOTO_CJK_SC,
            },
        }
    }
}

/// A font could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    /// The file could not be read (not installed?).
    #[error("cannot read font {path}: {source} (run scripts/setup/30-documents.sh to install fonts-noto-cjk)")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a font, or has no face at that index.
    #[error("{path} has no usable font at index {index}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The face index asked for.
        index: u32,
    },
}

/// Which face to set a text in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Body text.
    Regular,
    /// Titles.
    Heading,
}

/// One loaded face: krilla's handle (for drawing) and the raw bytes (for measuring).
#[derive(Clone)]
pub(crate) struct Face {
    pub(crate) krilla: krilla::text::Font,
    data: &'static [u8],
    index: u32,
    /// The face's shaper, built once: building one reads the font's whole layout tables, which
    /// on Noto CJK cost more than the rest of a PDF (krilla's `draw_text` builds one per call).
    shaper: &'static rustybuzz::Face<'static>,
}

/// A face read from its file once per process and kept for its life, with its shaper.
#[derive(Clone, Copy)]
struct Loaded {
    data: &'static [u8],
    shaper: &'static rustybuzz::Face<'static>,
}

/// The faces read so far, by file and index. Kept for the process's life (two files in
/// production, loaded once): a font file replaced on disk is read again only by a new process.
fn loaded(file: &FontFile) -> Result<Loaded, FontError> {
    static LOADED: OnceLock<Mutex<HashMap<(PathBuf, u32), Loaded>>> = OnceLock::new();
    // Held while a file is read, so two first renders do not both read and keep it.
    let mut cache = LOADED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let key = (file.path.clone(), file.index);
    if let Some(hit) = cache.get(&key) {
        return Ok(*hit);
    }
    let bytes = std::fs::read(&file.path).map_err(|source| FontError::Read {
        path: file.path.clone(),
        source,
    })?;
    let parse_error = || FontError::Parse {
        path: file.path.clone(),
        index: file.index,
    };
    // Checked before it is kept (and leaked): the cheap parses, not the shaper's tables.
    FontRef::from_index(&bytes, file.index).map_err(|_| parse_error())?;
    rustybuzz::ttf_parser::Face::parse(&bytes, file.index).map_err(|_| parse_error())?;
    let data: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    let shaper = rustybuzz::Face::from_slice(data, file.index).ok_or_else(parse_error)?;
    let loaded = Loaded {
        data,
        shaper: Box::leak(Box::new(shaper)),
    };
    cache.insert(key, loaded);
    Ok(loaded)
}

impl Face {
    fn load(file: &FontFile) -> Result<Face, FontError> {
        let Loaded { data, shaper } = loaded(file)?;
        let krilla = krilla::text::Font::new(data.into(), file.index).ok_or(FontError::Parse {
            path: file.path.clone(),
            index: file.index,
        })?;
        Ok(Face {
            krilla,
            data,
            index: file.index,
            shaper,
        })
    }

    /// `text` shaped as krilla's `draw_text` shapes it (rustybuzz, default features, direction
    /// and script guessed), with the face's kept shaper.
    pub(crate) fn shape(&self, text: &str) -> Vec<krilla::text::KrillaGlyph> {
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        let forward = matches!(
            buffer.direction(),
            rustybuzz::Direction::LeftToRight | rustybuzz::Direction::TopToBottom
        );
        let output = rustybuzz::shape(self.shaper, &[], buffer);
        let per_em = self.krilla.units_per_em();
        let infos = output.glyph_infos();
        infos
            .iter()
            .zip(output.glyph_positions())
            .enumerate()
            .map(|(i, (info, position))| {
                // The glyph's text: its cluster up to the next cluster's start (in the order
                // of the text), as krilla assigns it.
                let start = info.cluster as usize;
                let next = if forward {
                    infos[i..]
                        .iter()
                        .find(|other| other.cluster != info.cluster)
                } else {
                    infos[..i]
                        .iter()
                        .rev()
                        .find(|other| other.cluster != info.cluster)
                };
                let end = next.map_or(text.len(), |other| other.cluster as usize);
                krilla::text::KrillaGlyph::new(
                    krilla::text::GlyphId::new(info.glyph_id),
                    position.x_advance as f32 / per_em,
                    position.x_offset as f32 / per_em,
                    position.y_offset as f32 / per_em,
                    position.y_advance as f32 / per_em,
                    start..end,
                    None,
                )
            })
            .collect()
    }

    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        let Ok(font) = FontRef::from_index(self.data, self.index) else {
            return 0.0;
        };
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars()
            .map(|ch| {
                charmap
                    .map(ch)
                    .and_then(|glyph| metrics.advance_width(glyph))
                    .unwrap_or(size * 0.5)
            })
            .sum()
    }
}

/// The loaded faces; load once (about 40 MB of collections are read), render many times.
#[derive(Clone)]
pub struct Fonts {
    regular: Face,
    heading: Face,
}

impl Fonts {
    /// Loads the faces named in `sources`.
    pub fn load(sources: &FontSources) -> Result<Fonts, FontError> {
        Ok(Fonts {
            regular: Face::load(&sources.regular)?,
            heading: Face::load(&sources.heading)?,
        })
    }

    /// Loads the distribution's Noto CJK faces ([`FontSources::default`]).
    pub fn system() -> Result<Fonts, FontError> {
        Fonts::load(&FontSources::default())
    }

    pub(crate) fn face(&self, style: Style) -> &Face {
        match style {
            Style::Regular => &self.regular,
            Style::Heading => &self.heading,
        }
    }
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A face's file is read and its shaper built once per process: a second load shares both.
    /// Shaping gives one glyph per CJK character and text ranges that cover the text in order.
    #[test]
    fn a_face_is_read_once_and_shapes_the_whole_text() {
        let Some(fonts) = store::testing::require(
            "documents::fonts::a_face_is_read_once_and_shapes_the_whole_text",
            "the Noto CJK fonts (scripts/setup/30-documents.sh)",
            Fonts::system(),
        ) else {
            return;
        };
        let again = Fonts::system().expect("loaded once already");
        for style in [Style::Regular, Style::Heading] {
            let (first, second) = (fonts.face(style), again.face(style));
            assert!(std::ptr::eq(first.data, second.data), "{style:?}: bytes");
            assert!(
                std::ptr::eq(first.shaper, second.shaper),
                "{style:?}: shaper"
            );
        }
        let text = "居民身份证 Office 领取凭证";
        let glyphs = fonts.face(Style::Regular).shape(text);
        let ranges: Vec<_> = glyphs.iter().map(krilla::text::Glyph::text_range).collect();
        // Each glyph's range starts where the last cluster ended, or is the last glyph's (two
        // glyphs of one cluster).
        let mut at = 0;
        let mut last = None;
        for range in &ranges {
            assert!(
                range.start == at || last == Some(range),
                "{range:?} after {last:?}: {ranges:?}"
            );
            assert!(range.end > range.start, "{ranges:?}");
            at = range.end;
            last = Some(range);
        }
        assert_eq!(at, text.len(), "{ranges:?}");
        let chinese = text.chars().filter(|c| !c.is_ascii()).count();
        assert!(glyphs.len() >= chinese, "{} glyphs", glyphs.len());
        assert!(glyphs
            .iter()
            .all(|g| krilla::text::Glyph::x_advance(g, 1.0) > 0.0));
    }
}
