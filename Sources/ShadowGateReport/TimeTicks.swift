/// Ticks of a time axis: whole minutes, hours or days in UTC, labelled as short as the span allows.
public struct TimeTicks: Sendable, Equatable {
    /// Seconds between ticks.
    public var step: Double
    /// Tick instants (seconds since the epoch) inside the axis, earliest first.
    public var values: [Double]

    /// Round steps, so ticks fall on :00, :05, :15, :30, whole hours, midnight.
    static let steps: [Double] = [
        1, 2, 5, 10, 15, 30,
        60, 120, 300, 600, 900, 1800,
        3600, 7200, 10_800, 21_600, 43_200,
        86_400, 172_800, 604_800, 2_592_000,
    ]

    /// The smallest round step that puts at most `maxCount` ticks on `[start, end]`.
    public init(start: Double, end: Double, maxCount: Int) {
        let span = max(end - start, 1)
        let limit = Double(max(maxCount, 1))
        let step = Self.steps.first { span / $0 <= limit } ?? (span / limit).rounded(.up)
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
