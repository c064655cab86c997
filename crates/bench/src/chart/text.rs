//! Text for the chart, drawn pixel by pixel from the 8×8 bitmap font of the `font8x8` crate.
//! Plotters' own text needs a font backend: `ttf` pulls in font-kit and the system's
//! fontconfig/freetype C libraries, `ab_glyph` needs a TrueType file shipped with us. A bitmap
//! font of a few hundred bytes keeps the build pure Rust and lean, at the price of plain glyphs.

use font8x8::legacy::BASIC_LEGACY;
use plotters::prelude::*;

/// Pixels per glyph side at scale 1.
pub const GLYPH: i32 = 8;

/// Draws `text` with its top-left corner at `(x, y)`. Characters outside ASCII become `?`.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    (x, y): (i32, i32),
    scale: i32,
    color: &RGBColor,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for (i, c) in text.chars().enumerate() {
        let glyph = BASIC_LEGACY[if c.is_ascii() {
            c as usize
        } else {
            '?' as usize
        }];
        let left = x + i32::try_from(i).unwrap_or(0) * GLYPH * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                // Bit 0 is the leftmost pixel of the row.
                if bits & (1 << col) != 0 {
                    let px = left + col * scale;
                    let py = y + i32::try_from(row).unwrap_or(0) * scale;
                    area.draw(&Rectangle::new(
                        [(px, py), (px + scale, py + scale)],
                        color.filled(),
                    ))?;
                }
            }
        }
    }
    Ok(())
}
