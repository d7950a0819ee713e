import Foundation
import LibPQ
import Logging
import ServiceLifecycle
import ShadowGateConfig
import ShadowGatePairLog
import ShadowGateTesting
import Synchronization
import Testing

@Suite struct PairLogWriterServiceTests {
    /// The SIGTERM path: graceful shutdown of the service group while records keep arriving;
    /// every accepted record ends up in the table.
    @Test func gracefulShutdownUnderTrafficLosesNothing() async throws {
        let cs = try await TestDatabase.migrated("svc")
        var config = DatabaseConfig()
        config.batchRows = 2000
        config.flushMillis = 1000
        config.spoolDir = TestDatabase.tempDir("svc-spool")
        let writer = try PairLogWriter(connectionString: cs, config: config)
        let group = ServiceGroup(configuration: .init(services: [writer], logger: Logger(label: "test")))
        let accepted = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
        Thread {
            var rng = SeededGenerator(seed: 31)
            var i = 0
            while !done.load(ordering: .relaxed) {
                if writer.submit(PairRecordFactory.record(i, rng: &rng)) { accepted.add(1, ordering: .relaxed) }
                i += 1
                if i % 100 == 0 { usleep(1000) }
            }
        }.start()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(700))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        done.store(true, ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(50))  // let the submitter see `done` and finish counting
        let n = accepted.load(ordering: .relaxed)
        let rows = try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            return try c.execute("SELECT count(*), count(DISTINCT request_id) FROM shadowgate.pairs").rows[0]
        }
        #expect(n > 0)
        #expect(rows == ["\(n)", "\(n)"])
    }
}
