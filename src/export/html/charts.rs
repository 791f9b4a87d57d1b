//! Charts as inline SVG strings, drawn with plotters' SVG backend. Every function takes
//! plain numbers and labels, never report types, so a sweep's heatmap or a comparison's
//! charts are drawn by the same code as one run's page.
//!
//! Text: plotters is built without its `ttf` feature, so it has no font metrics. Its SVG
//! backend still writes every label as an SVG `<text>` element and the browser sets the
//! glyphs with its own sans-serif font; only plotters' estimate of a label's width (for
//! legend boxes and label spacing) is rough, which is why the charts keep wide margins.
//! A failed chart is an error for the caller to show in place of the chart, never a panic.

use plotters::coord::ranged1d::{SegmentValue, SegmentedCoord};
use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 320;

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];
const GRID: RGBColor = RGBColor(232, 232, 232);
const FAULT: RGBColor = RGBColor(214, 39, 40);
const STALL: RGBColor = RGBColor(110, 110, 110);

/// The colour of the `i`th series (the HTML legend uses the same).
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A named line: (x, y) points in drawing order.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandKind {
    /// A fault injected by a nemesis (or a service down between stop and restart).
    Fault,
    /// No transaction completed.
    Stall,
}

/// A stretch of the x axis to shade and label (a fault, a stall). `from == to` marks an
/// instant (a crash) with a thin band.
#[derive(Debug, Clone)]
pub struct Band {
    pub from: f64,
    pub to: f64,
    pub label: String,
    pub kind: BandKind,
}

/// Series over time (seconds on the x axis), with shaded bands.
pub struct TimeChart<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub series: &'a [Series],
    pub bands: &'a [Band],
    /// The right end of the x axis (the run's end).
    pub x_end: f64,
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing a chart: {e}")
}

type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;

/// Draws on a white canvas of `size` and returns the SVG document.
fn svg(size: (u32, u32), draw: impl for<'b> FnOnce(&Area<'b>) -> anyhow::Result<()>) -> anyhow::Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// A round upper bound for an axis that must show `max` (at least 1).
pub fn nice_top(max: f64) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    let top = [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|t| *t >= max * 1.05)
        .unwrap_or(max * 1.1);
    top.max(1.0)
}

/// A number as a label: integers without decimals, small values with a few.
pub fn fmt_num(v: f64) -> String {
    if (v.fract().abs() < 1e-9 && v.abs() < 1e15) || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", size).into_font())
}

/// Commits, failures, lock waiters... per second, with faults and stalls shaded.
pub fn time_chart(c: &TimeChart) -> anyhow::Result<String> {
    let x_end = if c.x_end.is_finite() { c.x_end.max(1.0) } else { 1.0 };
    let y_top = nice_top(
        c.series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0, f64::max),
    );
    // Counts (lock waiters, commits in a quiet second) get whole-number ticks, not 0.5 steps.
    let whole = c
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .all(|p| p.1.fract() == 0.0);
    let y_ticks = if whole && y_top <= 10.0 { y_top as usize + 1 } else { 10 };
    svg((WIDTH, HEIGHT), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(c.title, font(18))
            .margin(12)
            .margin_right(36)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_end, 0f64..y_top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .max_light_lines(2)
            .label_style(font(14))
            .axis_desc_style(font(15))
            .x_desc("seconds since the writers started")
            .y_desc(c.y_label)
            .y_labels(y_ticks)
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .draw()
            .map_err(err)?;
        draw_bands(&mut chart, c.bands, x_end, y_top)?;
        for (i, s) in c.series.iter().enumerate() {
            let col = color(i);
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), col.stroke_width(2)))
                .map_err(err)?
                .label(s.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(font(13))
            .draw()
            .map_err(err)?;
        Ok(())
    })
}

