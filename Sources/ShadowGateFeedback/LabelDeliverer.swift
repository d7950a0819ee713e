import Foundation
import LibPQ
import Logging
import ShadowGateConfig
import ShadowGateControl
import ShadowGatePairRecord

/// Delivers labels from `shadowgate.labels` to the routes' learners: at least once, in arrival
/// order, in batches, from PostgreSQL rather than from the request that carried them.
///
/// Promises:
/// - One deliverer per database acts: the leader of role `labels` (``Leadership``: the session
///   advisory lock ``lockClassID``, ``lockObjectID`` on its connection plus an epoch). Every
///   replica runs one; the others retry every second and take over when the holder's session ends
///   or it went silent. The leader confirms every second, between POSTs and between retries of a
///   POST too, and steps down by itself when it cannot confirm within its deadline; the fence
///   trigger on `shadowgate.label_delivery` refuses a cursor move from a superseded epoch.
/// - It reads labels in (txid, seq) order behind the cursor in `shadowgate.label_delivery`
///   (`shadowgate.label_delivery_batch()`), joins each with its newest pair, and posts each
///   route's labels to `learner.url + feedback_path` in POSTs of at most `feedback.batch_size`
///   items, waiting at most `feedback.max_wait` for a POST to fill. The cursor moves (with the
///   waiting list and the totals, in one statement) only after every POST of the batch was
///   answered 2xx; a crash or a lost connection before that sends the batch again: at least once.
///   Every item carries an idempotency key (`request_id/index/seq`) that is the same on every
///   resend of the same label.
/// - A POST that fails (refused, timed out, 5xx, 408, 429) is retried with backoff and jitter
///   until it succeeds or the deliverer stops; while it retries, later labels wait (order is kept).
///   A 4xx answer is the learner refusing those items for good: they are counted as rejected,
///   logged, and passed.
/// - A label whose pair is not logged yet is parked in `shadowgate.label_waiting` and joined again
///   about once a second; after `feedback.wait_for_prediction` it is given up (counted,
///   `shadowgate.labels_unmatched`). Labels of routes with no learner here are skipped, counted.
/// - Labels older than `database.retention_days` are deleted hourly (`drop_labels_older_than`).
/// - A database failure drops the connection and the lock; it reconnects with backoff.
public final class LabelDeliverer: Sendable {
    public static let lockClassID: Int32 = 7315
    public static let lockObjectID: Int32 = 2

    private let connectionString: String
    private let config: FeedbackConfig
    private let learners: [String: UpstreamConfig]
    private let retentionDays: Int
    /// Written to `label_delivery.deliverer` and as the connection's application_name.
    public let identity: String
    private let logger: Logger
    private let metrics: LabelDeliveryMetrics
    private let thread = BlockingExecutor(name: "shadowgate-deliverer")

    public init(connectionString: String, routes: [RouteConfig], config: FeedbackConfig, retentionDays: Int,
                identity: String, logger: Logger) {
        self.connectionString = connectionString
        self.config = config
        var learners: [String: UpstreamConfig] = [:]
        for route in routes { if let learner = route.learner { learners[route.name] = learner } }
        self.learners = learners
        self.retentionDays = retentionDays
        self.identity = identity
        self.logger = logger
        self.metrics = LabelDeliveryMetrics(routes: routes.map(\.name))
    }

    public func start() {
        guard config.deliver else { return }
        metrics.leader.record(0)
        _ = thread.execute { [self] in
            var loop = DeliveryLoop(deliverer: self, thread: thread)
            loop.run()
        }
    }

    /// Stops delivering (a batch in flight is not committed, so it is sent again by the next
    /// leader) and releases the lock by closing the session.
    public func stop() {
        _ = thread.shutdownAndWait(timeout: .seconds(15))
    }

