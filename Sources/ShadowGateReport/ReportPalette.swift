/// The report's colours, so a model has the same colour in every chart, legend and table.
///
/// Blue and orange stay distinguishable for the common forms of colour blindness; the latency
/// percentiles of one model share its colour and differ by dash pattern.
enum ReportPalette {
    static let legacy = "#d97706"
    static let learner = "#2563eb"
    static let agreement = "#0f766e"
    static let ksD = "#7c3aed"
    static let psi = "#db2777"

    /// Dash patterns of p50, p95, p99.
    static let p50Dash: String? = nil
    static let p95Dash: String? = "7 4"
    static let p99Dash: String? = "2 3"
}
