import NIOCore

extension GatewayConnectionHandler {
    /// One client connection's lifetime as a value: what is being read, what waits to be answered,
    /// which timeout applies, and when to close. `Item` is what the handler queues (a request or a
    /// ready response); the machine never looks inside it.
    ///
    /// Phases: `reading` (nothing to answer; waiting for or reading a request), `queued` (requests wait
    /// while one is answered), `answering` (one request with its upstream), `quiescing` (shutdown asked:
    /// queued requests are answered, then the connection closes), `closing` and `lingering` (below), `closed`.
    ///
    /// Lingering close (only with a ``Linger`` configuration; HTTP/1 connections, not h2 streams): when
    /// an answer ends the connection (a refusal, `connection: close`, CONNECT) the client may still be
    /// sending — the rest of a refused body, pipelined bytes. Closing the socket with those bytes unread
    /// makes the kernel answer with a TCP reset: the client's next send fails, and a client that stops
    /// there (most do) never reads the answer waiting in its receive buffer.
    /// So the last answer is flushed (`closing`), then only the write side is shut (the client reads the
    /// answer, then EOF) and what the client still sends is read and dropped (`lingering`) until the
    /// client closes, the linger timeout passes or `maxBytes` were dropped, whichever comes first.
    /// Shutdown (``quiesce()``) ends a linger at once, and an answer written while quiescing closes
    /// without lingering, so a drain never waits for a lingering client.
    ///
    /// Timeouts (one deadline at a time; the handler keeps one timer and re-arms it lazily, so a request
    /// costs no timer operation: the timer is armed at most the shortest timeout ahead, so it never
    /// fires after a deadline set later, and when it fires early it re-arms):
    /// - idle: nothing queued or being answered and no byte of a next request → close silently;
    /// - header: bytes of a request head arrived but not the whole head → answer 408, then close;
    /// - body: the head arrived but not the whole body → answer 408, then close.
    /// While a request is being answered the upstream's own timeout bounds the wait, so no client deadline runs
    /// unless a next request is being read.
    ///
    /// Promises: answers leave in request order; after a refusal (413, 400, 408) no further request is
    /// read and the connection closes (or lingers, then closes) once the refusal is written; nothing is
    /// answered after the last answer; a closed machine returns no action but `.none`.
    struct StateMachine<Item> {
        enum Phase: Equatable { case reading, queued, answering, quiescing, closing, lingering, closed }
        enum Input: Equatable {
            /// No byte of a next request yet.
            case idle
            /// Bytes of a head, not the whole head.
            case head
            /// The head, not the whole body.
            case body
            /// After a refusal: everything else is dropped.
            case ignoring
        }
        enum Timeout: Equatable { case idle, header, body, linger }

        struct Timeouts {
            var header: TimeAmount
            var body: TimeAmount
            var idle: TimeAmount
        }

        /// How long and how much a closing connection keeps reading (and dropping) the client's bytes.
        struct Linger {
            var timeout: TimeAmount
            var maxBytes: Int
        }

        enum Action {
            case none
            /// Answer this item (a request to dispatch, or a ready response). `closeAfter`: the answer ends the connection.
            case answer(Item, closeAfter: Bool)
            /// Arm the connection's timer for this deadline (no timer is armed now).
            case armTimer(NIODeadline)
            /// The client took too long: answer 408 (after what is queued), then close.
            case refuseTimedOut(Timeout)
            /// The last answer is out: shut the write side only, keep reading (and dropping) the client's
            /// bytes, and re-arm the connection's timer for this deadline (replacing the armed one).
            case closeOutput(lingerUntil: NIODeadline)
            case close
        }

        /// After the last answer (with a ``Linger`` configuration).
        private enum Ending: Equatable {
            /// The last answer is being written.
            case flushing
            /// The write side is shut; the client's bytes are read and dropped.
            case lingering(discarded: Int)
        }

