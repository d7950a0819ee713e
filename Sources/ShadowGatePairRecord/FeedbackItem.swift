/// One ground-truth label for a request the gateway served, as sent to `POST /v1/feedback`.
public struct FeedbackItem: Sendable, Hashable {
    public var requestID: String
    /// The label as JSON text (`1`, `0.5`, `"churned"`), forwarded to the learner as it came.
    public var labelJSON: String
    /// The label as stored in `shadowgate.labels.label`: a string label unquoted, a number as written.
    public var labelText: String
    /// For a request with several rows: which row the label is for (selects the features forwarded).
    public var rowIndex: Int?

    public init(requestID: String, labelJSON: String, labelText: String, rowIndex: Int? = nil) {
        self.requestID = requestID
        self.labelJSON = labelJSON
        self.labelText = labelText
        self.rowIndex = rowIndex
    }
}

/// A label that was accepted for storing, with what the learner needs to learn from it.
public struct StoredFeedback: Sendable, Hashable {
    /// The label as it came (its row index selects the features forwarded).
    public var item: FeedbackItem
    /// The route of the pair the label belongs to.
    public var route: String
    /// The request's captured features as JSON text, if they were captured.
    public var features: String?
    /// The pair is in its route's legacy holdout: the label is stored but never given to the learner.
    public var holdout = false

    public var requestID: String { item.requestID }

    public init(item: FeedbackItem, route: String, features: String?) {
        self.item = item
        self.route = route
        self.features = features
    }
}

/// Where feedback labels are stored (PostgreSQL in production).
///
/// Promise: `store` never blocks the caller; `completion` runs exactly once, on an arbitrary
/// thread, with one entry per item whose request id matched a logged pair (the others are
/// unknown), or with an error when the labels could not be looked up or taken for storing.
public protocol FeedbackStore: Sendable {
    func store(_ items: [FeedbackItem], completion: @escaping @Sendable (Result<[StoredFeedback], any Error>) -> Void)
}
