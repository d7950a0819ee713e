import LibPQ

extension LabelDeliverer {
    /// The deliverer's loop as a value: leadership, the delivery cursor, the plan being posted,
    /// a backoff per route, and the batch-wait and chore timers. Events go in, the one next
    /// ``Action`` comes out of ``next(now:)``; the class only executes actions (SQL on its
    /// BlockingExecutor, POSTs, sleeps) and reports what happened. No I/O, no clock of its own.
    ///
    /// Promises:
    /// - Nothing is read or posted unless this replica holds the delivery lock (``Role/leader``);
    ///   a database failure drops leadership and the plan in flight (it is read again: at least once).
    /// - The cursor moves (``Action/record(_:)``) only after every POST of the plan was answered.
    /// - POSTs of one route go in plan order; a route whose learner fails waits out its own
    ///   backoff while the plan's POSTs to other routes go ahead, so one failing learner does not
    ///   hold up the other routes' labels of the scan.
    /// - Progress is per route: after `parkAfterFailures` failures in a row, the route's
    ///   unanswered labels of the plan are *parked* (`shadowgate.label_delivery_parked`, written
    ///   with the cursor move in one statement) and the plan finishes without them, so the next
    ///   scans go on for the other routes. While a route has parked labels, its labels of every
    ///   later plan are parked behind them (order per route is kept), and its parked labels are
    ///   read back (``Action/readParked(route:limit:)``, in delivery order) whenever its backoff
    ///   has passed, taking turns with the scans; a failure there ends that read at once (the
    ///   labels stay parked). Once a parked read finds none left the route is delivered directly
    ///   again. Parked labels are removed only in the statement that records their answer: at
    ///   least once still holds.
    /// - A scan smaller than `batchSize` waits for more labels, at most `maxWait` from first seen.
    struct StateMachine {
        enum Role: Equatable { case disconnected, follower, leader }

        struct Cursor: Equatable {
            var txid: String
            var seq: Int64
        }

        struct Settings {
            var batchSize: Int
            var maxWait: Duration
            var scanLimit: Int
            var learnerPaths: [String: String]
            var retryInitial: Duration
            var retryMax: Duration
            var lockRetry: Duration = .seconds(1)
            var recheckEvery: Duration = .seconds(1)
            var gaugesEvery: Duration = .seconds(2)
            var retentionEvery: Duration = .seconds(3600)
            var jitter: Double = 0.5
            /// Failures in a row of a route's POST before its labels are parked.
            var parkAfterFailures: Int = 3
        }

        enum PostOutcome: Equatable {
            /// 2xx: delivered.
            case accepted
            /// A 4xx other than 408/429: refused for good; counted and passed.
            case refused
            /// No answer, 5xx, 408, 429: retried after the route's backoff.
            case failed(String)
        }

        /// A label set aside for its route (`shadowgate.label_delivery_parked`).
        struct ParkedLabel: Equatable {
            var route: String
            var txid: String
            var key: DeliveryPlan.LabelKey
        }

        /// What a finished plan writes in one statement (`label_delivery_advance`).
        struct Step: Equatable {
            var cursor: Cursor?
            var waiting: [DeliveryPlan.LabelKey]
            var done: [DeliveryPlan.LabelKey]
            /// Labels to park for their failing route.
            var parked: [ParkedLabel] = []
            /// Parked labels (by seq) this plan settled: delivered, refused, skipped or waiting.
            var unparked: [Int64] = []
            var delivered: [String: Int]
            var rejected: [String: Int]
            var retried: [String: Int]
            var lastSeq: [String: Int64]
            var skipped: [String: Int]
        }

        /// Periodic work when no plan is in flight: re-join waiting labels (``Action/readWaiting(limit:)``),
        /// then give up those waited too long, refresh the gauges, apply retention.
        enum Chore: Equatable { case recheckWaiting, giveUp, gauges, retention }

