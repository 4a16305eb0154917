//! Seconds onto pixels, and the axis under a drawing: what the timeline and
//! the chart share.

use std::fmt::Write as _;

/// `x(0)` at `left`, `x(max)` at `left + width`, in whole pixels so that
/// edges are crisp and colours exact.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scale {
    left: f64,
    width: f64,
    max: f64,
}

impl Scale {
    pub fn new(left: f64, width: f64, max_seconds: f64) -> Scale {
        // An empty run still gets an axis.
        let max = if max_seconds.is_finite() && max_seconds > 0.0 { max_seconds } else { 1.0 };
        Scale { left, width, max }
    }

    pub fn x(&self, seconds: f64) -> f64 {
        (self.left + seconds.clamp(0.0, self.max) / self.max * self.width).round()
    }

    /// From `from` to `to` seconds: its left edge and a width of at least a
    /// pixel, so that a scenario of a few milliseconds is still seen.
    pub fn span(&self, from: f64, to: f64) -> (f64, f64) {
        let left = self.x(from);
        (left, (self.x(to) - left).max(1.0))
    }

    /// A round step (1, 2 or 5 times a power of ten) giving at most ten ticks.
    pub fn step(&self) -> f64 {
        let rough = self.max / 10.0;
        let power = 10f64.powf(rough.log10().floor());
        [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|s| *s >= rough).unwrap_or(10.0 * power)
    }

    /// Tick marks and their labels along `y`.
    pub fn axis(&self, y: f64) -> String {
        let step = self.step();
        let decimals = if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize };
        let mut svg = format!("<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#999\"/>", self.left, self.left + self.width);
        let mut tick = 0.0;
        while tick <= self.max + step * 1e-9 {
            let x = self.x(tick);
            let _ = write!(svg, "<line x1=\"{x}\" y1=\"{y}\" x2=\"{x}\" y2=\"{}\" stroke=\"#999\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{tick:.decimals$} s</text>", y + 4.0, y + 16.0);
            tick += step;
        }
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_land_on_whole_pixels_and_ticks_are_round() {
        let scale = Scale::new(100.0, 800.0, 40.0);
        assert_eq!(scale.x(0.0), 100.0);
        assert_eq!(scale.x(10.0), 300.0);
        assert_eq!(scale.x(99.0), 900.0, "clamped to the drawing");
        assert_eq!(scale.span(20.0, 20.001), (500.0, 1.0), "a short span keeps a pixel");
        assert_eq!(scale.step(), 5.0);
        assert_eq!(Scale::new(0.0, 100.0, 0.13).step(), 0.02);
        let axis = Scale::new(0.0, 100.0, 0.13).axis(10.0);
        assert!(axis.contains(">0.12 s</text>") && !axis.contains(">0.14 s"), "{axis}");
    }
}
