//! The network schematic drawn on the server as SVG: a panel per district, a cell per
//! heat-exchange station shaded by its complaints, a heavy border where an incident is open.
//! It needs no map tiles, so it works on a network that reaches no tile server.

use std::fmt::Write;

use crate::chart::escape;

/// A station's cell.
pub struct Station {
    /// Its name.
    pub name: String,
    /// Complaints this season (the shade).
    pub complaints: i64,
    /// Open incidents (the border).
    pub incidents_open: i64,
    /// What a pointer over it shows.
    pub tooltip: String,
    /// Where it leads.
    pub href: String,
}

/// A district's panel.
pub struct District {
    /// Its heading.
    pub heading: String,
    /// Its stations.
    pub stations: Vec<Station>,
}

const WIDTH: f64 = 960.0;
const COLUMNS: usize = 2;
const PANEL_GAP: f64 = 16.0;
const HEADER: f64 = 34.0;
const CELL_W: f64 = 70.0;
const CELL_H: f64 = 50.0;
const CELL_GAP: f64 = 6.0;
const PAD: f64 = 10.0;

/// Shades from no complaints to the most complained-of station; each shade is named in the
/// legend, so the map reads in greys too.
pub const SHADES: [&str; 5] = ["#f3f4f6", "#fde68a", "#fbbf24", "#f97316", "#b91c1c"];

/// The shade of `complaints` where `most` is the most of any station: none is the first, the
/// others split the range into four equal steps.
pub fn shade(complaints: i64, most: i64) -> usize {
    if complaints <= 0 || most <= 0 {
        return 0;
    }
    let step = ((complaints as f64 / most as f64) * 4.0).ceil() as usize;
    step.clamp(1, 4)
}

/// The schematic as an `<svg>` element named `title` for screen readers.
pub fn draw(title: &str, districts: &[District]) -> String {
    let most = districts
        .iter()
        .flat_map(|d| &d.stations)
        .map(|s| s.complaints)
        .max()
        .unwrap_or(0);
    let panel_w = (WIDTH - PANEL_GAP * (COLUMNS as f64 - 1.0)) / COLUMNS as f64;
    let per_row =
        (((panel_w - 2.0 * PAD + CELL_GAP) / (CELL_W + CELL_GAP)).floor() as usize).max(1);
    let panel_h = |d: &District| {
        let rows = d.stations.len().div_ceil(per_row).max(1);
        HEADER + rows as f64 * (CELL_H + CELL_GAP) - CELL_GAP + PAD
    };
    let mut body = String::new();
    let mut y = 0.0;
    for pair in districts.chunks(COLUMNS) {
        let row_h = pair.iter().map(panel_h).fold(0.0, f64::max);
        for (i, district) in pair.iter().enumerate() {
            let x = i as f64 * (panel_w + PANEL_GAP);
            let _ = write!(
                body,
                "<g class=\"s-district\"><rect class=\"s-panel\" x=\"{x:.1}\" y=\"{y:.1}\" \
                 width=\"{panel_w:.1}\" height=\"{row_h:.1}\" rx=\"6\" fill=\"#ffffff\" \
                 stroke=\"#6b7280\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"15\" \
                 font-weight=\"bold\" fill=\"#111827\">{}</text>",
                x + PAD,
                y + 22.0,
                escape(&district.heading)
            );
            for (n, station) in district.stations.iter().enumerate() {
                let cx = x + PAD + (n % per_row) as f64 * (CELL_W + CELL_GAP);
                let cy = y + HEADER + (n / per_row) as f64 * (CELL_H + CELL_GAP);
                let level = shade(station.complaints, most);
                let ink = if level == 4 { "#ffffff" } else { "#111827" };
                let (stroke, width) = if station.incidents_open > 0 {
                    ("#111827", 3.5)
                } else {
                    ("#9ca3af", 1.0)
                };
                let name: String = station.name.chars().take(9).collect();
                let _ = write!(
                    body,
                    "<a href=\"{}\" class=\"s-station\"><title>{}</title>\
                     <rect x=\"{cx:.1}\" y=\"{cy:.1}\" width=\"{CELL_W}\" height=\"{CELL_H}\" \
                     rx=\"4\" fill=\"{}\" stroke=\"{stroke}\" stroke-width=\"{width}\" \
                     data-level=\"{level}\"/>\
                     <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" \
                     fill=\"{ink}\">{}</text>\
                     <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"16\" font-weight=\"bold\" \
                     text-anchor=\"middle\" fill=\"{ink}\">{}{}</text></a>",
                    escape(&station.href),
                    escape(&station.tooltip),
                    SHADES[level],
                    cx + CELL_W / 2.0,
                    cy + 17.0,
                    escape(&name),
                    cx + CELL_W / 2.0,
                    cy + 40.0,
                    station.complaints,
                    if station.incidents_open > 0 { " !" } else { "" },
                );
            }
            body.push_str("</g>");
        }
        y += row_h + PANEL_GAP;
    }
    let height = (y - PANEL_GAP).max(40.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"schematic\" viewBox=\"0 0 {WIDTH} {height:.1}\" role=\"img\" \
         aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">{body}</svg>",
        escape(title)
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shades_split_the_range_into_four_steps_above_none() {
        assert_eq!(shade(0, 40), 0);
        assert_eq!(shade(1, 40), 1);
        assert_eq!(shade(10, 40), 1);
        assert_eq!(shade(11, 40), 2);
        assert_eq!(shade(30, 40), 3);
        assert_eq!(shade(40, 40), 4);
        assert_eq!(shade(3, 0), 0);
    }

    #[test]
    fn a_district_panel_holds_its_stations_with_links_and_incident_borders() {
        let svg = draw(
            "map <1>",
            &[District {
                heading: "南岗区 · 12".into(),
                stations: vec![
                    Station {
                        name: "st-1".into(),
                        complaints: 12,
                        incidents_open: 1,
                        tooltip: "st-1: 12".into(),
                        href: "/console/targets/tickets?figure=open&district=a&x=1".into(),
                    },
                    Station {
                        name: "st-2".into(),
                        complaints: 0,
                        incidents_open: 0,
                        tooltip: "st-2: 0".into(),
                        href: "/x".into(),
                    },
                ],
            }],
        );
        assert!(svg.contains("aria-label=\"map &lt;1&gt;\""));
        assert_eq!(svg.matches("class=\"s-station\"").count(), 2);
        assert!(svg.contains("district=a&amp;x=1"));
        assert!(svg.contains("data-level=\"4\""));
        assert!(svg.contains("data-level=\"0\""));
        assert!(svg.contains("stroke-width=\"3.5\""));
        assert!(svg.contains(">12 !<"));
    }
}
