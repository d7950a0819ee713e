import Foundation
import LibPQ
import ShadowGateTesting
import Testing

/// `shadowgate serve` with a gRPC route in front of two real MLServer processes (scikit-learn
/// models on iris: LogisticRegression as legacy, DecisionTree as learner), called by a real gRPC
/// client (MLServer's generated stubs, Scripts/grpc/oip_grpc_client.py). Needs the demo's Python
/// environment (Scripts/example-app/setup-venv.sh, from PyPI); skipped with a message when it
/// cannot be installed. The MLServers start once for the whole test.
@Suite("gRPC routes against MLServer", .serialized)
struct GRPCEndToEndTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The venv's python, or nil (with the reason printed) when PyPI is unreachable.
    static let python: String? = {
        let setup = Process()
        setup.executableURL = URL(fileURLWithPath: "/bin/bash")
        setup.arguments = [repo + "/Scripts/example-app/setup-venv.sh"]
        setup.currentDirectoryURL = URL(fileURLWithPath: repo)
        let out = Pipe()
        setup.standardOutput = out
        setup.standardError = FileHandle.standardError
        do { try setup.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        setup.waitUntilExit()
        guard setup.terminationStatus == 0, let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last else {
            print("SKIPPED gRPC end-to-end tests: the demo's Python environment (MLServer from PyPI) could not be installed")
            return nil
        }
        return last.hasPrefix("/") ? String(last) : repo + "/" + last
    }()

    struct MLServer {
        let process: Process
        let httpPort: Int
        let grpcPort: Int

        static func start(python: String, repository: String) throws -> MLServer {
            let http = try freePort()
            let grpc = try freePort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: URL(fileURLWithPath: python).deletingLastPathComponent().path + "/mlserver")
            process.arguments = ["start", "."]
            process.currentDirectoryURL = URL(fileURLWithPath: repository)
            var environment = ProcessInfo.processInfo.environment
            environment["MLSERVER_HOST"] = "127.0.0.1"
            environment["MLSERVER_HTTP_PORT"] = String(http)
            environment["MLSERVER_GRPC_PORT"] = String(grpc)
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return MLServer(process: process, httpPort: http, grpcPort: grpc)
        }

        /// SIGKILL: MLServer started from the test process does not always act on SIGTERM.
        func stop() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// A loopback port that accepts connections (the kernel completes them) and never answers: a
    /// learner that hangs.
    final class SilentPort: @unchecked Sendable {
        let port: Int
        private let fd: Int32

        init() throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard let bound = LoopbackAddress.bind(fd), listen(fd, 64) == 0 else {
                close(fd)
                throw CancellationError()
            }
            self.fd = fd
            port = bound
        }

        deinit { close(fd) }
    }

    /// Runs the gRPC client script; one decoded JSON object per output line.
    /// The script runs, and is waited for, on a thread of its own, keeping the cooperative pool free.
    static func client(_ python: String, _ arguments: [String]) async throws -> [[String: Any]] {
        let data = try await onThread { () throws -> Data in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [repo + "/Scripts/grpc/oip_grpc_client.py"] + arguments
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.standardError
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return data
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func gateway(
        database: String, restPort: Int, grpcPort: Int, legacy: MLServer, learnerGRPC: Int, learnerHTTP: Int,
        mode: String = "shadow", extra: String = "", learnerTimeoutMillis: Int = 2000
    ) async throws -> RunningBinary {
        let config = try writeConfig("""
            listen: 127.0.0.1:\(restPort)
            event_loops: 1
            database: { url: "\(database)", flush_ms: 10 }
            routes:
              - name: iris
                match: ["/v2/models/iris/infer"]
                mode: \(mode)
                sticky_key: header:x-user-id
                \(extra)
                legacy: { url: "http://127.0.0.1:\(legacy.httpPort)" }
                learner: { url: "http://127.0.0.1:\(learnerHTTP)" }
            grpc:
              listen: 127.0.0.1:\(grpcPort)
              routes:
                - route: iris
                  models: [iris]
                  legacy: { url: "http://127.0.0.1:\(legacy.grpcPort)", timeout_ms: 5000 }
                  learner: { url: "http://127.0.0.1:\(learnerGRPC)", timeout_ms: \(learnerTimeoutMillis) }
            """)
        let running = try BinaryRunner.start(["serve", "--config", config, "--migrations", CLITestDatabase.migrationsDirectory])
        try await waitUntilListening(port: restPort)
        return running
    }

    static func rows(_ database: String, _ sql: String) throws -> PGResult {
        let connection = try PGConnection(connectionString: database)
        defer { connection.close() }
        return try connection.execute(sql)
    }

    static func eventuallyCount(_ database: String, _ count: Int, seconds: Int = 10) async throws -> Int {
        var seen = 0
        for _ in 0..<(seconds * 10) {
            seen = Int(try rows(database, "SELECT count(*) FROM shadowgate.pairs").rows.first?.first??.description ?? "0") ?? 0
            if seen >= count { return seen }
            try await Task.sleep(for: .milliseconds(100))
        }
        return seen
    }

    /// The scikit-learn legacy and learner model repositories (`Scripts/grpc/mlserver_models.py`)
    /// in a new temporary folder; returns its path.
    static func makeModels(python: String, prefix: String) async throws -> String {
        let models = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        let status = try await onThread { () throws -> Int32 in
            let made = Process()
            made.executableURL = URL(fileURLWithPath: python)
            made.arguments = [repo + "/Scripts/grpc/mlserver_models.py", models]
            made.standardOutput = FileHandle.nullDevice
            try made.run()
            made.waitUntilExit()
            return made.terminationStatus
        }
        #expect(status == 0)
        return models
    }

    @Test("ModelInfer through the gateway: identical body and trailers, one pair per call with both predictions, compare(), pass-through, malformed frames, learner down, canary by metadata, learner hanging",
          .enabled(if: python != nil, "the demo's Python environment (MLServer from PyPI) is not available"))
    func endToEnd() async throws {
        let python = try #require(Self.python)
        let models = try await Self.makeModels(python: python, prefix: "sg-grpc-models")
        let legacy = try MLServer.start(python: python, repository: models + "/legacy")
        let learner = try MLServer.start(python: python, repository: models + "/learner")
        defer {
            legacy.stop()
            learner.stop()
            try? FileManager.default.removeItem(atPath: models)
        }
        try await waitUntilListening(port: legacy.httpPort, seconds: 90, anyAnswer: true)
        try await waitUntilListening(port: learner.httpPort, seconds: 90, anyAnswer: true)

        let database = try await CLITestDatabase.fresh()
        let restPort = try freePort()
        let grpcPort = try freePort()
        let gateway = try await Self.gateway(
            database: database, restPort: restPort, grpcPort: grpcPort, legacy: legacy,
            learnerGRPC: learner.grpcPort, learnerHTTP: learner.httpPort)
        // A failed #require must not leave the gateway running (its pipes are read at exit).
        defer { if gateway.process.isRunning { kill(gateway.process.processIdentifier, SIGKILL) } }

        // 1. The same call, directly and through the gateway: same status, body bytes and trailers.
        let direct = try #require(try await Self.client(python, ["127.0.0.1:\(legacy.grpcPort)", "infer", "--rows", "3"]).first)
        let proxied = try await Self.client(python, ["127.0.0.1:\(grpcPort)", "infer", "--rows", "3", "--count", "5"])
        #expect(proxied.count == 5)
        for answer in proxied {
            #expect(answer["code"] as? String == "OK")
            #expect(answer["response_hex"] as? String == direct["response_hex"] as? String)
            #expect(answer["trailing"] as? [[String]] == direct["trailing"] as? [[String]])
            #expect((answer["initial"] as? [[String]])?.contains(["x-shadowgate-served-by", "legacy"]) == true)
        }
        // 2. One pair per call, both predictions read from the protobuf answers.
        #expect(try await Self.eventuallyCount(database, 5) == 5)
        let pairs = try Self.rows(database, """
            SELECT legacy_outcome, learner_outcome, legacy_version, learner_version, legacy_score, learner_score,
                   legacy_output::text, features::text, served_by, legacy_status
            FROM shadowgate.pairs WHERE route = 'iris'
            """)
        #expect(pairs.rows.count == 5)
        for row in pairs.rows {
            #expect(row[0] == "ok" && row[1] == "ok")
            #expect(row[2] == "legacy-1" && row[3] == "learner-1")
            #expect(row[4] == "0")  // the first row (setosa) is class 0 for both models
            #expect(row[5] == "0")
            #expect(row[6]?.contains(#""datatype": "INT64""#) == true, "\(row[6] ?? "nil")")
            #expect(row[7]?.contains("5.1") == true)
            #expect(row[8] == "legacy" && row[9] == "200")
        }
        let comparison = try Self.rows(database, "SELECT pairs, agreement FROM shadowgate.compare('iris', interval '1 hour')")
        #expect(comparison.value("pairs") == "5")
        #expect(comparison.value("agreement") == "1")

        // 3. Other RPCs are passed through, without a pair.
        let ready = try #require(try await Self.client(python, ["127.0.0.1:\(grpcPort)", "call", "ModelReady"]).first)
        #expect(ready["code"] as? String == "OK")
        let live = try #require(try await Self.client(python, ["127.0.0.1:\(grpcPort)", "call", "ServerLive"]).first)
        #expect(live["code"] as? String == "OK")

        // 4. A malformed gRPC frame (length prefix says 9 bytes, 3 follow): a gRPC error, not a reset.
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("sg-bad-frame-\(UUID().uuidString)")
        try Data([0, 0, 0, 0, 9, 1, 2, 3]).write(to: bad)
        let headers = try await onThread { () throws -> String in
            let curl = Process()
            curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            curl.arguments = ["-sS", "-i", "--http2-prior-knowledge", "-H", "content-type: application/grpc", "-H", "te: trailers",
                              "--data-binary", "@" + bad.path, "http://127.0.0.1:\(grpcPort)/inference.GRPCInferenceService/ModelInfer"]
            let curlOut = Pipe()
            curl.standardOutput = curlOut
            try curl.run()
            let headers = String(decoding: curlOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            curl.waitUntilExit()
            return headers
        }
        #expect(headers.contains("grpc-status: 3"), "\(headers)")
        #expect(headers.contains("malformed gRPC frame"))
        #expect(try await Self.eventuallyCount(database, 5) == 5)

        // 5. The learner down: the client still gets the legacy answer; the pair says unreachable.
        learner.stop()
        let withoutLearner = try await Self.client(python, ["127.0.0.1:\(grpcPort)", "infer", "--rows", "3"])
        #expect(withoutLearner.first?["code"] as? String == "OK")
        #expect(withoutLearner.first?["response_hex"] as? String == direct["response_hex"] as? String)
        #expect(try await Self.eventuallyCount(database, 6) == 6)
        let down = try Self.rows(database, "SELECT learner_outcome FROM shadowgate.pairs ORDER BY received_at DESC LIMIT 1")
        #expect(down.rows.first?.first == "unreachable")
        kill(gateway.process.processIdentifier, SIGTERM)
        _ = try await gateway.finished()

        // 6. Canary 50 % keyed by the x-user-id metadata: each user sticks to one model, both models serve someone.
        let canaryPort = try freePort()
        let canaryGRPC = try freePort()
        let canaryDatabase = try await CLITestDatabase.fresh()
        // The learner's gRPC port is now closed: point the canary's learner at the legacy server's
        // model repository instead (a second MLServer would cost start-up time); served-by tells them apart.
        let canary = try await Self.gateway(
            database: canaryDatabase, restPort: canaryPort, grpcPort: canaryGRPC, legacy: legacy,
            learnerGRPC: legacy.grpcPort, learnerHTTP: legacy.httpPort, mode: "canary", extra: "canary_percent: 50")
        defer { if canary.process.isRunning { kill(canary.process.processIdentifier, SIGKILL) } }
        var servedBy: [String: Set<String>] = [:]
        for user in 0..<12 {
            let answers = try await Self.client(python, ["127.0.0.1:\(canaryGRPC)", "infer", "--count", "3", "--meta", "x-user-id=user-\(user)"])
            for answer in answers {
                let initial = answer["initial"] as? [[String]] ?? []
                let by = initial.first { $0.first == "x-shadowgate-served-by" }?.last ?? "?"
                servedBy["user-\(user)", default: []].insert(by)
            }
        }
        #expect(servedBy.values.allSatisfy { $0.count == 1 }, "\(servedBy)")
        let serving = Set(servedBy.values.flatMap { $0 })
        #expect(serving == ["legacy", "learner"], "\(servedBy)")
        kill(canary.process.processIdentifier, SIGTERM)
        _ = try await canary.finished()

        // 7. A learner that accepts and never answers (3 s timeout): the client is answered at the
        // legacy model's pace, well inside the learner's timeout; the pair records the timeout.
        let silent = try SilentPort()
        let slowPort = try freePort()
        let slowGRPC = try freePort()
        let slowDatabase = try await CLITestDatabase.fresh()
        let slow = try await Self.gateway(
            database: slowDatabase, restPort: slowPort, grpcPort: slowGRPC, legacy: legacy,
            learnerGRPC: silent.port, learnerHTTP: silent.port, learnerTimeoutMillis: 3000)
        defer { if slow.process.isRunning { kill(slow.process.processIdentifier, SIGKILL) } }
        let hung = try await Self.client(python, ["127.0.0.1:\(slowGRPC)", "infer", "--rows", "3", "--count", "2"])
        #expect(hung.count == 2)
        for answer in hung {
            #expect(answer["code"] as? String == "OK")
            #expect(answer["response_hex"] as? String == direct["response_hex"] as? String)
            #expect((answer["millis"] as? Double ?? 1e9) < 3000, "the client waited for the shadow: \(answer["millis"] ?? "?") ms")
        }
        #expect(try await Self.eventuallyCount(slowDatabase, 2, seconds: 15) == 2)
        let timedOut = try Self.rows(slowDatabase, "SELECT learner_outcome, legacy_outcome FROM shadowgate.pairs")
        #expect(timedOut.rows.allSatisfy { $0[0] == "timeout" && $0[1] == "ok" }, "\(timedOut.rows)")
        kill(slow.process.processIdentifier, SIGTERM)
        _ = try await slow.finished()
        _ = silent
    }
}
