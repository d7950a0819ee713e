"""Reference implementation of the PSI rule used by shadowgate.psi / psi_categorical (0003).

Kept in plain Python (no numpy) so the rule is readable next to the SQL:

* edges: the distinct values of the reference's quantiles at i/buckets, i = 1..buckets-1,
  each computed like PostgreSQL's percentile_cont (= numpy.quantile's default 'linear'):
  h = q*(n-1), value = x[floor(h)] + (h - floor(h)) * (x[ceil(h)] - x[floor(h)]);
* bucket of a value: the number of edges <= value (PostgreSQL width_bucket(value, edges)),
  so the buckets are (-inf, e1), [e1, e2), ..., [e_last, +inf);
* fractions r_i, c_i of each sample per bucket; a fraction of exactly 0 becomes eps (1e-4);
* psi = sum over buckets seen on either side of (c_i - r_i) * ln(c_i / r_i).
NULL/None and NaN values are dropped; an empty side gives None.
"""
import bisect
import math
from collections import Counter


def _clean(xs):
    return [float(x) for x in xs if x is not None and not math.isnan(float(x))]


def percentile_cont(sorted_xs, q):
    h = q * (len(sorted_xs) - 1)
    lo = math.floor(h)
    hi = math.ceil(h)
    a, b = sorted_xs[lo], sorted_xs[hi]
    return a + (h - lo) * (b - a)


def psi_edges(reference, buckets=10):
    r = sorted(_clean(reference))
    return sorted({percentile_cont(r, i / buckets) for i in range(1, buckets)})


def _psi_from_counts(rc, cc, nr, nc, eps):
    total = 0.0
    for key in set(rc) | set(cc):
        pr = rc[key] / nr if rc.get(key) else eps
        pc = cc[key] / nc if cc.get(key) else eps
        total += (pc - pr) * math.log(pc / pr)
    return total


def psi(reference, current, buckets=10, eps=1e-4):
    r = _clean(reference)
    c = _clean(current)
    if not r or not c:
        return None
    edges = psi_edges(r, buckets)
    rc = Counter(bisect.bisect_right(edges, x) for x in r)
    cc = Counter(bisect.bisect_right(edges, x) for x in c)
    return _psi_from_counts(rc, cc, len(r), len(c), eps)


def psi_categorical(reference, current, eps=1e-4):
    r = [x for x in reference if x is not None]
    c = [x for x in current if x is not None]
    if not r or not c:
        return None
    return _psi_from_counts(Counter(r), Counter(c), len(r), len(c), eps)
