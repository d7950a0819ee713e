/// One row of `shadowgate.label_delivery_batch()` / `label_waiting_ready()`: a label version in
/// delivery order, joined with its pair when the pair is logged.
public struct LabelDeliveryRow: Sendable, Hashable {
    public var seq: Int64
    /// The writing transaction's id (xid8 as text); with `seq` the delivery cursor.
    public var txid: String
    public var requestID: String
    public var rowIndex: Int
    /// The pair's route; `nil` when the pair is not logged (yet).
    public var route: String?
    /// Why the row is not delivered (`no_prediction`, later `holdout`); `nil` when it is.
    public var skipReason: String?
    /// Seconds since the label was received.
    public var ageSeconds: Double
    /// Seconds from the prediction to the label (`nil` without a pair).
    public var delaySeconds: Double?
    /// The item as the learner receives it (JSON), built by `shadowgate.label_delivery_item()`.
    public var item: String?

    public init(seq: Int64, txid: String, requestID: String, rowIndex: Int, route: String?, skipReason: String?,
                ageSeconds: Double, delaySeconds: Double?, item: String?) {
        self.seq = seq
        self.txid = txid
        self.requestID = requestID
        self.rowIndex = rowIndex
        self.route = route
        self.skipReason = skipReason
        self.ageSeconds = ageSeconds
        self.delaySeconds = delaySeconds
        self.item = item
    }

    /// Parses a result row in the functions' column order; `nil` for a malformed row.
    init?(_ row: [String?]) {
        guard row.count == 9, let seq = row[0].flatMap({ Int64($0) }), let txid = row[1], let id = row[2],
              let index = row[3].flatMap({ Int($0) }) else { return nil }
        self.init(seq: seq, txid: txid, requestID: id, rowIndex: index, route: row[4], skipReason: row[5],
                  ageSeconds: row[6].flatMap(Double.init) ?? 0, delaySeconds: row[7].flatMap(Double.init), item: row[8])
    }
}