        let timeouts: Timeouts
        let maxQueued: Int
        /// Nil: the connection closes as soon as its last answer is written (h2 streams, or where half-closing is not wanted).
        let linger: Linger?
        private var ending: Ending?
        private(set) var input: Input = .idle
        private(set) var isAnswering = false
        private(set) var isQuiescing = false
        private(set) var isClosed = false
        private var queue = CircularBuffer<Item>()
        /// Whether the last answer asked to close (a refusal): nothing more is answered after it.
        private var closeQueued = false
        private(set) var deadline: NIODeadline?
        private(set) var deadlineKind: Timeout?
        private var timerArmed = false
        private(set) var heldRead = false

        private let shortest: TimeAmount

        init(timeouts: Timeouts, maxQueued: Int, linger: Linger? = nil, now: NIODeadline) {
            self.timeouts = timeouts
            self.shortest = min(timeouts.header, timeouts.body, timeouts.idle)
            self.maxQueued = maxQueued
            self.linger = linger
            if case .armTimer(let at) = setDeadline(.idle, now: now) { initialTimer = at }
        }

        /// Where the handler arms its timer when it is added to the channel.
        private(set) var initialTimer: NIODeadline?

        var phase: Phase {
            if isClosed { return .closed }
            switch ending {
            case .flushing: return .closing
            case .lingering: return .lingering
            case nil: break
            }
            if isQuiescing { return .quiescing }
            if !queue.isEmpty { return .queued }
            if isAnswering { return .answering }
            return .reading
        }

        var queuedCount: Int { queue.count }

        /// Whether the client's bytes are to be dropped unread (the last answer is out or going out).
        var discardsInput: Bool { !isClosed && ending != nil }

        // MARK: Reading

        /// Raw bytes arrived from the client (before HTTP decoding).
        mutating func bytesReceived(now: NIODeadline) -> Action {
            guard !isClosed, input == .idle else { return .none }
            input = .head
            return setDeadline(.header, now: now)
        }

        /// A whole request head was decoded.
        mutating func headReceived(now: NIODeadline) -> Action {
            guard !isClosed, input != .ignoring else { return .none }
            input = .body
            return setDeadline(.body, now: now)
        }

        /// A request is complete: it is answered now or queued behind the one being answered.
        mutating func requestReceived(_ item: Item, now: NIODeadline) -> Action {
            guard !isClosed, input != .ignoring else { return .none }
            input = .idle
            queue.append(item)
            clearDeadline()
            return next()
        }

        /// The client's input must be refused (413, 400): `refusal` is answered after what is queued, then the connection closes.
        mutating func refuse(_ refusal: Item) -> Action {
            guard !isClosed, input != .ignoring else { return .none }
            input = .ignoring
            clearDeadline()
            queue.append(refusal)
            return next()
        }

        /// NIO asks whether to read more: hold reads while `maxQueued` requests wait.
        mutating func readRequested() -> Bool {
            if queue.count >= maxQueued {
                heldRead = true
                return false
            }
            return true
        }

        // MARK: Answering

        /// The answer of the current item was written. Returns the next thing to do; `readAgain`
        /// when reads were held and the queue drained below the cap.
        mutating func answerWritten(keptOpen: Bool, now: NIODeadline) -> (action: Action, readAgain: Bool) {
            isAnswering = false
            guard !isClosed else { return (.none, false) }
            guard keptOpen else {
                // While quiescing the drain is waiting for this connection: close without lingering.
                guard linger != nil, !isQuiescing else {
                    isClosed = true
                    return (.none, false)
                }
                ending = .flushing
                input = .ignoring
                queue.removeAll()
                clearDeadline()
                // Reads held at `maxQueued` resume: lingering reads until the client's EOF.
                let readAgain = heldRead
                heldRead = false
                return (.none, readAgain)
            }
            if !queue.isEmpty {
                let action = next()
                return (action, resumeReading())
            }
            let readAgain = resumeReading()
            if isQuiescing, input == .idle || input == .ignoring {
                isClosed = true
                return (.close, readAgain)
            }
            if input == .idle { return (setDeadline(.idle, now: now), readAgain) }
            return (.none, readAgain)
        }

