import ShadowGateRouting

/// What the controller remembers about a route between evaluations (stored in
/// `shadowgate.rollout_state`, so a replica that takes over the controller continues from it).
public struct RolloutMemory: Sendable, Hashable {
    /// Start of the current run of passing evaluations (seconds since 1970); `nil` when the last one did not pass.
    public var passingSince: Double?
    /// The controller's last rollback (seconds since 1970), until a fresh window or a person clears it.
    public var rolledBackAt: Double?

    public init(passingSince: Double? = nil, rolledBackAt: Double? = nil) {
        self.passingSince = passingSince
        self.rolledBackAt = rolledBackAt
    }
}

/// The route's flags as the controller reads them before deciding.
public struct FlagsSnapshot: Sendable, Hashable {
    public var flags: RouteFlags
    public var revision: Int64
    /// When the flags last changed (seconds since 1970).
    public var changedAt: Double
    /// Whether the last change was the controller's own (a person's change clears a rollback hold).
    public var changedByController: Bool
    /// Whether the last change was a person's rollback: the controller then leaves the route alone
    /// until a person changes its flags again.
    public var rolledBackByPerson: Bool

    public init(flags: RouteFlags, revision: Int64, changedAt: Double, changedByController: Bool, rolledBackByPerson: Bool = false) {
        self.flags = flags
        self.revision = revision
        self.changedAt = changedAt
        self.changedByController = changedByController
        self.rolledBackByPerson = rolledBackByPerson
    }
}

/// One decision of the promotion controller.
public struct PromotionDecision: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// Stay on the current step.
        case hold
        /// Take the next canary step.
        case advance
        /// Take the last step: `promoted`.
        case promote
        /// Move traffic back to `shadow` now: a hard gate failed.
        case rollback
        /// A hard gate fails while the learner serves nothing (shadow): nothing to roll back, nothing may advance.
        case blocked
    }

    public var kind: Kind
    /// The flags to apply (for `advance`, `promote` and `rollback`).
    public var target: RouteFlags?
    public var reason: String
    public var memory: RolloutMemory

    public init(kind: Kind, target: RouteFlags?, reason: String, memory: RolloutMemory) {
        self.kind = kind
        self.target = target
        self.reason = reason
        self.memory = memory
    }
}

/// The point-estimate rule for one route, as a pure function of the flags, the evaluation, what it
/// remembers and the time: shadow → canary steps → promoted while every gate passes for the dwell
/// time; → shadow at once when a hard gate fails.
///
/// The controller no longer decides with it (it uses `PromotionController.StateMachine`, gates as
/// confidence statements); it is kept, unchanged, as the old rule that `Scripts/bench.sh gates`
/// measures the new one against.
public enum PromotionDecider {
    public static func decide(
        policy: PromotionPolicy, current: FlagsSnapshot, evaluation: PromotionEvaluation,
        memory: RolloutMemory, now: Double
    ) -> PromotionDecision {
        var memory = memory
        let flags = current.flags
        func hold(_ reason: String, kind: PromotionDecision.Kind = .hold) -> PromotionDecision {
            PromotionDecision(kind: kind, target: nil, reason: reason, memory: memory)
        }
        if flags.mode == .legacy {
            memory.passingSince = nil
            return hold("the route is in legacy mode, so there are no pairs to judge; set it to shadow to start")
        }
        if current.rolledBackByPerson {
            memory.passingSince = nil
            return hold("rolled back by hand; the controller resumes once a person sets the flags again "
                        + "(shadowgate flags set, shadowgate promote, or PUT /admin/routes/NAME)")
        }
        // A person who changes the flags after a rollback takes responsibility for them.
        if let rolledBack = memory.rolledBackAt, current.changedAt > rolledBack, !current.changedByController {
            memory.rolledBackAt = nil
        }
        switch evaluation.outcome {
        case .fail where evaluation.hardFailure:
            memory.passingSince = nil
            guard flags.mode == .canary || flags.mode == .promoted else {
                return hold("hard gate failing while in shadow: \(evaluation.reason)", kind: .blocked)
            }
            memory.rolledBackAt = now
            return PromotionDecision(
                kind: .rollback, target: RouteFlags(mode: .shadow, canaryPercent: 0, shadowPercent: flags.shadowPercent),
                reason: "hard gate failed: \(evaluation.reason)", memory: memory)
        case .fail:
            memory.passingSince = nil
            return hold("holding, soft gate failing: \(evaluation.reason)")
        case .inconclusive:
            memory.passingSince = nil
            return hold("inconclusive, holding the current step: \(evaluation.reason)")
        case .pass:
            let passingSince = memory.passingSince ?? now
            memory.passingSince = passingSince
            if let rolledBack = memory.rolledBackAt {
                let freshAt = rolledBack + policy.window.seconds
                if now < freshAt {
                    return hold("gates pass, but the window still holds traffic from before the rollback; "
                                + "advancing again in \(Int((freshAt - now).rounded(.up))) s")
                }
                memory.rolledBackAt = nil
            }
            guard let next = policy.nextStep(after: flags) else {
                return hold("promoted; \(evaluation.reason)")
            }
            let held = now - max(passingSince, current.changedAt)
            if held < policy.dwell.seconds {
                return hold("gates pass; dwelling \(Int(held)) of \(Int(policy.dwell.seconds.rounded(.up))) s before "
                            + (next.mode == .promoted ? "promoting" : "canary \(next.canaryPercent.formattedShort) %"))
            }
            memory.passingSince = nil
            return PromotionDecision(
                kind: next.mode == .promoted ? .promote : .advance, target: next,
                reason: "every gate passed for \(Int(held)) s: \(evaluation.reason)", memory: memory)
        }
    }
}
