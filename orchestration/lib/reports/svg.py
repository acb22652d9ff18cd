"""Charts as inline SVG, drawn in Python: no script library, no network, the same picture in
every browser and in print.

Every data mark carries `class="mark"` and a `<title>` (the browser's own tooltip), so a
reader can hover for the exact figure and a test can count what was drawn. A chart with nothing
to draw returns None; the page shows a sentence in its place instead of empty axes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 720
FONT = 12
AXIS = "#6b7280"
GRID = "#e5e7eb"
INK = "#111827"


@dataclass(frozen=True)
class Slice:
    label: str
    value: float
    color: str


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str

    def __post_init__(self) -> None:
        # A missing count draws as nothing, never as an error.
        object.__setattr__(self, "values", [v or 0 for v in self.values])


def _svg(height: int, body: str, label: str) -> str:
    return (f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
            f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" '
            f'font-size="{FONT}" font-family="system-ui, sans-serif">{body}</svg>')


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def _text(x: float, y: float, text: str, *, anchor: str = "start", color: str = AXIS,
          weight: str = "normal", size: int = FONT) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{color}" '
            f'font-weight="{weight}" font-size="{size}">{escape(text)}</text>')


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> str:
    out = []
    for label, color in items:
        out.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" rx="2" '
                   f'fill="{color}"/>')
        out.append(_text(x + 17, y, label, color=INK))
        x += 30 + len(label) * 7
    return "".join(out)


def _nice_max(value: float, ticks: int = 4) -> float:
    """An axis maximum at or above `value` whose `ticks` steps are round counts
    (1 to 10 times a power of ten, in steps a reader can add up, and never a fraction)."""
    if value <= 0:
        return float(ticks)
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if raw <= m * power)
    return max(1.0, step if step >= 1 and step == int(step) else math.ceil(step)) * ticks


def _tick_label(value: float, peak: float) -> str:
    """One unit per axis: 0, 3k, 6k, 9k, 12k rather than 9,000 next to 12k."""
    if peak >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if peak >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:,.0f}"


def donut(slices: Sequence[Slice], *, center_value: str, center_label: str,
          label: str) -> str | None:
    """Seed 000/001's status pie, as a ring with the total in the middle and a legend."""
    shown = [s for s in slices if s.value > 0]
    total = sum(s.value for s in shown)
    if total <= 0:
        return None
    height, cx, cy, outer, inner = 240, 130, 120, 100, 60
    parts = []
    angle = -math.pi / 2
    for item in shown:
        share = item.value / total
        tip = f"{item.label}: {item.value:,.0f} ({share * 100:.1f}%)"
        if share >= 0.9999:  # a full ring cannot be drawn as one arc
            parts.append(f'<circle class="mark" data-value="{item.value:g}" cx="{cx}" '
                         f'cy="{cy}" r="{(outer + inner) / 2}" fill="none" stroke="{item.color}" '
                         f'stroke-width="{outer - inner}">{_title(tip)}</circle>')
            break
        end = angle + share * 2 * math.pi
        large = 1 if share > 0.5 else 0
        points = [(cx + r * math.cos(a), cy + r * math.sin(a))
                  for r, a in ((outer, angle), (outer, end), (inner, end), (inner, angle))]
        path = (f"M{points[0][0]:.2f},{points[0][1]:.2f} "
                f"A{outer},{outer} 0 {large} 1 {points[1][0]:.2f},{points[1][1]:.2f} "
                f"L{points[2][0]:.2f},{points[2][1]:.2f} "
                f"A{inner},{inner} 0 {large} 0 {points[3][0]:.2f},{points[3][1]:.2f} Z")
        parts.append(f'<path class="mark" data-value="{item.value:g}" d="{path}" '
                     f'fill="{item.color}" stroke="#fff" stroke-width="1.5">{_title(tip)}</path>')
        angle = end
    parts.append(_text(cx, cy + 2, center_value, anchor="middle", color=INK, weight="bold",
                       size=20))
    parts.append(_text(cx, cy + 20, center_label, anchor="middle"))
    y = 50
    for item in slices:
        share = item.value / total
        parts.append(f'<rect x="270" y="{y - 11}" width="14" height="14" rx="3" '
                     f'fill="{item.color}"/>')
        parts.append(_text(292, y, item.label, color=INK))
        parts.append(_text(560, y, f"{item.value:,.0f}", anchor="end", color=INK,
                           weight="bold"))
        parts.append(_text(640, y, f"{share * 100:.1f}%", anchor="end"))
        y += 26
    return _svg(max(height, y), "".join(parts), label)


