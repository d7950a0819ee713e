import Foundation
import LibPQ

/// One libpq connection owned by one thread, for async callers (the admin API).
///
/// Promises: ``run(_:)`` never blocks its caller's thread — the job runs on the connection's own
/// thread (a one-thread ``BlockingExecutor``), in submission order, one at a time. The connection
/// is made on first use and made again after a connection problem; a job that fails because of
/// one is not retried (the caller sees the error). After ``shutdown()``, queued jobs still run and
/// new ones fail at once.
public final class SerialDatabase: @unchecked Sendable {
    private let connectionString: String
    private let applicationName: String
    private let executor: BlockingExecutor
    /// Owned by the executor's thread.
    private var connection: PGConnection?

    public init(connectionString: String, applicationName: String) {
        self.connectionString = connectionString
        self.applicationName = applicationName
        self.executor = BlockingExecutor(name: "shadowgate-\(applicationName)")
    }

    /// Runs `body` with the connection on the database thread and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = executor.execute { [self] in
                continuation.resume(with: Result { try withConnection(body) })
            }
            if !accepted {
                continuation.resume(throwing: PGError(.connectionClosed, message: "the database session is shut down"))
            }
        }
    }

    /// Lets queued jobs finish, then closes the connection.
    public func shutdown() {
        executor.execute { [self] in
            connection?.close()
            connection = nil
        }
        executor.shutdown()
    }

    private func withConnection<T>(_ body: (PGConnection) throws -> T) throws -> T {
        if connection == nil || connection?.isHealthy == false {
            connection?.close()
            connection = nil
            connection = try PGConnection(connectionString: connectionString, applicationName: applicationName)
        }
        defer {
            if connection?.isHealthy == false {
                connection?.close()
                connection = nil
            }
        }
        return try body(connection!)
    }
}
