//! Drawing helpers shared by the documents: a page measured in millimetres from the top-left
//! corner, text set in the CJK faces, boxed fields with bilingual labels, images, barcodes, the
//! QR code and the seal area. Everything a government form is made of, and nothing else.

use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::num::NormalizedF32;
use krilla::paint::{Fill, Stroke, StrokeDash};
use krilla::surface::Surface;

use crate::fonts::{Fonts, Style};

/// Points per millimetre.
const PT: f32 = 72.0 / 25.4;

/// A5 portrait, in millimetres.
pub(crate) const A5: (f32, f32) = (148.0, 210.0);
/// A4 portrait, in millimetres.
pub(crate) const A4: (f32, f32) = (210.0, 297.0);

/// A bilingual label: Chinese first, English below in a smaller size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Label {
    pub(crate) zh: &'static str,
    pub(crate) en: &'static str,
}

pub(crate) const fn label(zh: &'static str, en: &'static str) -> Label {
    Label { zh, en }
}

/// Horizontal alignment of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
}

/// A page being drawn.
pub(crate) struct Canvas<'s, 'p> {
    surface: &'s mut Surface<'p>,
    fonts: &'s Fonts,
}

impl<'s, 'p> Canvas<'s, 'p> {
    pub(crate) fn new(surface: &'s mut Surface<'p>, fonts: &'s Fonts) -> Self {
        Canvas { surface, fonts }
    }

    /// Width of `text` in millimetres.
    pub(crate) fn width(&self, style: Style, size: f32, text: &str) -> f32 {
        self.fonts.face(style).width(text, size) / PT
    }

    /// Sets `text` with its baseline at `y` (mm); `x` is the left edge, the centre or the right
    /// edge according to `align`.
    pub(crate) fn text(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        style: Style,
        align: Align,
        text: &str,
    ) {
        if text.is_empty() {
            return;
        }
        let left = match align {
            Align::Left => x,
            Align::Center => x - self.width(style, size, text) / 2.0,
        };
        self.surface.set_stroke(None);
        self.surface.set_fill(Some(Fill::default()));
        let face = self.fonts.face(style);
        let glyphs = face.shape(text);
        self.surface.draw_glyphs(
            Point::from_xy(left * PT, y * PT),
            &glyphs,
            face.krilla.clone(),
            text,
            size,
            false,
        );
    }

