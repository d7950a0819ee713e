import NIOCore
import NIOHTTP1
import ShadowGatePairRecord

/// `POST /v1/feedback`: takes ground-truth labels and answers at once.
///
/// Promises:
/// - A bad body is refused with 400 and a sentence naming the item and the field; nothing is taken.
/// - A good body is handed to the ``FeedbackStore`` (the pair-log writer: batched, spooled while
///   PostgreSQL is down) and answered `200 {"stored": n}` without looking the predictions up and
///   without waiting for PostgreSQL: a label may arrive before its prediction is logged, and is
///   delivered to the learner once the two are joined. No database failure can reach the client
///   here; a request id nobody logged is not an error (its label waits, then shows in
///   `shadowgate.labels_unmatched`).
/// - Each label is keyed by its request id and row `index` (0 when absent); a later label for the
///   same row replaces the earlier one, so posting a batch again is harmless.
/// - When the writer's queue is full (or it is stopping) the call is answered 503 with a sentence
///   and a `retry-after`; the labels before the refusal were taken, and sending the whole batch
///   again is safe.
/// - Without a label store (`--no-pair-log`) the endpoint answers 503.
struct FeedbackHandler {
    static let path = "/v1/feedback"

    let context: GatewayContext

    func handle(_ request: BufferedRequest, requestID: String, respond: @escaping ShadowDispatcher.Respond) {
        let version = request.head.version
        guard request.head.method == .POST else {
            respond(.json(.init(status: .methodNotAllowed, message: "use POST \(Self.path)"), version: version, requestID: requestID))
            return
        }
        guard let store = context.feedback else {
            respond(.json(.init(status: .serviceUnavailable, message: "feedback needs the pair log (the gateway runs with --no-pair-log)"), version: version, requestID: requestID))
            return
        }
        let items: [FeedbackItem]
        do {
            items = try FeedbackRequest.parse(request.body.map { Array($0.readableBytesView) } ?? [])
        } catch {
            context.metrics.feedback(.invalid)
            respond(.json(.init(status: .badRequest, message: error.message), version: version, requestID: requestID))
            return
        }
        context.metrics.feedback(.received, count: items.count)
        let taken = store.accept(items)
        context.metrics.feedback(.stored, count: taken)
        guard taken == items.count else {
            context.metrics.feedback(.refused, count: items.count - taken)
            var response = GatewayResponse.json(.init(
                status: .serviceUnavailable,
                message: "the gateway is taking in labels faster than it can store them; \(taken) of \(items.count) were taken, send the rest (or all) again shortly"),
                version: version, requestID: requestID)
            response.head.headers.replaceOrAdd(name: "retry-after", value: "1")
            respond(response)
            return
        }
        var body = ByteBufferAllocator().buffer(capacity: 32)
        body.writeString("{\"stored\":\(taken)}\n")
        respond(.own(status: .ok, body: body, contentType: "application/json", version: version, requestID: requestID, servedBy: "gateway"))
    }
}
