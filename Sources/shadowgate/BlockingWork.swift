import Foundation
import LibPQ

/// The command line's blocking work (libpq, pg_ctl, migrations, the writer benchmark), kept off
/// the cooperative pool. Two threads: the commands run their steps one after another, and a
/// second thread keeps a slow step (pg_ctl stop) from holding up a quick one.
let blockingWork = BlockingExecutor(name: "shadowgate-blocking", threads: 2)

/// Opens a connection on ``blockingWork``, runs `body` with it there, and closes it.
/// `connectFailure` turns a failure to connect into the error the command reports.
func withDatabase<T: Sendable>(
    url: String, applicationName: String,
    connectFailure: @escaping @Sendable (any Error) -> any Error = { $0 },
    _ body: @escaping @Sendable (PGConnection) throws -> T
) async throws -> T {
    try await blockingWork.run {
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
