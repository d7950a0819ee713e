import Foundation
import LibPQ
import ShadowGateTesting
import Testing

/// The binary as shipped: version, configuration from the environment, JSON logs, migrations
/// compiled in, and start-up checks that come before any side effect.
@Suite("shippable binary")
struct ShippableBinaryTests {
    @Test("--version and the version subcommand print the same version")
    func version() async throws {
        let flag = try await BinaryRunner.run(["--version"])
        let command = try await BinaryRunner.run(["version"])
        #expect(flag.status == 0 && command.status == 0)
        let text = flag.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(text.split(separator: ".").count == 3 && text.split(separator: ".").allSatisfy { Int($0) != nil })
        #expect(command.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == text)
    }

    @Test("admin.listen without a token is refused before the embedded cluster is even created")
    func refusedBeforeSideEffects() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sg-pre-\(UUID().uuidString)").path
        let path = try writeConfig("""
            listen: 127.0.0.1:\(try freePort())
            admin: { listen: "127.0.0.1:\(try freePort())" }
            database: { embedded_data_dir: "\(dir)/postgres", spool_dir: "\(dir)/spool" }
            routes:
              - name: churn
                match: ["/v2/models/churn/infer"]
                legacy: { url: "http://127.0.0.1:9" }
                learner: { url: "http://127.0.0.1:9" }
            """)
        let output = try await BinaryRunner.run(["serve", "--config", path],
                                          environment: ["SHADOWGATE_ADMIN_TOKEN": "", "SHADOWGATE_DATABASE_URL": ""])
        #expect(output.status == 1)
        #expect(output.stderr.contains("admin.listen is set but SHADOWGATE_ADMIN_TOKEN is empty"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/postgres"), "no cluster may be initialised before the checks pass")
        #expect(!FileManager.default.fileExists(atPath: dir + "/spool"))
        #expect(!output.stderr.contains("started the embedded"))
    }

    @Test("a listen address already in use is refused before migrating")
    func busyPortRefused() async throws {
        let (fd, busy) = try listeningSocket()
        defer { close(fd) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sg-busy-\(UUID().uuidString)").path
        let path = try writeConfig("""
            listen: 127.0.0.1:\(busy)
            database: { embedded_data_dir: "\(dir)/postgres" }
            routes:
              - name: churn
                match: ["/v2/models/churn/infer"]
                mode: legacy
                legacy: { url: "http://127.0.0.1:9" }
            """)
        let output = try await BinaryRunner.run(["serve", "--config", path], environment: ["SHADOWGATE_DATABASE_URL": ""])
        #expect(output.status == 1)
        #expect(output.stderr.contains("listen 127.0.0.1:\(busy) cannot be used"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/postgres"))
    }

    @Test("keys set from the environment win over the file; a bad one names its variable")
    func environmentOverrides() async throws {
        let path = try writeConfig("""
            listen: 127.0.0.1:8080
            routes:
              - name: churn
                match: ["/v2/models/churn/infer"]
                legacy: { url: "http://127.0.0.1:9" }
                learner: { url: "http://127.0.0.1:9" }
            """)
        let ok = try await BinaryRunner.run(["config", "check", "--config", path], environment: [
            "SHADOWGATE_LISTEN": "127.0.0.1:9999", "SHADOWGATE_ROUTES__CHURN__MODE": "canary",
            "SHADOWGATE_ROUTES__CHURN__CANARY_PERCENT": "5", "SHADOWGATE_ADMIN__LISTEN": "127.0.0.1:9998",
        ])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("listening on 127.0.0.1:9999"))
        #expect(ok.stdout.contains("admin API on 127.0.0.1:9998"))
        #expect(ok.stdout.contains("mode=canary"))
        let bad = try await BinaryRunner.run(["config", "check", "--config", path], environment: ["SHADOWGATE_DATABASE__BATCH_ROWS": "lots"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("database.batch_rows"))
        #expect(bad.stderr.contains("SHADOWGATE_DATABASE__BATCH_ROWS"))
    }

    @Test("log_format: json writes one JSON object per line")
    func jsonLogs() async throws {
        // A port from freePort() can be taken by another test's listener before serve binds it
        // (the whole suite runs in parallel); serve then refuses it and exits, so try another.
        var started: RunningBinary?
        for _ in 0..<5 where started == nil {
            let port = try freePort()
            let path = try writeConfig("""
                listen: 127.0.0.1:\(port)
                log_format: json
                routes:
                  - name: churn
                    match: ["/v2/models/churn/infer"]
                    mode: legacy
                    legacy: { url: "http://127.0.0.1:9" }
                """)
            let candidate = try BinaryRunner.start(["serve", "--config", path, "--no-pair-log"])
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline, candidate.process.isRunning {
                if (try? await waitUntilListening(port: port, seconds: 0.5)) != nil, candidate.process.isRunning { started = candidate; break }
            }
            if started == nil { candidate.process.terminate(); _ = try await candidate.finished() }
        }
        let running = try #require(started)
        running.process.interrupt()
        let output = try await running.finished()
        #expect(output.status == 0)
        let lines = output.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] is String && object?["message"] is String && object?["ts"] is String, "\(line)")
        }
    }

    @Test("migrate needs no migrations directory: they are compiled into the binary")
    func embeddedMigrations() async throws {
        let url = try await onThread { try CLITestDatabase.fresh("emb") }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("sg-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let (status, text) = try await onThread { () throws -> (Int32, String) in
            let process = Process()
            process.executableURL = BinaryRunner.binary
            process.arguments = ["migrate", "--database-url", url]
            process.currentDirectoryURL = empty
            var environment = ProcessInfo.processInfo.environment
            environment.removeValue(forKey: "SHADOWGATE_MIGRATIONS_DIR")
            process.environment = environment
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
        #expect(status == 0)
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: CLITestDatabase.migrationsDirectory)
            .filter { $0.hasSuffix(".sql") && $0.first?.isNumber == true }
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("applied ") }.count == onDisk.count)
    }
}

/// A TCP socket listening on a free loopback port (closed by the caller).
func listeningSocket() throws -> (Int32, Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard let port = LoopbackAddress.bind(fd), listen(fd, 8) == 0 else { close(fd); throw CancellationError() }
    return (fd, port)
}
