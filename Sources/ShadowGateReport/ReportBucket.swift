/// The width of the report's time buckets (`compare_series`'s `bucket`).
public struct ReportBucket: Sendable, Equatable {
    /// As PostgreSQL reads it: `60 seconds`, or the `--bucket` text as given.
    public var interval: String
    public var seconds: Double

    public init(interval: String, seconds: Double) {
        self.interval = interval
        self.seconds = seconds
    }

    /// Most buckets a report draws: a chart 1000 px wide gets ~10 px per bucket at worst.
    public static let maximumCount = 100.0

    /// The smallest round width that cuts `windowSeconds` into at most ``maximumCount`` buckets
    /// (60 buckets of a minute for an hour, 96 of 15 minutes for a day): fine enough to see a
    /// change, coarse enough that each bucket holds enough pairs for its statistics.
    public static func automatic(windowSeconds: Double) -> ReportBucket {
        let seconds = RoundDurations.seconds.first { windowSeconds / $0 <= maximumCount }
            ?? (windowSeconds / maximumCount / 86_400).rounded(.up) * 86_400
        return ReportBucket(interval: "\(Int64(seconds)) seconds", seconds: seconds)
    }

    /// Human text: `1 minute`, `15 minutes`, `2 hours`, `30 seconds`.
    public var description: String {
        let units: [(Double, String)] = [(86_400, "day"), (3600, "hour"), (60, "minute"), (1, "second")]
        for (size, name) in units where seconds >= size && seconds.truncatingRemainder(dividingBy: size) == 0 {
            let count = Int64(seconds / size)
            return "\(count) \(name)\(count == 1 ? "" : "s")"
        }
        return "\(ChartValueFormat.fixed(seconds, decimals: 3).replacingTrailingZeros()) seconds"
    }
}
