//! The CJK fonts every document is set in, loaded once and shared by every render.
//!
//! The fonts come from the distribution (Debian's `fonts-noto-cjk`, installed by
//! `scripts/setup/30-documents.sh`): Noto Sans CJK SC for the body and Noto Serif CJK SC Bold for
//! headings, both faces of TrueType collections (`.ttc`). krilla embeds only the glyphs a document
//! uses (a subset), so a page stays around 100 KB whatever the size of the collection.

use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    data: Arc<Vec<u8>>,
    index: u32,
}

impl Face {
    fn load(file: &FontFile) -> Result<Face, FontError> {
        let bytes = std::fs::read(&file.path).map_err(|source| FontError::Read {
            path: file.path.clone(),
            source,
        })?;
        let data = Arc::new(bytes);
        let parse_error = || FontError::Parse {
            path: file.path.clone(),
            index: file.index,
        };
        FontRef::from_index(data.as_slice(), file.index).map_err(|_| parse_error())?;
        let krilla =
            krilla::text::Font::new(data.clone().into(), file.index).ok_or_else(parse_error)?;
        Ok(Face {
            krilla,
            data,
            index: file.index,
        })
    }

    /// The advance width of `text` at `size` points, in points (no kerning: close enough for
    /// centring and wrapping labels).
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        let Ok(font) = FontRef::from_index(self.data.as_slice(), self.index) else {
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
