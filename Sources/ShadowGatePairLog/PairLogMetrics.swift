import Metrics

/// The pair writer's swift-metrics instruments (names are the Prometheus names).
struct PairLogMetrics: Sendable {
    /// The counters kept per kind of row: `shadowgate_pairs_*` and `shadowgate_labels_*`.
    struct Rows: Sendable {
        let queued: Counter
        let written: Counter
        let spooled: Counter
        let replayed: Counter
        let droppedQueueFull: Counter
        let droppedSpoolFull: Counter
        let rejected: Counter

        init(_ kind: PairLogRowKind) {
            let prefix = "shadowgate_\(kind.rawValue)"
            queued = Counter(label: "\(prefix)_queued_total")
            written = Counter(label: "\(prefix)_written_total")
            spooled = Counter(label: "\(prefix)_spooled_total")
            replayed = Counter(label: "\(prefix)_replayed_total")
            droppedQueueFull = Counter(label: "\(prefix)_dropped_total", dimensions: [("reason", "queue_full")])
            droppedSpoolFull = Counter(label: "\(prefix)_dropped_total", dimensions: [("reason", "spool_full")])
            rejected = Counter(label: "\(prefix)_dropped_total", dimensions: [("reason", "rejected")])
        }
    }

    let pairs = Rows(.pairs)
    let labels = Rows(.labels)
    let batchRows = Recorder(label: "shadowgate_pairs_batch_rows", aggregate: true)
    let copyDuration = Metrics.Timer(label: "shadowgate_pairs_copy_duration_seconds", preferredDisplayUnit: .seconds)
    let queueDepth = Gauge(label: "shadowgate_pairs_queue_depth")
    let spoolBytes = Gauge(label: "shadowgate_pairs_spool_bytes")
    let connected = Gauge(label: "shadowgate_pairs_db_connected")

    func rows(_ kind: PairLogRowKind) -> Rows { kind == .pairs ? pairs : labels }
}
