import Foundation
import LibPQ
import ShadowGateTesting

/// Polls `condition` every 20 ms until it holds or `seconds` pass; returns the elapsed time when it held.
func eventually(within seconds: Double, _ condition: () async throws -> Bool) async throws -> Duration? {
    let start = ContinuousClock.now
    while ContinuousClock.now - start < .milliseconds(Int64(seconds * 1000)) {
        if try await condition() { return ContinuousClock.now - start }
        try await Task.sleep(for: .milliseconds(20))
    }
    return nil
}

/// One SQL query's rows, on a short-lived connection.
func query(_ database: String, _ sql: String, _ params: [String?] = []) throws -> [[String?]] {
    let connection = try PGConnection(connectionString: database)
    defer { connection.close() }
    return try connection.execute(sql, params).rows
}

/// `query` on a thread of its own, for async tests: libpq blocks, and the cooperative pool has only
/// two threads on a 2-core machine to share with every test running in parallel.
func query(_ database: String, _ sql: String, _ params: [String?] = []) async throws -> [[String?]] {
    try await onThread { try query(database, sql, params) }
}

/// The application name of the session holding the promotion controller lock, if any.
func controllerHolder(_ database: String) throws -> String? {
    try query(database, """
        SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 7315 AND l.objid = 1 AND l.objsubid = 2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """).first?.first ?? nil
}

/// The model that served one inference request, by `x-shadowgate-served-by`.
func servedBy(_ client: TestHTTPClient, route: String, user: String, body: String = #"{"instances":[[1,2]]}"#) async throws -> String? {
    try await client.send(.POST, "/v1/models/\(route):predict", headers: [("x-user-id", user)], body: body).header("x-shadowgate-served-by")
}
