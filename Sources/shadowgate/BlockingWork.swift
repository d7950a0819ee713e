import Foundation
import LibPQ

/// Runs blocking work (libpq, pg_ctl) on a thread of its own, keeping the cooperative pool free.
func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// Opens a connection on a thread of its own, runs `body` with it there, and closes it.
/// `connectFailure` turns a failure to connect into the error the command reports.
func withDatabase<T: Sendable>(
    url: String, applicationName: String,
    connectFailure: @escaping @Sendable (any Error) -> any Error = { $0 },
    _ body: @escaping @Sendable (PGConnection) throws -> T
) async throws -> T {
    try await onDedicatedThread {
        let connection: PGConnection
        do {
            connection = try PGConnection(connectionString: url, applicationName: applicationName)
        } catch {
            throw connectFailure(error)
        }
        defer { connection.close() }
        return try body(connection)
    }
}

/// A fresh directory under the system's temporary directory.
enum FileManagerTemporary {
    static func directory(prefix: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
