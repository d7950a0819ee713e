import Foundation
import LibPQ
import Logging
import ShadowGateCore

/// Stores feedback labels in `shadowgate.labels`, joined to their pairs, on a dedicated thread.
///
/// Promises: ``store(_:completion:)`` only enqueues; one thread of its own (never an event loop or
/// the cooperative pool) runs the blocking libpq calls, one statement per call, and completes with
/// the labels whose `request_id` matched a pair (route and features included). A label for an id
/// that already has one replaces it (the latest truth wins). A database error completes the call
/// with that error and drops the connection, which is made again for the next call.
public final class LabelStore: FeedbackStore, @unchecked Sendable {
    private struct Job {
        var items: [FeedbackItem]
        var completion: @Sendable (Result<[StoredFeedback], any Error>) -> Void
    }

    private let connectionString: String
    private let logger: Logger
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var stopping = false
    private var thread: Thread?
    /// Owned by the worker thread.
    private var connection: PGConnection?

    static let upsertSQL = """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(request_id, label, n)
        ), matched AS (
            SELECT DISTINCT ON (i.request_id) i.request_id, i.label, p.route, p.features
            FROM input i JOIN shadowgate.pairs p ON p.request_id = i.request_id
            ORDER BY i.request_id, i.n DESC
        ), stored AS (
            INSERT INTO shadowgate.labels (request_id, route, label, label_value)
            SELECT request_id, route, label, shadowgate.parse_float(label) FROM matched
            ON CONFLICT (request_id) DO UPDATE
                SET label = EXCLUDED.label, label_value = EXCLUDED.label_value, route = EXCLUDED.route, received_at = now()
            RETURNING request_id
        )
        SELECT m.request_id, m.route, m.features::text FROM matched m JOIN stored s USING (request_id)
        """

    public init(connectionString: String, logger: Logger = Logger(label: "shadowgate.labels")) {
        self.connectionString = connectionString
        self.logger = logger
    }

    public func store(_ items: [FeedbackItem], completion: @escaping @Sendable (Result<[StoredFeedback], any Error>) -> Void) {
        condition.lock()
        if thread == nil, !stopping {
            let worker = Thread { [self] in run() }
            worker.name = "shadowgate-labels"
            thread = worker
            worker.start()
        }
        let accepted = !stopping
        if accepted {
            jobs.append(Job(items: items, completion: completion))
            condition.signal()
        }
        condition.unlock()
        if !accepted { completion(.failure(PairLogError(.writerStopped, "the label store is shut down"))) }
    }

    /// Finishes the queued calls, then ends the thread.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty, !stopping { condition.wait() }
            if jobs.isEmpty, stopping {
                condition.unlock()
                connection?.close()
                connection = nil
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.completion(Result { try execute(job.items) })
        }
    }

    private func execute(_ items: [FeedbackItem]) throws -> [StoredFeedback] {
        do {
            let conn = try connection ?? PGConnection(connectionString: connectionString, applicationName: "shadowgate-labels")
            connection = conn
            let ids = PGArrayLiteral.text(items.map(\.requestID))
            let labels = PGArrayLiteral.text(items.map(\.labelText))
            let result = try conn.execute(Self.upsertSQL, [ids, labels])
            return result.rows.compactMap { row in
                guard row.count == 3, let id = row[0], let route = row[1] else { return nil }
                return StoredFeedback(requestID: id, route: route, features: row[2])
            }
        } catch {
            connection?.close()
            connection = nil
            logger.warning("storing labels failed: \(error)")
            throw error
        }
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