        enum Action: Equatable {
            case connect
            case tryLock
            /// Read the cursor (and write the settings) of `label_delivery`; answer ``tookOver(_:now:)``.
            case takeOver
            case read(after: Cursor, limit: Int)
            case readWaiting(limit: Int)
            /// Read the route's parked labels in delivery order; answer ``parkedRead(_:route:now:)``.
            case readParked(route: String, limit: Int)
            /// POST the plan's post number `index`; answer ``postAnswered(_:_:now:)``.
            case post(index: Int, DeliveryPlan.Post)
            case record(Step)
            case chore(Chore)
            case sleep(until: ContinuousClock.Instant)
        }

        private struct RouteState {
            var backoff: Backoff
            var failures = 0
            var retryAt: ContinuousClock.Instant?
            var lastProblem: String?
        }

        /// Where a plan's rows came from.
        enum Source: Equatable { case scan, waiting, parked(String) }

        private struct InFlight {
            var plan: DeliveryPlan
            var answered: [Bool]
            var step: Step
            var source: Source
            /// A parked read that took all the route's parked labels (fewer than the limit) and
            /// no failure since: once recorded, none is left.
            var drains = false
        }

        let settings: Settings
        private(set) var role: Role = .disconnected
        private(set) var cursor: Cursor?
        private var reconnectAt: ContinuousClock.Instant?
        private var connectBackoff = Backoff(initial: .milliseconds(250), maximum: .seconds(5), jitter: 0.5)
        private var lockRetryAt: ContinuousClock.Instant?
        private var routes: [String: RouteState] = [:]
        private var inFlight: InFlight?
        private var partialSince: ContinuousClock.Instant?
        private var readAgainAt: ContinuousClock.Instant?
        private var due: [Chore: ContinuousClock.Instant] = [:]
        /// Routes with parked labels (read from the database on take-over).
        private(set) var parkedRoutes: Set<String> = []
        /// After a parked read the scan goes next, when it is ready, and the other way round.
        private var scanTurn = false
        private var lastParkedRoute: String?

        init(settings: Settings) {
            self.settings = settings
        }

        /// How long a caught-up deliverer pauses before reading again.
        var idlePause: Duration { min(max(settings.maxWait / 4, .milliseconds(5)), .milliseconds(100)) }

        /// Failures in a row of a route's learner (0 when it last answered).
        func failures(of route: String) -> Int { routes[route]?.failures ?? 0 }

        // MARK: the one decision

        mutating func next(now: ContinuousClock.Instant) -> Action {
            switch role {
            case .disconnected:
                if let at = reconnectAt, now < at { return .sleep(until: at) }
                return .connect
            case .follower:
                if let at = lockRetryAt, now < at { return .sleep(until: at) }
                return .tryLock
            case .leader:
                guard let cursor else { return .takeOver }
                if let flight = inFlight { return nextPost(flight, now: now) }
                for chore in [Chore.recheckWaiting, .giveUp, .gauges, .retention] where now >= (due[chore] ?? now) {
                    due[chore] = now + interval(chore)
                    return chore == .recheckWaiting ? .readWaiting(limit: settings.scanLimit) : .chore(chore)
                }
                let scanReady = readAgainAt.map { now >= $0 } ?? true
                if let route = dueParkedRoute(now: now), !(scanTurn && scanReady) {
                    scanTurn = true
                    lastParkedRoute = route
                    return .readParked(route: route, limit: settings.scanLimit)
                }
                if let at = readAgainAt, now < at {
                    var wake = [at, due[.recheckWaiting] ?? at, due[.gauges] ?? at]
                    for route in parkedRoutes { if let retry = routes[route]?.retryAt { wake.append(retry) } }
                    return .sleep(until: wake.min()!)
                }
                scanTurn = false
                return .read(after: cursor, limit: settings.scanLimit)
            }
        }

        /// The next route (round robin after the last one read) whose parked labels may be tried.
        private func dueParkedRoute(now: ContinuousClock.Instant) -> String? {
            let sorted = parkedRoutes.sorted()
            guard !sorted.isEmpty else { return nil }
            let start = lastParkedRoute.flatMap { last in sorted.firstIndex { $0 > last } } ?? 0
            for i in 0..<sorted.count {
                let route = sorted[(start + i) % sorted.count]
                if let at = routes[route]?.retryAt, now < at { continue }
                return route
            }
            return nil
        }

