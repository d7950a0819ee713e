/// What to do with one batch of rows read in delivery order: the POSTs per route (in order,
/// each at most `batchSize` items), the labels to park as waiting for their prediction, the ones
/// skipped, and where the cursor goes once all POSTs are answered. Pure: no I/O.
struct DeliveryPlan: Equatable {
    struct Post: Equatable {
        var route: String
        /// The learner's feedback URL path (base path + feedback_path).
        var path: String
        var body: [UInt8]
        var keys: [LabelKey]
        var lastSeq: Int64
        /// Prediction → label delays of the items, seconds.
        var delays: [Double]
        /// The idempotency key of a single-item POST, sent as the `idempotency-key` header too.
        var singleKey: String?
        /// The writing transaction of each of `keys` (their place in the delivery order, kept
        /// when the post's labels are parked).
        var txids: [String] = []
    }

    struct LabelKey: Equatable {
        var requestID: String
        var rowIndex: Int
        var seq: Int64
    }

    var posts: [Post] = []
    var waiting: [LabelKey] = []
    /// Rows not delivered and not waiting, by reason (`no_learner`, `holdout`, …).
    var skipped: [String: Int] = [:]
    /// The keys of the skipped rows.
    var passed: [LabelKey] = []
    /// The (txid, seq) of the last row read; `nil` for a plan of waiting rows (no cursor move).
    var cursor: (txid: String, seq: Int64)?

    static func == (a: DeliveryPlan, b: DeliveryPlan) -> Bool {
        a.posts == b.posts && a.waiting == b.waiting && a.skipped == b.skipped
            && a.cursor?.txid == b.cursor?.txid && a.cursor?.seq == b.cursor?.seq
    }

    /// - Parameters:
    ///   - learnerPaths: route name → the path its learner takes feedback on; routes not in it
    ///     have no learner here and their labels are skipped as `no_learner`.
    ///   - batchSize: items per POST; 1 sends each item as the whole body.
    ///   - movesCursor: whether the rows came from the cursor scan (not the waiting list).
    init(rows: [LabelDeliveryRow], learnerPaths: [String: String], batchSize: Int, movesCursor: Bool) {
        var open: [String: Int] = [:]   // route → index of its open post in `posts`
        var items: [[String]] = []
        for row in rows {
            let key = LabelKey(requestID: row.requestID, rowIndex: row.rowIndex, seq: row.seq)
            if let reason = row.skipReason {
                if reason == "no_prediction" { waiting.append(key) } else { skipped[reason, default: 0] += 1; passed.append(key) }
                continue
            }
            guard let route = row.route, let item = row.item else { waiting.append(key); continue }
            guard let path = learnerPaths[route] else { skipped["no_learner", default: 0] += 1; passed.append(key); continue }
            if let i = open[route], posts[i].keys.count < batchSize {
                posts[i].keys.append(key)
                posts[i].txids.append(row.txid)
                posts[i].lastSeq = max(posts[i].lastSeq, row.seq)
                posts[i].delays.append(row.delaySeconds ?? 0)
                items[i].append(item)
            } else {
                open[route] = posts.count
                posts.append(Post(route: route, path: path, body: [], keys: [key], lastSeq: row.seq,
                                  delays: [row.delaySeconds ?? 0], singleKey: nil, txids: [row.txid]))
                items.append([item])
            }
        }
        for i in posts.indices {
            if batchSize == 1 {
                posts[i].body = Array(items[i][0].utf8)
                posts[i].singleKey = "\(posts[i].keys[0].requestID)/\(posts[i].keys[0].rowIndex)/\(posts[i].keys[0].seq)"
            } else {
                var body = Array(#"{"items":["#.utf8)
                for (n, item) in items[i].enumerated() {
                    if n > 0 { body.append(UInt8(ascii: ",")) }
                    body.append(contentsOf: item.utf8)
                }
                body.append(contentsOf: "]}".utf8)
                posts[i].body = body
            }
        }
        if movesCursor, let last = rows.last { cursor = (last.txid, last.seq) }
    }

    var delivered: [LabelKey] { posts.flatMap(\.keys) }
}
