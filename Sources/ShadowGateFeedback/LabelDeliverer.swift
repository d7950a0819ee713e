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
/// - One deliverer per database acts: the one holding the session advisory lock
///   (``lockClassID``, ``lockObjectID``) on its connection. Every replica runs one; the others
///   retry the lock every second and take over when the holder's session ends.
/// - It reads labels in (txid, seq) order behind the cursor in `shadowgate.label_delivery`
///   (`shadowgate.label_delivery_batch()`), joins each with its newest pair, and posts each
///   route's labels to `learner.url + feedback_path` in POSTs of at most `feedback.batch_size`
///   items, waiting at most `feedback.max_wait` for a POST to fill. The cursor moves (with the
///   waiting list and the totals, in one statement) only after every POST of the batch was
///   answered 2xx; a crash or a lost connection before that sends the batch again: at least once.
///   Every item carries an idempotency key (`request_id/index/seq`) that is the same on every
///   resend of the same label.
/// - A POST that fails (refused, timed out, 5xx, 408, 429) is retried with its route's backoff
///   and jitter until it succeeds or the deliverer stops; the route's later POSTs wait behind it
///   (order is kept per route) while the scan's POSTs to other routes go ahead. After
///   `parkAfterFailures` (3) failures in a row the route's labels are parked in
///   `shadowgate.label_delivery_parked` (with the cursor move, in one statement) so the cursor and
///   the other routes go on; the route's later labels queue behind them and are sent, in order,
///   once its learner answers again. Progress is per route.
/// - The loop's decisions are ``StateMachine``'s (`LabelDeliverer+StateMachine.swift`); this class
///   executes them on its own ``BlockingExecutor``.
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

    /// Executes the ``StateMachine``'s actions on the deliverer's thread: SQL on one connection,
    /// POSTs with one keep-alive client per route, sleeps that stop cuts short.
    private struct DeliveryLoop {
        let deliverer: LabelDeliverer
        let thread: BlockingExecutor
        var machine: StateMachine
        /// The fenced leadership (lock + epoch, confirmed on a deadline) that every write of the
        /// cursor and every POST checks first.
        var leadership: Leadership
        var connection: PGConnection?
        var clients: [String: LearnerHTTPClient] = [:]

        init(deliverer: LabelDeliverer, thread: BlockingExecutor) {
            self.deliverer = deliverer
            self.thread = thread
            let config = deliverer.config
            machine = StateMachine(settings: .init(
                batchSize: config.batchSize, maxWait: config.maxWait,
                scanLimit: min(50_000, max(5_000, config.batchSize * 8)),
                learnerPaths: deliverer.learners.mapValues { $0.basePath + $0.feedbackPath },
                retryInitial: config.retryInitial, retryMax: config.retryMax))
            leadership = Leadership(role: "labels", lockClassID: LabelDeliverer.lockClassID, lockObjectID: LabelDeliverer.lockObjectID,
                                    identity: deliverer.identity, logger: deliverer.logger)
        }

        var config: FeedbackConfig { deliverer.config }
        var logger: Logger { deliverer.logger }
        var metrics: LabelDeliveryMetrics { deliverer.metrics }
        var shape: String { config.body.rawValue }

        mutating func run() {
            while !thread.isShuttingDown {
                let wasLeader = machine.role == .leader
                do {
                    try execute(machine.next(now: .now))
                } catch {
                    leadership.connectionLost()
                    logger.warning("label deliverer lost PostgreSQL; releasing delivery and reconnecting", metadata: ["error": "\(error)"])
                    connection?.close()
                    connection = nil
                    machine.databaseFailed(now: .now)
                }
                if wasLeader && machine.role != .leader { metrics.leader.record(0) }
            }
            connection?.close()
            for client in clients.values { client.close() }
            if machine.role == .leader { metrics.leader.record(0) }
        }

        /// Throws unless this replica still leads (confirming its epoch when due), so a replica cut
        /// off from PostgreSQL stops posting and never moves the cursor after its deadline.
        mutating func confirmLeadership() throws {
            guard try leadership.mayAct(on: open()) != nil else { throw LabelDeliveryError("no longer the label deliverer") }
        }

        func open() throws -> PGConnection {
            guard let connection else { throw LabelDeliveryError("no connection") }
            return connection
        }

        mutating func execute(_ action: StateMachine.Action) throws {
            switch action {
            case .connect:
                let fresh = try PGConnection(connectionString: deliverer.connectionString, applicationName: deliverer.identity)
                // The delivery query over a scan of thousands of labels is costed above
                // jit_above_cost, and compiling it took longer (~0.7 s) than running it.
                try fresh.execute("SET jit = off")
                connection = fresh
                machine.connected()
            case .tryLock:
                let held = try leadership.mayAct(on: open()) != nil
                machine.lockAnswered(held, now: .now)
            case .takeOver:
                let cursor = try takeOver(open())
                let parked = try open().execute("SELECT DISTINCT route FROM shadowgate.label_delivery_parked").rows.compactMap { $0[0] }
                if !parked.isEmpty {
                    logger.notice("labels are parked for routes whose learner failed; they are sent first when it answers",
                                  metadata: ["routes": "\(parked.sorted())"])
                }
                machine.tookOver(cursor, parkedRoutes: Set(parked), now: .now)
            case .read(let cursor, let limit):
                let rows = try open().execute(
                    "SELECT * FROM shadowgate.label_delivery_batch($1::xid8, $2::bigint, $3::int, $4)",
                    [cursor.txid, String(cursor.seq), String(limit), shape]).rows.compactMap(LabelDeliveryRow.init)
                metrics.lag.record(rows.first?.ageSeconds ?? 0)
                machine.rowsRead(rows, now: .now)
            case .readParked(let route, let limit):
                let rows = try open().execute(
                    "SELECT * FROM shadowgate.label_parked_batch($1, $2::int, $3)", [route, String(limit), shape])
                    .rows.compactMap(LabelDeliveryRow.init)
                machine.parkedRead(rows, route: route, now: .now)
            case .readWaiting(let limit):
                let rows = try open().execute(
                    "SELECT * FROM shadowgate.label_waiting_ready($1::int, $2)", [String(limit), shape]).rows.compactMap(LabelDeliveryRow.init)
                machine.waitingRead(rows, now: .now)
            case .post(let index, let post):
                try confirmLeadership()
                machine.postAnswered(index, send(post), now: .now)
            case .record(let step):
                try confirmLeadership()
                try record(step, on: open())
                machine.recorded(now: .now)
            case .chore(let chore):
                try perform(chore, on: open())
            case .sleep(let until):
                let wait = until - .now
                if wait > .zero { _ = thread.sleep(wait) }
            }
        }

        func takeOver(_ connection: PGConnection) throws -> StateMachine.Cursor {
            let seconds = Double(config.waitForPrediction.components.seconds) + Double(config.waitForPrediction.components.attoseconds) / 1e18
            let row = try connection.execute(
                """
                UPDATE shadowgate.label_delivery SET wait_for_prediction = make_interval(secs => $1::float8), deliverer = $2
                RETURNING cursor_txid::text, cursor_seq
                """, [String(seconds), deliverer.identity]).rows.first
            guard let row, let txid = row[0], let seq = row[1].flatMap({ Int64($0) }) else {
                throw LabelDeliveryError("shadowgate.label_delivery has no row (migration 0008 not applied?)")
            }
            metrics.leader.record(1)
            logger.notice("this replica now delivers labels to the learners", metadata: [
                "identity": "\(deliverer.identity)", "cursor": "\(txid)/\(seq)",
            ])
            return .init(txid: txid, seq: seq)
        }

        func perform(_ chore: StateMachine.Chore, on connection: PGConnection) throws {
            switch chore {
            case .recheckWaiting:
                break   // a read: ``StateMachine/Action/readWaiting(limit:)``
            case .giveUp:
                let gaveUp = Int(try connection.execute("SELECT shadowgate.label_give_up()").scalar ?? "0") ?? 0
                if gaveUp > 0 {
                    metrics.unmatched.increment(by: gaveUp)
                    logger.warning("labels found no prediction within feedback.wait_for_prediction; see shadowgate.labels_unmatched",
                                   metadata: ["labels": "\(gaveUp)"])
                }
            case .gauges:
                guard let cursor = machine.cursor else { return }
                let row = try connection.execute(
                    """
                    SELECT (SELECT count(*) FROM shadowgate.labels l WHERE (l.txid, l.seq) > ($1::xid8, $2::bigint)),
                           (SELECT count(*) FROM shadowgate.label_waiting WHERE gave_up_at IS NULL)
                    """, [cursor.txid, String(cursor.seq)]).rows.first
                metrics.pending.record(Int(row?[0] ?? "0") ?? 0)
                metrics.waiting.record(Int(row?[1] ?? "0") ?? 0)
            case .retention:
                if deliverer.retentionDays > 0 {
                    let dropped = try connection.execute("SELECT shadowgate.drop_labels_older_than($1::int)", [String(deliverer.retentionDays)]).scalar
                    if let dropped, dropped != "0" { logger.info("retention deleted old labels", metadata: ["labels": "\(dropped)"]) }
                }
            }
        }

        /// Writes a finished plan's step (cursor, waiting list, totals) in one statement.
        func record(_ step: StateMachine.Step, on connection: PGConnection) throws {
            for (reason, count) in step.skipped { metrics.skipped(reason, count: count) }
            let routes = Array(Set(step.retried.keys).union(step.delivered.keys).union(step.lastSeq.keys)).sorted()
            let next = step.cursor ?? machine.cursor ?? .init(txid: "0", seq: 0)
            try connection.execute(
                """
                SELECT shadowgate.label_delivery_advance($1::xid8, $2::bigint, $3::text[], $4::int[], $5::bigint[],
                    $6::text[], $7::int[], $8::bigint[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint, $14,
                    $15::text[], $16::xid8[], $17::text[], $18::int[], $19::bigint[], $20::bigint[])
                """,
                [next.txid, String(next.seq),
                 PGArrayLiteral.text(step.waiting.map(\.requestID)), PGArrayLiteral.numbers(step.waiting.map(\.rowIndex)),
                 PGArrayLiteral.numbers(step.waiting.map(\.seq)),
                 PGArrayLiteral.text(step.done.map(\.requestID)), PGArrayLiteral.numbers(step.done.map(\.rowIndex)),
                 PGArrayLiteral.numbers(step.done.map(\.seq)),
                 PGArrayLiteral.text(routes), PGArrayLiteral.numbers(routes.map { step.delivered[$0] ?? 0 }),
                 PGArrayLiteral.numbers(routes.map { step.retried[$0] ?? 0 }), PGArrayLiteral.numbers(routes.map { step.lastSeq[$0] ?? 0 }),
                 String(step.skipped.values.reduce(0, +)), deliverer.identity,
                 PGArrayLiteral.text(step.parked.map(\.route)), PGArrayLiteral.text(step.parked.map(\.txid)),
                 PGArrayLiteral.text(step.parked.map(\.key.requestID)), PGArrayLiteral.numbers(step.parked.map(\.key.rowIndex)),
                 PGArrayLiteral.numbers(step.parked.map(\.key.seq)), PGArrayLiteral.numbers(step.unparked)])
        }

        /// One try of one POST; the machine decides about retries.
        mutating func send(_ post: DeliveryPlan.Post) -> StateMachine.PostOutcome {
            guard let learner = deliverer.learners[post.route] else { return .refused }
            let client: LearnerHTTPClient
            if let existing = clients[post.route] {
                client = existing
            } else {
                client = LearnerHTTPClient(host: learner.host, port: learner.port, timeout: config.timeout)
                clients[post.route] = client
            }
            var headers: [(String, String)] = [("x-shadowgate-labels", String(post.keys.count))]
            if let key = post.singleKey { headers.append(("idempotency-key", key)) }
            let failures = machine.failures(of: post.route)
            let counters = metrics.counters(post.route)
            let problem: String
            do {
                let status = try client.post(path: post.path, body: post.body, headers: headers)
                if (200..<300).contains(status) {
                    if failures > 0 {
                        logger.notice("the learner takes feedback again", metadata: ["route": "\(post.route)", "retries": "\(failures)"])
                    }
                    counters.delivered.increment(by: post.keys.count)
                    metrics.joined.increment(by: post.keys.count)
                    for d in post.delays { metrics.delay.recordNanoseconds(Int64(max(0, d) * 1e9)) }
                    return .accepted
                }
                if (400..<500).contains(status) && status != 408 && status != 429 {
                    logger.error("the learner refused labels for good (HTTP \(status)); they are skipped", metadata: [
                        "route": "\(post.route)", "labels": "\(post.keys.count)", "first_request_id": "\(post.keys[0].requestID)",
                    ])
                    counters.rejected.increment(by: post.keys.count)
                    return .refused
                }
                problem = "HTTP \(status)"
            } catch {
                problem = error.description
            }
            counters.retried.increment(by: post.keys.count)
            if failures == 0 {
                logger.warning("delivering labels to the learner failed; retrying with backoff", metadata: [
                    "route": "\(post.route)", "problem": "\(problem)", "labels": "\(post.keys.count)",
                ])
            }
            return .failed(problem)
        }
    }
}

/// A delivery failure with a sentence for logs.
struct LabelDeliveryError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