    /// Splits `text` into lines no wider than `max_width` mm: at spaces for Latin text, between
    /// any two characters for Chinese.
    pub(crate) fn wrap(&self, size: f32, max_width: f32, text: &str) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut last_break: Option<usize> = None;
        for ch in text.chars() {
            line.push(ch);
            if ch == ' ' || !ch.is_ascii() {
                last_break = Some(line.len());
            }
            if self.width(Style::Regular, size, &line) > max_width {
                let cut = match last_break {
                    Some(at) if at < line.len() && at > 0 => at,
                    _ => line.len() - ch.len_utf8(),
                };
                let rest = line.split_off(cut);
                if !line.trim().is_empty() {
                    lines.push(line.trim_end().to_owned());
                }
                line = rest.trim_start().to_owned();
                last_break = None;
            }
        }
        if !line.trim().is_empty() {
            lines.push(line.trim_end().to_owned());
        }
        lines
    }

    /// Sets a wrapped paragraph from baseline `y`; returns the baseline after its last line.
    pub(crate) fn paragraph(&mut self, x: f32, y: f32, width: f32, size: f32, text: &str) -> f32 {
        let leading = size / PT * 1.45;
        let mut y = y;
        for line in self.wrap(size, width, text) {
            self.text(x, y, size, Style::Regular, Align::Left, &line);
            y += leading;
        }
        y
    }

    fn stroke(&mut self, width_pt: f32, dashed: bool) {
        self.surface.set_fill(None);
        self.surface.set_stroke(Some(Stroke {
            width: width_pt,
            dash: dashed.then(|| StrokeDash {
                array: vec![3.0, 2.0],
                offset: 0.0,
            }),
            ..Stroke::default()
        }));
    }

    /// A rectangle outline.
    pub(crate) fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width_pt: f32) {
        let Some(rect) = Rect::from_xywh(x * PT, y * PT, w * PT, h * PT) else {
            return;
        };
        let mut pb = PathBuilder::new();
        pb.push_rect(rect);
        if let Some(path) = pb.finish() {
            self.stroke(width_pt, false);
            self.surface.draw_path(&path);
        }
    }

    /// A filled rectangle in grey `lightness` (0 black, 255 white).
    pub(crate) fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, lightness: u8) {
        let Some(rect) = Rect::from_xywh(x * PT, y * PT, w * PT, h * PT) else {
            return;
        };
        let mut pb = PathBuilder::new();
        pb.push_rect(rect);
        if let Some(path) = pb.finish() {
            self.surface.set_stroke(None);
            self.surface.set_fill(Some(Fill {
                paint: luma::Color::new(lightness).into(),
                ..Fill::default()
            }));
            self.surface.draw_path(&path);
        }
    }

    /// A straight line.
    pub(crate) fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width_pt: f32) {
        let mut pb = PathBuilder::new();
        pb.move_to(x1 * PT, y1 * PT);
        pb.line_to(x2 * PT, y2 * PT);
        if let Some(path) = pb.finish() {
            self.stroke(width_pt, false);
            self.surface.draw_path(&path);
        }
    }

    /// A dashed circle (the seal's place).
    pub(crate) fn dashed_circle(&mut self, cx: f32, cy: f32, r: f32) {
        // Four cubic Béziers, the usual 0.5523 approximation.
        let (cx, cy, r) = (cx * PT, cy * PT, r * PT);
        let k = 0.552_284_8 * r;
        let mut pb = PathBuilder::new();
        pb.move_to(cx + r, cy);
        pb.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
        pb.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
        pb.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
        pb.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
        pb.close();
        if let Some(path) = pb.finish() {
            self.stroke(0.8, true);
            self.surface.draw_path(&path);
        }
    }

    /// An image scaled into `w` × `h` mm at (`x`, `y`).
    pub(crate) fn image(&mut self, image: &Image, x: f32, y: f32, w: f32, h: f32) {
        let Some(size) = Size::from_wh(w * PT, h * PT) else {
            return;
        };
        self.surface
            .push_transform(&Transform::from_translate(x * PT, y * PT));
        self.surface.draw_image(image.clone(), size);
        self.surface.pop();
    }

    /// A linear barcode from its modules (1 = bar), each `module` mm wide, `h` mm high.
    pub(crate) fn bars(&mut self, modules: &[u8], x: f32, y: f32, module: f32, h: f32) {
        let mut pb = PathBuilder::new();
        let mut i = 0;
        while i < modules.len() {
            if modules[i] == 1 {
                let start = i;
                while i < modules.len() && modules[i] == 1 {
                    i += 1;
                }
                let run = (i - start) as f32;
                if let Some(rect) = Rect::from_xywh(
                    (x + start as f32 * module) * PT,
                    y * PT,
                    run * module * PT,
                    h * PT,
                ) {
                    pb.push_rect(rect);
                }
            } else {
                i += 1;
            }
        }
        self.fill_path(pb);
    }

    fn fill_path(&mut self, pb: PathBuilder) {
        if let Some(path) = pb.finish() {
            self.surface.set_stroke(None);
            self.surface.set_fill(Some(Fill {
                opacity: NormalizedF32::ONE,
                ..Fill::default()
            }));
            self.surface.draw_path(&path);
        }
    }

    /// The document's heading: a title in the heading face, centred, with its English below.
    /// Returns the y (mm) under it.
    pub(crate) fn heading(&mut self, page_width: f32, y: f32, title: Label, size: f32) -> f32 {
        self.text(
            page_width / 2.0,
            y,
            size,
            Style::Heading,
            Align::Center,
            title.zh,
        );
        let en_y = y + size / PT * 0.9 + 1.5;
        self.text(
            page_width / 2.0,
            en_y,
            size * 0.5,
            Style::Regular,
            Align::Center,
            title.en,
        );
        en_y + 3.0
    }

    /// One boxed row of a form: a grey label cell (Chinese, English below) and a value cell,
    /// at least `h` mm high and taller when the value wraps. Returns the height used.
    // A form row is a box (x, y, w, h), a label column and two texts: a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn field(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        label_w: f32,
        label: Label,
        value: &str,
    ) -> f32 {
        let value_size = 10.5;
        let lines = self.wrap(value_size, w - label_w - 4.0, value);
        let leading = value_size / PT * 1.3;
        let block = leading * lines.len() as f32;
        let h = h.max(block + 3.0);
        self.fill_rect(x, y, label_w, h, 235);
        self.rect(x, y, w, h, 0.6);
        self.line(x + label_w, y, x + label_w, y + h, 0.6);
        self.label(x, y, label_w, h, label);
        let mut baseline = y + (h - block) / 2.0 + value_size / PT * 0.95;
        for line in lines {
            self.text(
                x + label_w + 2.0,
                baseline,
                value_size,
                Style::Regular,
                Align::Left,
                &line,
            );
            baseline += leading;
        }
        h
    }

    /// A label centred vertically in a cell of `w` × `h` at (`x`, `y`).
    pub(crate) fn label(&mut self, x: f32, y: f32, w: f32, h: f32, label: Label) {
        let (zh, en) = (9.0, 6.0);
        let block = zh / PT + 1.0 + en / PT;
        let top = y + (h - block) / 2.0;
        self.text(
            x + w / 2.0,
            top + zh / PT * 0.88,
            zh,
            Style::Regular,
            Align::Center,
            label.zh,
        );
        self.text(
            x + w / 2.0,
            top + zh / PT + 1.0 + en / PT * 0.88,
            en,
            Style::Regular,
            Align::Center,
            label.en,
        );
    }

    /// The seal area: a dashed circle with the bureau's name under it and the date.
    pub(crate) fn seal(&mut self, cx: f32, cy: f32, r: f32, bureau: &str, date: &str) {
        self.dashed_circle(cx, cy, r);
        self.text(cx, cy - 1.0, 7.0, Style::Regular, Align::Center, "（盖章）");
        self.text(cx, cy + 3.0, 6.0, Style::Regular, Align::Center, "Seal");
        self.text(cx, cy + r + 5.0, 9.0, Style::Regular, Align::Center, bureau);
        self.text(cx, cy + r + 10.0, 9.0, Style::Regular, Align::Center, date);
    }
}
