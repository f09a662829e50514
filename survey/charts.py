"""Geometry of the inline SVG charts the progress page draws itself (no chart library, no CDN).

An SVG scales its text with its width: the drawing is as narrow as a phone's card (332 px of a
390 px screen) so that FONT user units read as at least 12 px there, and site.css caps how wide
it grows on a desktop.
"""

WIDTH = 360
FONT = 14
BAR_HEIGHT = 22
LABEL_WIDTH = 118


def completion_bars(rows):
    """One horizontal bar per region: its completion % (approved) over its reported % (submitted)."""
    usable = WIDTH - LABEL_WIDTH - 58
    bars = []
    for index, progress in enumerate(rows):
        reported = 100 * progress.reported / progress.total if progress.total else 0
        bars.append(
            {
                "y": index * (BAR_HEIGHT + 8),
                "label": progress.region.name,
                "reported_width": round(usable * reported / 100, 1),
                "approved_width": round(usable * progress.completion / 100, 1),
                "completion": progress.completion,
            }
        )
    return {
        "bars": bars,
        "width": WIDTH,
        "height": max(len(bars) * (BAR_HEIGHT + 8), BAR_HEIGHT),
        "x0": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
        "font": FONT,
        "percent_x": WIDTH - 52,
    }


def timeline_lines(points, total, height=200):
    """Polylines of cumulative submitted and approved villages over the days of ``points``."""
    if not points or not total:
        return None
    left, right, top, bottom = 44, WIDTH - 10, 12, height - 30
    span = max((points[-1][0] - points[0][0]).days, 1)

    def xy(day, value):
        x = left + (right - left) * (day - points[0][0]).days / span
        y = bottom - (bottom - top) * value / total
        return f"{x:.1f},{y:.1f}"

    return {
        "width": WIDTH,
        "height": height,
        "submitted": " ".join(xy(day, s) for day, s, _ in points),
        "approved": " ".join(xy(day, a) for day, _, a in points),
        "first": points[0][0],
        "last": points[-1][0],
        "total": total,
        "left": left,
        "bottom": bottom,
        "top": top,
        "right": right,
        "font": FONT,
        "last_x": right - 40,
    }
