import LibPQ

/// The direct PostgreSQL session flags (LISTEN/NOTIFY), the promotion controller's lock and its
/// leadership use — as opposed to `database.url`, which the pair and label writers may reach
/// through a transaction-mode pooler.
public enum ControlConnection {
    /// libpq keywords added to a control connection string unless it sets them itself: a dead
    /// peer is noticed by this side within ~10 s (keepalive probes after 5 s idle, every 2 s,
    /// 3 lost; unacknowledged data for 10 s), and a connect attempt gives up after 5 s.
    public static let defaults: [String: String] = [
        "keepalives": "1", "keepalives_idle": "5", "keepalives_interval": "2", "keepalives_count": "3",
        "tcp_user_timeout": "10000", "connect_timeout": "5",
    ]

    /// `url` with ``defaults`` added where it does not set them; `tighter` (e.g.
    /// ``FlagWatcher/connectionDefaults``) replaces some of ``defaults`` for one kind of connection,
    /// still only where `url` does not set them.
    public static func connectionString(_ url: String, tighter: [String: String] = [:]) throws -> String {
        try PGConnectionString.addingDefaults(url, defaults.merging(tighter) { $1 })
    }
}
