/// The rows of `shadowgate.compare_series()`: every `compare()` column per time bucket.
public struct ComparisonSeries: Sendable, Equatable {
    /// One bucket: its start (seconds since the epoch) and its columns (`nil` for SQL NULL).
    public struct Bucket: Sendable, Equatable {
        public var start: Double
        public var values: [String: Double?]

        public init(start: Double, values: [String: Double?]) {
            self.start = start
            self.values = values
        }
    }

    /// Earliest first.
    public var buckets: [Bucket]
    public var bucketSeconds: Double

    public init(buckets: [Bucket], bucketSeconds: Double) {
        self.buckets = buckets
        self.bucketSeconds = bucketSeconds
    }

    /// A column as chart points, each at the middle of the part of its bucket inside `window`
    /// (the first bucket is cut at the window's start, the last at its end). NULL stays `nil`, and
    /// so does a bucket whose `countColumn` is below `minimumCount`: a statistic of a handful of
    /// pairs is noise, and one stray pair must not set a chart's scale.
    public func points(_ column: String, window: ClosedRange<Double>, countColumn: String = "pairs",
                       minimumCount: Double = 0) -> [ChartPoint] {
        buckets.map { bucket in
            let start = max(bucket.start, window.lowerBound)
            let end = min(bucket.start + bucketSeconds, window.upperBound)
            let count = (bucket.values[countColumn] ?? nil) ?? 0
            return ChartPoint(x: (start + max(start, end)) / 2, y: count >= minimumCount ? bucket.values[column] ?? nil : nil)
        }
    }
}