type TimeContext<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Shades each band and writes its label at its top left, staggered so neighbours do not
/// print over each other.
fn draw_bands(chart: &mut TimeContext, bands: &[Band], x_end: f64, y_top: f64) -> anyhow::Result<()> {
    let thin = x_end / 300.0;
    for (i, b) in bands.iter().enumerate() {
        let col = match b.kind {
            BandKind::Fault => FAULT,
            BandKind::Stall => STALL,
        };
        let from = b.from.clamp(0.0, x_end);
        let to = b.to.clamp(from, x_end).max(from + thin);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(from, 0.0), (to, y_top)],
                col.mix(0.14).filled(),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(from, 0.0), (to, y_top)],
                col.mix(0.5).stroke_width(1),
            )))
            .map_err(err)?;
        let y = y_top * (0.97 - 0.09 * (i % 4) as f64);
        chart
            .draw_series(std::iter::once(Text::new(
                b.label.clone(),
                (from, y),
                font(13).color(&col),
            )))
            .map_err(err)?;
    }
    Ok(())
}

/// The left and right edge of category `i` of `n` on a segmented axis.
fn cell(i: usize, n: usize) -> (SegmentValue<i32>, SegmentValue<i32>) {
    let edge = |k: usize| {
        if k >= n {
            SegmentValue::Last
        } else {
            SegmentValue::Exact(k as i32)
        }
    };
    (edge(i), edge(i + 1))
}

fn category_label(labels: &[String], v: &SegmentValue<i32>) -> String {
    match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
        SegmentValue::Last => String::new(),
    }
}

/// One bar per label (commits per writer, errors per class), the value printed on top
/// while there is room for it.
pub fn bar_chart(title: &str, y_label: &str, labels: &[String], values: &[f64]) -> anyhow::Result<String> {
    anyhow::ensure!(
        labels.len() == values.len(),
        "bar chart {title:?}: {} labels for {} values",
        labels.len(),
        values.len()
    );
    let n = labels.len().max(1);
    let y_top = nice_top(values.iter().copied().fold(0.0, f64::max));
    svg((WIDTH, HEIGHT), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, font(18))
            .margin(12)
            .margin_right(36)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((0..n as i32 - 1).into_segmented(), 0f64..y_top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(GRID)
            .max_light_lines(2)
            .label_style(font(14))
            .axis_desc_style(font(15))
            .x_labels(n.min(48))
            .x_label_formatter(&|v| category_label(labels, v))
            .y_desc(y_label)
            .y_label_formatter(&|v| fmt_num(*v))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| {
                let (l, r) = cell(i, n);
                let mut bar = Rectangle::new([(l, 0.0), (r, *v)], color(0).filled());
                bar.set_margin(0, 0, 2, 2);
                bar
            }))
            .map_err(err)?;
        if n <= 32 {
            let style = font(11).pos(Pos::new(HPos::Center, VPos::Bottom));
            chart
                .draw_series(
                    values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| Text::new(fmt_num(*v), (SegmentValue::CenterOf(i as i32), *v), style.clone())),
                )
                .map_err(err)?;
        }
        Ok(())
    })
}

/// Where a quantile sits on the percentile axis: 0 for the median's left end, 1 at 90%,
/// 2 at 99%, 3 at 99.9% (the tail gets as much room as the body, as in HDR plots).
pub fn quantile_x(q: f64) -> f64 {
    -(1.0 - q.clamp(0.0, 0.9999)).log10()
}

/// Latency (log scale) by percentile, one line per series; points are (quantile, ms).
pub fn percentile_chart(title: &str, series: &[Series]) -> anyhow::Result<String> {
    let values = || {
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .filter(|v| *v > 0.0)
    };
    let lo = values().fold(f64::INFINITY, f64::min);
    let hi = values().fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > 0.0 {
        (lo / 1.5, hi * 1.5)
    } else {
        (0.1, 10.0)
    };
    let x_end = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| quantile_x(p.0)))
        .fold(1.0, f64::max);
    // -log10(0.001) is 2.9999...: without rounding the 99.9% tick falls off the axis.
    let x_end = if (x_end - x_end.round()).abs() < 1e-6 {
        x_end.round()
    } else {
        x_end
    };
    svg((WIDTH, HEIGHT), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, font(18))
            .margin(12)
            .margin_right(36)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_end, (lo..hi).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .max_light_lines(2)
            .label_style(font(14))
            .axis_desc_style(font(15))
            .x_desc("percentile")
            .x_labels(x_end.ceil() as usize + 1)
            .y_desc("milliseconds (log)")
            .x_label_formatter(&|x| percentile_label(*x))
            .y_label_formatter(&|v| fmt_num(*v))
            .draw()
            .map_err(err)?;
        for (i, s) in series.iter().enumerate() {
            let col = color(i);
            let points = s.points.iter().filter(|p| p.1 > 0.0).map(|p| (quantile_x(p.0), p.1));
            chart
                .draw_series(LineSeries::new(points, col.stroke_width(2)))
                .map_err(err)?
                .label(s.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .label_font(font(13))
            .draw()
            .map_err(err)?;
        Ok(())
    })
}

