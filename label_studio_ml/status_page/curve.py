"""A learning curve as an SVG drawn by the server: score on unseen labels against labels had.

No script and no external resource: the picture is inline markup, readable offline.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from label_studio_ml.status_page.summary import Point

WIDTH, HEIGHT = 520, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 130, 16, 40
#: A line per series: (layer, fp32 or int8) → colour. Colour-blind safe (Okabe-Ito).
COLOURS = {
    ("zero-shot", "fp32"): "#E69F00",
    ("instant", "fp32"): "#009E73",
    ("fine-tuned", "fp32"): "#0072B2",
    ("fine-tuned", "int8"): "#CC79A7",
}


def series(points: list[Point]) -> dict[tuple[str, str], list[tuple[int, float, str]]]:
    """``(layer, precision) → [(labels, score, label)]``, by labels."""
    lines: dict[tuple[str, str], list[tuple[int, float, str]]] = {}
    for point in points:
        name = f"{point.version or point.layer}{f' ({point.control})' if point.control else ''}"
        lines.setdefault((point.layer, "fp32"), []).append((point.labels, point.score, name))
        if point.int8 is not None:
            lines.setdefault((point.layer, "int8"), []).append((point.labels, point.int8, f"{name} int8"))
    return {key: sorted(values) for key, values in lines.items()}


def learning_curve_svg(points: list[Point]) -> str:
    """The SVG of ``points`` (an empty string when there are none)."""
    if not points:
        return ""
    lines = series(points)
    most = max(max(x for x, _, _ in values) for values in lines.values()) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def at(x: float, y: float) -> tuple[float, float]:
        return LEFT + plot_w * x / most, TOP + plot_h * (1 - max(0.0, min(1.0, y)))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="curve" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="learning curve">',
        *_axes(most, at),
    ]
    for row, ((layer, precision), values) in enumerate(sorted(lines.items())):
        parts += _marks(layer, precision, [(at(x, y), (x, y, name)) for x, y, name in values], row)
    parts.append("</svg>")
    return "\n".join(parts)


def _marks(
    layer: str, precision: str, placed: list[tuple[tuple[float, float], tuple[int, float, str]]], row: int
) -> list[str]:
    """One series: its line (dashed for int8), a point with a tooltip per version, its legend row."""
    colour = COLOURS.get((layer, precision), "#555555")
    parts = []
    if len(placed) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for (x, y), _ in placed)
        dash = ' stroke-dasharray="4 3"' if precision == "int8" else ""
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
    # int8 as a ring around where fp32 is a dot: a version whose two scores are equal shows both.
    ring = f'r="7" fill="none" stroke="{colour}" stroke-width="2"'
    look = ring if precision == "int8" else f'r="4" fill="{colour}"'
    for (x, y), (labels, score, name) in placed:
        tip = escape(f"{name}: {score:.3f} with {labels} labels")
        parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" {look}><title>{tip}</title></circle>')
    legend_x, legend_y = WIDTH - RIGHT + 10, TOP + 14 + 18 * row
    parts.append(f'<rect x="{legend_x}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>')
    parts.append(f'<text x="{legend_x + 16}" y="{legend_y}">{escape(f"{layer} {precision}")}</text>')
    return parts


def _axes(most: int, place: Callable[[float, float], tuple[float, float]]) -> list[str]:
    """Axes, a grid at each 0.25 of the score, and the labels-axis ends (``place``: to SVG coordinates)."""
    x0, y0 = place(0, 0)
    x1, y1 = place(most, 1)
    parts = [f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#333"/>',
             f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#333"/>']  # fmt: skip
    for tick in (0.25, 0.5, 0.75, 1.0):
        _, y = place(0, tick)
        parts.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
    parts.append(f'<text x="{x0}" y="{y0 + 16}" text-anchor="middle">0</text>')
    parts.append(f'<text x="{x1}" y="{y0 + 16}" text-anchor="middle">{most}</text>')
    parts.append(f'<text x="{(x0 + x1) / 2}" y="{y0 + 32}" text-anchor="middle">labels</text>')
    return parts
