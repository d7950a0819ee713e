import Foundation
import LibPQ

/// Start-up check that a control connection is a real session: it receives NOTIFY sent to a
/// channel it LISTENs on, and an advisory lock it takes stays its own (another connection can
/// neither take it nor share it). Behind PgBouncer in transaction mode both fail: the listening
/// server connection goes back to the pool, and a later statement (or another client) runs on
/// whichever server connection is free.
///
/// Promises: blocking (run it off the event loops); leaves no lock, no LISTEN and no connection
/// behind; throws ``ControlSessionCheck/Failure`` with a sentence saying what failed and what to
/// do, or the connection's own error when PostgreSQL cannot be reached.
public struct ControlSessionCheck: Sendable {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The connection string checked (already with ``ControlConnection/defaults``).
    public var connectionString: String
    /// What the connection is called in the sentence (`database.control_url`).
    public var name: String
    public var notificationTimeout: Duration = .seconds(2)

    public init(connectionString: String, name: String) {
        self.connectionString = connectionString
        self.name = name
    }

    public func run() throws {
        let listener = try PGConnection(connectionString: connectionString, applicationName: "shadowgate-control-check")
        defer { listener.close() }
        let other = try PGConnection(connectionString: connectionString, applicationName: "shadowgate-control-check")
        defer { other.close() }
        let token = String(UInt32.random(in: 1...UInt32.max))
        let channel = "shadowgate_control_check_\(token)"
        let pooled = "it looks like a connection pooler in transaction mode (PgBouncer pool_mode=transaction)."
            + " Point \(name) at PostgreSQL itself or at a session-mode pool; database.url may stay on the pooler"

        try listener.listen(channel)
        try other.notify(channel, payload: token)
        let deadline = ContinuousClock.now + notificationTimeout
        var heard = false
        while !heard, ContinuousClock.now < deadline {
            heard = try listener.waitForNotifications(timeout: .milliseconds(100)).contains { $0.channel == channel }
        }
        _ = try? listener.unlisten(channel)
        guard heard else {
            throw Failure(description: "\(name) cannot be used for flags and leadership: a NOTIFY on a channel it LISTENs on did not arrive within \(notificationTimeout.seconds) s; \(pooled)")
        }

        // An advisory lock held by `listener`'s session must be refused to `other`. Through a
        // transaction pooler `other` often gets the very server connection that took it and is
        // granted it again (locks are re-entrant per session) — or the lock is gone altogether.
        let key = [String(Int32.random(in: 1...Int32.max)), "31337"]
        let taken = try listener.execute("SELECT pg_try_advisory_lock($1::int, $2::int)", key).scalar == "t"
        let takenByOther = try other.execute("SELECT pg_try_advisory_lock($1::int, $2::int)", key).scalar == "t"
        let stillHeld = try listener.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::int::oid AND objid = $2::int::oid AND pid = pg_backend_pid()",
            key).scalar == "1"
        _ = try? other.execute("SELECT pg_advisory_unlock_all()")
        _ = try? listener.execute("SELECT pg_advisory_unlock_all()")
        guard taken, !takenByOther, stillHeld else {
            throw Failure(description: "\(name) cannot be used for flags and leadership: an advisory lock taken on it was not kept by its session; \(pooled)")
        }
    }
}
