#!/usr/bin/env python3
"""Generates Tests/ShadowGatePairLogTests/Fixtures/compare_stats.json: inputs and the values
SciPy (and the PSI reference in psi_reference.py) gives for them, checked by CompareSQLTests
against the SQL functions of migrations/functions/ (special_functions.sql, kolmogorov_smirnov.sql,
chi_squared.sql, psi.sql).

    pip install scipy numpy   # scipy >= 1.11
    python3 Scripts/stats-fixtures/make_fixtures.py

The output is committed, so the Swift tests need neither Python nor SciPy. Deterministic
(fixed seed). Where SciPy returns NaN or raises, the expected value is null (the SQL returns
NULL there).
"""
import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import psi_reference  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "Tests", "ShadowGatePairLogTests", "Fixtures", "compare_stats.json")
rng = np.random.default_rng(20261125)


def fl(x):
    """A float for JSON: None for NaN/None, else the exact double (repr round-trips)."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def floats(a):
    return [float(x) for x in a]


# --- KS ------------------------------------------------------------------------------------
def ks_case(name, a, b):
    a, b = floats(a), floats(b)
    if not a or not b:
        d = p = None
    else:
        r = stats.ks_2samp(a, b, method="asymp")
        d, p = fl(r.statistic), fl(r.pvalue)
    return {"name": name, "a": a, "b": b, "d": d, "p": p}


ks = [
    ks_case("ties_small", [1, 2, 2, 3, 3, 3], [2, 2, 3, 4, 4]),
    ks_case("ties_integers", rng.integers(0, 10, 200), rng.integers(0, 12, 300)),
    ks_case("n1_vs_n1", [0.5], [0.7]),            # en = 0.5 rounds to 0: scipy p is NaN
    ks_case("n1_vs_n1_equal", [0.5], [0.5]),
    ks_case("n1_vs_n2", [0.5], [0.2, 0.9]),
    ks_case("n2_vs_n2", [0.1, 0.4], [0.3, 0.8]),
    ks_case("n1_vs_n3", [0.5], [0.1, 0.2, 0.3]),  # en = 0.75 -> 1
    ks_case("n5_vs_n5_half_even", [1, 2, 3, 4, 5], [3, 4, 5, 6, 7]),  # en = 2.5 -> 2
    ks_case("n1_vs_n50", [0.0], rng.normal(size=50)),
    ks_case("empty_a", [], [1.0, 2.0]),
    ks_case("empty_both", [], []),
    ks_case("all_equal_same", [0.5] * 10, [0.5] * 7),
    ks_case("all_equal_apart", [0.5] * 10, [0.6] * 12),
    ks_case("normal_100_120_shift", rng.normal(0, 1, 100), rng.normal(0.3, 1, 120)),
    ks_case("normal_40_60_same", rng.normal(0, 1, 40), rng.normal(0, 1, 60)),
    ks_case("normal_1000_800_same", rng.normal(0, 1, 1000), rng.normal(0, 1, 800)),
    ks_case("normal_1000_800_shift", rng.normal(0, 1, 1000), rng.normal(0.15, 1, 800)),
    ks_case("uniform_3000_2500_same", rng.uniform(size=3000), rng.uniform(size=2500)),
    ks_case("scores_6000_4000_shift", rng.beta(2, 5, 6000), rng.beta(2.2, 5, 4000)),
    ks_case("rounded_scores_2000_2000", np.round(rng.beta(2, 5, 2000), 2), np.round(rng.beta(2, 5, 2000), 2)),
]

# kstwo.sf directly, over every branch of scipy's _kolmogn (Ruben-Gambino, Durbin matrix,
# Pomeranz, Smirnov, Pelz-Good).
kstwo = []
for n in [1, 2, 3, 5, 10, 37, 100, 140, 141, 300, 999, 1000, 1001, 5000, 100000, 1000000]:
    for x in [0.3 / n, 0.6 / n, 0.9 / n, 1.5 / n, 0.004, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1,
              0.15, 0.2, 0.3, 0.45, 0.5, 0.7, 0.99, 1 - 1.5 / n]:
        if 0 < x < 1:
            kstwo.append({"n": n, "x": float(x), "sf": fl(stats.kstwo.sf(x, n))})


# --- chi-squared ---------------------------------------------------------------------------
def chi2_case(name, table, correction=True):
    t = np.asarray(table, dtype=float)
    try:
        r = stats.chi2_contingency(t, correction=correction)
        s, p, dof = fl(r.statistic), fl(r.pvalue), int(r.dof)
    except ValueError:
        s = p = dof = None
    return {"name": name, "table": t.tolist(), "correction": correction,
            "statistic": s, "p": p, "dof": dof}


chi2 = [
    chi2_case("2x2_yates", [[12, 5], [7, 15]]),
    chi2_case("2x2_no_correction", [[12, 5], [7, 15]], correction=False),
    chi2_case("2x2_yates_capped", [[10, 10], [10, 11]]),   # |expected - observed| < 0.5
    chi2_case("2x2_large_small_p", [[500, 300], [300, 500]]),
    chi2_case("2x3", [[10, 20, 30], [25, 15, 20]]),
    chi2_case("3x4_random", rng.integers(1, 50, (3, 4))),
    chi2_case("2x40_random", rng.integers(0, 30, (2, 40)) + 1),
    chi2_case("2x3_tiny_p", [[900, 50, 50], [50, 900, 50]]),
    chi2_case("1x4_dof0", [[3, 4, 5, 6]]),
    chi2_case("zero_column_raises", [[0, 3], [0, 4]]),
    chi2_case("fractional_counts", [[1.5, 2.25], [3.5, 0.75]]),
]


def chi2_2samp_case(name, a, b, correction=True):
    cats = sorted(set(a) | set(b))
    if not a or not b:
        s = p = dof = None
    else:
        t = np.array([[a.count(c) for c in cats], [b.count(c) for c in cats]], dtype=float)
        r = stats.chi2_contingency(t, correction=correction)
        s, p, dof = fl(r.statistic), fl(r.pvalue), int(r.dof)
    return {"name": name, "a": a, "b": b, "correction": correction, "statistic": s, "p": p, "dof": dof}


cats = ["cat", "dog", "bird", "fish"]
chi2_2samp = [
    chi2_2samp_case("labels_random", list(rng.choice(cats, 300, p=[.4, .3, .2, .1])),
                    list(rng.choice(cats, 250, p=[.35, .3, .25, .1]))),
    chi2_2samp_case("binary_yates", ["1"] * 40 + ["0"] * 60, ["1"] * 55 + ["0"] * 45),
    chi2_2samp_case("binary_no_correction", ["1"] * 40 + ["0"] * 60, ["1"] * 55 + ["0"] * 45, correction=False),
    chi2_2samp_case("category_on_one_side", ["a", "a", "b"], ["b", "c", "c", "c"]),
    chi2_2samp_case("same_single_category", ["x"] * 5, ["x"] * 3),
    chi2_2samp_case("n1_vs_n1", ["x"], ["y"]),
    chi2_2samp_case("empty_b", ["x", "y"], []),
]
for c in chi2_2samp:
    c["a"] = [str(x) for x in c["a"]]
    c["b"] = [str(x) for x in c["b"]]


def chisquare_case(name, obs, exp=None):
    r = stats.chisquare(obs, exp)
    return {"name": name, "f_obs": floats(obs), "f_exp": None if exp is None else floats(exp),
            "statistic": fl(r.statistic), "p": fl(r.pvalue)}


chisquare = [
    chisquare_case("uniform_default", [16, 18, 16, 14, 12, 12]),
    chisquare_case("given_expected", [16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8]),
    chisquare_case("far_off", [100, 5, 5, 5], [28.75, 28.75, 28.75, 28.75]),
]

chi2_sf = []
for k in [1, 2, 3, 4, 5, 7, 10, 31, 100, 1000, 20000]:
    for x in [1e-6, 0.01, 0.5, 1, 2, 3.84, 5, k * 0.5, k, k + 1, k * 1.5, 3 * k + 10, 100, 500, 1000]:
        chi2_sf.append({"x": float(x), "dof": k, "sf": fl(stats.chi2.sf(x, k))})


# --- PSI -----------------------------------------------------------------------------------
def psi_case(name, ref, cur, buckets=10):
    ref, cur = floats(ref), floats(cur)
    return {"name": name, "reference": ref, "current": cur, "buckets": buckets,
            "edges": psi_reference.psi_edges(ref, buckets) if ref else None,
            "psi": fl(psi_reference.psi(ref, cur, buckets))}


psi = [
    psi_case("normal_shift", rng.normal(0, 1, 500), rng.normal(0.5, 1.2, 400)),
    psi_case("normal_same", rng.normal(0, 1, 1000), rng.normal(0, 1, 1000)),
    psi_case("ties_integers", rng.integers(0, 4, 300), rng.integers(0, 5, 200)),
    psi_case("all_equal_reference", [0.5] * 20, [0.4, 0.5, 0.5, 0.6]),
    psi_case("all_equal_both", [0.5] * 20, [0.5] * 3),
    psi_case("n1_vs_n1", [0.5], [0.7]),
    psi_case("n2_vs_n2", [0.1, 0.4], [0.3, 0.8]),
    psi_case("buckets_5", rng.beta(2, 5, 300), rng.beta(2, 4, 300), buckets=5),
    psi_case("empty_current", [1.0, 2.0, 3.0], []),
    psi_case("empty_reference", [], [1.0]),
    psi_case("current_outside_reference", rng.uniform(0, 1, 100), rng.uniform(2, 3, 50)),
]

psi_categorical = []
for name, r, c in [
    ("shifted", list(rng.choice(cats, 300, p=[.4, .3, .2, .1])), list(rng.choice(cats, 300, p=[.2, .3, .3, .2]))),
    ("new_category", ["a"] * 10 + ["b"] * 5, ["a"] * 3 + ["c"] * 4),
    ("same", ["a", "b"], ["b", "a"]),
    ("empty_current", ["a"], []),
]:
    r = [str(x) for x in r]
    c = [str(x) for x in c]
    psi_categorical.append({"name": name, "reference": r, "current": c,
                            "psi": fl(psi_reference.psi_categorical(r, c))})


# --- regression errors (compare()'s MAE, RMSE and paired error differences) -----------------
# A separate generator, so the cases above keep their values.
rrng = np.random.default_rng(20261129)


def regression_case(name, legacy, learner, label):
    legacy, learner, label = np.asarray(legacy, float), np.asarray(learner, float), np.asarray(label, float)
    el, er = legacy - label, learner - label
    d1 = np.abs(el) - np.abs(er)
    d2 = el ** 2 - er ** 2
    n = len(label)
    return {"name": name, "legacy": floats(legacy), "learner": floats(learner), "label": floats(label),
            "legacy_mae": fl(np.mean(np.abs(el))), "learner_mae": fl(np.mean(np.abs(er))),
            "legacy_rmse": fl(np.sqrt(np.mean(el ** 2))), "learner_rmse": fl(np.sqrt(np.mean(er ** 2))),
            "abs_error_diff": fl(np.mean(d1)), "abs_error_diff_se": fl(stats.sem(d1)) if n >= 2 else None,
            "sq_error_diff": fl(np.mean(d2)), "sq_error_diff_se": fl(stats.sem(d2)) if n >= 2 else None}


truth = rrng.normal(50, 10, 400)
regression = [
    regression_case("learner_better_400", truth + rrng.normal(0, 3, 400), truth + rrng.normal(0, 2, 400), truth),
    regression_case("equal_heavy_tails_300", truth[:300] + rrng.standard_t(3, 300), truth[:300] + rrng.standard_t(3, 300), truth[:300]),
    regression_case("learner_biased_200", truth[:200] + rrng.normal(0, 1, 200), truth[:200] + 0.5 + rrng.normal(0, 1, 200), truth[:200]),
    regression_case("two_pairs", [1.0, 2.0], [1.5, 2.5], [1.25, 2.0]),
    regression_case("one_pair", [3.0], [2.0], [2.5]),
]

doc = {
    "generator": "Scripts/stats-fixtures/make_fixtures.py",
    "scipy": scipy.__version__,
    "numpy": np.__version__,
    "ks_2samp": ks,
    "kstwo_sf": kstwo,
    "chi2_contingency": chi2,
    "chi2_2samp": chi2_2samp,
    "chisquare": chisquare,
    "chi2_sf": chi2_sf,
    "psi": psi,
    "psi_categorical": psi_categorical,
    "regression": regression,
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(doc, f, allow_nan=False, separators=(",", ":"))
    f.write("\n")
print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")
