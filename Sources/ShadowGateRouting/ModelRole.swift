/// Which of a route's two models a thing refers to.
public enum ModelRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// The batch-trained model the gateway fronts first.
    case legacy
    /// The continuous learner that is migrated to.
    case learner

    /// The other model of the pair.
    public var other: ModelRole { self == .legacy ? .learner : .legacy }
}
