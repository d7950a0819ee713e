#!/usr/bin/env python3
"""Generates Tests/ShadowGateEvidenceTests/Fixtures/evidence.json: reference values for the
anytime-valid statistics of Sources/ShadowGateEvidence, computed independently here with SciPy
(betaln, gammaln, logsumexp, brentq) from the closed forms:

* McNemar e-value E = 2^(b+c) * B(b+1, c+1)  (= 2^(b+c) b! c! / (b+c+1)!)
* constant-bet (grid Kelly) capital K+(m) = mean_j prod_k (1 + theta_j (x_k - m)/(m - lo))^(n_k)
  and K-(m) with (m - x_k)/(hi - m); bounds = roots of ln K(m) = ln(1/alpha) (brentq, xtol 1e-14)
* Shiryaev-Roberts R_k = (1 + R_{k-1}) * LR_k per alternative, averaged, on fixed batches

    pip install scipy numpy
    python3 Scripts/stats-fixtures/make_evidence_fixtures.py

`confseq` (PyPI) was tried for the beta-binomial/normal-mixture boundaries but does not install
here (it needs a C++ build); none of its boundaries is the one used, so nothing is lost.
Deterministic (fixed seed); the output is committed.
"""
import json
import math
import os

import numpy as np
from scipy import optimize, special

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "Tests", "ShadowGateEvidenceTests", "Fixtures", "evidence.json")
rng = np.random.default_rng(20261129)
THETAS = [0.95 * 0.5 ** j for j in range(10)]


def mcnemar_log_e(b, c):
    return (b + c) * math.log(2) + special.betaln(b + 1, c + 1)


def log_wealth_above(lo, hi, outcomes, m):
    if m <= lo:
        return math.inf
    logs = [sum(n * math.log1p(t * (x - m) / (m - lo)) for x, n in outcomes if n > 0) for t in THETAS]
    return float(special.logsumexp(logs) - math.log(len(THETAS)))


def log_wealth_below(lo, hi, outcomes, m):
    if m >= hi:
        return math.inf
    logs = [sum(n * math.log1p(t * (m - x) / (hi - m)) for x, n in outcomes if n > 0) for t in THETAS]
    return float(special.logsumexp(logs) - math.log(len(THETAS)))


def lower_bound(lo, hi, outcomes, alpha):
    thr = math.log(1 / alpha)
    eps = (hi - lo) * 1e-15
    f = lambda m: log_wealth_above(lo, hi, outcomes, m) - thr
    if f(lo + eps) < 0:
        return lo
    return optimize.brentq(f, lo + eps, hi, xtol=1e-14, rtol=1e-15, maxiter=500)


def upper_bound(lo, hi, outcomes, alpha):
    thr = math.log(1 / alpha)
    eps = (hi - lo) * 1e-15
    f = lambda m: log_wealth_below(lo, hi, outcomes, m) - thr
    if f(hi - eps) < 0:
        return hi
    return optimize.brentq(f, lo, hi - eps, xtol=1e-14, rtol=1e-15, maxiter=500)


def sr(null, alts, batches):
    logs = [-math.inf] * len(alts)
    out = []
    for events, trials in batches:
        if trials == 0:
            out.append(float(special.logsumexp(logs) - math.log(len(alts))) if max(logs) > -math.inf else None)
            continue
        new = []
        for lr0, q in zip(logs, alts):
            llr = events * math.log(q / null) + (trials - events) * math.log((1 - q) / (1 - null))
            new.append(float(np.logaddexp(0.0, lr0)) + llr)
        logs = new
        out.append(float(special.logsumexp(logs) - math.log(len(alts))))
    return out


mcnemar = []
for b, c in [(30, 10), (120, 80), (0, 8), (0, 7), (5, 5), (0, 0), (1000, 900), (3, 40), (2500, 2350)]:
    mcnemar.append({"b": b, "c": c, "log_e": mcnemar_log_e(b, c)})

cs = []
paired_cases = [(2000, 180, 120), (2000, 120, 120), (500, 10, 60), (30, 0, 12), (0, 0, 0), (10000, 820, 700),
                (40, 40, 0), (100, 0, 0)]
