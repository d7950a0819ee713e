import ShadowGateAdapters

extension PromotionEvaluation {
    /// Every gate as a JSON array: `[{"gate":…,"value":…,"bound":…,"threshold":"1.2x legacy","hard":true,"outcome":"pass"}]`;
    /// an evidence gate adds `"lower"`, `"upper"` (its confidence bounds), `"evidence"` (the count
    /// they rest on) and `"alpha"`.
    public var gatesJSON: String {
        "[" + gates.map { gate in
            "{\"gate\":\(JSONLiteral.string(gate.gate)),"
                + "\"value\":\(JSONLiteral.number(gate.value)),"
                + "\"bound\":\(JSONLiteral.number(gate.bound)),"
                + "\"threshold\":\(JSONLiteral.string(gate.rule.threshold.description)),"
                + "\"hard\":\(gate.rule.hard),"
                + (gate.lowerBound.map { "\"lower\":\(JSONLiteral.number($0))," } ?? "")
                + (gate.upperBound.map { "\"upper\":\(JSONLiteral.number($0))," } ?? "")
                + (gate.evidence.map { "\"evidence\":\(JSONLiteral.number($0, integer: true))," } ?? "")
                + (gate.alpha.map { "\"alpha\":\(JSONLiteral.number($0))," } ?? "")
                + "\"outcome\":\"\(gate.outcome.rawValue)\"}"
        }.joined(separator: ",") + "]"
    }

    /// What a controller decision records in `rollout_events.metrics`: every `compare()` column of
    /// the window (flat, like a person's change records them), plus the outcome, the reason and the gates.
    public func metricsJSON(_ report: ComparisonReport, evidenceJSON: String? = nil) -> String {
        var extra = [
            "\"window\":\(JSONLiteral.string(report.since))",
            "\"outcome\":\"\(outcome.rawValue)\"",
            "\"reason\":\(JSONLiteral.string(reason))",
            "\"gates\":\(gatesJSON)",
        ]
        if let evidenceJSON { extra.append("\"evidence\":\(evidenceJSON)") }
        return "{" + (report.columnFields + extra).joined(separator: ",") + "}"
    }
}