    /// The state of the loop, owned by the deliverer's thread.
    private struct DeliveryLoop {
        let deliverer: LabelDeliverer
        let thread: BlockingExecutor
        var connection: PGConnection?
        var leader = false
        var leadership: Leadership
        var cursor: (txid: String, seq: Int64) = ("0", 0)
        var clients: [String: LearnerHTTPClient] = [:]
        var partialSince: ContinuousClock.Instant?
        var nextRecheck = ContinuousClock.now
        var nextGauges = ContinuousClock.now
        var nextRetention = ContinuousClock.now
        var connectBackoff: Backoff

        init(deliverer: LabelDeliverer, thread: BlockingExecutor) {
            self.deliverer = deliverer
            self.thread = thread
            connectBackoff = Backoff(initial: .milliseconds(250), maximum: .seconds(5), jitter: 0.5)
            leadership = Leadership(role: "labels", lockClassID: LabelDeliverer.lockClassID, lockObjectID: LabelDeliverer.lockObjectID,
                                    identity: deliverer.identity, logger: deliverer.logger)
        }

        var config: FeedbackConfig { deliverer.config }
        var logger: Logger { deliverer.logger }
        var metrics: LabelDeliveryMetrics { deliverer.metrics }
        var scanLimit: Int { min(20_000, max(1000, config.batchSize * 4)) }
        var shape: String { config.body.rawValue }
        var learnerPaths: [String: String] {
            deliverer.learners.mapValues { $0.basePath + $0.feedbackPath }
        }

        mutating func run() {
            while !thread.isShuttingDown {
                do {
                    if connection == nil {
                        connection = try PGConnection(connectionString: deliverer.connectionString, applicationName: deliverer.identity)
                    }
                    guard let connection else { continue }
                    let wasLeader = leader
                    leader = try leadership.mayAct(on: connection) != nil
                    guard leader else {
                        connectBackoff.reset()
                        _ = thread.sleep(.seconds(1))
                        continue
                    }
                    if !wasLeader { try takeOver(connection) }
                    connectBackoff.reset()
                    try step(connection)
                } catch {
                    leadership.connectionLost()
                    logger.warning("label deliverer lost PostgreSQL; releasing delivery and reconnecting", metadata: ["error": "\(error)"])
                    connection?.close()
                    connection = nil
                    if leader { metrics.leader.record(0) }
                    leader = false
                    _ = thread.sleep(connectBackoff.next())
                }
            }
            connection?.close()
            for client in clients.values { client.close() }
            if leader { metrics.leader.record(0) }
        }

        mutating func takeOver(_ connection: PGConnection) throws {
            let seconds = Double(config.waitForPrediction.components.seconds) + Double(config.waitForPrediction.components.attoseconds) / 1e18
            let row = try connection.execute(
                """
                UPDATE shadowgate.label_delivery SET wait_for_prediction = make_interval(secs => $1::float8), deliverer = $2
                RETURNING cursor_txid::text, cursor_seq
                """, [String(seconds), deliverer.identity]).rows.first
            guard let row, let txid = row[0], let seq = row[1].flatMap({ Int64($0) }) else {
                throw LabelDeliveryError("shadowgate.label_delivery has no row (migration 0008 not applied?)")
            }
            cursor = (txid, seq)
            partialSince = nil
            metrics.leader.record(1)
            logger.notice("this replica now delivers labels to the learners", metadata: [
                "identity": "\(deliverer.identity)", "cursor": "\(txid)/\(seq)",
            ])
        }

        /// One round: the next batch after the cursor (or a pause when there is none or it is
        /// still filling), then the chores that are due.
        mutating func step(_ connection: PGConnection) throws {
            let rows = try connection.execute(
                "SELECT * FROM shadowgate.label_delivery_batch($1::xid8, $2::bigint, $3::int, $4)",
                [cursor.txid, String(cursor.seq), String(scanLimit), shape]).rows.compactMap(LabelDeliveryRow.init)
            metrics.lag.record(rows.first?.ageSeconds ?? 0)
            var delivered = false
            if !rows.isEmpty && !isFilling(rows) {
                partialSince = nil
                let plan = DeliveryPlan(rows: rows, learnerPaths: learnerPaths, batchSize: config.batchSize, movesCursor: true)
                guard try deliver(plan, on: connection) else { return }
                delivered = true
            }
            try chores(connection)
            if !delivered || rows.count < scanLimit {
                _ = thread.sleep(idlePause)
            }
        }