for _ in range(4):
    n = int(rng.integers(50, 5000))
    d = rng.uniform(0.05, 0.3)
    b = int(rng.binomial(n, d / 2 + 0.01))
    c = int(rng.binomial(n - b, d / 2))
    paired_cases.append((n, b, c))
for n, b, c in paired_cases:
    outcomes = [(1.0, b), (-1.0, c), (0.0, n - b - c)]
    for alpha in (0.05, 0.0167):
        cs.append({"kind": "paired", "n": n, "b": b, "c": c, "alpha": alpha,
                   "lo": -1.0, "hi": 1.0, "values": [1.0, -1.0, 0.0], "counts": [b, c, n - b - c],
                   "probe": [-0.2, -0.01, 0.0, 0.02],
                   "log_above": [log_wealth_above(-1, 1, outcomes, m) for m in (-0.2, -0.01, 0.0, 0.02)],
                   "log_below": [log_wealth_below(-1, 1, outcomes, m) for m in (-0.2, -0.01, 0.0, 0.02)],
                   "lower": lower_bound(-1, 1, outcomes, alpha), "upper": upper_bound(-1, 1, outcomes, alpha)})
for trials, events in [(1000, 0), (1000, 3), (200, 40), (50, 50), (5000, 51), (0, 0)]:
    outcomes = [(1.0, events), (0.0, trials - events)]
    cs.append({"kind": "rate", "n": trials, "events": events, "alpha": 0.0167, "lo": 0.0, "hi": 1.0,
               "values": [1.0, 0.0], "counts": [events, trials - events], "probe": [0.005, 0.01, 0.2],
               "log_above": [log_wealth_above(0, 1, outcomes, m) for m in (0.005, 0.01, 0.2)],
               "log_below": [log_wealth_below(0, 1, outcomes, m) for m in (0.005, 0.01, 0.2)],
               "lower": lower_bound(0, 1, outcomes, 0.0167), "upper": upper_bound(0, 1, outcomes, 0.0167)})
# relative rates: Y = learner event - f * legacy event
for f, (n, lo_, le_, bo_) in [(1.2, (3000, 20, 10, 5)), (2.0, (800, 3, 9, 1))]:
    outcomes = [(1.0, lo_), (-f, le_), (1 - f, bo_), (0.0, n - lo_ - le_ - bo_)]
    cs.append({"kind": "relative", "factor": f, "n": n, "alpha": 0.0167, "lo": -f, "hi": 1.0,
               "values": [1.0, -f, 1 - f, 0.0], "counts": [lo_, le_, bo_, n - lo_ - le_ - bo_], "probe": [-0.01, 0.0, 0.01],
               "log_above": [log_wealth_above(-f, 1, outcomes, m) for m in (-0.01, 0.0, 0.01)],
               "log_below": [log_wealth_below(-f, 1, outcomes, m) for m in (-0.01, 0.0, 0.01)],
               "lower": lower_bound(-f, 1, outcomes, 0.0167), "upper": upper_bound(-f, 1, outcomes, 0.0167)})

detectors = []
batches = [(3, 6), (2, 5), (0, 0), (4, 7), (12, 12), (10, 11)]
detectors.append({"null": 0.5, "alternatives": [0.6, 0.75, 0.9], "batches": batches,
                  "log_statistic": sr(0.5, [0.6, 0.75, 0.9], batches)})
ebatches = [(0, 75), (1, 75), (0, 0), (30, 75), (75, 75)]
alts = sorted(set(min(a, 0.95) for a in (0.02, 0.05, 0.2, 0.5)))
detectors.append({"null": 0.01, "alternatives": alts, "batches": ebatches, "log_statistic": sr(0.01, alts, ebatches)})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as fh:
    json.dump({"thetas": THETAS, "mcnemar": mcnemar, "confidence_sequences": cs, "detectors": detectors}, fh, indent=1)
print("wrote", OUT, len(mcnemar), "mcnemar,", len(cs), "confidence sequences,", len(detectors), "detectors")
print("E(30,10) =", math.exp(mcnemar[0]["log_e"]), "E(120,80) =", math.exp(mcnemar[1]["log_e"]),
      "E(0,8) =", math.exp(mcnemar[2]["log_e"]), "E(0,7) =", math.exp(mcnemar[3]["log_e"]))
