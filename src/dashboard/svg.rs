//! The dashboard's charts as server-drawn SVG: yield over time (a line over unit counts) and
//! the failure Pareto (bars with the cumulative share). No script: the browser only draws.

use super::html::esc;
use crate::line::{Bucket, CodeCount};

const W: f64 = 520.0;
const H: f64 = 220.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 34.0;
const TOP: f64 = 14.0;
const RIGHT: f64 = 40.0;

fn frame(title: &str, body: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" \
         viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\" \
         font-family=\"sans-serif\" font-size=\"11\"><title>{t}</title>\
         <rect width=\"{W}\" height=\"{H}\" fill=\"#fff\"/>{body}</svg>",
        t = esc(title)
    )
}

/// Percent axis on the left (0–100 %), gridlines every 25 %.
fn percent_axis() -> String {
    let mut out = String::new();
    for p in [0, 25, 50, 75, 100] {
        let y = y_of(p as f64);
        out.push_str(&format!(
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{p}%</text>",
            W - RIGHT,
            LEFT - 4.0,
            y + 4.0
        ));
    }
    out
}

fn y_of(percent: f64) -> f64 {
    TOP + (H - TOP - BOTTOM) * (1.0 - percent / 100.0)
}

/// First-pass yield per bucket as a line (gaps where a bucket had no first attempt), the
/// bucket's units as grey bars behind it.
pub fn yield_chart(timeline: &[Bucket]) -> String {
    let mut body = percent_axis();
    if timeline.is_empty() {
        body.push_str(&empty());
        return frame("First-pass yield over time", &body);
    }
    let plot_w = W - LEFT - RIGHT;
    let step = plot_w / timeline.len() as f64;
    let most = timeline.iter().map(|b| b.units).max().unwrap_or(1).max(1);
    let mut points = Vec::new();
    for (i, b) in timeline.iter().enumerate() {
        let x = LEFT + step * i as f64;
        let bar_h = (H - TOP - BOTTOM) * b.units as f64 / most as f64;
        body.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar_h:.1}\" fill=\"#dde6f0\">\
             <title>{} units from {}</title></rect>",
            x + step * 0.1,
            H - BOTTOM - bar_h,
            (step * 0.8).max(1.0),
            b.units,
            esc(&b.start_utc)
        ));
        if let Some(p) = b.first_pass_yield {
            points.push(format!("{:.1},{:.1}", x + step / 2.0, y_of(p)));
        }
    }
    if !points.is_empty() {
        body.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#17823b\" stroke-width=\"2.5\"/>",
            points.join(" ")
        ));
        for p in &points {
            let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
            body.push_str(&format!(
                "<circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"#17823b\"/>"
            ));
        }
    }
    let label = |b: &Bucket| b.start_utc.get(11..16).unwrap_or(&b.start_utc).to_string();
    body.push_str(&format!(
        "<text x=\"{LEFT}\" y=\"{:.1}\" fill=\"#555\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{} UTC</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{most} units</text>",
        H - BOTTOM + 16.0,
        esc(&label(&timeline[0])),
        W - RIGHT,
        H - BOTTOM + 16.0,
        esc(&label(&timeline[timeline.len() - 1])),
        W - 2.0,
        TOP + 4.0,
    ));
    frame("First-pass yield over time", &body)
}

/// Failures by code, most first, with the cumulative share as a line.
pub fn pareto_chart(pareto: &[CodeCount]) -> String {
    let mut body = percent_axis();
    let shown: Vec<&CodeCount> = pareto.iter().take(10).collect();
    if shown.is_empty() {
        body.push_str(&empty());
        return frame("Failures by operator code", &body);
    }
    // At most 80 px a bar: two codes are two bars, not two walls.
    let step = ((W - LEFT - RIGHT) / shown.len() as f64).min(80.0);
    let most = shown[0].count.max(1);
    let mut line = Vec::new();
    for (i, c) in shown.iter().enumerate() {
        let x = LEFT + step * i as f64;
        let bar_h = (H - TOP - BOTTOM) * c.count as f64 / most as f64;
        body.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar_h:.1}\" fill=\"#b42318\">\
             <title>{}: {}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#222\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            x + step * 0.15,
            H - BOTTOM - bar_h,
            step * 0.7,
            esc(&c.code),
            c.count,
            x + step / 2.0,
            H - BOTTOM - bar_h - 3.0,
            c.count,
            x + step / 2.0,
            H - BOTTOM + 14.0,
            esc(c.code.trim_start_matches("E-")),
        ));
        line.push(format!(
            "{:.1},{:.1}",
            x + step / 2.0,
            y_of(c.cumulative_percent)
        ));
    }
    body.push_str(&format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#444\" stroke-dasharray=\"4 3\" stroke-width=\"1.5\"/>",
        line.join(" ")
    ));
    frame("Failures by operator code", &body)
}

fn empty() -> String {
    format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#777\">no units yet</text>",
        W / 2.0,
        H / 2.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_draw_their_data_and_escape_codes() {
        let timeline = vec![
            Bucket {
                start_utc: "2026-12-01T08:00:00Z".into(),
                units: 4,
                first_attempts: 4,
                first_pass: 3,
                first_pass_yield: Some(75.0),
            },
            Bucket {
                start_utc: "2026-12-01T09:00:00Z".into(),
                units: 0,
                first_attempts: 0,
                first_pass: 0,
                first_pass_yield: None,
            },
        ];
        let svg = yield_chart(&timeline);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(
            svg.matches("<circle").count(),
            1,
            "no point for an empty bucket"
        );
        assert!(svg.contains("08:00") && svg.contains("4 units"));
        let pareto = vec![CodeCount {
            code: "E-<x>".into(),
            count: 2,
            percent: 100.0,
            cumulative_percent: 100.0,
        }];
        let svg = pareto_chart(&pareto);
        assert!(svg.contains("&lt;x&gt;") && !svg.contains("<x>"));
        assert!(pareto_chart(&[]).contains("no units yet"));
    }
}
