import Foundation
import NIOCore
import ShadowGateConfig
import ShadowGateProxy
import ShadowGateTesting
import Testing

/// Every refusal is a JSON body `{"error": "..."}` with the right status, and the gateway keeps serving.
@Suite("Bad input and broken upstreams")
struct BadInputTests {
    func errorMessage(_ body: [UInt8]) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        return try #require(object?["error"] as? String)
    }

    @Test("unknown route: 404 naming the path")
    func unknownRoute() async throws {
        let harness = try await GatewayHarness.start()
        let client = try await harness.client()
        let response = try await client.send(.POST, "/v2/models/nope/infer", body: "{}")
        #expect(response.status == 404)
        #expect(response.header("content-type") == "application/json")
        #expect(try errorMessage(response.body).contains("/v2/models/nope/infer"))
        // The connection still serves.
        let ok = try await client.send(.POST, "/v2/models/churn/infer", body: inferBody)
        #expect(ok.status == 200)
        #expect(harness.legacy.requests.count == 1)
        await client.close()
        await harness.stop()
    }

    @Test("body over the limit: 413, and nothing reaches the upstreams")
    func bodyTooLarge() async throws {
        let harness = try await GatewayHarness.start { $0.limits.maxBodyBytes = 1024 }
        let client = try await harness.client()
        let response = try await client.send(.POST, "/v2/models/churn/infer", body: String(repeating: "x", count: 4096))
        #expect(response.status == 413)
        #expect(try errorMessage(response.body).contains("1024"))
        #expect(harness.legacy.requests.isEmpty)
        await client.close()

        // Chunked bodies with no length up front are cut off the same way.
        let chunk = String(repeating: "y", count: 800)
        let raw = "POST /v2/models/churn/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "320\r\n\(chunk)\r\n320\r\n\(chunk)\r\n0\r\n\r\n"
        let answer = String(decoding: try await RawHTTPExchange.send(Array(raw.utf8), port: harness.port), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 413"))
        #expect(answer.contains("\"error\""))
        await harness.stop()
    }

    @Test("CONNECT to a model path: 405 and a close, nothing reaches the upstreams, no pair")
    func connectIsRefused() async throws {
        let harness = try await GatewayHarness.start()
        let raw = "CONNECT /v2/models/churn/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        let answer = String(decoding: try await RawHTTPExchange.send(Array(raw.utf8), port: harness.port), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 405"), "\(answer)")
        #expect(answer.lowercased().contains("connection: close"))
        #expect(harness.legacy.requests.isEmpty && harness.learner.requests.isEmpty)
        // The gateway is still up, and the refused CONNECT left no pair.
        let client = try await harness.client()
        #expect(try await client.send(.POST, "/v2/models/churn/infer", body: inferBody).status == 200)
        await client.close()
        let records = try await harness.records(count: 1)
        #expect(records.count == 1)
        try await Task.sleep(for: .milliseconds(200))
        #expect(harness.sink.all.count == 1)
        await harness.stop()
    }

    @Test("malformed HTTP: 400 with a JSON body")
    func malformedHTTP() async throws {
        let harness = try await GatewayHarness.start()
        let raw = "GARBAGE\u{1}\u{2} / NOT-HTTP\r\n\r\n"
        let answer = String(decoding: try await RawHTTPExchange.send(Array(raw.utf8), port: harness.port), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 400"))
        let body = try #require(answer.components(separatedBy: "\r\n\r\n").last)
        #expect(try errorMessage(Array(body.utf8)).contains("malformed HTTP"))
        // The gateway is still up.
        let client = try await harness.client()
        #expect(try await client.send(.POST, "/v2/models/churn/infer", body: inferBody).status == 200)
        await client.close()
        await harness.stop()
    }

    @Test("malformed bytes behind a request still being proxied: its answer, then 400, then the close")
    func garbageAfterInFlightRequest() async throws {
        // Found by Fuzz/http_campaign.py: more than one read of bytes after a malformed request made
        // the decoder report each later read, and the gateway closed at once, dropping the answer
        // still due (its pair was logged, the client never saw it).
        let harness = try await GatewayHarness.start(legacy: .delayed(milliseconds: 300, then: .json(#"{"predictions":[1]}"#)))
        let raw = "POST /v1/models/tf:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nA"
            + "\u{1}" + String(repeating: "z", count: 100_000)
        let answer = String(decoding: try await RawHTTPExchange.send(Array(raw.utf8), port: harness.port), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 200"))
        #expect(answer.contains(#"{"predictions":[1]}"#))
        let refusal = try #require(answer.range(of: "HTTP/1.1 400"))
        #expect(answer[refusal.lowerBound...].contains(#"{"error":"malformed HTTP request"}"#))
        await harness.stop()
    }

    @Test("legacy unreachable: 502 naming the upstream; the pair records it")
    func legacyDown() async throws {
        let down = try RefusingPort()
        let harness = try await GatewayHarness.start { $0.routes[0].legacy = try! UpstreamConfig(url: down.url) }
        let client = try await harness.client()
        let response = try await client.send(.POST, "/v2/models/churn/infer", body: inferBody)
        #expect(response.status == 502)
        let message = try errorMessage(response.body)
        #expect(message.contains("legacy upstream \(down.url)"))
        let record = try #require(try await harness.records(count: 1).first)
        #expect(record.legacy.outcome == .unreachable)
        #expect(record.learner.outcome == .ok)
        await client.close()
        await harness.stop()
    }

    @Test("legacy timing out: 504 naming the upstream and the timeout")
    func legacyTimeout() async throws {
        let harness = try await GatewayHarness.start(
            legacy: .delayed(milliseconds: 1500, then: .json(GatewayHarness.legacyBody)), legacyTimeoutMillis: 200)
        let client = try await harness.client()
        let response = try await client.send(.POST, "/v2/models/churn/infer", body: inferBody)
        #expect(response.status == 504)
        let message = try errorMessage(response.body)
        #expect(message.contains(harness.legacy.url))
        #expect(message.contains("200 ms"))
        let record = try #require(try await harness.records(count: 1).first)
        #expect(record.legacy.outcome == .timeout)
        await client.close()
        await harness.stop()
    }

    @Test("legacy errors are passed through as they are")
    func legacyErrorPassedThrough() async throws {
        let harness = try await GatewayHarness.start(legacy: .status(422))
        let client = try await harness.client()
        let response = try await client.send(.POST, "/v2/models/churn/infer", body: inferBody)
        #expect(response.status == 422)
        #expect(response.bodyString == #"{"error":"stub status 422"}"#)
        #expect(response.header("x-shadowgate-served-by") == "legacy")
        await client.close()
        await harness.stop()
    }

    @Test("pipelined requests are answered in order")
    func pipelining() async throws {
        let harness = try await GatewayHarness.start(
            legacy: .dynamic { request in
                // The first request is slow: a gateway that answered out of order would put B first.
                if request.bodyString.contains("A") { Thread.sleep(forTimeInterval: 0.2) }
                return (200, #"{"predictions":[""# + request.bodyString + #""]}"#)
            })
        var raw = ""
        for tag in ["A", "B", "C"] {
            raw += "POST /v1/models/tf:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n\(tag)"
        }
        raw += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        let answer = String(decoding: try await RawHTTPExchange.send(Array(raw.utf8), port: harness.port), as: UTF8.self)
        let a = try #require(answer.range(of: "[\"A\"]"))
        let b = try #require(answer.range(of: "[\"B\"]"))
        let c = try #require(answer.range(of: "[\"C\"]"))
        let live = try #require(answer.range(of: "\"live\":true"))
        #expect(a.lowerBound < b.lowerBound && b.lowerBound < c.lowerBound && c.lowerBound < live.lowerBound)
        await harness.stop()
    }

    @Test("gateway endpoints: health, readiness, metrics")
    func ownEndpoints() async throws {
        let harness = try await GatewayHarness.start()
        let client = try await harness.client()
        #expect(try await client.send(.GET, "/healthz").status == 200)
        #expect(try await client.send(.GET, "/readyz").status == 200)
        #expect(try await client.send(.GET, "/v2/health/live").status == 200)
        #expect(try await client.send(.GET, "/v2/health/ready").status == 200)
        await client.close()
        await harness.stop()
    }

    @Test("model metadata calls pass through to the serving model without a pair")
    func metadataPassThrough() async throws {
        let harness = try await GatewayHarness.start(legacy: .json(#"{"name":"churn","platform":"sklearn"}"#))
        let client = try await harness.client()
        let response = try await client.send(.GET, "/v2/models/churn")
        #expect(response.status == 200)
        #expect(response.bodyString == #"{"name":"churn","platform":"sklearn"}"#)
        #expect(try await client.send(.GET, "/v2/models/churn/ready").status == 200)
        #expect(harness.legacy.requests.map(\.uri) == ["/v2/models/churn", "/v2/models/churn/ready"])
        try await Task.sleep(for: .milliseconds(50))
        #expect(harness.learner.requests.isEmpty)
        #expect(harness.sink.all.isEmpty)
        await client.close()
        await harness.stop()
    }

    @Test("a full sink never slows or fails the client; drops are counted")
    func fullSink() async throws {
        let legacy = try await UpstreamStub(.json(GatewayHarness.legacyBody))
        let learner = try await UpstreamStub(.json(GatewayHarness.learnerBody))
        let config = GatewayConfig(listen: HostPort(host: "127.0.0.1", port: 0), eventLoops: 1, routes: [
            RouteConfig(name: "churn", match: ["/v2/models/churn/infer"],
                        legacy: try UpstreamConfig(url: legacy.url), learner: try UpstreamConfig(url: learner.url)),
        ])
        let sink = CollectingPairSink(capacity: 2)
        let server = GatewayServer(config: config, sink: sink)
        let port = try await server.start().port!
        let client = try await TestHTTPClient(port: port)
        for _ in 0..<10 {
            #expect(try await client.send(.POST, "/v2/models/churn/infer", body: inferBody).status == 200)
        }
        await client.close()
        await server.shutdown()
        #expect(sink.all.count == 2)
        await legacy.stop()
        await learner.stop()
    }
}
