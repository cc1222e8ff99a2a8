"""Figures as PNG bytes: one writer for every report, page and command."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def figure_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """A figure as PNG bytes (no timestamp metadata). Figures made without pyplot get an Agg
    canvas; pyplot figures keep theirs (the caller closes them)."""
    if getattr(fig.canvas, "manager", None) is None:
        FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
