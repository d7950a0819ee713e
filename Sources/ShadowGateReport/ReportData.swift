import ShadowGateControl
import ShadowGatePromotion

/// Everything an HTML report shows, read in one consistent snapshot of the database.
public struct ReportData: Sendable, Equatable {
    public var route: String
    /// The window as given (`1h`, `30 minutes`).
    public var since: String
    /// The window, seconds since the epoch; its end is the database's `now()` when read.
    public var windowStart: Double
    public var windowEnd: Double
    public var bucket: ReportBucket
    /// `compare(route, since)`.
    public var summary: ComparisonReport
    /// `compare_series(route, since, bucket)`.
    public var series: ComparisonSeries
    /// `nil` when the route has no row in `shadowgate.flags` yet.
    public var flags: FlagRecord?
    /// The learner's model version as its latest response in the window named it.
    public var learnerVersion: String?
    /// Rollout events inside the window, earliest first.
    public var events: [RolloutEvent]
    /// The last event before the window: the state the window starts in.
    public var eventBeforeWindow: RolloutEvent?
    /// The evidence gates' estimates and confidence bounds over the window (empty without a controller).
    public var gateBounds = GateBoundsHistory()

    public init(route: String, since: String, windowStart: Double, windowEnd: Double, bucket: ReportBucket,
                summary: ComparisonReport, series: ComparisonSeries, flags: FlagRecord?, learnerVersion: String?,
                events: [RolloutEvent], eventBeforeWindow: RolloutEvent?) {
        self.route = route
        self.since = since
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.bucket = bucket
        self.summary = summary
        self.series = series
        self.flags = flags
        self.learnerVersion = learnerVersion
        self.events = events
        self.eventBeforeWindow = eventBeforeWindow
    }

    public var window: ClosedRange<Double> { windowStart...max(windowStart, windowEnd) }

    /// The learner's share at the start of the window: after the last earlier event, else before
    /// the first event in the window, else the current flags when nothing changed at all.
    public var learnerShareAtWindowStart: Double? {
        if let eventBeforeWindow { return eventBeforeWindow.learnerShare }
        if let first = events.first { return first.previousLearnerShare }
        return flags?.flags.learnerShare
    }
}
