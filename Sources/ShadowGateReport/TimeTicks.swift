/// Ticks of a time axis: whole minutes, hours or days in UTC, labelled as short as the span allows.
public struct TimeTicks: Sendable, Equatable {
    /// Seconds between ticks.
    public var step: Double
    /// Tick instants (seconds since the epoch) inside the axis, earliest first.
    public var values: [Double]

    /// The smallest round step that puts at most `maxCount` ticks on `[start, end]`.
    public init(start: Double, end: Double, maxCount: Int) {
        let span = max(end - start, 1)
        let limit = Double(max(maxCount, 1))
        let step = RoundDurations.seconds.first { span / $0 <= limit } ?? (span / limit).rounded(.up)
        // The epoch is a UTC midnight, so multiples of the step are round UTC times.
        let first = (start / step).rounded(.up)
        let last = (end / step).rounded(.down)
        self.step = step
        values = first <= last ? stride(from: first, through: last, by: 1).map { $0 * step } : []
    }

    /// `12:34`, `12:34:56` below a minute's step, `05-01 12:34` when the axis spans more than a day.
    public func label(_ value: Double, span: Double) -> String {
        if span > 86_400 { return UTCTime.dayAndClock(value) }
        return UTCTime.clock(value, seconds: step < 60)
    }
}
