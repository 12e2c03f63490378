//! Server-rendered SVG charts: lines, stacked areas and bands over time, no JavaScript.

use std::fmt::Write as _;

/// Provenance of a figure, shown on every chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FigureKind {
    /// Produced by the simulator's models.
    Simulated,
    /// Derived from a model on top of simulated figures (energy, forecasts).
    Estimated,
    /// Measured on a live cluster.
    Measured,
}

impl FigureKind {
    /// Returns the word shown on the chart.
    pub fn label(self) -> &'static str {
        match self {
            FigureKind::Simulated => "simulated",
            FigureKind::Estimated => "estimated",
            FigureKind::Measured => "measured",
        }
    }
}

/// Drawing style of one series.
#[derive(Debug, Clone, PartialEq)]
pub enum Style {
    /// A line.
    Line,
    /// A dashed line.
    Dashed,
    /// Stacked on the previous stacked series, filled.
    Stacked,
    /// A filled band from these lower values (same length as the points) to the points.
    Band(Vec<f64>),
}

/// One series of a chart: x in seconds, y in the chart's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// CSS colour.
    pub color: &'static str,
    /// Points `(x, y)`.
    pub points: Vec<(f64, f64)>,
    /// Drawing style.
    pub style: Style,
}

/// A chart over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Identifier, used as the file name of a report's SVG and as `data-chart`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Unit of the y axis.
    pub unit: String,
    /// Kind of every figure on it.
    pub kind: FigureKind,
    /// Series in drawing order.
    pub series: Vec<Series>,
    /// A horizontal reference line with its label, such as the SLO bound.
    pub reference: Option<(f64, String)>,
    /// Label of a plain numeric x axis; `None` for time in seconds, shown in hours or days.
    pub x_label: Option<String>,
}

/// A series ready to draw: its lower outline (empty for a line), upper outline and style.
type Shape<'a> = (Vec<(f64, f64)>, Vec<(f64, f64)>, &'a Series);

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 54.0;

/// Escapes text for HTML and XML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Formats a number with a precision that suits its size.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    let magnitude = value.abs();
    if magnitude >= 1000.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// Picks about five round tick values between `low` and `high`.
fn ticks(low: f64, high: f64) -> Vec<f64> {
    let span = (high - low).max(1e-9);
    let raw = span / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|factor| factor * power)
        .find(|step| span / step <= 6.0)
        .unwrap_or(10.0 * power);
    let mut values = Vec::new();
    let mut value = (low / step).ceil() * step;
    while value <= high + step * 1e-9 {
        values.push(value);
        value += step;
    }
    values
}

