import NIOCore
import NIOHTTP1
import ShadowGatePairRecord

/// `POST /v1/feedback`: stores ground-truth labels and forwards features + label to each route's learner.
///
/// Promises:
/// - A bad body is refused with 400 and a sentence naming the item and the field; nothing is stored.
/// - Each label is keyed by its request id and row `index` (0 when absent): labels for different
///   rows of one batch request are all kept; a later label for the same row replaces the earlier.
///   They are written by the pair-log writer (batched, spooled while PostgreSQL is down).
/// - Labels whose request id matches no logged pair are retried once after `retryDelay` (the pair
///   may still be on its way to PostgreSQL), then reported as unknown: 404 when none matched,
///   otherwise 200 with the unknown ids listed. Known labels are stored either way.
/// - Each stored label is forwarded to its route's learner (`POST {learner}{feedback_path}` with
///   `{"request_id", "features", "label"}`) after the client has its answer; forwarding failures
///   are counted in `shadowgate_feedback_total{outcome="forward_error"}`, never retried. Labels of
///   the legacy holdout (`holdout_percent`) are stored but never forwarded: the learner must not
///   train on the slice that judges it.
/// - Without a label store (`--no-pair-log`) the endpoint answers 503.
struct FeedbackHandler {
    static let path = "/v1/feedback"
    static let retryDelay = TimeAmount.milliseconds(1500)

    let context: GatewayContext
    let upstreams: LoopUpstreams

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
        let loop = upstreams.eventLoop
        let finish = NIOLoopBound(respond, eventLoop: loop)
        let handler = self
        store.store(items) { first in
            loop.execute {
                switch first {
                case .failure(let error):
                    finish.value(handler.storeFailed(error, version: version, requestID: requestID))
                case .success(let stored):
                    let known = Set(stored.map(\.requestID))
                    let missing = items.filter { !known.contains($0.requestID) }
                    handler.forward(stored)
                    guard !missing.isEmpty else {
                        finish.value(handler.answer(items: items, stored: stored, unknown: [], version: version, requestID: requestID))
                        return
                    }
                    loop.scheduleTask(in: Self.retryDelay) {
                        store.store(missing) { second in
                            loop.execute {
                                let late = (try? second.get()) ?? []
                                handler.forward(late)
                                let lateIDs = Set(late.map(\.requestID))
                                let unknown = missing.map(\.requestID).filter { !lateIDs.contains($0) }
                                finish.value(handler.answer(items: items, stored: stored + late, unknown: unknown, version: version, requestID: requestID))
                            }
                        }
                    }
                }
            }
        }
    }

    private func answer(items: [FeedbackItem], stored: [StoredFeedback], unknown: [String], version: HTTPVersion, requestID: String) -> GatewayResponse {
        context.metrics.feedback(.stored, count: stored.count)
        context.metrics.feedback(.unknown, count: unknown.count)
        if stored.isEmpty {
            let shown = unknown.prefix(10).joined(separator: ", ")
            let more = unknown.count > 10 ? " and \(unknown.count - 10) more" : ""
            return .json(.init(status: .notFound, message: "no logged prediction has request_id \(shown)\(more)"), version: version, requestID: requestID)
        }
        var body = ByteBufferAllocator().buffer(capacity: 64 + unknown.count * 40)
        body.writeString("{\"stored\":\(stored.count),\"unknown\":[")
        for (i, id) in unknown.enumerated() {
            if i > 0 { body.writeStaticString(",") }
            body.writeJSONString(id)
        }
        body.writeStaticString("]}\n")
        return .own(status: .ok, body: body, contentType: "application/json", version: version, requestID: requestID, servedBy: "gateway")
    }

    private func storeFailed(_ error: any Error, version: HTTPVersion, requestID: String) -> GatewayResponse {
        context.metrics.feedback(.storeError)
        return .json(.init(status: .serviceUnavailable, message: "labels could not be stored: \(error)"), version: version, requestID: requestID)
    }

    /// Posts features + label to each stored label's learner, with the features of the label's
    /// row; fire and forget, counted.
    private func forward(_ stored: [StoredFeedback]) {
        for feedback in stored where !feedback.holdout {
            let item = feedback.item
            guard let routeIndex = context.routeTable.routes.firstIndex(where: { $0.name == feedback.route }),
                  let pool = upstreams.pool(route: routeIndex, role: .learner) else { continue }
            var features = feedback.features ?? "null"
            if let row = item.rowIndex, feedback.features != nil { features = FeatureRows.row(row, of: features) }
            var body = ByteBufferAllocator().buffer(capacity: features.utf8.count + item.labelJSON.utf8.count + 64)
            body.writeStaticString("{\"request_id\":")
            body.writeJSONString(feedback.requestID)
            body.writeStaticString(",\"features\":")
            body.writeString(features)
            body.writeStaticString(",\"label\":")
            body.writeString(item.labelJSON)
            body.writeStaticString("}")
            var headers = HTTPHeaders()
            headers.add(name: "host", value: pool.upstream.authority)
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(body.readableBytes))
            headers.add(name: "x-request-id", value: feedback.requestID)
            let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: pool.upstream.basePath + pool.upstream.feedbackPath, headers: headers)
            let metrics = context.metrics
            pool.execute(UpstreamRequest(head: head, body: body)) { result in
                let ok = result.response.map { (200..<300).contains(Int($0.head.status.code)) } ?? false
                metrics.feedback(ok ? .forwarded : .forwardError)
            }
        }
    }
}
