/// One ground-truth label as the pair log stores it: a row of `shadowgate.labels`.
///
/// The key is (`requestID`, `rowIndex`); `receivedAtMicros` is when the gateway received the
/// label, and decides which of two labels for the same key wins (the later one), whatever order
/// they reach PostgreSQL in (a spooled label replayed after a newer one was written stays behind).
public struct LabelRecord: Sendable, Hashable {
    public var requestID: String
    /// The row of a batch request the label is for; 0 for a single prediction.
    public var rowIndex: Int
    /// The route of the pair the label belongs to, when the writer of the label knows it; the
    /// gateway does not look it up (the deliverer joins the label with its pair later), so it
    /// writes NULL, and a NULL never replaces a stored route.
    public var route: String?
    /// The label as text (`labels.label`); `label_value` is filled from it by PostgreSQL.
    public var label: String
    /// Microseconds since the Unix epoch.
    public var receivedAtMicros: Int64

    public init(requestID: String, rowIndex: Int = 0, route: String? = nil, label: String, receivedAtMicros: Int64) {
        self.requestID = requestID
        self.rowIndex = rowIndex
        self.route = route
        self.label = label
        self.receivedAtMicros = receivedAtMicros
    }
}
