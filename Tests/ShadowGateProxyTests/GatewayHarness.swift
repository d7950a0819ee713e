import Logging
import NIOCore
import ShadowGateConfig
import ShadowGatePairRecord
import ShadowGateProxy
import ShadowGateRouting
import ShadowGateTesting

/// A gateway on a free loopback port in front of two stubs, with a collecting sink.
struct GatewayHarness {
    let legacy: UpstreamStub
    let learner: UpstreamStub
    let sink: CollectingPairSink
    let server: GatewayServer
    let port: Int

    static let legacyBody = #"{"model_name":"churn","model_version":"7","id":"x","outputs":[{"name":"p","shape":[1],"datatype":"FP32","data":[0.25]}]}"#
    static let learnerBody = #"{"model_name":"churn","model_version":"l-42","id":"x","outputs":[{"name":"p","shape":[1],"datatype":"FP32","data":[0.75]}]}"#

    static func start(
        legacy legacyBehavior: UpstreamStub.Behavior = .json(legacyBody),
        learner learnerBehavior: UpstreamStub.Behavior = .json(learnerBody),
        mode: RouteMode = .shadow,
        legacyTimeoutMillis: Int = 1000,
        // Tests of the learner's timeout pass their own; this default only has to outlast a loaded
        // machine (300 ms once timed out a learner stub that answers at once, in a parallel run).
        learnerTimeoutMillis: Int = 5000,
        pool: Int = 4,
        configure: (inout GatewayConfig) -> Void = { _ in }
    ) async throws -> GatewayHarness {
        let legacy = try await UpstreamStub(legacyBehavior)
        let learner = try await UpstreamStub(learnerBehavior)
        var config = GatewayConfig(
            listen: HostPort(host: "127.0.0.1", port: 0),
            eventLoops: 1,
            routes: [
                RouteConfig(
                    name: "churn", match: ["/v2/models/churn/infer"], inferenceProtocol: .oipV2, mode: mode,
                    legacy: try UpstreamConfig(url: legacy.url, timeoutMillis: legacyTimeoutMillis, poolSize: pool),
                    learner: try UpstreamConfig(url: learner.url, timeoutMillis: learnerTimeoutMillis, poolSize: pool)),
                RouteConfig(
                    name: "tf", match: ["/v1/models/tf:predict"], inferenceProtocol: .kserveV1, mode: mode,
                    legacy: try UpstreamConfig(url: legacy.url, timeoutMillis: legacyTimeoutMillis, poolSize: pool),
                    learner: try UpstreamConfig(url: learner.url, timeoutMillis: learnerTimeoutMillis, poolSize: pool)),
            ])
        configure(&config)
        let sink = CollectingPairSink()
        var logger = Logger(label: "test.gateway")
        logger.logLevel = .warning
        let server = GatewayServer(config: config, sink: sink, logger: logger)
        let address = try await server.start()
        return GatewayHarness(legacy: legacy, learner: learner, sink: sink, server: server, port: address.port!)
    }

    func client() async throws -> TestHTTPClient {
        try await TestHTTPClient(port: port)
    }

    /// Waits until the sink holds `count` records (shadows finish after the client is answered).
    func records(count: Int, within seconds: Double = 5) async throws -> [PairRecord] {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            let all = sink.all
            if all.count >= count { return all }
            try await Task.sleep(for: .milliseconds(10))
        }
        return sink.all
    }

    func stop() async {
        await server.shutdown()
        await legacy.stop()
        await learner.stop()
    }
}

let inferBody = #"{"id":"r1","inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1.5,2,3]}]}"#
