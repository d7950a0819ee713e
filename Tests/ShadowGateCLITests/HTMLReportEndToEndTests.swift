import Foundation
import LibPQ
import ShadowGatePromotion
import ShadowGateTesting
import Testing

/// `shadowgate report --format html` through the built binary, on a database holding an hour in
/// which the learner's accuracy overtakes the legacy model's while it is rolled out and back.
@Suite("HTML report end to end")
struct HTMLReportEndToEndTests {
    static let route = "churn"
    static let since = "70 minutes"

    /// One pair per second from 62 to 2 minutes ago, none for 3½ minutes in the middle (empty
    /// buckets). True class: i even → 1. Which pairs a model gets wrong follows a low-discrepancy
    /// sequence (frac(i·φ)), so every minute holds close to the intended share: the legacy model
    /// is 80 % right throughout, the learner climbs from 70 % to 95 % (ahead after ~25 minutes and
    /// over the hour) and times out on every 97th pair. Three of four pairs are labelled.
    static let pairsSQL = """
        WITH s AS (
            SELECT i, i / 3600.0 AS t, i % 2 = 0 AS truth,
                   (i * 0.6180339887 + 0.3) - floor(i * 0.6180339887 + 0.3) < 0.2 AS legacy_wrong,
                   (i * 0.4142135624 + 0.1) - floor(i * 0.4142135624 + 0.1) < 0.30 - 0.25 * i / 3600.0 AS learner_wrong,
                   (i * 0.5698402910) - floor(i * 0.5698402910) AS c
            FROM generate_series(0, 3599) i
            WHERE i NOT BETWEEN 1250 AND 1460)
        INSERT INTO shadowgate.pairs (request_id, route, received_at, served_by, mode,
            legacy_outcome, learner_outcome, legacy_label, learner_label, legacy_score, learner_score,
            legacy_latency_us, learner_latency_us, legacy_version, learner_version)
        SELECT 'p-' || i, 'churn', now() - interval '62 minutes' + i * interval '1 second', 'legacy', 'shadow',
               'ok', CASE WHEN i % 97 = 0 THEN 'timeout' ELSE 'ok' END,
               CASE WHEN truth <> legacy_wrong THEN '1' ELSE '0' END,
               CASE WHEN i % 97 = 0 THEN NULL WHEN truth <> learner_wrong THEN '1' ELSE '0' END,
               CASE WHEN truth <> legacy_wrong THEN 0.55 + 0.4 * c ELSE 0.05 + 0.4 * c END,
               CASE WHEN i % 97 = 0 THEN NULL WHEN truth <> learner_wrong THEN 0.57 + 0.4 * c ELSE 0.03 + 0.4 * c END,
               18000 + (i * 7919) % 4000 + CASE WHEN i % 60 = 0 THEN 25000 ELSE 0 END,
               CASE WHEN i % 97 = 0 THEN NULL ELSE round(38000 - 24000 * t + (i * 104729) % 6000) END,
               'batch-2025.11', 'river-2026.05.' || (1 + i / 900)
        FROM s;
        INSERT INTO shadowgate.labels (request_id, route, label)
        SELECT 'p-' || i, 'churn', CASE WHEN i % 2 = 0 THEN '1' ELSE '0' END
        FROM generate_series(0, 3599) i
        WHERE i % 4 <> 3 AND i NOT BETWEEN 1250 AND 1460;
        """

    /// The rollout the brief describes, through the functions every writer uses; then the events
    /// are moved back in time to spread over the hour (set_flags stamps clock_timestamp()).
    static let rolloutSQL = """
        SELECT shadowgate.seed_flags('churn', 'shadow', 0, 100);
        SELECT shadowgate.set_flags('churn', 'canary', 1, 'cli:ana', 'set', 'first canary after a week in shadow');
        SELECT shadowgate.set_flags('churn', 'canary', 5, 'controller:gw-1:4242', 'advance', 'gates passed for 10 minutes');
        SELECT shadowgate.set_flags('churn', 'canary', 25, 'controller:gw-1:4242', 'advance', 'gates passed for 10 minutes');
        -- as the controller records it: compare() columns plus text and nested gate results
        SELECT shadowgate.set_flags('churn', 'promoted', 25, 'controller:gw-1:4242', 'promote', 'accuracy ahead on 300 labelled pairs',
                                    p_metrics => '{"pairs": 1800, "legacy_accuracy": 0.8, "learner_accuracy": 0.875, "agreement": 0.71,
                                                   "psi": null, "window": "10m", "outcome": "pass", "hard": true,
                                                   "gates": [{"gate": "accuracy_delta_min", "value": 0.075}]}');
        SELECT shadowgate.set_flags('churn', 'shadow', 0, 'cli:o''brien', 'rollback',
                                    '<script>alert("pwned")</script> p99 over budget & rising');
        WITH ordered AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM shadowgate.rollout_events WHERE route = 'churn')
        UPDATE shadowgate.rollout_events e
        SET at = now() - (ARRAY['66 minutes', '48 minutes', '38 minutes', '28 minutes', '18 minutes', '7 minutes'])[ordered.n]::interval
        FROM ordered WHERE e.id = ordered.id;
        """