        var idlePause: Duration {
            min(max(config.maxWait / 4, .milliseconds(5)), .milliseconds(100))
        }

        /// Whether a partial batch should wait for more labels (at most `max_wait` since first seen).
        mutating func isFilling(_ rows: [LabelDeliveryRow]) -> Bool {
            guard (rows.count < config.batchSize), (config.maxWait > .zero) else { return false }
            let now = ContinuousClock.now
            let since = partialSince ?? now
            partialSince = since
            let oldest = rows.map(\.ageSeconds).max() ?? 0
            return now - since < config.maxWait && oldest < Double(config.maxWait.milliseconds) / 1000
        }

        mutating func chores(_ connection: PGConnection) throws {
            let now = ContinuousClock.now
            if now >= nextRecheck {
                nextRecheck = now + .seconds(1)
                let ready = try connection.execute(
                    "SELECT * FROM shadowgate.label_waiting_ready($1::int, $2)", [String(scanLimit), shape]).rows.compactMap(LabelDeliveryRow.init)
                if !ready.isEmpty {
                    let plan = DeliveryPlan(rows: ready, learnerPaths: learnerPaths, batchSize: config.batchSize, movesCursor: false)
                    guard try deliver(plan, on: connection) else { return }
                    if ready.count == scanLimit { nextRecheck = now }
                }
                let gaveUp = Int(try connection.execute("SELECT shadowgate.label_give_up()").scalar ?? "0") ?? 0
                if gaveUp > 0 {
                    metrics.unmatched.increment(by: gaveUp)
                    logger.warning("labels found no prediction within feedback.wait_for_prediction; see shadowgate.labels_unmatched",
                                   metadata: ["labels": "\(gaveUp)"])
                }
            }
            if now >= nextGauges {
                nextGauges = now + .seconds(2)
                let row = try connection.execute(
                    """
                    SELECT (SELECT count(*) FROM shadowgate.labels l WHERE (l.txid, l.seq) > ($1::xid8, $2::bigint)),
                           (SELECT count(*) FROM shadowgate.label_waiting WHERE gave_up_at IS NULL)
                    """, [cursor.txid, String(cursor.seq)]).rows.first
                metrics.pending.record(Int(row?[0] ?? "0") ?? 0)
                metrics.waiting.record(Int(row?[1] ?? "0") ?? 0)
            }
            if now >= nextRetention {
                nextRetention = now + .seconds(3600)
                if deliverer.retentionDays > 0 {
                    let dropped = try connection.execute("SELECT shadowgate.drop_labels_older_than($1::int)", [String(deliverer.retentionDays)]).scalar
                    if let dropped, dropped != "0" { logger.info("retention deleted old labels", metadata: ["labels": "\(dropped)"]) }
                }
            }
        }

