"""``neuroplast validate --mechanism``: simulate, compare, write one figure per family, return the rows."""

from __future__ import annotations

from pathlib import Path

from ..simulation import PopulationModel
from .data import CONFIG_PATH, SPLIT_PATH, load_comparisons
from .figures import figures
from .validate import rows, simulate_entry


def run(
    figures_dir: Path | None,
    *,
    model: PopulationModel | None = None,
    config: Path = CONFIG_PATH,
    split: Path = SPLIT_PATH,
    only: tuple[str, ...] | None = None,
) -> list[dict]:
    """Every fit and held-out entry (or those in ``only``) simulated and compared; ``{family}.png`` written to
    ``figures_dir`` (None: no figures). The config and split are checked before anything is simulated."""
    comparisons = load_comparisons(config, split_path=split)
    if only is not None:
        comparisons = [c for c in comparisons if c.id in only]
    simulated = [simulate_entry(c, model) for c in comparisons]
    if figures_dir is not None:
        out = Path(figures_dir)
        out.mkdir(parents=True, exist_ok=True)
        for family, png in figures(simulated).items():
            (out / f"{family}.png").write_bytes(png)
    return rows(simulated)


__all__ = ["run"]