    /// A migrated database with the hour of pairs and the rollout in it.
    static func filledDatabase() throws -> String {
        let database = try CLITestDatabase.migrated("html")
        let connection = try PGConnection(connectionString: database)
        defer { connection.close() }
        try connection.executeScript(pairsSQL)
        try connection.executeScript(rolloutSQL)
        return database
    }

    /// Every `data-column="…" data-value="…"` pair of the page.
    static func exactValues(_ html: String) -> [String: [String]] {
        var out: [String: [String]] = [:]
        var rest = Substring(html)
        while let range = rest.range(of: "data-column=\"") {
            rest = rest[range.upperBound...]
            let column = String(rest.prefix { $0 != "\"" })
            guard let valueRange = rest.range(of: "\" data-value=\"") else { break }
            rest = rest[valueRange.upperBound...]
            out[column, default: []].append(String(rest.prefix { $0 != "\"" }))
        }
        return out
    }

    @Test("one self-contained page: six sections, compare()'s exact numbers, every rollout event, escaped text")
    func page() async throws {
        let database = try await onThread { try Self.filledDatabase() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sg-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("churn.html").path

        let run = try await BinaryRunner.run(["report", "--route", Self.route, "--since", Self.since, "--format", "html",
                                        "--output", file, "--database-url", database])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == file + "\n")
        // One file, and no temporary file left next to it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["churn.html"])
        let html = try String(contentsOfFile: file, encoding: .utf8)

        // Nothing is fetched: no network address, no external resource of any kind.
        for forbidden in ["http://", "https://", "src=", "href=", "<link", "@import", "url(", "<script", "<iframe", "<img"] {
            #expect(!html.contains(forbidden), "the page contains \(forbidden)")
        }

        for chart in ["chart-accuracy", "chart-agreement", "chart-distribution", "chart-latency", "chart-canary"] {
            #expect(html.contains("<svg id=\"\(chart)\" class=\"sg-chart"), "no \(chart)")
        }
        #expect(html.contains("<table id=\"rollout-events\""))

        // The summary carries compare()'s own numbers for the same window.
        let connection = try PGConnection(connectionString: database)
        defer { connection.close() }
        let compare = try connection.execute("SELECT * FROM shadowgate.compare($1, $2::interval)", [Self.route, Self.since])
        let shown = Self.exactValues(html)
        for column in ComparisonReport.columns {
            let values = shown[column] ?? []
            try #require(values.count == 1, "\(column) is shown \(values.count) times")
            let expected = compare.value(column).flatMap(Double.init)
            // Equal to the last bits but one: compare() may run as a parallel plan, and how many
            // workers start (fewer on a loaded machine) changes the order its sums add in.
            let shownValue = Double(values[0])
            let same = values[0].isEmpty ? expected == nil
                : shownValue.flatMap { v in expected.map { abs(v - $0) <= 1e-12 * max(abs(v), abs($0)) } } ?? false
            #expect(same, "\(column): page \(values[0]), compare() \(String(describing: expected))")
        }
        // the data has the story it should: more pairs than labels, the learner ahead overall
        let kept = (0..<3600).filter { !(1250...1460).contains($0) }
        #expect(compare.value("pairs") == "\(kept.count)" && compare.value("labelled_pairs") == "\(kept.filter { $0 % 4 != 3 }.count)")
        #expect(html.contains("<tr data-metric=\"accuracy\" data-better=\"learner\">"))

        // The gap in the traffic breaks the accuracy lines instead of bridging it.
        let accuracy = try #require(html.range(of: "data-series=\"learner_accuracy\"")).upperBound
        let accuracyGroup = html[accuracy...].components(separatedBy: "</g>")[0]
        #expect(accuracyGroup.components(separatedBy: "<path ").count - 1 >= 2)

        // Every rollout event: a table row, a step on the canary line, and the state it set.
        let events = try connection.execute("SELECT id, action FROM shadowgate.rollout_events WHERE route = $1 ORDER BY id", [Self.route])
        #expect(events.rows.count == 6)
        for row in events.rows {
            #expect(html.contains("<tr data-event-id=\"\(row[0]!)\" data-action=\"\(row[1]!)\">"), "event \(row[0]!)")
        }
        let canary = try #require(html.range(of: "<svg id=\"chart-canary\"")).lowerBound
        let canarySVG = html[canary...].components(separatedBy: "</svg>")[0]
        let steps = canarySVG.components(separatedBy: "class=\"change\" data-value=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(steps == ["0.0", "1.0", "5.0", "25.0", "100.0", "0.0"])
        let labels = ["seed → shadow", "set → canary 1 %", "advance → canary 5 %", "advance → canary 25 %", "promote → promoted", "rollback → shadow"]
        for (index, label) in labels.enumerated() {
            #expect(canarySVG.contains(">#\(index + 1) \(label)</text>"), "\(label)")
        }

        // An event's metrics: its numbers only (the controller's text, flags and gates are left out).
        let promote = try #require(events.rows.first { $0[1] == "promote" }?[0])
        let promoteRow = try #require(html.components(separatedBy: "<tr data-event-id=\"\(promote)\"").last?.components(separatedBy: "</tr>").first)
        #expect(promoteRow.contains("<td class=\"metrics\">accuracy <span class=\"legacy-text\">80.0%</span> / <span class=\"learner-text\">87.5%</span><br>agreement 71.0%<br>1800 pairs</td>"))

        // Text from the database is escaped everywhere it appears.
        #expect(html.contains("<td class=\"reason\">&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; p99 over budget &amp; rising</td>"))
        #expect(canarySVG.contains("reason: &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"))
        #expect(html.contains("<td>cli:o&#39;brien</td>"))

        // Header: route, flags now, the learner's latest version.
        #expect(html.contains("<code id=\"route\">churn</code>"))
        #expect(html.contains("id=\"current-flags\" data-mode=\"shadow\" data-canary-percent=\"0.0\""))
        #expect(html.contains("<dd id=\"learner-version\"><code>river-2026.05.4</code></dd>"))
        #expect(html.contains("<dt>buckets</dt><dd>1 minute"))
    }

    @Test("--bucket overrides the automatic width; bad options are one clear sentence")
    func options() async throws {
        let database = try await onThread { try Self.filledDatabase() }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sg-html-\(UUID().uuidString).html").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let base = ["report", "--route", Self.route, "--since", Self.since, "--database-url", database]

        let fiveMinutes = try await BinaryRunner.run(base + ["--format", "html", "--output", file, "--bucket", "5 minutes"])
        #expect(fiveMinutes.status == 0, "\(fiveMinutes.stderr)")
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains("<dt>buckets</dt><dd>5 minutes (15 in the window)</dd>"))

        let noOutput = try await BinaryRunner.run(base + ["--format", "html"])
        #expect(noOutput.status != 0)
        #expect(noOutput.stderr.contains("--format html writes a file: name it with --output FILE"))

        let tooFine = try await BinaryRunner.run(base + ["--format", "html", "--output", file, "--bucket", "1 second"])
        #expect(tooFine.status == 1)
        #expect(tooFine.stderr.contains("reporting on route 'churn' over '70 minutes': bucket '1 second' would cut the window into more than 2000 buckets; use at least 3 seconds"))

        let badWindow = try await BinaryRunner.run(["report", "--route", Self.route, "--since", "soon", "--database-url", database,
                                              "--format", "html", "--output", file])
        #expect(badWindow.status == 1)
        #expect(badWindow.stderr.contains("'soon' is not a PostgreSQL interval such as 1h or '30 minutes'"))

        let unwritable = try await BinaryRunner.run(base + ["--format", "html", "--output", "/nonexistent-dir/report.html"])
        #expect(unwritable.status == 1)
        #expect(unwritable.stderr.contains("cannot write the report to '/nonexistent-dir/report.html'"))
    }
}
