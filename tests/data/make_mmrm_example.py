"""Write mmrm_example.csv: the dataset the MMRM is checked on against R's nlme::gls (tests/test_analysis.py).

60 patients in two arms ("drug", "placebo"), a baseline score and four post-baseline visits (days 7, 14,
28, 42). Changes from baseline have unequal visit variances (SD 4 to 7) and a correlation falling with
the distance between visits; about 20 % of patients drop out for good (monotone), more likely after a
poor previous score (missing at random). Values are rounded to two decimals so that Python and R read
the same numbers. Run from the repository root:

    uv run python tests/data/make_mmrm_example.py
"""

from pathlib import Path

import numpy as np

SEED = 20240607
VISITS = [7, 14, 28, 42]


def make(seed: int = SEED):
    rng = np.random.default_rng(seed)
    n = 60
    arm = np.repeat(["drug", "placebo"], n // 2)
    baseline = np.round(rng.normal(30.0, 4.0, n), 2)
    sd = np.array([4.0, 5.0, 6.0, 7.0])
    lag = np.abs(np.subtract.outer(np.arange(4), np.arange(4)))
    corr = 0.3 + 0.5 * 0.7**lag
    np.fill_diagonal(corr, 1.0)
    cov = corr * np.outer(sd, sd)
    mean_placebo = np.array([-4.0, -6.0, -8.0, -9.0])
    mean_drug = np.array([-7.0, -9.0, -11.0, -13.0])
    mean = np.where((arm == "drug")[:, None], mean_drug, mean_placebo)
    change = mean - 0.3 * (baseline[:, None] - 30.0) + rng.multivariate_normal(np.zeros(4), cov, n)
    change = np.round(change, 2)
    # monotone dropout after visit 1, more likely when the previous change was poor (MAR)
    for i in range(n):
        for j in range(1, 4):
            p = 0.04 + 0.06 * (change[i, j - 1] > -6.0)
            if rng.uniform() < p:
                change[i, j:] = np.nan
                break
    return arm, baseline, change


def main() -> None:
    arm, baseline, change = make()
    lines = ["id,arm,baseline,visit,visit_index,change"]
    for i in range(arm.size):
        for j, day in enumerate(VISITS):
            v = "NA" if np.isnan(change[i, j]) else f"{change[i, j]:.2f}"
            lines.append(f"{i + 1},{arm[i]},{baseline[i]:.2f},{day},{j + 1},{v}")
    out = Path(__file__).with_name("mmrm_example.csv")
    out.write_text("\n".join(lines) + "\n")
    dropped = int(np.isnan(change[:, -1]).sum())
    print(f"wrote {out} ({arm.size} patients, {dropped} without the last visit)")


if __name__ == "__main__":
    main()
