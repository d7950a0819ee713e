import Foundation
import LibPQ
import Logging
import ShadowGatePairRecord

/// Takes feedback labels for `shadowgate.labels`: looks up each label's pair on a dedicated
/// thread, then hands the label to the ``PairLogWriter``, which writes it in its batched COPYs
/// (or spools it while PostgreSQL is down).
///
/// Promises:
/// - ``store(_:completion:)`` only enqueues; one thread of its own (a one-thread
///   ``BlockingExecutor``, never an event loop or the cooperative pool) runs the blocking libpq
///   lookup, a read-only query, one per call.
/// - It completes with one ``StoredFeedback`` per item whose request id matched a pair (with the
///   pair's route and captured features); items of unknown ids are left out, not stored.
/// - Matched labels are stamped with strictly increasing receive times, so of two labels for the
///   same (request id, row) the one given later wins — also within one call.
/// - Failures complete the call with an error and nothing is stored: the lookup failing (the
///   connection is dropped and made again for the next call), or the writer refusing a label
///   (queue full or shut down: ``PairLogError/Code/writerStopped``). A label the writer accepted
///   is written, or spooled and replayed, even if a later one of the same call was refused.
public final class LabelStore: FeedbackStore, @unchecked Sendable {
    private let connectionString: String
    private let writer: PairLogWriter
    private let logger: Logger
    private let executor = BlockingExecutor(name: "shadowgate-labels")
    /// Owned by the executor's thread.
    private var connection: PGConnection?
    private var lastStampMicros: Int64 = 0

    /// The newest pair of each id (a retried request id may have been logged twice).
    static let lookupSQL = """
        SELECT DISTINCT ON (request_id) request_id, route, features::text, holdout
        FROM shadowgate.pairs WHERE request_id = ANY($1::text[])
        ORDER BY request_id, received_at DESC
        """

    /// - Parameters:
    ///   - connectionString: the database holding `shadowgate.pairs` (read only).
    ///   - writer: the pair writer that stores the labels; it must be started by its owner.
    public init(connectionString: String, writer: PairLogWriter, logger: Logger = Logger(label: "shadowgate.labels")) {
        self.connectionString = connectionString
        self.writer = writer
        self.logger = logger
    }

    public func store(_ items: [FeedbackItem], completion: @escaping @Sendable (Result<[StoredFeedback], any Error>) -> Void) {
        let accepted = executor.execute { [self] in completion(Result { try execute(items) }) }
        if !accepted { completion(.failure(PairLogError(.writerStopped, "the label store is shut down"))) }
    }

    /// Finishes the queued calls, then ends the thread.
    public func shutdown() {
        executor.execute { [self] in
            connection?.close()
            connection = nil
        }
        executor.shutdown()
    }

    private func execute(_ items: [FeedbackItem]) throws -> [StoredFeedback] {
        let pairs = try lookUp(Array(Set(items.map(\.requestID))))
        var stored: [StoredFeedback] = []
        for item in items {
            guard let pair = pairs[item.requestID] else { continue }
            let label = LabelRecord(requestID: item.requestID, rowIndex: item.rowIndex ?? 0, route: pair.route,
                                    label: item.labelText, receivedAtMicros: nextStamp())
            guard writer.submit(label: label) else {
                throw PairLogError(.writerStopped, "the pair-log writer refused the label for \(item.requestID) (queue full or shut down)")
            }
            var feedback = StoredFeedback(item: item, route: pair.route, features: pair.features)
            feedback.holdout = pair.holdout
            stored.append(feedback)
        }
        return stored
    }

    private func lookUp(_ ids: [String]) throws -> [String: (route: String, features: String?, holdout: Bool)] {
        do {
            let conn = try connection ?? PGConnection(connectionString: connectionString, applicationName: "shadowgate-labels")
            connection = conn
            let result = try conn.execute(Self.lookupSQL, [PGArrayLiteral.text(ids)])
            var pairs: [String: (route: String, features: String?, holdout: Bool)] = [:]
            for row in result.rows where row.count == 4 {
                if let id = row[0], let route = row[1] { pairs[id] = (route, row[2], row[3] == "t") }
            }
            return pairs
        } catch {
            connection?.close()
            connection = nil
            logger.warning("looking up the pairs of labels failed: \(error)")
            throw error
        }
    }

    /// Now in µs, but always after the previous stamp.
    private func nextStamp() -> Int64 {
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        lastStampMicros = max(now, lastStampMicros + 1)
        return lastStampMicros
    }
}

/// PostgreSQL array literals for text parameters (`{"a","b"}`), so a batch is one parameter.
enum PGArrayLiteral {
    static func text(_ values: [String]) -> String {
        var out = "{"
        for (i, value) in values.enumerated() {
            if i > 0 { out += "," }
            out += "\""
            for ch in value.unicodeScalars {
                if ch == "\"" || ch == "\\" { out += "\\" }
                out.unicodeScalars.append(ch)
            }
            out += "\""
        }
        return out + "}"
    }
}
