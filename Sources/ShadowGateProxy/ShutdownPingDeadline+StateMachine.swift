import NIOHTTP2

extension ShutdownPingDeadlineHandler {
    /// When to arm and cancel the shutdown PING's deadline, as a value: frames in, timer actions out.
    ///
    /// Promises: the deadline is armed once, when the first PING after a graceful-shutdown GOAWAY
    /// (to the root stream, last stream ID `maxID`) goes out; it is cancelled when that PING's
    /// acknowledgement (same payload) comes in, or when the connection closes. Other PINGs and
    /// their acknowledgements, and PINGs before the GOAWAY (keep-alives), change nothing. Once
    /// fired or cancelled, it is never armed again.
    struct StateMachine {
        enum Action: Equatable {
            case none
            case armDeadline
            case cancelDeadline
        }

        private enum State: Equatable {
            case serving
            case goingAway
            case awaitingAck(HTTP2PingData)
            case done
        }

        private var state: State = .serving

        var isAwaitingAck: Bool { if case .awaitingAck = state { true } else { false } }

        mutating func frameWritten(_ frame: HTTP2Frame) -> Action {
            switch (state, frame.payload) {
            case (.serving, .goAway(let lastStreamID, _, _)) where frame.streamID == .rootStream && lastStreamID == .maxID:
                state = .goingAway
                return .none
            case (.goingAway, .ping(let data, ack: false)):
                state = .awaitingAck(data)
                return .armDeadline
            default:
                return .none
            }
        }

        mutating func frameRead(_ frame: HTTP2Frame) -> Action {
            guard case .awaitingAck(let awaited) = state, case .ping(let data, ack: true) = frame.payload, data == awaited else {
                return .none
            }
            state = .done
            return .cancelDeadline
        }

        mutating func closed() -> Action {
            defer { state = .done }
            return isAwaitingAck ? .cancelDeadline : .none
        }
    }
}
