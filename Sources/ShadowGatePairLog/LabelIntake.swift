import Foundation
import ShadowGateConfig
import ShadowGatePairRecord
import Synchronization

/// Takes feedback labels for `shadowgate.labels` and hands them straight to the
/// ``PairLogWriter``, which writes them in its batched COPYs (or spools them while PostgreSQL is
/// down). Nothing is looked up: a label may arrive before its prediction is logged, and the
/// deliverer joins the two later.
///
/// Promises:
/// - ``accept(_:)`` never blocks beyond the writer's queue lock and never touches the database,
///   so a database failure cannot reach the client on this path.
/// - Labels are stamped with strictly increasing receive times, so of two labels for the same
///   (request id, row) the one given later wins — also within one call.
/// - It returns how many labels (a prefix of the call's) the writer took; it stops at the first
///   refusal (queue full or shut down, counted by the writer as `dropped{reason="queue_full"}`).
public final class LabelIntake: FeedbackStore {
    private let writer: PairLogWriter
    private let lastStampMicros = Mutex<Int64>(0)

    /// - Parameter writer: the pair writer that stores the labels; it must be started by its owner.
    public init(writer: PairLogWriter) {
        self.writer = writer
    }

    public func accept(_ items: [FeedbackItem]) -> Int {
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let first = lastStampMicros.withLock { last in
            let first = max(now, last + 1)
            last = first + Int64(items.count) - 1
            return first
        }
        for (offset, item) in items.enumerated() {
            let label = LabelRecord(requestID: item.requestID, rowIndex: item.rowIndex ?? 0, route: nil,
                                    label: item.labelText, receivedAtMicros: first + Int64(offset))
            guard writer.submit(label: label) else { return offset }
        }
        return items.count
    }
}
