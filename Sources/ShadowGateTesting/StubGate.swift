import Synchronization

/// A gate a test opens when it is ready: an ``UpstreamStub`` answering `.held(gate, then:)` keeps
/// each request unanswered until then (for "while a request is in flight" tests, which a fixed
/// delay would make depend on how fast a loaded machine runs the rest of the test).
///
/// Opening is final; a request held after that is answered at once.
public final class StubGate: Sendable {
    private struct State {
        var open = false
        var waiting: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Opens the gate and releases every held request.
    public func open() {
        let released = state.withLock { state -> [@Sendable () -> Void] in
            state.open = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for release in released { release() }
    }

    /// Runs `body` once the gate is open (at once when it already is).
    func whenOpen(_ body: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.open { return true }
            state.waiting.append(body)
            return false
        }
        if now { body() }
    }
}
