import Foundation
import LibPQ
import Logging
import ShadowGateCore

/// Walks routes from `shadow` to `promoted` while their gates pass, and rolls them back when a
/// hard gate fails (see ``PromotionDecider`` for the state machine).
///
/// Promises:
/// - Exactly one replica acts: the one holding the PostgreSQL advisory lock
///   (``lockClassID``, ``lockObjectID``) on its controller connection. Every replica runs a
///   controller; the others retry the lock every second, so when the holder dies (its session
///   ends and the lock with it) another takes over within about a second plus one evaluation.
/// - Each evaluation reads `shadowgate.compare_window()` over the route's window and the learner's
///   latest model version, decides, and writes `shadowgate.rollout_state` (what `rollout status`
///   shows). A flag change goes through `set_flags()` with the revision it read, so a person's
///   change made meanwhile wins and the controller decides again on the next round.
/// - What it remembers (passing since, last rollback) lives in `rollout_state`, so a replica that
///   takes over continues where the last one stopped.
/// - A database failure drops the connection and the lock; it reconnects with backoff.
public final class PromotionController: Sendable {
    public static let lockClassID: Int32 = 7315
    public static let lockObjectID: Int32 = 1

    private let connectionString: String
    private let routes: [RouteConfig]
    /// Written as the actor of its decisions and as its connection's application_name.
    public let identity: String
    private let logger: Logger
    private let metrics = PromotionMetrics()
    private let thread = BackgroundThread(name: "shadowgate-controller")

    /// - Parameter routes: every configured route; those without an enabled `promotion` are left alone.
    public init(connectionString: String, routes: [RouteConfig], identity: String, logger: Logger) {
        self.connectionString = connectionString
        self.routes = routes.filter { $0.promotion?.enabled == true }
        self.identity = identity
        self.logger = logger
    }

    /// Whether any route has promotion enabled (no thread is started otherwise).
    public var hasWork: Bool { !routes.isEmpty }

    public func start() {
        guard hasWork else { return }
        metrics.leader.record(0)
        thread.start { [self] thread in run(thread) }
    }

    /// Stops evaluating and releases the lock (by closing the session).
    public func stop() {
        thread.stop()
    }

