import LibPQ
import ShadowGateTesting
import Testing

@Suite struct LibPQTests {
    @Test func parameterisedQueriesReturnTextValues() async throws {
        let cs = try await TestPostgres.fresh("q")
        try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            #expect(c.isHealthy)
            let r = try c.execute("SELECT $1::int + 1 AS n, $2::text AS t, $3::text AS nothing", ["41", "it's \"quoted\"", nil])
            #expect(r.columns == ["n", "t", "nothing"])
            #expect(r.rows == [["42", "it's \"quoted\"", nil]])
            #expect(r.value("t") == "it's \"quoted\"")
        }
    }

    @Test func serverErrorsCarrySQLStateAndReadAsASentence() async throws {
        let cs = try await TestPostgres.fresh("err")
        try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            try c.execute("CREATE TABLE u (id int PRIMARY KEY)")
            try c.execute("INSERT INTO u VALUES (1)")
            let e = #expect(throws: PGError.self) { try c.execute("INSERT INTO u VALUES ($1)", ["1"]) }
            #expect(e?.isUniqueViolation == true)
            #expect(e?.code == .server)
            #expect(e?.description.contains("SQLSTATE 23505") == true)
            // The statement is for debugging only: `description` may reach a client.
            #expect(e?.debugDescription.contains("INSERT INTO u") == true)
            #expect(e?.description.contains("INSERT INTO u") == false)
            #expect(c.isHealthy)  // a server error leaves the connection usable
            let bad = #expect(throws: PGError.self) { try c.execute("SELEC 1") }
            #expect(bad?.sqlState == "42601")
        }
    }

    @Test func connectionFailureIsAClearError() async throws {
        let e = await #expect(throws: PGError.self) {
            try await onThread { _ = try PGConnection(connectionString: "host=127.0.0.1 port=1 connect_timeout=2") }
        }
        #expect(e?.code == .connectionFailed)
        #expect(e?.isConnectionProblem == true)
    }

    @Test func copyRoundTripsAwkwardStringsExactly() async throws {
        let cs = try await TestPostgres.fresh("copy")
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SeededGenerator(seed: seed)
        var values: [String?] = (0..<3000).map { i in i % 97 == 0 ? nil : rng.awkwardString() }
        values.append(String(repeating: "long\t\\value🦄\n", count: 80_000))  // ~1.3 MB, spans COPY chunks
        values.append("\\N")
        values.append("")
        let all = values
        try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            try c.execute("CREATE TABLE rt (id int PRIMARY KEY, v text)")
            var e = COPYTextEncoder()
            for (i, v) in all.enumerated() {
                e.append(i)
                e.append(v)
                e.endRow()
            }
            let n = try c.copyIn("COPY rt (id, v) FROM STDIN", data: [e.bytes])
            #expect(n == all.count)
            let back = try c.execute("SELECT id, v FROM rt ORDER BY id").rows
            #expect(back.count == all.count)
            var mismatches = 0
            for (i, row) in back.enumerated() where row[1] != all[i] {
                mismatches += 1
                if mismatches <= 3 { Issue.record("seed \(seed): row \(i) came back as \(String(reflecting: row[1])), sent \(String(reflecting: all[i]))") }
            }
            #expect(mismatches == 0, "seed \(seed)")
        }
    }

    @Test func aBadRowAbortsTheWholeCopy() async throws {
        let cs = try await TestPostgres.fresh("copybad")
        try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            try c.execute("CREATE TABLE j (id int, doc jsonb)")
            let data = Array("1\t{\"a\":1}\n2\tnot json\n".utf8)
            let e = #expect(throws: PGError.self) { try c.copyIn("COPY j FROM STDIN", data: [data]) }
            #expect(e?.isDataError == true)
            #expect(try c.execute("SELECT count(*) FROM j").scalar == "0")
            #expect(c.isHealthy)
        }
    }

    @Test func listenReceivesNotifications() async throws {
        let cs = try await TestPostgres.fresh("notify")
        try await onThread {
            let listener = try PGConnection(connectionString: cs)
            let sender = try PGConnection(connectionString: cs)
            defer { listener.close(); sender.close() }
            try listener.listen("flags")
            #expect(try listener.waitForNotifications(timeout: .milliseconds(50)).isEmpty)
            try sender.notify("flags", payload: "churn:canary=5")
            var got: [PGNotification] = []
            for _ in 0..<20 where got.isEmpty { got = try listener.waitForNotifications(timeout: .milliseconds(250)) }
            #expect(got.map(\.channel) == ["flags"])
            #expect(got.first?.payload == "churn:canary=5")
        }
    }

    @Test func connectionStringOverridesWorkForURLsAndKeywords() throws {
        let a = try PGConnectionString.overriding("postgresql://gate@db.example:6543/gate", with: ["dbname": "x y"])
        #expect(a.contains("host='db.example'") && a.contains("port='6543'") && a.contains("dbname='x y'") && a.contains("user='gate'"))
        let b = try PGConnectionString.overriding("host=/tmp port=5 dbname=a", with: ["dbname": "it's"])
        #expect(b.contains("dbname='it\\'s'"))
        #expect(throws: PGError.self) { try PGConnectionString.overriding("host='unterminated", with: [:]) }
    }
}
