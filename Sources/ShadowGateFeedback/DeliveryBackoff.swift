/// The wait before the next try of a failed delivery: `initial`, doubling up to `maximum`, each
/// wait drawn uniformly from its upper half ("equal jitter"), so replicas or restarts do not
/// retry in step. Pure: the random source is passed in.
struct DeliveryBackoff {
    let initial: Duration
    let maximum: Duration
    private(set) var failures = 0

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// The wait after one more failure; `unit` is a random number in [0, 1).
    mutating func next(unit: Double) -> Duration {
        failures += 1
        var ceiling = initial
        for _ in 1..<min(failures, 40) {
            ceiling = ceiling * 2
            if ceiling >= maximum { ceiling = maximum; break }
        }
        return ceiling / 2 + (ceiling / 2) * min(max(unit, 0), 1)
    }

    mutating func reset() { failures = 0 }
}
