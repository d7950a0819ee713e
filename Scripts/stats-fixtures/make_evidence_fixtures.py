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

# Quantized differences (QuantizedDifferenceEvidence): clipped paired error differences d in
# [-C, C], each replaced by the lower (for the lower bound) or upper end (for the upper bound) of
# its bucket on the square-root grid; the bounds are the constant-bet bounds of those values, and
# the change detector's batch e-value is prod (1 + theta (low(d) - X)/(X + C)).
LEVELS = 128
qrng = np.random.default_rng(20261130)


def bucket(d, c):
    if d == 0:
        return 0
    k = 1 + math.floor(LEVELS * math.sqrt(min(abs(d), c) / c))
    return int(math.copysign(min(k, LEVELS), d))


def interval(b, c):
    if b == 0:
        return 0.0, 0.0
    k = abs(b)
    inner = c * ((k - 1) / LEVELS) ** 2 * (1 - 1e-12)
    outer = min(c, c * (k / LEVELS) ** 2 * (1 + 1e-12))
    return (inner, outer) if b > 0 else (-outer, -inner)


def quantized_case(name, d, c, alpha, threshold):
    d = [float(min(max(x, -c), c)) for x in d]
    counts = {}
    for x in d:
        counts[bucket(x, c)] = counts.get(bucket(x, c), 0) + 1
    lows = [(interval(b, c)[0], n) for b, n in sorted(counts.items())]
    highs = [(interval(b, c)[1], n) for b, n in sorted(counts.items())]
    fracs = [0.05, 0.2, 0.5, 0.9]
    log_e = [sum(n * math.log1p(t * (x - threshold) / (threshold + c)) for x, n in lows) for t in fracs]
    # one batch from R = 0: ln R = ln E per bet, averaged
    return {"name": name, "limit": c, "alpha": alpha, "differences": d,
            "buckets": [[b, n] for b, n in sorted(counts.items())], "mean": float(np.mean(d)) if d else None,
            "lower": lower_bound(-c, c, lows, alpha), "upper": upper_bound(-c, c, highs, alpha),
            "threshold": threshold, "detector_log_statistic": float(special.logsumexp(log_e) - math.log(len(fracs)))}


def clipped_abs_diff(n, learner_own, bias=0.0, clip=5.0):
    shared = qrng.normal(0, 0.8, n)
    el = np.minimum(np.abs(shared + qrng.normal(0, 0.6, n)), clip)
    er = np.minimum(np.abs(shared + bias + qrng.normal(0, learner_own, n)), clip)
    return er - el


quantized = [
    quantized_case("equal_500", clipped_abs_diff(500, 0.6), 5.0, 0.0167, 0.0),
    quantized_case("better_2000", clipped_abs_diff(2000, 0.45), 5.0, 0.0167, 0.0),
    quantized_case("collapsed_30", clipped_abs_diff(30, 2.0, bias=4.0), 5.0, 0.0167, 0.0),
    quantized_case("squared_400", list(np.minimum(np.abs(qrng.normal(0, 1.1, 400)), 3) ** 2
                                       - np.minimum(np.abs(qrng.normal(0, 1.0, 400)), 3) ** 2), 9.0, 0.05, 0.1),
    quantized_case("edges_and_zeros", [0.0, 0.0, 5.0, -5.0, 5 * (3 / 128) ** 2, -5 * (1 / 128) ** 2, 7.5], 5.0, 0.05, 0.0),
]

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as fh:
    json.dump({"thetas": THETAS, "mcnemar": mcnemar, "confidence_sequences": cs, "detectors": detectors,
               "quantized": quantized}, fh, indent=1)
print("wrote", OUT, len(mcnemar), "mcnemar,", len(cs), "confidence sequences,", len(detectors), "detectors")
print("E(30,10) =", math.exp(mcnemar[0]["log_e"]), "E(120,80) =", math.exp(mcnemar[1]["log_e"]),
      "E(0,8) =", math.exp(mcnemar[2]["log_e"]), "E(0,7) =", math.exp(mcnemar[3]["log_e"]))
