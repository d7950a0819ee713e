import LibPQ
import ShadowGatePairLog
import ShadowGateTesting
import Testing

@Suite struct EmbeddedPostgresTests {
    @Test func findsTheInstalledServer() throws {
        let dir = try EmbeddedPostgres.findBinDirectory()
        #expect(dir.hasSuffix("/bin"))
    }

    @Test func missingBinariesNameThePackageToInstall() {
        let e = #expect(throws: PairLogError.self) {
            try EmbeddedPostgres.findBinDirectory(environment: ["PATH": "/nonexistent"], installRoot: "/nonexistent")
        }
        #expect(e?.code == .postgresNotInstalled)
        #expect(e?.description.contains("apt-get install postgresql") == true)
    }

    @Test func startsStopsAndRestartsOnTheSameDataDirectory() async throws {
        let dir = TestDatabase.tempDir("embedded")
        let pg = try EmbeddedPostgres(dataDirectory: dir, durable: false)
        let first = try await onThread { try pg.start() }
        #expect(first.contains("host=\(dir)"))  // Unix socket in the data directory, no TCP port
        try await onThread {
            let c = try PGConnection(connectionString: first)
            try c.execute("CREATE TABLE kept (id int)")
            c.close()
            try pg.stop()
        }
        #expect(try pg.isRunning() == false)
        let second = try await onThread { try pg.start() }  // no initdb the second time: data kept
        let kept = try await onThread {
            let c = try PGConnection(connectionString: second)
            defer { c.close() }
            return try c.execute("SELECT to_regclass('kept') IS NOT NULL").scalar
        }
        #expect(kept == "t")
        try await onThread { try pg.stop() }
    }
}
