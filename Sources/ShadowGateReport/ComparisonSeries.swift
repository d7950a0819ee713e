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
    /// (the first bucket is cut at the window's start, the last at its end); NULL stays `nil`.
    public func points(_ column: String, window: ClosedRange<Double>) -> [ChartPoint] {
        buckets.map { bucket in
            let start = max(bucket.start, window.lowerBound)
            let end = min(bucket.start + bucketSeconds, window.upperBound)
            return ChartPoint(x: (start + max(start, end)) / 2, y: bucket.values[column] ?? nil)
        }
    }
}
