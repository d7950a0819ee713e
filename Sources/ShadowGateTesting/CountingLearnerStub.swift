import Foundation
import Synchronization

/// A learner for delivery tests: it takes feedback on `/feedback` in every body shape the
/// deliverer sends (`{"items": […]}`, one item, Open Inference Protocol requests) and counts how
/// often it got each idempotency key, so a test can tell "every label at least once" and how many
/// duplicates. It predicts `{"predictions":[0.9]}` on any other path. It can go down (stop
/// listening: connections are refused) and come back on the same port, or answer an error status.
public final class CountingLearnerStub: Sendable {
    /// One delivered item as the stub understood it.
    public struct Item: Sendable, Hashable {
        public var key: String
        public var requestID: String
        public var index: Int
        /// The label as JSON text.
        public var label: String
        /// The features (or OIP inputs) as JSON text, keys sorted.
        public var features: String
    }

    private struct State {
        var counts: [String: Int] = [:]
        var items: [Item] = []
        var posts = 0
        var failWith: Int?
    }

    private final class Core: Sendable {
        let state = Mutex(State())
    }

    private let core: Core
    private let stub: Mutex<UpstreamStub?>
    /// Holds the port while the stub is down, so no other test's server or client takes it before
    /// ``comeBack()`` (in a parallel run one did, and coming back failed with EADDRINUSE).
    private let reservation = Mutex<RefusingPort?>(nil)
    public let port: Int

    public init() async throws {
        let core = Core()
        let first = try await UpstreamStub(.dynamic { Self.answer($0, core: core) }, sharesPort: true)
        self.core = core
        port = first.port
        stub = Mutex(first)
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Stops listening; deliveries are refused until ``comeBack()``.
    public func goDown() async {
        let held = try? RefusingPort(port: port, sharedWithListeners: true)
        reservation.withLock { $0 = held }
        let current = stub.withLock { s -> UpstreamStub? in defer { s = nil }; return s }
        await current?.stop()
    }

    /// Listens again on the same port.
    public func comeBack() async throws {
        let core = self.core
        let fresh = try await UpstreamStub(.dynamic { Self.answer($0, core: core) }, port: port, sharesPort: true)
        stub.withLock { $0 = fresh }
        reservation.withLock { $0 = nil }
    }

    /// Answers feedback with this status (nil: 200 again) without counting it.
    public func failWith(_ status: Int?) { core.state.withLock { $0.failWith = status } }

    public func stop() async { await goDown() }

    /// Distinct idempotency keys received.
    public var distinct: Int { core.state.withLock { $0.counts.count } }
    /// Items received beyond the first of each key.
    public var duplicates: Int { core.state.withLock { s in s.counts.values.reduce(0) { $0 + $1 - 1 } } }
    /// Feedback POSTs answered 2xx.
    public var posts: Int { core.state.withLock { $0.posts } }
    /// Every item received, in arrival order (duplicates included).
    public var items: [Item] { core.state.withLock { $0.items } }
    /// Distinct request ids received.
    public var requestIDs: Set<String> { core.state.withLock { Set($0.items.map(\.requestID)) } }

    private static func answer(_ request: UpstreamStub.ReceivedRequest, core: Core) -> (status: Int, body: String) {
        guard request.uri.hasSuffix("/feedback") else { return (200, #"{"predictions":[0.9]}"#) }
        if let status = core.state.withLock({ $0.failWith }) { return (status, #"{"error":"learner failing on purpose"}"#) }
        guard let json = try? JSONSerialization.jsonObject(with: Data(request.body)) else {
            return (400, #"{"error":"body is not JSON"}"#)
        }
        let objects: [[String: Any]]
        if let object = json as? [String: Any], let items = object["items"] as? [[String: Any]] {
            objects = items
        } else if let object = json as? [String: Any] {
            objects = [object]
        } else {
            return (400, #"{"error":"expected an object"}"#)
        }
        var parsed: [Item] = []
        for o in objects {
            let parameters = o["parameters"] as? [String: Any]
            guard let key = (o["idempotency_key"] ?? o["id"]) as? String,
                  let id = (o["request_id"] ?? parameters?["request_id"]) as? String else {
                return (400, #"{"error":"an item has no idempotency_key or request_id"}"#)
            }
            let index = ((o["index"] ?? parameters?["index"]) as? NSNumber)?.intValue ?? 0
            var label: Any = o["label"] ?? NSNull()
            if o["label"] == nil, let inputs = o["inputs"] as? [[String: Any]],
               let labelInput = inputs.first(where: { $0["name"] as? String == "label" }),
               let data = labelInput["data"] as? [Any], let first = data.first {
                label = first
            }
            let features = (o["features"] ?? (o["inputs"] as? [[String: Any]])?.filter { $0["name"] as? String != "label" }) ?? NSNull()
            parsed.append(Item(key: key, requestID: id, index: index, label: Self.text(label), features: Self.text(features)))
        }
        core.state.withLock { s in
            s.posts += 1
            for item in parsed {
                s.counts[item.key, default: 0] += 1
                s.items.append(item)
            }
        }
        return (200, #"{"learned":\#(parsed.count)}"#)
    }

    private static func text(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) else { return "?" }
        return String(decoding: data, as: UTF8.self)
    }
}