def column_chart(categories: Sequence[str], series: Sequence[Series], *, label: str,
                 tick_every: int = 1, rate_line: Sequence[float | None] | None = None,
                 rate_name: str = "rate", markers: dict[int, str] | None = None,
                 tips: Sequence[str] | None = None) -> str | None:
    """Grouped columns per category (a timeline, a histogram, send hours), optionally with a
    rate drawn as a line on a 0-100% axis at the right."""
    if not categories or all(v <= 0 for s in series for v in s.values):
        return None
    height, left, right, top, bottom = 260, 56, 56 if rate_line else 16, 30, 44
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    peak = _nice_max(max(v for s in series for v in s.values))
    slot = plot_w / len(categories)
    bar_w = max(1.0, slot * 0.8 / len(series))
    parts = [_legend([(s.name, s.color) for s in series]
                     + ([(rate_name, INK)] if rate_line else []), left, 16)]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{GRID}"/>')
        parts.append(_text(left - 6, y + 4, _tick_label(peak * i / 4, peak), anchor="end"))
        if rate_line:
            parts.append(_text(left + plot_w + 6, y + 4, f"{25 * i}%"))
    for index, category in enumerate(categories):
        x0 = left + slot * index + slot * 0.1
        for k, item in enumerate(series):
            value = item.values[index]
            if value <= 0:
                continue
            h = max(1.0, plot_h * value / peak)
            tip = f"{tips[index] if tips else category}: {value:,.0f} {item.name.lower()}"
            parts.append(f'<rect class="mark" data-value="{value:g}" x="{x0 + k * bar_w:.2f}" '
                         f'y="{top + plot_h - h:.2f}" width="{bar_w:.2f}" height="{h:.2f}" '
                         f'fill="{item.color}">{_title(tip)}</rect>')
        if index % tick_every == 0:
            parts.append(_text(left + slot * (index + 0.5), height - bottom + 16, category,
                               anchor="middle"))
        if markers and index in markers:
            top_value = max(s.values[index] for s in series)
            y = top + plot_h - plot_h * top_value / peak - 6
            parts.append(_text(left + slot * (index + 0.5), y, markers[index], anchor="middle",
                               color=INK, weight="bold"))
    if rate_line:
        points = [(left + slot * (i + 0.5), top + plot_h - plot_h * r)
                  for i, r in enumerate(rate_line) if r is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{INK}" '
                         f'stroke-width="2"/>')
        for (x, y), rate, category in zip(
            points, [r for r in rate_line if r is not None],
            [c for c, r in zip(categories, rate_line, strict=True) if r is not None],
            strict=True,
        ):
            parts.append(f'<circle class="mark" data-value="{rate:g}" cx="{x:.1f}" '
                         f'cy="{y:.1f}" r="3.5" fill="{INK}">'
                         f'{_title(f"{category}: {rate_name} {rate * 100:.1f}%")}</circle>')
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" '
                 f'y2="{top + plot_h}" stroke="{AXIS}"/>')
    return _svg(height, "".join(parts), label)


def horizontal_bars(rows: Sequence[tuple[str, float, str]], *, color: str, label: str,
                    maximum: float | None = None, colors: Sequence[str] | None = None
                    ) -> str | None:
    """One bar per row, labelled on the left, its figure written on the right.
    Rows are (label, value, figure text)."""
    if not rows or all(v <= 0 for _, v, _ in rows):
        return None
    row_h, left, right, top = 30, 210, 190, 8
    plot_w = WIDTH - left - right
    peak = maximum or max(v for _, v, _ in rows)
    parts = []
    for i, (name, value, figure) in enumerate(rows):
        y = top + i * row_h
        w = plot_w * value / peak if peak else 0
        fill = colors[i] if colors else color
        parts.append(_text(left - 8, y + 18, name, anchor="end", color=INK))
        parts.append(f'<rect x="{left}" y="{y + 5}" width="{plot_w}" height="18" rx="3" '
                     f'fill="{GRID}" opacity="0.5"/>')
        if value > 0:
            parts.append(f'<rect class="mark" data-value="{value:g}" x="{left}" y="{y + 5}" '
                         f'width="{max(w, 1.5):.2f}" height="18" rx="3" fill="{fill}">'
                         f'{_title(f"{name}: {figure}")}</rect>')
        parts.append(_text(left + plot_w + 8, y + 18, figure, color=INK))
    return _svg(top * 2 + row_h * len(rows), "".join(parts), label)


def stacked_bar(parts_in: Sequence[Slice], *, label: str) -> str | None:
    """One bar split into shares (seed 003's delivered / soft / hard / processing)."""
    total = sum(p.value for p in parts_in)
    if total <= 0:
        return None
    left, top, bar_h, plot_w = 10, 34, 34, WIDTH - 20
    out = [_legend([(p.label, p.color) for p in parts_in], left, 16)]
    x = float(left)
    for item in parts_in:
        if item.value <= 0:
            continue
        w = plot_w * item.value / total
        share = item.value / total
        out.append(f'<rect class="mark" data-value="{item.value:g}" x="{x:.2f}" y="{top}" '
                   f'width="{max(w, 1.5):.2f}" height="{bar_h}" fill="{item.color}">'
                   f'{_title(f"{item.label}: {item.value:,.0f} ({share * 100:.1f}%)")}</rect>')
        if w > 60:
            out.append(_text(x + w / 2, top + 22, f"{share * 100:.1f}%", anchor="middle",
                             color="#fff", weight="bold"))
        x += w
    return _svg(top + bar_h + 10, "".join(out), label)


