import Foundation
import LibPQ
import ShadowGateControl
import ShadowGatePromotion

/// Reads a ``ReportData`` for one route and window over a libpq connection.
///
/// Every query runs in one read-only REPEATABLE READ transaction, so `now()` and the data are the
/// same for the summary, the series, the flags and the events: the summary's numbers are exactly
/// what `compare(route, since)` returned in that snapshot. Blocking: call it off the cooperative
/// thread pool.
public struct ReportQuery: Sendable {
    public var route: String
    /// A PostgreSQL interval (`1h`, `30 minutes`, `2 days`).
    public var since: String
    /// A PostgreSQL interval, or `nil` for ``ReportBucket/automatic(windowSeconds:)``.
    public var bucket: String?

    /// Most buckets `--bucket` may ask for; beyond it a chart is unreadable and the query slow.
    public static let maximumBucketCount = 2000.0

    public init(route: String, since: String, bucket: String? = nil) {
        self.route = route
        self.since = since
        self.bucket = bucket
    }

    public func load(from connection: PGConnection) throws(ReportQueryError) -> ReportData {
        try run(connection, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", code: .queryFailed, "could not start a read transaction")
        defer { _ = try? connection.execute("ROLLBACK") }

        let window = try run(connection, "SELECT extract(epoch FROM now()), extract(epoch FROM now() - $1::interval), extract(epoch FROM $1::interval)",
                             [since], code: .badWindow, "'\(since)' is not a PostgreSQL interval such as 1h or '30 minutes'")
        guard let end = double(window, 0, 0), let start = double(window, 0, 1), let windowSeconds = double(window, 0, 2), windowSeconds > 0 else {
            throw ReportQueryError(.badWindow, route: route, since: since, detail: "the window must be longer than zero")
        }
        let chosenBucket = try resolveBucket(connection, windowSeconds: windowSeconds)

        let summary = try run(connection, "SELECT * FROM shadowgate.compare($1, $2::interval)", [route, since],
                              code: .queryFailed, "compare() failed")
        var summaryText: [String: String?] = [:]
        for column in ComparisonReport.columns { summaryText[column] = summary.value(column) }

        let seriesResult = try run(connection, "SELECT extract(epoch FROM bucket_start) AS bucket_epoch, * FROM shadowgate.compare_series($1, $2::interval, $3::interval)",
                                   [route, since, chosenBucket.interval], code: .queryFailed, "compare_series() failed")
        let buckets = seriesResult.rows.indices.map { row in
            ComparisonSeries.Bucket(
                start: seriesResult.value("bucket_epoch", row: row).flatMap(Double.init) ?? start,
                values: Dictionary(uniqueKeysWithValues: ComparisonReport.columns.map { ($0, seriesResult.value($0, row: row).flatMap(Double.init)) }))
        }

        let flags: FlagRecord?
        do {
            flags = try FlagStore(connection: connection).get(route: route)
        } catch {
            throw ReportQueryError(.queryFailed, route: route, since: since, detail: "\(error)")
        }
        let version = try run(connection, "SELECT shadowgate.learner_version($1, $2::interval)", [route, since],
                              code: .queryFailed, "reading the learner's model version failed")
        let eventColumns = """
            SELECT id, extract(epoch FROM at), actor, action, from_mode, from_percent, to_mode, to_percent, reason,
                   learner_version,
                   -- only the numeric members: the controller adds text and nested gate results
                   CASE WHEN jsonb_typeof(metrics) = 'object' THEN
                       (SELECT jsonb_object_agg(key, value) FROM jsonb_each(metrics) WHERE jsonb_typeof(value) = 'number')::text
                   END
            FROM shadowgate.rollout_events
            """
        let events = try run(connection, eventColumns + " WHERE route = $1 AND at >= now() - $2::interval ORDER BY at, id",
                             [route, since], code: .queryFailed, "reading shadowgate.rollout_events failed")
        let before = try run(connection, eventColumns + " WHERE route = $1 AND at < now() - $2::interval ORDER BY at DESC, id DESC LIMIT 1",
                             [route, since], code: .queryFailed, "reading shadowgate.rollout_events failed")

        let bounds = try run(connection, GateBoundsHistory.sql, [route, since], code: .queryFailed,
                             "reading the gates' confidence bounds failed")
        var data = ReportData(
            route: route, since: since, windowStart: start, windowEnd: end, bucket: chosenBucket,
            summary: ComparisonReport(route: route, since: since, text: summaryText),
            series: ComparisonSeries(buckets: buckets, bucketSeconds: chosenBucket.seconds),
            flags: flags,
            learnerVersion: version.scalar,
            events: events.rows.map(Self.event),
            eventBeforeWindow: before.rows.first.map(Self.event))
        data.gateBounds = GateBoundsHistory.from(rows: bounds.rows)
        return data
    }

    /// `--bucket` as given (checked), else the automatic choice for the window.
    private func resolveBucket(_ connection: PGConnection, windowSeconds: Double) throws(ReportQueryError) -> ReportBucket {
        guard let bucket else { return .automatic(windowSeconds: windowSeconds) }
        let result = try run(connection, "SELECT extract(epoch FROM $1::interval)", [bucket],
                             code: .badBucket, "bucket '\(bucket)' is not a PostgreSQL interval such as 5min")
        guard let seconds = double(result, 0, 0), seconds > 0 else {
            throw ReportQueryError(.badBucket, route: route, since: since, detail: "bucket '\(bucket)' must be longer than zero")
        }
        guard windowSeconds / seconds <= Self.maximumBucketCount else {
            let smallest = ReportBucket(interval: "", seconds: (windowSeconds / Self.maximumBucketCount).rounded(.up))
            throw ReportQueryError(.tooManyBuckets, route: route, since: since,
                                   detail: "bucket '\(bucket)' would cut the window into more than \(Int(Self.maximumBucketCount)) buckets; use at least \(smallest.description)")
        }
        return ReportBucket(interval: bucket, seconds: seconds)
    }

    static func event(_ row: [String?]) -> RolloutEvent {
        RolloutEvent(
            id: row[0].flatMap { Int64($0) } ?? 0, at: row[1].flatMap(Double.init) ?? 0,
            actor: row[2] ?? "", action: row[3] ?? "", fromMode: row[4], fromPercent: row[5].flatMap(Double.init),
            toMode: row[6] ?? "", toPercent: row[7].flatMap(Double.init) ?? 0, reason: row[8] ?? "",
            learnerVersion: row[9], metrics: row[10].map(numericMembers) ?? [:])
    }

    /// A JSON object of numbers (the numeric members the query kept) as a dictionary.
    static func numericMembers(_ json: String) -> [String: Double] {
        (try? JSONDecoder().decode([String: Double].self, from: Data(json.utf8))) ?? [:]
    }

    @discardableResult
    private func run(_ connection: PGConnection, _ sql: String, _ params: [String?] = [], code: ReportQueryError.Code,
                     _ detail: @autoclosure () -> String) throws(ReportQueryError) -> PGResult {
        do {
            return try connection.execute(sql, params)
        } catch let error as PGError {
            throw ReportQueryError(code, route: route, since: since, detail: detail(), underlying: error)
        } catch {
            throw ReportQueryError(code, route: route, since: since, detail: "\(detail()): \(error)")
        }
    }

    private func double(_ result: PGResult, _ row: Int, _ column: Int) -> Double? {
        guard row < result.rows.count, column < result.rows[row].count else { return nil }
        return result.rows[row][column].flatMap(Double.init)
    }
}
