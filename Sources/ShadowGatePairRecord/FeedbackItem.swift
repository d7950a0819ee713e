/// One ground-truth label for a request the gateway served, as sent to `POST /v1/feedback`.
public struct FeedbackItem: Sendable, Hashable {
    public var requestID: String
    /// The label as JSON text (`1`, `0.5`, `"churned"`), as it came.
    public var labelJSON: String
    /// The label as stored in `shadowgate.labels.label`: a string label unquoted, a number as written.
    public var labelText: String
    /// For a request with several rows: which row the label is for (selects the features delivered).
    public var rowIndex: Int?

    public init(requestID: String, labelJSON: String, labelText: String, rowIndex: Int? = nil) {
        self.requestID = requestID
        self.labelJSON = labelJSON
        self.labelText = labelText
        self.rowIndex = rowIndex
    }
}

/// Where `POST /v1/feedback` hands labels (the pair-log writer in production).
///
/// Promise: ``accept(_:)`` never blocks and never touches the database: it stamps the labels and
/// queues them for the writer, which writes them in batches or spools them while PostgreSQL is
/// down. It returns how many of `items` (a prefix) were taken; fewer than all only when the
/// writer's queue is full or it is shutting down. Taking a label again is harmless: the store
/// keeps the latest label per (request id, row).
public protocol FeedbackStore: Sendable {
    func accept(_ items: [FeedbackItem]) -> Int
}
