import Foundation
import ShadowGateTesting

/// `shadowgate serve` as a child process with one KServe v1 route in front of two stubs and a
/// fresh database of its own, listening and ready when `start` returns.
struct GatewayProcess {
    let running: RunningBinary
    let port: Int
    let database: String

    /// - Parameters:
    ///   - database: an existing database to share (two gateways, one database); default a fresh one.
    ///   - routeExtra: more YAML keys of the route, each line indented by four spaces.
    ///   - adminPort: serve the admin API there, with `environment`'s SHADOWGATE_ADMIN_TOKEN.
    ///   - legacyExtra: more keys of the legacy upstream (`timeout_ms: 8000`).
    ///   - topExtra: more top-level YAML (e.g. a `feedback:` section), lines not indented.
    static func start(
        route: String, legacy: any StubEndpoint, learner: any StubEndpoint,
        learnerExtra: String = "", legacyExtra: String = "", flushMillis: Int = 10, database: String? = nil,
        routeExtra: String = "", adminPort: Int? = nil, environment: [String: String] = [:],
        topExtra: String = ""
    ) async throws -> GatewayProcess {
        let database = try await Self.databaseToUse(database)
        let port = try freePort()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("sg-gw-\(UUID().uuidString)").path
        let config = try writeConfig("""
            listen: 127.0.0.1:\(port)
            \(adminPort.map { "admin: { listen: 127.0.0.1:\($0) }" } ?? "")
            event_loops: 1
            database:
              url: "\(database)"
              flush_ms: \(flushMillis)
              spool_dir: \(scratch)/spool
            routes:
              - name: \(route)
                match: ["/v1/models/\(route):predict"]
                protocol: kserve-v1
                legacy: { url: "\(legacy.url)"\(legacyExtra.isEmpty ? "" : ", " + legacyExtra) }
                learner: { url: "\(learner.url)"\(learnerExtra.isEmpty ? "" : ", " + learnerExtra) }
            \(routeExtra)
            """ + (topExtra.isEmpty ? "" : "\n" + topExtra))
        let running = try BinaryRunner.start(
            ["serve", "--config", config, "--migrations", CLITestDatabase.migrationsDirectory], environment: environment)
        do {
            try await waitUntilListening(port: port)
        } catch {
            kill(running.process.processIdentifier, SIGKILL)
            let output = try await running.finished()
            throw GatewayStartFailure(description: "the gateway did not listen on \(port) (exit \(output.status)): \(output.stderr.suffix(2000))")
        }
        return GatewayProcess(running: running, port: port, database: database)
    }

    /// `shared`, else a fresh database (created off the cooperative pool).
    private static func databaseToUse(_ shared: String?) async throws -> String {
        if let shared { return shared }
        return try await CLITestDatabase.fresh()
    }

    var pid: Int32 { running.process.processIdentifier }

    /// SIGTERM, then the exit status (blocks until the process has drained; for `defer`).
    func stop() -> Int32 {
        kill(running.process.processIdentifier, SIGTERM)
        return running.finish().status
    }

    /// `stop()` waiting on a thread of its own, keeping the cooperative pool free.
    func stopped() async throws -> Int32 {
        kill(running.process.processIdentifier, SIGTERM)
        return try await running.finished().status
    }
}

struct GatewayStartFailure: Error, CustomStringConvertible {
    var description: String
}

/// Anything a test gateway can point a model at.
protocol StubEndpoint {
    var url: String { get }
}

extension UpstreamStub: StubEndpoint {}
extension CountingLearnerStub: StubEndpoint {}