        /// Whether the answer to the current item should keep the connection open.
        /// Call while answering. Requests queued before a refusal are still answered on an open connection.
        func keepsOpen(requestKeepAlive: Bool) -> Bool {
            requestKeepAlive && !closeQueued && !(isQuiescing && queue.isEmpty)
        }

        // MARK: Lingering close

        /// The last answer (``answerWritten(keptOpen:now:)`` with `keptOpen: false`) is written out.
        /// Returns `.closeOutput` to start lingering, or `.close` when shutdown was asked meanwhile.
        mutating func lastAnswerFlushed(now: NIODeadline) -> Action {
            guard !isClosed, ending == .flushing, let linger else { return .none }
            if isQuiescing {
                isClosed = true
                return .close
            }
            ending = .lingering(discarded: 0)
            let at = now + linger.timeout
            deadline = at
            deadlineKind = .linger
            // The handler replaces whatever timer is armed (it may be armed further ahead than the linger).
            timerArmed = true
            return .closeOutput(lingerUntil: at)
        }

        /// While closing or lingering: `count` bytes from the client were read and dropped. Closes
        /// once more than `maxBytes` were dropped while lingering (a client that never stops sending).
        mutating func bytesDiscarded(_ count: Int) -> Action {
            guard !isClosed, case .lingering(let discarded) = ending, let linger else { return .none }
            let total = discarded + count
            ending = .lingering(discarded: total)
            guard total > linger.maxBytes else { return .none }
            isClosed = true
            clearDeadline()
            return .close
        }

        // MARK: Timers, shutdown, close

        /// The timer fired. Either re-arms (the deadline moved), times out, or does nothing.
        mutating func timerFired(now: NIODeadline) -> Action {
            timerArmed = false
            guard !isClosed, let deadline, let kind = deadlineKind else { return .none }
            if now < deadline {
                timerArmed = true
                return .armTimer(min(deadline, now + shortest))
            }
            clearDeadline()
            switch kind {
            case .idle:
                guard !isAnswering, queue.isEmpty, input == .idle else { return .none }
                isClosed = true
                return .close
            case .header, .body:
                // The handler answers with ``refuse(_:)``, which stops reading.
                return .refuseTimedOut(kind)
            case .linger:
                isClosed = true
                return .close
            }
        }

        /// Shutdown asked the connection to finish what it has and close. A lingering connection closes
        /// at once; one whose last answer is being written closes once it is written.
        mutating func quiesce() -> Action {
            guard !isClosed else { return .none }
            isQuiescing = true
            switch ending {
            case .flushing:
                return .none
            case .lingering:
                isClosed = true
                clearDeadline()
                return .close
            case nil:
                break
            }
            if !isAnswering, queue.isEmpty, input == .idle || input == .ignoring {
                isClosed = true
                return .close
            }
            return .none
        }

        /// The channel closed (for a lingering connection: the client closed its side, or reset).
        mutating func closed() {
            isClosed = true
            clearDeadline()
            queue.removeAll()
        }

        // MARK: Internals

        private mutating func resumeReading() -> Bool {
            guard heldRead, queue.count < maxQueued else { return false }
            heldRead = false
            return true
        }

        private mutating func next() -> Action {
            guard !isAnswering, !isClosed, !closeQueued, let item = queue.popFirst() else { return .none }
            isAnswering = true
            // The refusal is the last item queued: answering it ends the connection.
            let last = input == .ignoring && queue.isEmpty
            if last { closeQueued = true }
            return .answer(item, closeAfter: last)
        }

        @discardableResult
        private mutating func setDeadline(_ kind: Timeout, now: NIODeadline) -> Action {
            let amount = switch kind {
            case .idle: timeouts.idle
            case .header: timeouts.header
            case .body: timeouts.body
            case .linger: linger?.timeout ?? timeouts.idle
            }
            let at = now + amount
            deadline = at
            deadlineKind = kind
            guard !timerArmed else { return .none }
            timerArmed = true
            return .armTimer(min(at, now + shortest))
        }

        private mutating func clearDeadline() {
            deadline = nil
            deadlineKind = nil
        }
    }
}
