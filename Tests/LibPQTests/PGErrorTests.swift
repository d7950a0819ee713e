import LibPQ
import ShadowGateTesting
import Testing

/// What a `PGError` says where a client or an info log can see it (`description`), and what it
/// keeps for debugging (`debugDescription`), from real failures of a real server.
@Suite struct PGErrorTests {
    @Test func aRefusedConnectionSaysSoWithoutTheAddress() {
        let e = #expect(throws: PGError.self) {
            try PGConnection(connectionString: "postgresql://secret_user:secret_pw@127.0.0.1:1/secret_db?connect_timeout=2")
        }
        #expect(e?.description == "could not connect to PostgreSQL (connection refused)")
        for secret in ["127.0.0.1", "secret_user", "secret_pw", "secret_db", "5432", ":1"] {
            #expect(e?.description.contains(secret) == false, "\(secret)")
        }
        #expect(e?.debugDescription.contains("127.0.0.1") == true)
        #expect(e?.debugDescription.contains("LibPQ/PGConnection.swift") == true)
    }

    @Test func aMissingDatabaseIsNamedAsSuchButNotByName() throws {
        let url = try PGConnectionString.overriding(TestPostgres.serverURL, with: ["dbname": "sg_no_such_db_4711"])
        let e = #expect(throws: PGError.self) { try PGConnection(connectionString: url) }
        #expect(e?.description == "could not connect to PostgreSQL (the database or role does not exist)")
        #expect(e?.debugDescription.contains("sg_no_such_db_4711") == true)
    }

    @Test func aServerErrorGivesItsSQLStateAndMeaningButNotTheStatementOrValues() async throws {
        let cs = try await TestPostgres.fresh("errtext")
        try await onThread {
            let c = try PGConnection(connectionString: cs)
            defer { c.close() }
            let missing = #expect(throws: PGError.self) { try c.execute("SELECT secret_column FROM secret_table") }
            #expect(missing?.description == "PostgreSQL refused the statement (SQLSTATE 42P01, a table is missing (are the migrations applied?))")
            #expect(missing?.debugDescription.contains("secret_table") == true)
            let cast = #expect(throws: PGError.self) { try c.execute("SELECT $1::int", ["secret value"]) }
            #expect(cast?.description == "PostgreSQL refused the statement (SQLSTATE 22P02, invalid text for the type)")
            #expect(cast?.debugDescription.contains("secret value") == true)
            let syntax = #expect(throws: PGError.self) { try c.execute("SELEC 1") }
            #expect(syntax?.description == "PostgreSQL refused the statement (SQLSTATE 42601, syntax error or access rule violation)")
        }
    }

    @Test func aClosedConnectionIsPlain() throws {
        let c = try PGConnection(connectionString: try TestPostgres.fresh("closed"))
        c.close()
        let e = #expect(throws: PGError.self) { try c.execute("SELECT 1") }
        #expect(e?.code == .connectionClosed)
        #expect(e?.description == "the connection to PostgreSQL was lost")
    }
}
