import CLibPQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension PGConnection {
    /// Starts listening on `channel`. The name is quoted as an identifier, so it is used exactly
    /// as given (case-sensitive); ShadowGate's channels are lower case.
    public func listen(_ channel: String) throws {
        try execute("LISTEN " + Self.quoteIdentifier(channel))
    }

    /// Stops listening on `channel`.
    public func unlisten(_ channel: String) throws {
        try execute("UNLISTEN " + Self.quoteIdentifier(channel))
    }

    /// Sends a notification (`pg_notify`, parameterised).
    public func notify(_ channel: String, payload: String = "") throws {
        try execute("SELECT pg_notify($1, $2)", [channel, payload])
    }

    /// Waits up to `timeout` for notifications on the channels this connection listens to and
    /// returns those that arrived (possibly none). Returns at once when some are already buffered.
    ///
    /// Blocks the calling thread in `poll()` on the connection's socket.
    /// - Throws: ``PGError`` `.socket` when `poll` fails, `.connectionClosed` when the connection broke.
    public func waitForNotifications(timeout: Duration) throws -> [PGNotification] {
        let conn = try live(nil)
        var out = collectNotifications(conn)
        if !out.isEmpty { return out }
        let (sec, atto) = timeout.components
        let ms = max(0, Int32(clamping: sec * 1000 + atto / 1_000_000_000_000_000))
        let fd = PQsocket(conn)
        guard fd >= 0 else { throw connectionError(sql: nil) }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let rc = poll(&pfd, 1, ms)
        if rc < 0 {
            if errno == EINTR { return [] }
            throw PGError(.socket, message: "poll() on the PostgreSQL socket failed with errno \(errno)")
        }
        if rc == 0 { return [] }
        if PQconsumeInput(conn) != 1 { throw connectionError(sql: nil) }
        out = collectNotifications(conn)
        return out
    }

    private func collectNotifications(_ conn: OpaquePointer) -> [PGNotification] {
        var out: [PGNotification] = []
        while let n = PQnotifies(conn) {
            let v = n.pointee
            out.append(PGNotification(channel: String(cString: v.relname), payload: String(cString: v.extra), senderPID: v.be_pid))
            PQfreemem(n)
        }
        return out
    }

    /// `"name"` with embedded quotes doubled: a safe SQL identifier for any string.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacing("\"", with: "\"\"") + "\""
    }
}