def heatmap(grid: Sequence[Sequence[float]], *, rows: Sequence[str], label: str,
            unit: str) -> str | None:
    """Seed 002's heatmap: rows are days of the week, columns hours; darker is more."""
    peak = max((v for row in grid for v in row), default=0)
    if peak <= 0:
        return None
    left, top, cell_w, cell_h = 44, 22, (WIDTH - 44 - 8) / 24, 24
    parts = []
    for hour in range(0, 24, 3):
        parts.append(_text(left + cell_w * (hour + 0.5), 14, f"{hour:02d}h", anchor="middle"))
    for r, (name, row) in enumerate(zip(rows, grid, strict=True)):
        y = top + r * cell_h
        parts.append(_text(left - 6, y + 16, name, anchor="end", color=INK))
        for hour, value in enumerate(row):
            x = left + hour * cell_w
            if value <= 0:
                parts.append(f'<rect x="{x:.2f}" y="{y}" width="{cell_w - 1:.2f}" '
                             f'height="{cell_h - 1}" fill="#f3f4f6"/>')
                continue
            # Square-root scale: one busy hour should not wash every other hour out.
            strength = 0.15 + 0.85 * math.sqrt(value / peak)
            tip = f"{name} {hour:02d}:00-{hour + 1:02d}:00: {value:,.0f} {unit}"
            parts.append(f'<rect class="mark" data-value="{value:g}" x="{x:.2f}" y="{y}" '
                         f'width="{cell_w - 1:.2f}" height="{cell_h - 1}" fill="#1d4ed8" '
                         f'fill-opacity="{strength:.3f}">{_title(tip)}</rect>')
    return _svg(top + cell_h * len(rows) + 6, "".join(parts), label)


def rate_lines(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None],
                                                                 str]],
               *, label: str, band: tuple[float, float] | None = None,
               tips: Sequence[str] | None = None) -> str | None:
    """Rates (0-1) over ordered categories, with the seeds' healthy range shaded."""
    values = [v for _, vals, _ in series for v in vals if v is not None]
    if not categories or not values:
        return None
    height, left, right, top, bottom = 260, 48, 16, 30, 44
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    low = max(0.0, math.floor(min(values + ([band[0]] if band else [])) * 10) / 10 - 0.1)
    if low > 0 and 1.0 - low > 0.5:  # whole 20% steps from the top
        low = max(0.0, 1.0 - 0.2 * math.ceil((1.0 - low) / 0.2))
    span = 1.0 - low

    def y_of(rate: float) -> float:
        return top + plot_h - plot_h * (rate - low) / span

    parts = [_legend([(name, color) for name, _, color in series]
                     + ([("healthy SMS range", "#dcfce7")] if band else []), left, 16)]
    if band:
        parts.append(f'<rect x="{left}" y="{y_of(band[1]):.1f}" width="{plot_w}" '
                     f'height="{y_of(band[0]) - y_of(band[1]):.1f}" fill="#dcfce7"/>')
    step = 0.1 if span <= 0.5 else 0.2
    for i in range(round(span / step) + 1):
        rate = 1.0 - i * step
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y_of(rate):.1f}" '
                     f'y2="{y_of(rate):.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 6, y_of(rate) + 4, f"{rate * 100:.0f}%", anchor="end"))
    slot = plot_w / len(categories)
    # Several campaigns on one day share its label: one per run of equal categories, in the
    # middle of the run, leaving out those that would overlap the one before.
    last_x = -math.inf
    for start, end, category in _runs(categories):
        x = left + slot * (start + end) / 2
        if x - last_x >= 48:
            parts.append(_text(x, height - bottom + 16, category, anchor="middle"))
            last_x = x
    for name, vals, color in series:
        points = [(left + slot * (i + 0.5), y_of(v), v, i) for i, v in enumerate(vals)
                  if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                         f'stroke-width="2"/>')
        for x, y, v, i in points:
            where = tips[i] if tips else categories[i]
            parts.append(f'<circle class="mark" data-value="{v:g}" cx="{x:.1f}" cy="{y:.1f}" '
                         f'r="4" fill="{color}">{_title(f"{where}: {name} {v * 100:.1f}%")}'
                         f'</circle>')
    return _svg(height, "".join(parts), label)


def _runs(categories: Sequence[str]) -> list[tuple[int, int, str]]:
    """(first slot, slot after the last, category) of each run of equal neighbours."""
    runs: list[tuple[int, int, str]] = []
    for i, category in enumerate(categories):
        if runs and runs[-1][2] == category:
            runs[-1] = (runs[-1][0], i + 1, category)
        else:
            runs.append((i, i + 1, category))
    return runs