impl Chart {
    /// Renders the chart as a standalone SVG element.
    pub fn render(&self) -> String {
        let mut stacked_top: Vec<f64> = Vec::new();
        let mut shapes: Vec<Shape<'_>> = Vec::new();
        for series in &self.series {
            match &series.style {
                Style::Stacked => {
                    if stacked_top.len() != series.points.len() {
                        stacked_top = vec![0.0; series.points.len()];
                    }
                    let lower: Vec<(f64, f64)> = series
                        .points
                        .iter()
                        .zip(&stacked_top)
                        .map(|((x, _), base)| (*x, *base))
                        .collect();
                    let upper: Vec<(f64, f64)> = series
                        .points
                        .iter()
                        .zip(&stacked_top)
                        .map(|((x, y), base)| (*x, base + y))
                        .collect();
                    stacked_top = upper.iter().map(|(_, y)| *y).collect();
                    shapes.push((lower, upper, series));
                }
                Style::Band(lower) => {
                    let lower: Vec<(f64, f64)> = series
                        .points
                        .iter()
                        .zip(lower)
                        .map(|((x, _), low)| (*x, *low))
                        .collect();
                    shapes.push((lower, series.points.clone(), series));
                }
                Style::Line | Style::Dashed => {
                    shapes.push((Vec::new(), series.points.clone(), series));
                }
            }
        }

        let all_points = shapes
            .iter()
            .flat_map(|(lower, upper, _)| lower.iter().chain(upper.iter()))
            .filter(|(x, y)| x.is_finite() && y.is_finite());
        let (mut x_min, mut x_max, mut y_min, mut y_max) =
            (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, f64::NEG_INFINITY);
        for (x, y) in all_points {
            x_min = x_min.min(*x);
            x_max = x_max.max(*x);
            y_min = y_min.min(*y);
            y_max = y_max.max(*y);
        }
        if let Some((value, _)) = &self.reference {
            y_max = y_max.max(*value);
            y_min = y_min.min(*value);
        }
        let empty = !x_min.is_finite();
        if empty {
            (x_min, x_max, y_max) = (0.0, 1.0, 1.0);
        }
        if x_max <= x_min {
            x_max = x_min + 1.0;
        }
        if y_max <= y_min {
            y_max = y_min + 1.0;
        }
        y_max += (y_max - y_min) * 0.05;
        let plot_width = WIDTH - LEFT - RIGHT;
        let plot_height = HEIGHT - TOP - BOTTOM;
        let sx = |x: f64| LEFT + (x - x_min) / (x_max - x_min) * plot_width;
        let sy = |y: f64| TOP + plot_height - (y - y_min) / (y_max - y_min) * plot_height;

        let mut svg = String::new();
        let _ = write!(
            svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{id}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{title}">"##,
            id = escape(&self.id),
            title = escape(&self.title),
        );
        let _ = write!(
            svg,
            r##"<title>{title} ({kind})</title><rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##,
            title = escape(&self.title),
            kind = self.kind.label(),
        );
        let _ = write!(
            svg,
            r##"<text x="{LEFT}" y="20" font-family="sans-serif" font-size="14" font-weight="bold" fill="#222">{title}</text><text x="{x}" y="20" font-family="sans-serif" font-size="12" text-anchor="end" fill="#8a4b00" class="kind">{kind}</text>"##,
            title = escape(&self.title),
            x = WIDTH - RIGHT,
            kind = self.kind.label(),
        );

        for value in ticks(y_min, y_max) {
            let y = sy(value);
            let _ = write!(
                svg,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#e4e4e4"/><text x="{lx}" y="{ty:.1}" font-family="sans-serif" font-size="11" text-anchor="end" fill="#555">{label}</text>"##,
                x2 = WIDTH - RIGHT,
                lx = LEFT - 6.0,
                ty = y + 4.0,
                label = number(value),
            );
        }
        let days = (x_max - x_min) > 2.0 * 86_400.0;
        let (divisor, unit) = match &self.x_label {
            Some(_) => (1.0, String::new()),
            None if days => (86_400.0, "d".to_owned()),
            None => (3_600.0, "h".to_owned()),
        };
        if let Some(label) = &self.x_label {
            let _ = write!(
                svg,
                r##"<text x="{x}" y="{y}" font-family="sans-serif" font-size="11" text-anchor="end" fill="#555">{label}</text>"##,
                x = WIDTH - RIGHT,
                y = TOP + plot_height + 28.0,
                label = escape(label),
            );
        }
        for value in ticks(x_min / divisor, x_max / divisor) {
            let x = sx(value * divisor);
            let _ = write!(
                svg,
                r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="#f0f0f0"/><text x="{x:.1}" y="{ty}" font-family="sans-serif" font-size="11" text-anchor="middle" fill="#555">{label}{unit}</text>"##,
                top = TOP,
                bottom = TOP + plot_height,
                ty = TOP + plot_height + 15.0,
                label = number(value),
            );
        }
        let _ = write!(
            svg,
            r##"<text x="14" y="{y}" font-family="sans-serif" font-size="11" fill="#555" transform="rotate(-90 14 {y})" text-anchor="middle">{unit}</text>"##,
            y = TOP + plot_height / 2.0,
            unit = escape(&self.unit),
        );

        for (lower, upper, series) in &shapes {
            let line = |points: &[(f64, f64)]| -> String {
                points
                    .iter()
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            match series.style {
                Style::Line | Style::Dashed => {
                    let dash = if series.style == Style::Dashed {
                        r#" stroke-dasharray="5 3""#
                    } else {
                        ""
                    };
                    let _ = write!(
                        svg,
                        r##"<polyline fill="none" stroke="{color}" stroke-width="1.5"{dash} points="{points}"><title>{name}</title></polyline>"##,
                        color = series.color,
                        points = line(upper),
                        name = escape(&series.name),
                    );
                }
                Style::Stacked | Style::Band(_) => {
                    let mut reversed = lower.clone();
                    reversed.reverse();
                    let outline = format!("{} {}", line(upper), line(&reversed));
                    let _ = write!(
                        svg,
                        r##"<polygon fill="{color}" fill-opacity="0.45" stroke="{color}" stroke-width="0.8" points="{outline}"><title>{name}</title></polygon>"##,
                        color = series.color,
                        name = escape(&series.name),
                    );
                }
            }
        }
        if let Some((value, label)) = &self.reference {
            let y = sy(*value);
            let _ = write!(
                svg,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#c00000" stroke-dasharray="6 4"/><text x="{x2}" y="{ty:.1}" font-family="sans-serif" font-size="11" text-anchor="end" fill="#c00000">{label}</text>"##,
                x2 = WIDTH - RIGHT,
                ty = y - 4.0,
                label = escape(label),
            );
        }
        if empty {
            let _ = write!(
                svg,
                r##"<text x="{x}" y="{y}" font-family="sans-serif" font-size="13" text-anchor="middle" fill="#777">no data recorded yet</text>"##,
                x = WIDTH / 2.0,
                y = HEIGHT / 2.0,
            );
        }

        let mut legend_x = LEFT;
        let legend_y = HEIGHT - 12.0;
        for series in &self.series {
            let _ = write!(
                svg,
                r##"<rect x="{legend_x:.1}" y="{ry}" width="12" height="8" fill="{color}"/><text x="{tx:.1}" y="{legend_y}" font-family="sans-serif" font-size="11" fill="#333">{name}</text>"##,
                ry = legend_y - 8.0,
                color = series.color,
                tx = legend_x + 16.0,
                name = escape(&series.name),
            );
            legend_x += 28.0 + 6.5 * series.name.chars().count() as f64;
        }
        svg.push_str("</svg>");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_renders_series_and_kind() {
        let chart = Chart {
            id: "demand".to_owned(),
            title: "Demand <cores>".to_owned(),
            unit: "cores".to_owned(),
            kind: FigureKind::Simulated,
            series: vec![Series {
                name: "demand".to_owned(),
                color: "#1f77b4",
                points: vec![(0.0, 1.0), (3600.0, 2.0), (7200.0, 1.5)],
                style: Style::Line,
            }],
            reference: Some((2.5, "SLO".to_owned())),
            x_label: None,
        };
        let svg = chart.render();
        assert!(svg.starts_with("<svg"));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("data-chart=\"demand\""));
        assert!(svg.contains("Demand &lt;cores&gt;"));
        assert!(svg.contains(">simulated<"));
        assert!(svg.contains("<polyline"));
        assert!(svg.contains(">SLO<"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn empty_chart_says_so() {
        let chart = Chart {
            id: "empty".to_owned(),
            title: "Nothing".to_owned(),
            unit: "W".to_owned(),
            kind: FigureKind::Estimated,
            series: Vec::new(),
            reference: None,
            x_label: None,
        };
        assert!(chart.render().contains("no data recorded yet"));
    }

    #[test]
    fn tick_values_are_round() {
        assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.0, 1.0).len(), 6);
    }
}