        private func interval(_ chore: Chore) -> Duration {
            switch chore {
            case .recheckWaiting, .giveUp: settings.recheckEvery
            case .gauges: settings.gaugesEvery
            case .retention: settings.retentionEvery
            }
        }

        /// The first unanswered post whose route is not backing off and has no earlier post
        /// unanswered; the plan's record when all are answered; else a sleep to the next retry.
        private func nextPost(_ flight: InFlight, now: ContinuousClock.Instant) -> Action {
            var blocked: Set<String> = []
            var wake: ContinuousClock.Instant?
            for (i, post) in flight.plan.posts.enumerated() where !flight.answered[i] {
                guard !blocked.contains(post.route) else { continue }
                blocked.insert(post.route)
                if let at = routes[post.route]?.retryAt, now < at {
                    wake = min(wake ?? at, at)
                    continue
                }
                return .post(index: i, post)
            }
            if let wake { return .sleep(until: wake) }
            return .record(flight.step)
        }

        // MARK: events

        mutating func connected() {
            role = .follower
            lockRetryAt = nil
        }

        mutating func databaseFailed(now: ContinuousClock.Instant) {
            role = .disconnected
            cursor = nil
            inFlight = nil
            parkedRoutes = []
            partialSince = nil
            reconnectAt = now + connectBackoff.next()
        }

        mutating func lockAnswered(_ held: Bool, now: ContinuousClock.Instant) {
            connectBackoff.reset()
            if held {
                role = .leader
                cursor = nil
            } else {
                lockRetryAt = now + settings.lockRetry
            }
        }

        /// - Parameter parkedRoutes: the routes with labels in `label_delivery_parked`.
        mutating func tookOver(_ cursor: Cursor, parkedRoutes: Set<String> = [], now: ContinuousClock.Instant) {
            self.cursor = cursor
            self.parkedRoutes = parkedRoutes
            scanTurn = false
            inFlight = nil
            partialSince = nil
            readAgainAt = nil
            due = [:]
        }

        /// Rows read behind the cursor. A partial scan younger than `maxWait` waits to fill.
        mutating func rowsRead(_ rows: [LabelDeliveryRow], now: ContinuousClock.Instant) {
            if rows.isEmpty {
                partialSince = nil
                readAgainAt = now + idlePause
                return
            }
            if rows.count < settings.batchSize && settings.maxWait > .zero {
                let since = partialSince ?? now
                partialSince = since
                let oldest = rows.map(\.ageSeconds).max() ?? 0
                if now - since < settings.maxWait && oldest < Double(settings.maxWait.milliseconds) / 1000 {
                    readAgainAt = now + idlePause
                    return
                }
            }
            partialSince = nil
            readAgainAt = rows.count < settings.scanLimit ? now + idlePause : nil
            start(DeliveryPlan(rows: rows, learnerPaths: settings.learnerPaths, batchSize: settings.batchSize, movesCursor: true),
                  source: .scan)
        }

        /// Waiting labels whose prediction has landed (no cursor move).
        mutating func waitingRead(_ rows: [LabelDeliveryRow], now: ContinuousClock.Instant) {
            guard !rows.isEmpty else { return }
            if rows.count == settings.scanLimit { due[.recheckWaiting] = now }
            start(DeliveryPlan(rows: rows, learnerPaths: settings.learnerPaths, batchSize: settings.batchSize, movesCursor: false),
                  source: .waiting)
        }

        /// A route's parked labels, in delivery order (no cursor move). None left: the route is
        /// delivered directly again.
        mutating func parkedRead(_ rows: [LabelDeliveryRow], route: String, now: ContinuousClock.Instant) {
            guard !rows.isEmpty else {
                parkedRoutes.remove(route)
                return
            }
            start(DeliveryPlan(rows: rows, learnerPaths: settings.learnerPaths, batchSize: settings.batchSize, movesCursor: false),
                  source: .parked(route))
            let drains = rows.count < settings.scanLimit
            inFlight?.drains = drains
        }

