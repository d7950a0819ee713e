/// Each evidence gate's estimate and confidence bounds over time, from the promotion controller's
/// evaluations (`shadowgate.rollout_evaluations`) and decisions (`rollout_events.metrics.gates`).
public struct GateBoundsHistory: Sendable, Equatable {
    /// One evaluation of one gate.
    public struct Point: Sendable, Equatable {
        /// Seconds since the epoch.
        public var at: Double
        public var estimate: Double?
        public var lower: Double?
        public var upper: Double?
        /// The threshold the bounds were compared with.
        public var threshold: Double?

        public init(at: Double, estimate: Double?, lower: Double?, upper: Double?, threshold: Double?) {
            self.at = at
            self.estimate = estimate
            self.lower = lower
            self.upper = upper
            self.threshold = threshold
        }
    }

    /// Points per gate name (`accuracy_delta_min`, `mae_delta_max`, …), oldest first.
    public var gates: [(name: String, points: [Point])]

    public init(gates: [(name: String, points: [Point])] = []) { self.gates = gates }

    public static func == (a: Self, b: Self) -> Bool {
        a.gates.map(\.name) == b.gates.map(\.name) && a.gates.map(\.points) == b.gates.map(\.points)
    }

    /// The query: `route` $1, window `since` $2; rows (at, gate, value, lower, upper, bound) ordered by gate and time.
    static let sql = """
        SELECT extract(epoch FROM e.at), g->>'gate', (g->>'value')::float8, (g->>'lower')::float8,
               (g->>'upper')::float8, (g->>'bound')::float8
        FROM (SELECT at, gates FROM shadowgate.rollout_evaluations WHERE route = $1 AND at >= now() - $2::interval
              UNION ALL
              SELECT at, metrics->'gates' FROM shadowgate.rollout_events
              WHERE route = $1 AND at >= now() - $2::interval AND jsonb_typeof(metrics->'gates') = 'array') e
        CROSS JOIN LATERAL jsonb_array_elements(e.gates) g
        WHERE g ? 'lower'
        ORDER BY 2, 1
        """

    static func from(rows: [[String?]]) -> Self {
        var gates: [(name: String, points: [Point])] = []
        for row in rows where row.count == 6 {
            guard let at = row[0].flatMap(Double.init), let name = row[1] else { continue }
            let point = Point(at: at, estimate: row[2].flatMap(Double.init), lower: row[3].flatMap(Double.init),
                              upper: row[4].flatMap(Double.init), threshold: row[5].flatMap(Double.init))
            if gates.last?.name == name { gates[gates.count - 1].points.append(point) } else { gates.append((name, [point])) }
        }
        return Self(gates: gates)
    }
}
