//! Trend charts drawn on the server as SVG: the count of a day or week as a bar, a share as a
//! line over it, axes labelled, in black and greys that survive printing.

use std::fmt::Write;

/// One point of a trend.
pub struct Point {
    /// Its label on the axis (`12/08`).
    pub label: String,
    /// The bar's value.
    pub count: i64,
    /// The line's value (0–1), absent where there is nothing to share.
    pub share: Option<f64>,
    /// Marked (a cold-snap order was in force).
    pub marked: bool,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 48.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

/// `text` made safe inside SVG text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart of `points` as an `<svg>` element; `title` names it for screen readers, `bars`
/// and `line` name the two series in its legend (no line in the legend when `line` is empty).
pub fn trend(title: &str, bars: &str, line: &str, points: &[Point]) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(title)
    );
    let _ = write!(svg, "<title>{}</title>", escape(title));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max = points.iter().map(|p| p.count).max().unwrap_or(0).max(1);
    let step = plot_w / points.len().max(1) as f64;
    let y_of_count = |n: f64| TOP + plot_h - n / max as f64 * plot_h;
    let y_of_share = |s: f64| TOP + plot_h - s * plot_h;
    // Grid and axes: counts on the left, shares on the right.
    for i in 0..=4 {
        let y = TOP + plot_h * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" class=\"c-grid\"/>",
            LEFT + plot_w
        );
        let count = (max as f64 * f64::from(4 - i) / 4.0).round();
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"c-axis\" text-anchor=\"end\">{count}</text>",
            LEFT - 6.0,
            y + 4.0
        );
        if !line.is_empty() {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"c-axis\">{}%</text>",
                LEFT + plot_w + 6.0,
                y + 4.0,
                25 * (4 - i)
            );
        }
    }
    let label_every = (points.len() / 10).max(1);
    for (i, p) in points.iter().enumerate() {
        let x = LEFT + step * i as f64;
        if p.marked {
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{TOP}\" width=\"{step:.1}\" height=\"{plot_h:.1}\" \
                 class=\"c-marked\"><title>{}</title></rect>",
                escape(&p.label)
            );
        }
        let top = y_of_count(p.count as f64);
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" class=\"c-bar\">\
             <title>{} {}</title></rect>",
            x + step * 0.15,
            (step * 0.7).max(1.0),
            TOP + plot_h - top,
            escape(&p.label),
            p.count
        );
        if i % label_every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"c-axis\" text-anchor=\"middle\">{}</text>",
                x + step / 2.0,
                TOP + plot_h + 16.0,
                escape(&p.label)
            );
        }
    }
    let mut path = String::new();
    for (i, p) in points.iter().enumerate() {
        if let Some(share) = p.share {
            let x = LEFT + step * i as f64 + step / 2.0;
            let command = if path.is_empty() { 'M' } else { 'L' };
            let _ = write!(path, "{command}{x:.1},{:.1} ", y_of_share(share));
            let _ = write!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"2.5\" class=\"c-dot\"/>",
                y_of_share(share)
            );
        }
    }
    if !path.is_empty() {
        let _ = write!(svg, "<path d=\"{}\" class=\"c-line\"/>", path.trim_end());
    }
    let legend_y = HEIGHT - 8.0;
    let _ = write!(
        svg,
        "<rect x=\"{LEFT}\" y=\"{:.1}\" width=\"12\" height=\"10\" class=\"c-bar\"/>\
         <text x=\"{:.1}\" y=\"{legend_y:.1}\" class=\"c-legend\">{}</text>",
        legend_y - 9.0,
        LEFT + 16.0,
        escape(bars),
    );
    if !line.is_empty() {
        let _ = write!(
            svg,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" class=\"c-line\"/>\
             <text x=\"{:.1}\" y=\"{legend_y:.1}\" class=\"c-legend\">{}</text>",
            LEFT + 220.0,
            legend_y - 4.0,
            LEFT + 240.0,
            legend_y - 4.0,
            LEFT + 246.0,
            escape(line),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_count_and_the_line_skips_empty_days() {
        let points = [
            Point {
                label: "12/01".into(),
                count: 4,
                share: Some(0.5),
                marked: false,
            },
            Point {
                label: "12/02".into(),
                count: 8,
                share: None,
                marked: true,
            },
            Point {
                label: "12/03".into(),
                count: 0,
                share: Some(1.0),
                marked: false,
            },
        ];
        let svg = trend("趋势 <1>", "投诉", "达标率", &points);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("aria-label=\"趋势 &lt;1&gt;\""), "{svg}");
        // The largest bar fills the plot (184 high), the half one half of it.
        assert!(
            svg.contains("height=\"184.0\" class=\"c-bar\"><title>12/02 8"),
            "{svg}"
        );
        assert!(
            svg.contains("height=\"92.0\" class=\"c-bar\"><title>12/01 4"),
            "{svg}"
        );
        // The line goes from 50 % on the first day to 100 % on the third.
        assert!(svg.contains("d=\"M"), "{svg}");
        assert_eq!(svg.matches("class=\"c-dot\"").count(), 2);
        assert_eq!(svg.matches("class=\"c-marked\"").count(), 1);
    }
}
