import ShadowGatePairRecord

extension PairJoin {
    /// The join of one mirrored request's two sides, as a value: events in, at most one `.record` out.
    ///
    /// Promises: whatever order the serving (primary) and shadow exchanges complete in — including
    /// either of them completing synchronously inside the call that starts it, before the other has
    /// been started — exactly one `.record` action is returned over the machine's lifetime, and only
    /// once both sides are known. A side that completes twice is ignored (returns `.none`).
    ///
    /// States: `waiting` (neither side known), `primaryKnown`, `shadowKnown`, `recorded`.
    /// The shadow side is decided up front: either it will be called (`.mirrored`), or it is skipped
    /// with a reason (then only the primary is awaited). A shadow that fails for a reason that means
    /// it was never called (saturated pool, open circuit, shutdown) becomes a skip reason in the record.
    struct StateMachine {
        enum Shadow: Equatable {
            /// The shadow will be called; its result is awaited.
            case mirrored
            /// The shadow is not called, for this reason.
            case skipped(ShadowSkipReason)
        }

        enum Action {
            case none
            /// Record the pair (exactly once).
            case record(primary: UpstreamResult, shadow: UpstreamResult?, skip: ShadowSkipReason?)
        }

        private enum State {
            case waiting
            case primaryKnown(UpstreamResult)
            case shadowKnown(UpstreamResult)
            case recorded
        }

        private var state: State = .waiting
        let shadow: Shadow

        init(shadow: Shadow) { self.shadow = shadow }

        var isRecorded: Bool { if case .recorded = state { true } else { false } }

        mutating func primaryCompleted(_ result: UpstreamResult) -> Action {
            switch state {
            case .waiting:
                guard case .skipped(let reason) = shadow else {
                    state = .primaryKnown(result)
                    return .none
                }
                state = .recorded
                return .record(primary: result, shadow: nil, skip: reason)
            case .shadowKnown(let shadowResult):
                state = .recorded
                return .record(primary: result, shadow: shadowResult, skip: nil)
            case .primaryKnown, .recorded:
                return .none
            }
        }

        mutating func shadowCompleted(_ result: UpstreamResult) -> Action {
            guard shadow == .mirrored else { return .none }
            switch state {
            case .waiting:
                state = .shadowKnown(result)
                return .none
            case .primaryKnown(let primary):
                state = .recorded
                return .record(primary: primary, shadow: result, skip: nil)
            case .shadowKnown, .recorded:
                return .none
            }
        }
    }
}