fn percentile_label(x: f64) -> String {
    let p = (1.0 - 10f64.powf(-x)) * 100.0;
    let s = format!("{p:.1}");
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

/// A distribution: bars for buckets (from, to, count) on a log x axis (milliseconds),
/// vertical lines for markers such as p50 / p99 / max.
pub fn distribution_chart(
    title: &str,
    buckets: &[(f64, f64, u64)],
    markers: &[(String, f64)],
) -> anyhow::Result<String> {
    let lo = buckets
        .iter()
        .map(|b| b.0)
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let hi = buckets
        .iter()
        .map(|b| b.1)
        .chain(markers.iter().map(|m| m.1))
        .fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo / 1.2, hi * 1.2)
    } else {
        (0.1, 10.0)
    };
    let y_top = nice_top(buckets.iter().map(|b| b.2 as f64).fold(0.0, f64::max));
    svg((WIDTH, HEIGHT), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, font(18))
            .margin(12)
            .margin_right(36)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((lo..hi).log_scale(), 0f64..y_top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .max_light_lines(2)
            .label_style(font(14))
            .axis_desc_style(font(15))
            .x_desc("milliseconds (log)")
            .y_desc("count")
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(buckets.iter().filter(|b| b.0 > 0.0).map(|&(from, to, count)| {
                Rectangle::new([(from, 0.0), (to, count as f64)], color(0).mix(0.8).filled())
            }))
            .map_err(err)?;
        for (i, (name, at)) in markers.iter().enumerate() {
            let col = color(i + 1);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(*at, 0.0), (*at, y_top)],
                    col.stroke_width(2),
                )))
                .map_err(err)?;
            let y = y_top * (0.97 - 0.08 * (i % 5) as f64);
            chart
                .draw_series(std::iter::once(Text::new(
                    format!(" {name} {}", fmt_num(*at)),
                    (*at, y),
                    font(13).color(&col),
                )))
                .map_err(err)?;
        }
        Ok(())
    })
}

/// A colour for `t` in 0..=1, light (low) to dark (high).
fn scale(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 3] = [(247.0, 251.0, 255.0), (107.0, 174.0, 214.0), (8.0, 48.0, 107.0)];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let (a, b, u) = if t < 0.5 {
        (STOPS[0], STOPS[1], t * 2.0)
    } else {
        (STOPS[1], STOPS[2], (t - 0.5) * 2.0)
    };
    let mix = |x: f64, y: f64| (x + (y - x) * u).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A grid of `rows` x `cols` cells, coloured by `values[row][col]` (light = low, dark =
/// high; `None` = no value, grey) and printed with `labels[row][col]` (empty: the value).
/// Row 0 is drawn at the top. For a sweep: rows = one parameter's values, cols = the
/// other's, values = e.g. commits/s, labels = the figure with the verdict.
pub fn heatmap(
    title: &str,
    rows: &[String],
    cols: &[String],
    values: &[Vec<Option<f64>>],
    labels: &[Vec<String>],
) -> anyhow::Result<String> {
    anyhow::ensure!(
        !rows.is_empty() && !cols.is_empty(),
        "heatmap {title:?}: no rows or no columns"
    );
    anyhow::ensure!(
        values.len() == rows.len() && values.iter().all(|r| r.len() == cols.len()),
        "heatmap {title:?}: values must be {} rows of {} columns",
        rows.len(),
        cols.len()
    );
    let all = || values.iter().flatten().flatten().copied().filter(|v| v.is_finite());
    let range = (
        all().fold(f64::INFINITY, f64::min),
        all().fold(f64::NEG_INFINITY, f64::max),
    );
    let (nr, nc) = (rows.len(), cols.len());
    let height = (80 + 56 * nr as u32).clamp(200, 900);
    svg((WIDTH, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, font(18))
            .margin(12)
            .margin_right(36)
            .x_label_area_size(40)
            .y_label_area_size(140)
            .build_cartesian_2d((0..nc as i32 - 1).into_segmented(), (0..nr as i32 - 1).into_segmented())
            .map_err(err)?;
        label_grid(&mut chart, rows, cols)?;
        for (r, row) in values.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let label = labels.get(r).and_then(|l| l.get(c)).filter(|s| !s.is_empty());
                let place = GridPlace {
                    column: c,
                    band: nr - 1 - r,
                    size: (nc, nr),
                };
                draw_cell(&mut chart, &place, *v, range, label)?;
            }
        }
        Ok(())
    })
}