        private mutating func start(_ plan: DeliveryPlan, source: Source) {
            var step = Step(cursor: plan.cursor.map { Cursor(txid: $0.txid, seq: $0.seq) }, waiting: plan.waiting, done: [],
                            delivered: [:], rejected: [:], retried: [:], lastSeq: [:], skipped: plan.skipped)
            if case .parked = source {
                // Settled here without a POST: out of the parked list (waiting ones wait as usual).
                step.unparked = (plan.waiting + plan.passed).map(\.seq)
            }
            var flight = InFlight(plan: plan, answered: Array(repeating: false, count: plan.posts.count), step: step, source: source)
            // A route with parked labels: these go behind them. (A parked read is all parked
            // labels already, even one whose pair now names another route.)
            if source == .scan || source == .waiting {
                for (i, post) in plan.posts.enumerated() where parkedRoutes.contains(post.route) {
                    Self.park(i, in: &flight)
                }
            }
            inFlight = flight
        }

        /// Sets post `index` aside: its labels go to the parked list, behind the route's earlier ones.
        private static func park(_ index: Int, in flight: inout InFlight) {
            let post = flight.plan.posts[index]
            flight.answered[index] = true
            for (n, key) in post.keys.enumerated() {
                flight.step.parked.append(ParkedLabel(route: post.route, txid: n < post.txids.count ? post.txids[n] : "0", key: key))
            }
        }

        /// The learner's answer to post `index`.
        mutating func postAnswered(_ index: Int, _ outcome: PostOutcome, now: ContinuousClock.Instant) {
            guard var flight = inFlight, flight.plan.posts.indices.contains(index), !flight.answered[index] else { return }
            let post = flight.plan.posts[index]
            var route = routes[post.route] ?? RouteState(backoff: Backoff(
                initial: settings.retryInitial, maximum: max(settings.retryInitial, settings.retryMax), jitter: settings.jitter))
            switch outcome {
            case .failed(let problem):
                route.failures += 1
                route.lastProblem = problem
                route.retryAt = now + route.backoff.next()
                flight.step.retried[post.route, default: 0] += post.keys.count
                if flight.source == .parked(post.route) {
                    // A parked read ends at its first failure: the labels stay parked, and the
                    // scans go on meanwhile.
                    flight.drains = false
                    for (i, other) in flight.plan.posts.enumerated() where !flight.answered[i] && other.route == post.route {
                        flight.answered[i] = true
                    }
                } else if route.failures >= settings.parkAfterFailures {
                    parkedRoutes.insert(post.route)
                    for (i, other) in flight.plan.posts.enumerated() where !flight.answered[i] && other.route == post.route {
                        Self.park(i, in: &flight)
                    }
                }
            case .accepted, .refused:
                route.failures = 0
                route.retryAt = nil
                route.lastProblem = nil
                route.backoff.reset()
                flight.answered[index] = true
                if outcome == .accepted {
                    flight.step.delivered[post.route, default: 0] += post.keys.count
                } else {
                    flight.step.rejected[post.route, default: 0] += post.keys.count
                }
                flight.step.lastSeq[post.route] = max(flight.step.lastSeq[post.route] ?? 0, post.lastSeq)
                flight.step.done.append(contentsOf: post.keys)
                if case .parked = flight.source { flight.step.unparked.append(contentsOf: post.keys.map(\.seq)) }
            }
            routes[post.route] = route
            inFlight = flight
        }

        /// The plan's step is written: the cursor moves.
        mutating func recorded(now: ContinuousClock.Instant) {
            if let next = inFlight?.step.cursor { cursor = next }
            // Reads and plans take turns on one thread, so no label was parked for the route
            // since its parked read: it is delivered directly again.
            if let flight = inFlight, flight.drains, case .parked(let route) = flight.source { parkedRoutes.remove(route) }
            inFlight = nil
        }
    }
}
