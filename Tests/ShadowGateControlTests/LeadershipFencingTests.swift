import Foundation
import LibPQ
import Logging
import ShadowGateControl
import ShadowGateTesting
import Testing

/// Fenced leadership against a real PostgreSQL: one leader per role, epochs that grow, a silent
/// holder's session ended by a challenger, and a stale leader's writes refused by the database.
@Suite struct LeadershipFencingTests {
    static let role = "promotion"
    static let lock: (Int32, Int32) = (7315, 1)

    func acquire(_ connection: PGConnection, holder: String, stale: String = "5 seconds") throws -> Int64? {
        try connection.execute(
            "SELECT shadowgate.acquire_leadership($1, $2, $3, $4, $5::interval)",
            [Self.role, String(Self.lock.0), String(Self.lock.1), holder, stale]).scalar.flatMap { Int64($0) }
    }

    func setFlags(_ connection: PGConnection, actor: String) throws {
        try connection.execute(
            "SELECT shadowgate.set_flags('churn', 'canary', 5, $1, 'advance', 'test')", [actor])
    }

    @Test func oneLeaderAtATimeAndEveryAcquisitionBumpsTheEpoch() async throws {
        try await onThread {
            let cs = try TestPostgres.migrated("lead")
            let a = try PGConnection(connectionString: cs)
            let b = try PGConnection(connectionString: cs)
            defer { a.close(); b.close() }
            #expect(try acquire(a, holder: "a") == 1)
            #expect(try acquire(b, holder: "b") == nil)
            #expect(try a.execute("SELECT shadowgate.confirm_leadership('promotion', 1)").scalar == "t")
            #expect(try b.execute("SELECT shadowgate.confirm_leadership('promotion', 1)").scalar == "f")
            a.close()
            #expect(try waitFor { try acquire(b, holder: "b") } == 2)
        }
    }

    @Test func aChallengerEndsTheSessionOfASilentHolderThenLeads() async throws {
        try await onThread {
            let cs = try TestPostgres.migrated("lead")
            let a = try PGConnection(connectionString: cs)
            let b = try PGConnection(connectionString: cs)
            let admin = try PGConnection(connectionString: cs)
            defer { a.close(); b.close(); admin.close() }
            #expect(try acquire(a, holder: "a") == 1)
            // Still confirming: the challenger leaves it alone.
            #expect(try acquire(b, holder: "b", stale: "5 seconds") == nil)
            #expect(try a.execute("SELECT 1").scalar == "1")
            // Silent for longer than the challenger's limit (as if cut off the network).
            try admin.execute("UPDATE shadowgate.leader_epochs SET confirmed_at = clock_timestamp() - interval '10 seconds'")
            #expect(try acquire(b, holder: "b", stale: "5 seconds") == nil)
            #expect(try waitFor { try acquire(b, holder: "b") } == 2)
            #expect(throws: PGError.self) { try a.execute("SELECT 1") }
            let holder = try admin.execute("SELECT holder FROM shadowgate.leader_epochs WHERE role = 'promotion'").scalar
            #expect(holder == "b")
        }
    }

    @Test func aChallengerNeverEndsTheLeaderOfAnotherDatabase() async throws {
        try await onThread {
            let other = try TestPostgres.migrated("lead")
            let cs = try TestPostgres.migrated("lead")
            let elsewhere = try PGConnection(connectionString: other)
            let a = try PGConnection(connectionString: cs)
            let b = try PGConnection(connectionString: cs)
            let admin = try PGConnection(connectionString: cs)
            defer { elsewhere.close(); a.close(); b.close(); admin.close() }
            #expect(try acquire(elsewhere, holder: "other-deployment") == 1)
            #expect(try acquire(a, holder: "a") == 1)
            try admin.execute("UPDATE shadowgate.leader_epochs SET confirmed_at = clock_timestamp() - interval '10 seconds'")
            #expect(try acquire(b, holder: "b") == nil)
            #expect(try waitFor { try acquire(b, holder: "b") } == 2)
            // Same lock key, same role, another database: its leader's session is untouched.
            #expect(try elsewhere.execute("SELECT shadowgate.confirm_leadership('promotion', 1)").scalar == "t")
        }
    }

