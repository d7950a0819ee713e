import LibPQ
import ShadowGateConfig
import ShadowGatePromotion
import ShadowGateRouting

/// Reads and changes `shadowgate.flags` over one libpq connection.
///
/// Every change goes through `shadowgate.set_flags()`, which updates the row, writes its
/// `rollout_events` row (who, when, from, to, why, the metrics and the learner's version) and
/// wakes every gateway's ``FlagWatcher`` in one transaction: a change is either applied and
/// audited, or neither. Blocking: call it from a dedicated thread, never an event loop.
public struct FlagStore: Sendable {
    public let connection: PGConnection

    public init(connection: PGConnection) {
        self.connection = connection
    }

    static let columns = """
        route, mode, canary_percent, shadow_percent, revision, extract(epoch FROM updated_at), updated_by, reason
        """

    /// Every route's flags, by route name.
    public func all() throws(FlagStoreError) -> [FlagRecord] {
        do {
            return try connection.execute("SELECT \(Self.columns) FROM shadowgate.flags ORDER BY route").rows.compactMap(Self.record)
        } catch {
            throw FlagStoreError(.database, "the flags could not be read: \(error)", underlying: error as? PGError)
        }
    }

    /// One route's flags; `nil` when the route has no row.
    public func get(route: String) throws(FlagStoreError) -> FlagRecord? {
        do {
            return try connection.execute("SELECT \(Self.columns) FROM shadowgate.flags WHERE route = $1", [route]).rows.first.flatMap(Self.record)
        } catch {
            throw FlagStoreError(.database, "the flags of route '\(route)' could not be read: \(error)", underlying: error as? PGError)
        }
    }

    /// Writes each route's config-file flags unless the route already has a row (the database
    /// wins, so a restart never undoes a rollout). Returns the routes it seeded.
    @discardableResult
    public func seed(_ routes: [RouteConfig]) throws(FlagStoreError) -> [String] {
        var seeded: [String] = []
        for route in routes {
            let flags = route.initialFlags
            do {
                let result = try connection.execute(
                    "SELECT shadowgate.seed_flags($1, $2, $3::float8, $4::float8)",
                    [route.name, flags.mode.rawValue, String(flags.canaryPercent), String(flags.shadowPercent)])
                if result.scalar == "t" { seeded.append(route.name) }
            } catch {
                throw FlagStoreError(.database, "the flags of route '\(route.name)' could not be seeded: \(error)", underlying: error as? PGError)
            }
        }
        return seeded
    }

    /// One change of a route's flags and everything its audit row records.
    public struct Change: Sendable {
        public var mode: RouteMode
        public var canaryPercent: Double
        public var actor: String
        public var action: RolloutAction
        public var reason: String
        /// The comparison window recorded with the change when `metricsJSON` is `nil`.
        public var window: Duration
        /// The metrics to record (the controller passes the ones it decided on); `nil` records `compare()` over `window`.
        public var metricsJSON: String?
        public var learnerVersion: String?
        /// Refuse the change (``FlagStoreError/Kind/conflict``) unless the row is still at this revision.
        public var expectedRevision: Int64?

        public init(
            mode: RouteMode, canaryPercent: Double, actor: String, action: RolloutAction, reason: String,
            window: Duration = .seconds(3600), metricsJSON: String? = nil, learnerVersion: String? = nil,
            expectedRevision: Int64? = nil
        ) {
            self.mode = mode
            self.canaryPercent = canaryPercent
            self.actor = actor
            self.action = action
            self.reason = reason
            self.window = window
            self.metricsJSON = metricsJSON
            self.learnerVersion = learnerVersion
            self.expectedRevision = expectedRevision
        }
    }

    /// Applies and audits a change; returns the new flags.
    public func change(route: String, _ change: Change) throws(FlagStoreError) -> FlagRecord {
        guard change.canaryPercent.isFinite, (0...100).contains(change.canaryPercent) else {
            throw FlagStoreError(.invalidValue, "canary_percent must be between 0 and 100, got \(change.canaryPercent)")
        }
        do {
            let result = try connection.execute(
                """
                SELECT \(Self.columns) FROM shadowgate.set_flags($1, $2, $3::float8, $4, $5, $6, $7::interval, $8::jsonb, $9, $10::bigint)
                """,
                [route, change.mode.rawValue, String(change.canaryPercent), change.actor, change.action.rawValue, change.reason,
                 "\(Int64((change.window.seconds * 1000).rounded())) milliseconds", change.metricsJSON, change.learnerVersion,
                 change.expectedRevision.map(String.init)])
            guard let record = result.rows.first.flatMap(Self.record) else {
                throw FlagStoreError(.database, "set_flags returned no row for route '\(route)'")
            }
            return record
        } catch let error as PGError {
            throw FlagStoreError(error, route: route)
        } catch let error as FlagStoreError {
            throw error
        } catch {
            throw FlagStoreError(.database, "the flags of route '\(route)' could not be changed: \(error)")
        }
    }

    static func record(_ row: [String?]) -> FlagRecord? {
        guard row.count == 8, let route = row[0], let modeText = row[1], let mode = RouteMode(rawValue: modeText),
              let canary = row[2].flatMap(Double.init), let shadow = row[3].flatMap(Double.init),
              let revision = row[4].flatMap(Int64.init), let updatedAt = row[5].flatMap(Double.init)
        else { return nil }
        return FlagRecord(
            route: route, flags: RouteFlags(mode: mode, canaryPercent: canary, shadowPercent: shadow),
            revision: revision, updatedAt: updatedAt, updatedBy: row[6] ?? "", reason: row[7] ?? "")
    }
}