        /// Posts every POST of the plan (retrying each until it is answered), then records the
        /// step. Returns false when the deliverer was stopped before the plan was done.
        mutating func deliver(_ plan: DeliveryPlan, on connection: PGConnection) throws -> Bool {
            var retried: [String: Int] = [:]
            var deliveredPerRoute: [String: Int] = [:]
            var lastSeq: [String: Int64] = [:]
            var done: [DeliveryPlan.LabelKey] = []
            for post in plan.posts {
                guard try leadership.mayAct(on: connection) != nil, let outcome = try send(post, on: connection) else { return false }
                retried[post.route, default: 0] += outcome.retries * post.keys.count
                let counters = metrics.counters(post.route)
                if outcome.accepted {
                    deliveredPerRoute[post.route, default: 0] += post.keys.count
                    counters.delivered.increment(by: post.keys.count)
                    metrics.joined.increment(by: post.keys.count)
                    for d in post.delays { metrics.delay.recordNanoseconds(Int64(max(0, d) * 1e9)) }
                } else {
                    counters.rejected.increment(by: post.keys.count)
                }
                lastSeq[post.route] = max(lastSeq[post.route] ?? 0, post.lastSeq)
                done.append(contentsOf: post.keys)
            }
            for (reason, count) in plan.skipped { metrics.skipped(reason, count: count) }
            let routes = Array(Set(retried.keys).union(deliveredPerRoute.keys).union(lastSeq.keys)).sorted()
            let next = plan.cursor ?? cursor
            try connection.execute(
                """
                SELECT shadowgate.label_delivery_advance($1::xid8, $2::bigint, $3::text[], $4::int[], $5::bigint[],
                    $6::text[], $7::int[], $8::bigint[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint, $14)
                """,
                [next.txid, String(next.seq),
                 PGArrayLiteral.text(plan.waiting.map(\.requestID)), PGArrayLiteral.numbers(plan.waiting.map(\.rowIndex)),
                 PGArrayLiteral.numbers(plan.waiting.map(\.seq)),
                 PGArrayLiteral.text(done.map(\.requestID)), PGArrayLiteral.numbers(done.map(\.rowIndex)), PGArrayLiteral.numbers(done.map(\.seq)),
                 PGArrayLiteral.text(routes), PGArrayLiteral.numbers(routes.map { deliveredPerRoute[$0] ?? 0 }),
                 PGArrayLiteral.numbers(routes.map { retried[$0] ?? 0 }), PGArrayLiteral.numbers(routes.map { lastSeq[$0] ?? 0 }),
                 String(plan.skipped.values.reduce(0, +)), deliverer.identity])
            cursor = next
            return true
        }

        /// One POST, tried until the learner answers it; `nil` when the deliverer stops first.
        /// Between retries it confirms its leadership (throws ``Leadership/SteppedDown`` past the deadline).
        mutating func send(_ post: DeliveryPlan.Post, on connection: PGConnection) throws -> (accepted: Bool, retries: Int)? {
            guard let learner = deliverer.learners[post.route] else { return (false, 0) }
            let client: LearnerHTTPClient
            if let existing = clients[post.route] {
                client = existing
            } else {
                client = LearnerHTTPClient(host: learner.host, port: learner.port, timeout: config.timeout)
                clients[post.route] = client
            }
            var backoff = Backoff(initial: config.retryInitial, maximum: max(config.retryInitial, config.retryMax), jitter: 0.5)
            var failures = 0
            var headers: [(String, String)] = [("x-shadowgate-labels", String(post.keys.count))]
            if let key = post.singleKey { headers.append(("idempotency-key", key)) }
            var lastProblem = ""
            while !thread.isShuttingDown {
                let problem: String
                do {
                    let status = try client.post(path: post.path, body: post.body, headers: headers)
                    if (200..<300).contains(status) {
                        if failures > 0 {
                            logger.notice("the learner takes feedback again", metadata: ["route": "\(post.route)", "retries": "\(failures)"])
                        }
                        return (true, failures)
                    }
                    if (400..<500).contains(status) && status != 408 && status != 429 {
                        logger.error("the learner refused labels for good (HTTP \(status)); they are skipped", metadata: [
                            "route": "\(post.route)", "labels": "\(post.keys.count)", "first_request_id": "\(post.keys[0].requestID)",
                        ])
                        return (false, failures)
                    }
                    problem = "HTTP \(status)"
                } catch {
                    problem = error.description
                }
                metrics.counters(post.route).retried.increment(by: post.keys.count)
                if problem != lastProblem {
                    logger.warning("delivering labels to the learner failed; retrying with backoff", metadata: [
                        "route": "\(post.route)", "problem": "\(problem)", "labels": "\(post.keys.count)",
                    ])
                    lastProblem = problem
                }
                failures += 1
                _ = thread.sleep(backoff.next())
                guard try leadership.mayAct(on: connection) != nil else { return nil }
            }
            return nil
        }
    }
}

/// A delivery failure with a sentence for logs.
struct LabelDeliveryError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
