/// Where the data path hands finished pair records.
///
/// The promise every implementation keeps: `submit` never blocks and never waits on I/O; it is
/// called on an event loop for every recorded request. When the sink cannot take a record it
/// returns `false` and the caller counts the drop (`shadowgate_sink_dropped_total`); the sink
/// also logs and counts it its own way if it has one.
public protocol PairRecordSink: Sendable {
    /// Offers a record; `true` when accepted, `false` when dropped. The record is handed over, not
    /// copied: a copy retains each of its strings, once per request.
    @discardableResult
    func submit(_ record: consuming PairRecord) -> Bool
}

/// A sink that accepts and forgets every record: for `legacy`-only deployments and benchmarks of the proxy alone.
public struct DiscardingPairSink: PairRecordSink {
    public init() {}
    public func submit(_ record: consuming PairRecord) -> Bool { true }
}
