/// How labels reach the learners (`feedback:` in the config file; every key optional).
///
/// The deliverer reads labels from `shadowgate.labels` and posts them to each route's learner at
/// `learner.url` + `learner.feedback_path`; see the README, "Feedback", for the body.
public struct FeedbackConfig: Sendable, Hashable {
    /// The body shape of a delivery.
    public enum BodyShape: String, Sendable, Hashable, CaseIterable {
        /// `{"items": [{"idempotency_key", "request_id", "index", "route", "features", "label", …}]}`.
        case items
        /// Each item an Open Inference Protocol v2 request (`id`, `inputs` plus an input `label`, `parameters`).
        case openInference = "open-inference"
    }

    /// Whether this gateway runs a deliverer at all (one replica per database delivers at a time).
    public var deliver: Bool = true
    /// Most labels in one POST to a learner. With 1 each POST carries one label and its body is
    /// the item itself, not `{"items": […]}` (for learners that take one label per request).
    public var batchSize: Int = 500
    /// Longest the deliverer waits for a POST to fill before sending a partial one.
    public var maxWait: Duration = .milliseconds(200)
    public var body: BodyShape = .items
    /// Time allowed for one POST to a learner (connect, send, whole answer).
    public var timeout: Duration = .seconds(10)
    /// First wait before a failed POST is tried again; doubles up to `retryMax`, with jitter.
    public var retryInitial: Duration = .milliseconds(100)
    public var retryMax: Duration = .seconds(10)
    /// How long a label whose prediction is not logged yet keeps waiting for it before it is
    /// given up (counted, and listed in `shadowgate.labels_unmatched`).
    public var waitForPrediction: Duration = .seconds(3600)

    public init() {}
}