    @Test func aStaleLeadersWritesAreRefusedAndOthersAreNot() async throws {
        try await onThread {
            let cs = try TestPostgres.migrated("lead")
            let leader = try PGConnection(connectionString: cs)
            let person = try PGConnection(connectionString: cs)
            defer { leader.close(); person.close() }
            try person.execute("SELECT shadowgate.seed_flags('churn', 'shadow', 0, 100)")
            #expect(try acquire(leader, holder: "controller:a") == 1)
            try setFlags(leader, actor: "controller:a")
            // A newer epoch exists (another replica took over while this session lived on).
            try person.execute("UPDATE shadowgate.leader_epochs SET epoch = epoch + 1")
            let refused = #expect(throws: PGError.self) { try setFlags(leader, actor: "controller:a") }
            #expect(refused?.sqlState == "SGFEN")
            #expect(throws: PGError.self) {
                try leader.execute("""
                    INSERT INTO shadowgate.rollout_state (route, evaluated_at, outcome, decision, reason, gates, controller)
                    VALUES ('churn', now(), 'pass', 'hold', 'x', '[]', 'controller:a')
                    """)
            }
            #expect(try leader.execute("SELECT shadowgate.confirm_leadership('promotion', 1)").scalar == "f")
            // A person's session never led: not fenced.
            try setFlags(person, actor: "cli:test")
            let events = try person.execute("SELECT count(*) FROM shadowgate.rollout_events WHERE actor = 'controller:a'").scalar
            #expect(events == "1")
        }
    }

    @Test func aStaleLabelDeliverersCursorMoveIsRefused() async throws {
        try await onThread {
            let cs = try TestPostgres.migrated("lead")
            let deliverer = try PGConnection(connectionString: cs)
            let person = try PGConnection(connectionString: cs)
            defer { deliverer.close(); person.close() }
            let epoch = try deliverer.execute(
                "SELECT shadowgate.acquire_leadership('labels', 7315, 2, 'deliverer:a', '5 seconds')").scalar
            #expect(epoch == "1")
            let move = "UPDATE shadowgate.label_delivery SET cursor_seq = cursor_seq + 1, deliverer = 'deliverer:a'"
            try deliverer.execute(move)
            // The controller's role moving on does not touch the deliverer's epoch.
            try person.execute("""
                INSERT INTO shadowgate.leader_epochs (role, epoch, holder, holder_pid, acquired_at, confirmed_at)
                VALUES ('promotion', 7, 'controller:b', 0, now(), now())
                """)
            try deliverer.execute(move)
            try person.execute("UPDATE shadowgate.leader_epochs SET epoch = epoch + 1 WHERE role = 'labels'")
            let refused = #expect(throws: PGError.self) { try deliverer.execute(move) }
            #expect(refused?.sqlState == "SGFEN")
            #expect(try person.execute("SELECT cursor_seq FROM shadowgate.label_delivery").scalar == "2")
        }
    }

    @Test func theExecutorStepsDownWhenSupersededAndAnotherLeads() async throws {
        try await onThread {
            let cs = try TestPostgres.migrated("lead")
            let a = try PGConnection(connectionString: cs)
            let b = try PGConnection(connectionString: cs)
            let admin = try PGConnection(connectionString: cs)
            defer { a.close(); b.close(); admin.close() }
            var timing = LeadershipStateMachine.Timing()
            timing.confirmEvery = .milliseconds(100)
            var la = Leadership(role: "promotion", lockClassID: 7315, lockObjectID: 1, identity: "a", timing: timing, logger: Logger(label: "a"))
            var lb = Leadership(role: "promotion", lockClassID: 7315, lockObjectID: 1, identity: "b", timing: timing, logger: Logger(label: "b"))
            #expect(try la.mayAct(on: a) == 1)
            #expect(try lb.mayAct(on: b) == nil)
            try admin.execute("UPDATE shadowgate.leader_epochs SET epoch = 9")
            Thread.sleep(forTimeInterval: 0.15)
            #expect(throws: Leadership.SteppedDown.self) { try la.mayAct(on: a) }
            a.close()
            la.connectionLost()
            Thread.sleep(forTimeInterval: 1.05)
            #expect(try lb.mayAct(on: b) == 10)
        }
    }
}

/// Retries `body` every 100 ms for up to 5 s until it returns a value.
func waitFor<T>(_ body: () throws -> T?) throws -> T? {
    let deadline = ContinuousClock.now + .seconds(5)
    while ContinuousClock.now < deadline {
        if let value = try body() { return value }
        Thread.sleep(forTimeInterval: 0.1)
    }
    return nil
}

@discardableResult
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        Thread { c.resume(with: Result { try body() }) }.start()
    }
}