type GridContext<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<SegmentedCoord<RangedCoordi32>, SegmentedCoord<RangedCoordi32>>>;

/// Where a heatmap cell is drawn: its column, its band counted from the bottom, and the
/// grid's (columns, rows).
struct GridPlace {
    column: usize,
    band: usize,
    size: (usize, usize),
}

/// Column names along the bottom, row names down the side with row 0 at the top.
fn label_grid(chart: &mut GridContext, rows: &[String], cols: &[String]) -> anyhow::Result<()> {
    let (nr, nc) = (rows.len(), cols.len());
    // Row 0 at the top: row r is drawn in band nr-1-r.
    let row_label = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => rows
            .get(nr - 1 - (*i as usize).min(nr - 1))
            .cloned()
            .unwrap_or_default(),
        SegmentValue::Last => String::new(),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(nc)
        .y_labels(nr)
        .x_label_formatter(&|v| category_label(cols, v))
        .y_label_formatter(&row_label)
        .label_style(font(15))
        .draw()
        .map_err(err)?;
    Ok(())
}

/// One cell, coloured by where `value` lies in `(min, max)` (grey without a value), with
/// its label or else the value printed in ink that stays readable on the fill.
fn draw_cell(
    chart: &mut GridContext,
    at: &GridPlace,
    value: Option<f64>,
    (min, max): (f64, f64),
    label: Option<&String>,
) -> anyhow::Result<()> {
    let (nc, nr) = at.size;
    let t = match value {
        Some(v) if max > min => (v - min) / (max - min),
        Some(_) => 0.5,
        None => f64::NAN,
    };
    let fill = if value.is_some() {
        scale(t)
    } else {
        RGBColor(220, 220, 220)
    };
    let ((x0, x1), (y0, y1)) = (cell(at.column, nc), cell(at.band, nr));
    let mut rect = Rectangle::new([(x0, y0), (x1, y1)], fill.filled());
    rect.set_margin(1, 1, 1, 1);
    chart.draw_series(std::iter::once(rect)).map_err(err)?;
    let text = label
        .cloned()
        .unwrap_or_else(|| value.map(fmt_num).unwrap_or_else(|| "n/a".into()));
    let ink = if t > 0.55 { WHITE } else { BLACK };
    let style = font(13).color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
    chart
        .draw_series(std::iter::once(Text::new(
            text,
            (
                SegmentValue::CenterOf(at.column as i32),
                SegmentValue::CenterOf(at.band as i32),
            ),
            style,
        )))
        .map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// The SVG's text elements: (their opening tag, their text).
    fn texts(svg: &str) -> Vec<(String, String)> {
        svg.split("<text")
            .skip(1)
            .map(|t| {
                let (tag, rest) = t.split_once('>').unwrap();
                (
                    tag.to_string(),
                    rest.split("</text>").next().unwrap().trim().to_string(),
                )
            })
            .collect()
    }

    fn has_text(svg: &str, text: &str) -> bool {
        texts(svg).iter().any(|(_, t)| t == text)
    }

    /// Lines drawn in series colour `i` (a series and its legend sample).
    fn lines_in(svg: &str, i: usize) -> usize {
        let c = color(i);
        svg.matches(&format!(
            r##"stroke="#{:02X}{:02X}{:02X}" stroke-width="2""##,
            c.0, c.1, c.2
        ))
        .count()
    }

    #[test]
    fn a_heatmap_has_one_cell_and_one_label_per_value() {
        let rows = strings(&["retries 10", "retries 100"]);
        let cols = strings(&["4 writers", "8 writers", "16 writers"]);
        let values = vec![
            vec![Some(50.0), Some(20.0), None],
            vec![Some(55.0), Some(40.0), Some(12.5)],
        ];
        let labels = vec![strings(&["50/s PASS", "20/s FAIL", ""]), strings(&["", "", ""])];
        let svg = heatmap("commits/s", &rows, &cols, &values, &labels).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in [
            "commits/s",
            "retries 10",
            "retries 100",
            "4 writers",
            "16 writers",
            "50/s PASS",
            "20/s FAIL",
            "n/a",
            "55",
            "12.5",
        ] {
            assert!(has_text(&svg, text), "{text:?} missing in {svg}");
        }
        // The largest value is the darkest cell, the missing one grey.
        assert!(svg.contains(r##"fill="#08306B""##), "{svg}");
        assert!(svg.contains(r##"fill="#DCDCDC""##), "{svg}");
        // Row 0 is at the top: its label is drawn above row 1's.
        let y_of = |label: &str| {
            let all = texts(&svg);
            let (tag, _) = all.iter().find(|(_, t)| t == label).unwrap();
            tag.split(" y=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse::<f64>()
                .unwrap()
        };
        assert!(y_of("retries 10") < y_of("retries 100"));
    }

    #[test]
    fn a_heatmap_of_one_cell_and_a_misshapen_one() {
        let one = heatmap("one", &strings(&["a"]), &strings(&["b"]), &[vec![Some(3.0)]], &[]).unwrap();
        assert!(has_text(&one, "3"), "{one}");
        let bad = heatmap("bad", &strings(&["a", "b"]), &strings(&["c"]), &[vec![Some(1.0)]], &[]).unwrap_err();
        assert!(bad.to_string().contains("2 rows of 1 columns"), "{bad}");
    }

    #[test]
    fn a_time_chart_draws_each_series_and_labels_its_bands() {
        let series = vec![
            Series {
                name: "commits".into(),
                points: (0..10).map(|s| (s as f64 + 0.5, (s * 3) as f64)).collect(),
            },
            Series {
                name: "failures".into(),
                points: (0..10).map(|s| (s as f64 + 0.5, 1.0)).collect(),
            },
        ];
        let bands = vec![
            Band {
                from: 2.0,
                to: 5.0,
                label: "lock_catalog_table".into(),
                kind: BandKind::Fault,
            },
            Band {
                from: 3.0,
                to: 8.0,
                label: "stall".into(),
                kind: BandKind::Stall,
            },
        ];
        let svg = time_chart(&TimeChart {
            title: "per second",
            y_label: "count",
            series: &series,
            bands: &bands,
            x_end: 10.0,
        })
        .unwrap();
        assert_eq!(
            (lines_in(&svg, 0), lines_in(&svg, 1)),
            (2, 2),
            "each series and its legend sample: {svg}"
        );
        for text in [
            "per second",
            "commits",
            "failures",
            "lock_catalog_table",
            "stall",
            "seconds since the writers started",
        ] {
            assert!(has_text(&svg, text), "{text:?} missing");
        }
    }

    #[test]
    fn empty_data_still_draws_a_chart() {
        assert!(time_chart(&TimeChart {
            title: "t",
            y_label: "y",
            series: &[],
            bands: &[],
            x_end: 0.0
        })
        .unwrap()
        .contains("<svg"));
        assert!(bar_chart("b", "y", &[], &[]).unwrap().contains("<svg"));
        assert!(percentile_chart("p", &[]).unwrap().contains("<svg"));
        assert!(distribution_chart("d", &[], &[]).unwrap().contains("<svg"));
    }

    #[test]
    fn bars_and_percentiles_carry_their_labels() {
        let bars = bar_chart(
            "commits per writer",
            "commits",
            &strings(&["w0", "w1", "w2"]),
            &[10.0, 0.0, 7.0],
        )
        .unwrap();
        for text in ["w0", "w1", "w2", "10", "7", "commits per writer"] {
            assert!(has_text(&bars, text), "{text:?} missing: {bars}");
        }
        let p = percentile_chart(
            "commit latency",
            &[Series {
                name: "commit".into(),
                points: vec![(0.0, 1.0), (0.5, 5.0), (0.99, 800.0), (0.999, 900.0)],
            }],
        )
        .unwrap();
        for text in ["0%", "90%", "99%", "99.9%", "commit"] {
            assert!(has_text(&p, text), "{text:?} missing: {p}");
        }
        assert_eq!(percentile_label(quantile_x(0.99)), "99%");
    }
}
