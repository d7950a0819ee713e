#!/usr/bin/env python3
"""A deterministic binary classification stream with concept drift (rotating hyperplane).

Standard library only, so the traffic driver runs with any python3.

Each example i has F numeric features x ~ N(0, 1), a label y = [w(i) . x + noise > 0] with
Gaussian label noise (sigma 0.3 keeps the best possible accuracy near 0.9), and a sticky
user id `u-<i % users>`. The concept w(i) is a unit vector that stays fixed until example
`drift_at`, then rotates by `drift_degrees` in a fixed plane, all at once (`drift_width` 0)
or linearly over `drift_width` examples. A model trained before the drift scores about
1 - angle/180 on the new concept (75 degrees: ~0.55); an online learner recovers.

Examples are random access: example i depends only on (seed, i), so the legacy model's
training data (negative indexes: "history" before the stream began), the learner's warm
start, the traffic driver and the self-test all read the same stream without coordination.

As a module:
    from stream import Stream
    s = Stream(seed=7, drift_at=1500)
    ex = s.example(0)            # Example(index=0, user_id='u-0', features=[...], label=1)
    for ex in s.examples(0, 100): ...
As a CLI (JSON lines):
    stream.py [--start 0] [--count 10] [--seed 7] [--drift-at 1500] [--drift-degrees 75] ...
    stream.py --describe         # the concept before/after and the legacy ceiling
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
from dataclasses import asdict, dataclass
from typing import Iterator, List

DEFAULT_SEED = 7
DEFAULT_FEATURES = 5
DEFAULT_DRIFT_AT = 1500
DEFAULT_DRIFT_DEGREES = 75.0
DEFAULT_DRIFT_WIDTH = 0
DEFAULT_NOISE = 0.3
DEFAULT_USERS = 500


@dataclass(frozen=True)
class Example:
    index: int
    user_id: str
    features: List[float]
    label: int

    def oip_request(self, input_name: str = "x") -> dict:
        """The Open Inference Protocol v2 request body for this example (one row, FP64)."""
        return {"inputs": [{"name": input_name, "shape": [1, len(self.features)],
                            "datatype": "FP64", "data": self.features}]}


def _unit(v: List[float]) -> List[float]:
    n = math.sqrt(sum(a * a for a in v))
    return [a / n for a in v]


class Stream:
    def __init__(self, seed: int = DEFAULT_SEED, features: int = DEFAULT_FEATURES,
                 drift_at: int = DEFAULT_DRIFT_AT, drift_degrees: float = DEFAULT_DRIFT_DEGREES,
                 drift_width: int = DEFAULT_DRIFT_WIDTH, noise: float = DEFAULT_NOISE,
                 users: int = DEFAULT_USERS):
        if features < 2:
            raise ValueError("a rotating hyperplane needs at least 2 features")
        if drift_width < 0 or users < 1 or noise < 0:
            raise ValueError("drift_width and noise must be >= 0, users >= 1")
        self.seed, self.n_features, self.drift_at = seed, features, drift_at
        self.drift_degrees, self.drift_width, self.noise, self.users = drift_degrees, drift_width, noise, users
        # The concept's plane of rotation: w0 (the pre-drift normal) and v, a unit vector
        # orthogonal to it, both drawn from the seed.
        rng = random.Random(f"concept:{seed}:{features}")
        w0 = _unit([rng.gauss(0, 1) for _ in range(features)])
        v = [rng.gauss(0, 1) for _ in range(features)]
        dot = sum(a * b for a, b in zip(v, w0))
        self._w0 = w0
        self._v = _unit([b - dot * a for a, b in zip(w0, v)])

    def angle(self, index: int) -> float:
        """Rotation of the concept at example `index`, in degrees (0 before the drift)."""
        if index < self.drift_at:
            return 0.0
        if self.drift_width == 0 or index >= self.drift_at + self.drift_width:
            return self.drift_degrees
        return self.drift_degrees * (index - self.drift_at + 1) / self.drift_width

    def concept(self, index: int) -> List[float]:
        """The unit normal w of the separating hyperplane at example `index`."""
        t = math.radians(self.angle(index))
        c, s = math.cos(t), math.sin(t)
        return [c * a + s * b for a, b in zip(self._w0, self._v)]

    def example(self, index: int) -> Example:
        rng = random.Random(f"example:{self.seed}:{index}")
        x = [round(rng.gauss(0, 1), 4) for _ in range(self.n_features)]
        w = self.concept(index)
        margin = sum(a * b for a, b in zip(w, x)) + rng.gauss(0, self.noise)
        return Example(index=index, user_id=f"u-{index % self.users}", features=x, label=int(margin > 0))

    def examples(self, start: int, count: int) -> Iterator[Example]:
        for i in range(start, start + count):
            yield self.example(i)

    def describe(self) -> dict:
        """The drift in numbers: the angle, and the accuracy of the pre-drift concept on the new
        one (what a perfectly trained legacy model can hope for) measured on 4,000 examples."""
        before, after = self.concept(self.drift_at - 1), self.concept(self.drift_at + self.drift_width)
        n = 4000
        start = self.drift_at + self.drift_width

        def acc(w, lo):
            hits = 0
            for ex in self.examples(lo, n):
                hits += int((sum(a * b for a, b in zip(w, ex.features)) > 0) == bool(ex.label))
            return hits / n
        return {
            "features": self.n_features, "seed": self.seed, "drift_at": self.drift_at,
            "drift_width": self.drift_width, "drift_degrees": self.drift_degrees, "noise": self.noise,
            "concept_before": [round(a, 4) for a in before], "concept_after": [round(a, 4) for a in after],
            "bayes_accuracy_before": acc(before, self.drift_at - n),
            "old_concept_accuracy_after": acc(before, start),
            "bayes_accuracy_after": acc(after, start),
        }


def add_stream_arguments(parser: argparse.ArgumentParser) -> None:
    """The stream's options, shared by every CLI of the demo so they agree on the data."""
    g = parser.add_argument_group("stream")
    g.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"stream seed (default {DEFAULT_SEED})")
    g.add_argument("--features", type=int, default=DEFAULT_FEATURES, help=f"features per example (default {DEFAULT_FEATURES})")
    g.add_argument("--drift-at", type=int, default=DEFAULT_DRIFT_AT, help=f"index of the first drifted example (default {DEFAULT_DRIFT_AT})")
    g.add_argument("--drift-degrees", type=float, default=DEFAULT_DRIFT_DEGREES, help=f"rotation of the hyperplane (default {DEFAULT_DRIFT_DEGREES})")
    g.add_argument("--drift-width", type=int, default=DEFAULT_DRIFT_WIDTH, help="examples over which the rotation happens (default 0: abrupt)")
    g.add_argument("--noise", type=float, default=DEFAULT_NOISE, help=f"label noise sigma (default {DEFAULT_NOISE})")
    g.add_argument("--users", type=int, default=DEFAULT_USERS, help=f"distinct sticky user ids (default {DEFAULT_USERS})")


def stream_from_args(args: argparse.Namespace) -> Stream:
    return Stream(seed=args.seed, features=args.features, drift_at=args.drift_at, drift_degrees=args.drift_degrees,
                  drift_width=args.drift_width, noise=args.noise, users=args.users)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Print examples of the drifting stream as JSON lines.")
    parser.add_argument("--start", type=int, default=0, help="first example index (negative: before the stream)")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--describe", action="store_true", help="print the concept and the accuracy ceilings instead")
    add_stream_arguments(parser)
    args = parser.parse_args(argv)
    stream = stream_from_args(args)
    if args.describe:
        print(json.dumps(stream.describe(), indent=2))
        return 0
    out = sys.stdout
    for ex in stream.examples(args.start, args.count):
        out.write(json.dumps(asdict(ex)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
