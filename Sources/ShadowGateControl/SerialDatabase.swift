import Foundation
import LibPQ

/// One libpq connection owned by one thread, for async callers (the admin API).
///
/// Promises: ``run(_:)`` never blocks its caller's thread — the job runs on the connection's own
/// thread, in submission order, one at a time. The connection is made on first use and made again
/// after a connection problem; a job that fails because of one is not retried (the caller sees
/// the error). After ``shutdown()``, queued jobs still run and new ones fail at once.
public final class SerialDatabase: @unchecked Sendable {
    private struct Job {
        var body: (PGConnection) -> Void
        var fail: (any Error) -> Void
    }

    private let connectionString: String
    private let applicationName: String
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var stopping = false
    private var started = false
    /// Owned by the worker thread.
    private var connection: PGConnection?

    public init(connectionString: String, applicationName: String) {
        self.connectionString = connectionString
        self.applicationName = applicationName
    }

    /// Runs `body` with the connection on the database thread and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let job = Job(
                body: { connection in continuation.resume(with: Result { try body(connection) }) },
                fail: { continuation.resume(throwing: $0) })
            condition.lock()
            if stopping {
                condition.unlock()
                job.fail(PGError(.connectionClosed, message: "the database session is shut down"))
                return
            }
            jobs.append(job)
            if !started {
                started = true
                let thread = Thread { [self] in work() }
                thread.name = "shadowgate-\(applicationName)"
                thread.start()
            }
            condition.signal()
            condition.unlock()
        }
    }

    /// Lets queued jobs finish, then closes the connection.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty, !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                connection?.close()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            do {
                if connection == nil || connection?.isHealthy == false {
                    connection?.close()
                    connection = try PGConnection(connectionString: connectionString, applicationName: applicationName)
                }
                job.body(connection!)
                if connection?.isHealthy == false {
                    connection?.close()
                    connection = nil
                }
            } catch {
                job.fail(error)
            }
        }
    }
}
