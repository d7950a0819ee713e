import Foundation
import LibPQ
import ShadowGateEvidence
import Logging
import ShadowGateConfig
import ShadowGatePromotion
import ShadowGateRouting

/// Walks routes from `shadow` to `promoted` while their gates pass, and rolls them back when a
/// hard gate fails or a change detector alarms (see ``StateMachine``).
///
/// Promises:
/// - Exactly one replica acts: the one holding the PostgreSQL advisory lock
///   (``lockClassID``, ``lockObjectID``) on its controller connection. Every replica runs a
///   controller; the others retry the lock every second, so when the holder dies (its session
///   ends and the lock with it) another takes over within about a second plus one evaluation.
/// - Each evaluation reads the counts since its watermarks (`shadowgate.evidence_counts()`) and
///   `shadowgate.compare_window()` over the route's window, decides with ``StateMachine`` (gates as
///   confidence statements, change detectors), and writes `shadowgate.rollout_state` (what
///   `rollout status` shows, and the machine's state as JSON). A flag change goes through `set_flags()` with the revision it read, so a person's
///   change made meanwhile wins and the controller decides again on the next round.
/// - What it remembers (evidence, detectors, watermarks, passing since, last rollback) lives in
///   `rollout_state`, so a replica that takes over continues where the last one stopped.
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
    private let thread = BlockingExecutor(name: "shadowgate-controller")

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
        thread.execute { [self] in run(thread) }
    }

    /// Stops evaluating and releases the lock (by closing the session).
    public func stop() {
        thread.shutdownAndWait()
    }

    private func run(_ thread: BlockingExecutor) {
        var connection: PGConnection?
        var leader = false
        var backoff = Backoff(initial: .milliseconds(250), maximum: .seconds(5))
        var due: [String: ContinuousClock.Instant] = [:]
        // Fenced leadership (Leadership.swift): lock + epoch, confirmed every second, own deadline.
        var leadership = Leadership(role: "promotion", lockClassID: Self.lockClassID, lockObjectID: Self.lockObjectID,
                                    identity: identity, logger: logger)
        while !thread.isShuttingDown {
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
                backoff.reset()
                guard leader else {
                    thread.sleep(.seconds(1))
                    continue
                }
                let now = ContinuousClock.now
                for route in routes where due[route.name].map({ $0 <= now }) ?? true {
                    guard let policy = route.promotion else { continue }
                    guard try leadership.mayAct(on: connection) != nil else { break }
                    due[route.name] = now + policy.evaluateEvery
                    try evaluate(route: route.name, policy: policy, pairLag: Self.pairLag(for: route), on: connection)
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
                thread.sleep(backoff.next())
            }
        }
        connection?.close()
        if leader { metrics.leader.record(0) }
    }

    /// One evaluation and decision for one route. Throws only for database failures.
    ///
    /// Reads the route's flags, compare() over the window (for gates without evidence), its stored
    /// state machine, and `shadowgate.evidence_counts()` since the state's watermarks (labelled
    /// requests up to now − label_delay, the rest up to now − ``pairLag``); feeds them to
    /// ``StateMachine``, executes its actions, and stores the new state. When the flag change
    /// conflicts with a person's change, the new state is dropped, so the same counts are read again.
    func evaluate(route: String, policy: PromotionPolicy, pairLag: Duration, on connection: PGConnection) throws {
        let store = FlagStore(connection: connection)
        let windowText = "\(Int64((policy.window.seconds * 1000).rounded())) milliseconds"
        guard let record = try store.get(route: route) else {
            logger.warning("promotion controller: route has no flags row yet", metadata: ["route": "\(route)"])
            return
        }
        let compare = try connection.execute(
            """
            SELECT c.*, extract(epoch FROM clock_timestamp()) AS now, s.evidence_state::text AS evidence_state,
                   (SELECT e.action FROM shadowgate.rollout_events e WHERE e.route = $1 ORDER BY e.id DESC LIMIT 1) AS last_action
            FROM shadowgate.compare_window($1, now() - $2::interval, 'infinity') c
            LEFT JOIN shadowgate.rollout_state s ON s.route = $1
            """, [route, windowText])
        var text: [String: String?] = [:]
        for column in compare.columns { text[column] = compare.value(column) }
        let report = ComparisonReport(route: route, since: policy.window.configText, text: text)
        let now = compare.value("now").flatMap(Double.init) ?? Date().timeIntervalSince1970
        let stored = compare.value("evidence_state").flatMap { try? Self.stateDecoder.decode(RouteState.self, from: Data($0.utf8)) }
        let previous = stored ?? RouteState()
        let snapshot = FlagsSnapshot(
            flags: record.flags, revision: record.revision, changedAt: record.updatedAt,
            changedByController: record.changedByController,
            rolledBackByPerson: compare.value("last_action") == RolloutAction.rollback.rawValue)

        // Where this evaluation's counts start: the watermarks, or the flags change that restarts the evidence.
        var labelledFrom = previous.labelledUntil ?? record.updatedAt
        var pairsFrom = previous.pairsUntil ?? record.updatedAt
        if previous.flagsRevision != record.revision,
           previous.isFresh || !record.changedByController || policy.evidenceAcrossSteps == .restart || record.flags.mode == .shadow {
            labelledFrom = max(labelledFrom, record.updatedAt)
            pairsFrom = max(pairsFrom, record.updatedAt)
        }
        let labelledTo = max(labelledFrom, now - policy.labelDelay.seconds)
        let pairsTo = max(pairsFrom, now - pairLag.seconds)
        // `evidence: holdout`: only the legacy holdout's pairs count
        let holdoutOnly = policy.evidenceSource == .holdout ? "true" : "false"
        let counts = try connection.execute(
            "SELECT * FROM shadowgate.evidence_counts($1, to_timestamp($2::float8), to_timestamp($3::float8), to_timestamp($4::float8), to_timestamp($5::float8), p_holdout_only => $6::boolean)",
            [route, String(labelledFrom), String(labelledTo), String(pairsFrom), String(pairsTo), holdoutOnly])
        func count(_ column: String) -> Double { counts.value(column).flatMap(Double.init) ?? 0 }
        var batch = EvidenceCounts(
            pairs: count("pairs"), learnerErrors: count("learner_errors"), legacyErrors: count("legacy_errors"),
            bothErrors: count("both_errors"), learnerTimeouts: count("learner_timeouts"), legacyTimeouts: count("legacy_timeouts"),
            bothTimeouts: count("both_timeouts"), labelled: count("labelled"), learnerOnlyRight: count("learner_only_right"),
            legacyOnlyRight: count("legacy_only_right"), bothRight: count("both_right"))
        if policy.hasRegressionGates, let clip = policy.errorClip {
            let rows = try connection.execute(
                "SELECT * FROM shadowgate.regression_evidence($1, to_timestamp($2::float8), to_timestamp($3::float8), $4::float8, $5::boolean)",
                [route, String(labelledFrom), String(labelledTo), String(clip), holdoutOnly])
            var absolute = QuantizedDifferenceEvidence(limit: clip)
            var squared = QuantizedDifferenceEvidence(limit: clip * clip)
            for row in rows.rows.indices {
                func number(_ column: String) -> Double { rows.value(column, row: row).flatMap(Double.init) ?? 0 }
                let bucket = Int(number("bucket")), n = number("n"), sum = number("sum_d"), squares = number("sum_d2")
                if rows.value("power", row: row) == "1" {
                    absolute.add(bucket: bucket, count: n, sum: sum, sumOfSquares: squares)
                } else {
                    squared.add(bucket: bucket, count: n, sum: sum, sumOfSquares: squares)
                }
            }
            batch.absoluteErrorDifference = absolute
            batch.squaredErrorDifference = squared
        }
        let batchVersion = counts.value("learner_version")
        let learnerVersion = batchVersion ?? previous.lastLearnerVersion

        var machine = StateMachine(policy: policy, state: previous)
        var (decision, actions) = machine.evaluate(Observation(
            flags: snapshot, counts: batch, labelledUntil: labelledTo, pairsUntil: pairsTo,
            windowMetrics: report.values, learnerVersion: batchVersion, now: now))
        let evaluation = machine.lastEvaluation ?? PromotionEvaluation(policy: policy, metrics: report.values, evidence: machine.state.evidence)
        // The evidence the decision rests on: for a rollback, the state before the machine restarted it.
        let evidenceJSON = machine.evidenceJSON
        let metricsJSON = evaluation.metricsJSON(report, evidenceJSON: decisionEvidenceJSON(decision, machine: machine, previous: previous, batch: batch) ?? evidenceJSON)
        var newState = machine.state

        for case .setFlags(let target, let action) in actions {
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
                decision = PromotionDecision(kind: .hold, target: nil, reason: "flags changed meanwhile; deciding again", memory: decision.memory)
                actions = []
                newState = previous
            case .failure(let error):
                throw error
            }
        }
        if actions.isEmpty || !actions.contains(where: { if case .setFlags = $0 { true } else { false } }) {
            logger.debug("promotion controller holds", metadata: ["route": "\(route)", "reason": "\(decision.reason)"])
        }
        let stateJSON = String(decoding: try Self.stateEncoder.encode(newState), as: UTF8.self)
        try connection.execute(
            """
            INSERT INTO shadowgate.rollout_state AS s (route, evaluated_at, outcome, decision, reason, passing_since,
                rolled_back_at, learner_version, gates, metrics, controller, evidence_state)
            VALUES ($1, to_timestamp($2::float8), $3, $4, $5, to_timestamp($6::float8), to_timestamp($7::float8), $8,
                    $9::jsonb, $10::jsonb, $11, $12::jsonb)
            ON CONFLICT (route) DO UPDATE SET evaluated_at = EXCLUDED.evaluated_at, outcome = EXCLUDED.outcome,
                decision = EXCLUDED.decision, reason = EXCLUDED.reason, passing_since = EXCLUDED.passing_since,
                rolled_back_at = EXCLUDED.rolled_back_at, learner_version = EXCLUDED.learner_version,
                gates = EXCLUDED.gates, metrics = EXCLUDED.metrics, controller = EXCLUDED.controller,
                evidence_state = EXCLUDED.evidence_state
            """,
            [route, String(now), evaluation.outcome.rawValue, decision.kind.rawValue, decision.reason,
             newState.passingSince.map { String($0) }, newState.rolledBackAt.map { String($0) },
             learnerVersion, evaluation.gatesJSON, metricsJSON, identity, stateJSON])
        // The gates' bounds over time, for the HTML report (a week of them).
        try connection.execute(
            """
            WITH old AS (DELETE FROM shadowgate.rollout_evaluations WHERE route = $1 AND at < now() - interval '7 days')
            INSERT INTO shadowgate.rollout_evaluations (route, at, outcome, gates)
            VALUES ($1, to_timestamp($2::float8), $3, $4::jsonb) ON CONFLICT (route, at) DO NOTHING
            """, [route, String(now), evaluation.outcome.rawValue, evaluation.gatesJSON])
        metrics.record(route: route, evaluation: evaluation, decision: decision.kind, evidence: newState.evidence)
    }

    /// The state as JSON; a detector's statistic starts at −∞ (no evidence yet), which JSON has no number for.
    static let stateEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }()
    static let stateDecoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }()

    /// How far behind now the non-label counts are read: a pair reaches PostgreSQL once both models
    /// answered (a timeout after the learner's timeout) and its batch was flushed; a request counted
    /// after the watermark passed it would be missed. The learner's timeout plus half a second.
    static func pairLag(for route: RouteConfig) -> Duration {
        .milliseconds(Int64(route.learner?.timeoutMillis ?? 1000) + 500)
    }

    /// For a rollback the machine has already restarted its evidence; the decision is recorded with
    /// the evidence it was made on (the previous evidence plus this batch, and the alarmed detectors).
    private func decisionEvidenceJSON(_ decision: PromotionDecision, machine: StateMachine, previous: RouteState, batch: EvidenceCounts) -> String? {
        guard decision.kind == .rollback else { return nil }
        var before = StateMachine(policy: machine.policy, state: previous)
        var replay = previous
        replay.evidence = previous.evidence + batch
        replay.accuracyDetector?.update(events: batch.legacyOnlyRight, trials: batch.learnerOnlyRight + batch.legacyOnlyRight)
        for (gate, var detector) in replay.rateDetectors {
            detector.update(events: gate == GateRule.Metric.learnerTimeoutRateMax.rawValue ? batch.learnerTimeouts : batch.learnerErrors,
                            trials: batch.pairs)
            replay.rateDetectors[gate] = detector
        }
        before = StateMachine(policy: machine.policy, state: replay)
        return before.evidenceJSON
    }
}
