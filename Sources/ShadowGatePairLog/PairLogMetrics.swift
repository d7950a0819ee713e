import Metrics

/// The pair writer's swift-metrics instruments (names are the Prometheus names).
struct PairLogMetrics: Sendable {
    let queued = Counter(label: "shadowgate_pairs_queued_total")
    let written = Counter(label: "shadowgate_pairs_written_total")
    let spooled = Counter(label: "shadowgate_pairs_spooled_total")
    let replayed = Counter(label: "shadowgate_pairs_replayed_total")
    let droppedQueueFull = Counter(label: "shadowgate_pairs_dropped_total", dimensions: [("reason", "queue_full")])
    let droppedSpoolFull = Counter(label: "shadowgate_pairs_dropped_total", dimensions: [("reason", "spool_full")])
    let rejected = Counter(label: "shadowgate_pairs_dropped_total", dimensions: [("reason", "rejected")])
    let batchRows = Recorder(label: "shadowgate_pairs_batch_rows", aggregate: true)
    let copyDuration = Metrics.Timer(label: "shadowgate_pairs_copy_duration_seconds", preferredDisplayUnit: .seconds)
    let queueDepth = Gauge(label: "shadowgate_pairs_queue_depth")
    let spoolBytes = Gauge(label: "shadowgate_pairs_spool_bytes")
    let connected = Gauge(label: "shadowgate_pairs_db_connected")
}