    private func run(_ thread: BackgroundThread) {
        var connection: PGConnection?
        var leader = false
        var backoff = Duration.milliseconds(250)
        var due: [String: ContinuousClock.Instant] = [:]
        // Fenced leadership (Leadership.swift): lock + epoch, confirmed every second, own deadline.
        var leadership = Leadership(role: "promotion", lockClassID: Self.lockClassID, lockObjectID: Self.lockObjectID,
                                    identity: identity, logger: logger)
        while !thread.isStopping {
            do {
                if connection == nil {
                    connection = try PGConnection(connectionString: connectionString, applicationName: identity)
                }
                guard let connection else { continue }
                let wasLeader = leader
                leader = try leadership.mayAct(on: connection) != nil
                if leader, !wasLeader {
                    logger.notice("this replica now runs the promotion controller", metadata: ["identity": "\(identity)"])
                    metrics.leader.record(1)
                    due = [:]
                }
                backoff = .milliseconds(250)
                guard leader else {
                    thread.sleep(.seconds(1))
                    continue
                }
                let now = ContinuousClock.now
                for route in routes where due[route.name].map({ $0 <= now }) ?? true {
                    guard let policy = route.promotion else { continue }
                    guard try leadership.mayAct(on: connection) != nil else { break }
                    due[route.name] = now + policy.evaluateEvery
                    try evaluate(route: route.name, policy: policy, on: connection)
                }
                let next = min(due.values.min() ?? now + .seconds(1), ContinuousClock.now + .seconds(1))
                thread.sleep(max(.milliseconds(10), next - ContinuousClock.now))
            } catch {
                leadership.connectionLost()
                logger.warning("promotion controller lost PostgreSQL; releasing control and reconnecting", metadata: ["error": "\(error)"])
                connection?.close()
                connection = nil
                if leader { metrics.leader.record(0) }
                leader = false
                thread.sleep(backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        connection?.close()
        if leader { metrics.leader.record(0) }
    }

    /// One evaluation and decision for one route. Throws only for database failures.
    func evaluate(route: String, policy: PromotionPolicy, on connection: PGConnection) throws {
        let store = FlagStore(connection: connection)
        let windowText = "\(Int64((policy.window.seconds * 1000).rounded())) milliseconds"
        guard let record = try store.get(route: route) else {
            logger.warning("promotion controller: route has no flags row yet", metadata: ["route": "\(route)"])
            return
        }
        let compare = try connection.execute(
            """
            SELECT c.*, shadowgate.learner_version($1, $2::interval) AS learner_version,
                   extract(epoch FROM clock_timestamp()) AS now,
                   extract(epoch FROM s.passing_since) AS passing_since, extract(epoch FROM s.rolled_back_at) AS rolled_back_at,
                   (SELECT e.action FROM shadowgate.rollout_events e WHERE e.route = $1 ORDER BY e.id DESC LIMIT 1) AS last_action
            FROM shadowgate.compare_window($1, now() - $2::interval, 'infinity') c
            LEFT JOIN shadowgate.rollout_state s ON s.route = $1
            """, [route, windowText])
        var text: [String: String?] = [:]
        for column in compare.columns { text[column] = compare.value(column) }
        let report = ComparisonReport(route: route, since: policy.window.configText, text: text)
        let learnerVersion = compare.value("learner_version")
        let now = compare.value("now").flatMap(Double.init) ?? Date().timeIntervalSince1970
        let memory = RolloutMemory(
            passingSince: compare.value("passing_since").flatMap(Double.init),
            rolledBackAt: compare.value("rolled_back_at").flatMap(Double.init))
        let evaluation = PromotionEvaluation(policy: policy, metrics: report.values)
        let snapshot = FlagsSnapshot(
            flags: record.flags, revision: record.revision, changedAt: record.updatedAt,
            changedByController: record.changedByController,
            rolledBackByPerson: compare.value("last_action") == RolloutAction.rollback.rawValue)
        var decision = PromotionDecider.decide(policy: policy, current: snapshot, evaluation: evaluation, memory: memory, now: now)
        let metricsJSON = evaluation.metricsJSON(report)

        if let target = decision.target {
            let action: RolloutAction = decision.kind == .rollback ? .autoRollback : .advance
            let change = FlagStore.Change(
                mode: target.mode, canaryPercent: target.canaryPercent, actor: identity, action: action,
                reason: decision.reason, window: policy.window, metricsJSON: metricsJSON,
                learnerVersion: learnerVersion, expectedRevision: record.revision)
            switch Result(catching: { () throws(FlagStoreError) in try store.change(route: route, change) }) {
            case .success(let applied):
                logger.notice("promotion controller changed flags", metadata: [
                    "route": "\(route)", "decision": "\(decision.kind.rawValue)",
                    "to": "\(applied.flags.mode.rawValue) \(applied.flags.canaryPercent.formattedShortPercent)",
                    "reason": "\(decision.reason)", "learner_version": "\(learnerVersion ?? "unknown")",
                ])
            case .failure(let error) where error.kind == .conflict:
                logger.info("flags changed meanwhile; deciding again next round", metadata: ["route": "\(route)"])
                decision = PromotionDecision(kind: .hold, target: nil, reason: "flags changed meanwhile; deciding again", memory: memory)
            case .failure(let error):
                throw error
            }
        } else {
            logger.debug("promotion controller holds", metadata: ["route": "\(route)", "reason": "\(decision.reason)"])
        }
        try connection.execute(
            """
            INSERT INTO shadowgate.rollout_state AS s (route, evaluated_at, outcome, decision, reason, passing_since,
                rolled_back_at, learner_version, gates, metrics, controller)
            VALUES ($1, to_timestamp($2::float8), $3, $4, $5, to_timestamp($6::float8), to_timestamp($7::float8), $8,
                    $9::jsonb, $10::jsonb, $11)
            ON CONFLICT (route) DO UPDATE SET evaluated_at = EXCLUDED.evaluated_at, outcome = EXCLUDED.outcome,
                decision = EXCLUDED.decision, reason = EXCLUDED.reason, passing_since = EXCLUDED.passing_since,
                rolled_back_at = EXCLUDED.rolled_back_at, learner_version = EXCLUDED.learner_version,
                gates = EXCLUDED.gates, metrics = EXCLUDED.metrics, controller = EXCLUDED.controller
            """,
            [route, String(now), evaluation.outcome.rawValue, decision.kind.rawValue, decision.reason,
             decision.memory.passingSince.map { String($0) }, decision.memory.rolledBackAt.map { String($0) },
             learnerVersion, evaluation.gatesJSON, metricsJSON, identity])
        metrics.record(route: route, evaluation: evaluation, decision: decision.kind)
    }
}
