import Foundation
import LibPQ
import ShadowGateRouting
import ShadowGateTesting
import Testing

/// The legacy holdout (`holdout_percent`) with the real binary and PostgreSQL: its sticky keys are
/// served by legacy in every mode, its pairs are marked, its labels never reach the learner, and
/// evidence restricted to it counts only its pairs.
@Suite("Legacy holdout end to end")
struct HoldoutEndToEndTests {
    @Test("holdout keys are served by legacy in promoted and canary mode on every request; pairs marked; labels stored but not forwarded")
    func holdout() async throws {
        let legacy = try await UpstreamStub(.json(#"{"predictions":[0.2]}"#))
        let learner = try await UpstreamStub(.dynamic { request in
            request.uri == "/learn" ? (200, #"{"learned":true}"#) : (200, #"{"predictions":[0.9]}"#)
        })
        let extra = "    sticky_key: header:x-user-id\n    mode: promoted\n    holdout_percent: 30"
        let gateway = try await GatewayProcess.start(route: "m", legacy: legacy, learner: learner,
                                                     learnerExtra: "feedback_path: /learn", routeExtra: extra)
        defer { _ = gateway.stop() }
        let database = gateway.database
        let client = try await TestHTTPClient(port: gateway.port)
        let users = (0..<60).map { "user-\($0)" }
        let inHoldout = Set(users.filter { StickyBucket.isHoldout(bucket: StickyBucket.bucket(for: $0), percent: 30) })
        #expect((8...30).contains(inHoldout.count), "\(inHoldout.count) of 60 keys in a 30 % holdout")

        func send(_ user: String, id: String) async throws -> String? {
            try await client.send(.POST, "/v1/models/m:predict", headers: [("x-user-id", user), ("x-request-id", id)],
                                  body: #"{"instances":[[1,2]]}"#).header("x-shadowgate-served-by")
        }
        // promoted: every key but the holdout's goes to the learner, on every request
        for round in 0..<2 {
            for user in users {
                let served = try await send(user, id: "p\(round)-\(user)")
                #expect(served == (inHoldout.contains(user) ? "legacy" : "learner"), "promoted, \(user), round \(round)")
            }
        }
        // canary 100 % and canary 50 %: the holdout stays with legacy; the other keys follow the canary split
        for percent in ["100", "50"] {
            let set = try await BinaryRunner.run(["flags", "set", "m", "--mode", "canary", "--percent", percent, "--reason", "test",
                                            "--database-url", database])
            #expect(set.status == 0, "\(set.stderr)")
            let probe = users.first { !inHoldout.contains($0) && !StickyBucket.isLearner(bucket: StickyBucket.bucket(for: $0), percent: 50) }!
            if percent == "50" {
                let applied = try await eventually(within: 5) { try await send(probe, id: "probe-\(UUID())") == "legacy" }
                #expect(applied != nil)
            } else {
                try await Task.sleep(for: .seconds(1.5))
            }
            for user in users {
                let served = try await send(user, id: "c\(percent)-\(user)")
                let canary = StickyBucket.isLearner(bucket: StickyBucket.bucket(for: user), percent: Double(percent)!)
                #expect(served == (inHoldout.contains(user) || !canary ? "legacy" : "learner"), "canary \(percent), \(user)")
            }
        }

        // the pairs carry the holdout mark (the learner was still called in shadow for them)
        let rounds = ["p0", "p1", "c100", "c50"]
        let marked = try await eventually(within: 10) {
            let n = Int(try await query(database, "SELECT count(*) FROM shadowgate.pairs WHERE request_id ~ '^(p0|p1|c100|c50)-'").first?[0] ?? "0") ?? 0
            return n == rounds.count * users.count
        }
        #expect(marked != nil)
        let rows = try await query(database, "SELECT request_id, holdout::text, served_by, learner_outcome FROM shadowgate.pairs WHERE request_id ~ '^(p0|p1|c100|c50)-'")
        for row in rows {
            let user = String(row[0]!.split(separator: "-", maxSplits: 1)[1])
            #expect(row[1] == (inHoldout.contains(user) ? "true" : "false"), "\(row)")
            if inHoldout.contains(user) { #expect(row[2] == "legacy" && row[3] == "ok", "\(row)") }
        }
        let stats = try await query(database, "SELECT count(*) FILTER (WHERE holdout) FROM shadowgate.pair_stats WHERE request_id ~ '^(p0|p1|c100|c50)-'")
        #expect(stats.first?[0] == String(rounds.count * inHoldout.count))

        // labels for every user's p0 request: all stored, only the non-holdout ones forwarded
        let body = "[" + users.map { #"{"request_id":"p0-\#($0)","label":1}"# }.joined(separator: ",") + "]"
        let feedback = try await client.send(.POST, "/v1/feedback", body: body)
        #expect(feedback.status == 200 && feedback.bodyString.contains(#""stored":60"#), "\(feedback.bodyString)")
        // delivered from PostgreSQL in batches (`{"items": [...]}`, issue 13); holdout labels are skipped there
        func deliveredIDs() -> [String] {
            learner.requests.filter { $0.uri == "/learn" }.flatMap { request -> [String] in
                guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
                      let items = body["items"] as? [[String: Any]] else { return ["unreadable: \(request.bodyString)"] }
                return items.compactMap { $0["request_id"] as? String }
            }
        }
        let forwarded = try await eventually(within: 10) {
            deliveredIDs().count >= users.count - inHoldout.count
        }
        #expect(forwarded != nil)
        try await Task.sleep(for: .milliseconds(500))  // a holdout label delivered late would show now
        let learned = Set(deliveredIDs())
        #expect(learned == Set(users.filter { !inHoldout.contains($0) }.map { "p0-\($0)" }))
        let labels = try await eventually(within: 10) {
            Int(try await query(database, "SELECT count(*) FROM shadowgate.labels WHERE request_id LIKE 'p0-%'").first?[0] ?? "0") == users.count
        }
        #expect(labels != nil)

        // evidence restricted to the holdout counts only its pairs
        let counts = try await query(database, """
            SELECT a.pairs, a.labelled, h.pairs, h.labelled
            FROM shadowgate.evidence_counts('m', '-infinity', 'infinity', '-infinity', 'infinity') a,
                 shadowgate.evidence_counts('m', '-infinity', 'infinity', '-infinity', 'infinity', p_holdout_only => true) h
            """)
        let total = Int(try await query(database, "SELECT count(*) FROM shadowgate.pairs WHERE learner_outcome <> 'skipped' AND legacy_outcome <> 'skipped'").first?[0] ?? "0")!
        let holdoutTotal = Int(try await query(database, "SELECT count(*) FROM shadowgate.pairs WHERE holdout AND learner_outcome <> 'skipped' AND legacy_outcome <> 'skipped'").first?[0] ?? "0")!
        #expect(counts.first == [String(total), "60", String(holdoutTotal), String(inHoldout.count)])
        #expect(holdoutTotal == rounds.count * inHoldout.count)

        await client.close()
        await legacy.stop()
        await learner.stop()
    }
}
