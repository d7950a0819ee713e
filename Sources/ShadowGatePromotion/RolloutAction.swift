/// What a flag change was, as recorded in `shadowgate.rollout_events.action`.
public enum RolloutAction: String, Sendable, Hashable, CaseIterable {
    /// The config file's initial state, written when a route first appears.
    case seed
    /// A person set mode and percent (CLI `flags set`, admin API `PUT`).
    case set
    /// A person promoted the route (`shadowgate promote`).
    case promote
    /// A person rolled the route back (`shadowgate rollback`).
    case rollback
    /// The controller took the next canary step (or promoted) because every gate passed for the dwell time.
    case advance
    /// The controller rolled back to `shadow` because a hard gate failed.
    case autoRollback = "auto_rollback"
}
