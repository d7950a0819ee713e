import ShadowGatePromotion
import ShadowGateRouting

extension HTMLReport {
    /// The headline numbers of the pair (cards) and the side-by-side metrics (table), each value
    /// with its `compare()` column and exact value.
    func summary() -> String {
        let report = data.summary
        var s = "<section id=\"summary\">\n<h2>Summary over the window</h2>\n"
        s += "<p class=\"note\">shadowgate.compare('\(HTMLText.escape(data.route))', '\(HTMLText.escape(data.since))'). "
            + "Accuracy counts labelled pairs only; the better value of each metric is marked.</p>\n"
        s += "<div class=\"cards\">\n"
        let cards: [(label: String, column: String, integer: Bool, signed: Bool)] = [
            ("pairs", "pairs", true, false),
            ("labelled pairs", "labelled_pairs", true, false),
            ("agreement", "agreement", false, false),
            ("mean |score diff|", "mean_abs_score_diff", false, false),
            ("accuracy Δ (learner − legacy)", "accuracy_delta", false, true),
            ("KS D", "ks_d", false, false),
            ("KS p", "ks_p", false, false),
            ("PSI", "psi", false, false),
            ("chi² (classes)", "chi2", false, false),
            ("chi² p", "chi2_p", false, false),
        ]
        for card in cards {
            let value = report.value(card.column)
            var text = ComparisonReport.format(value, integer: card.integer)
            if card.signed, let value, value >= 0 { text = "+" + text }
            s += "<div class=\"card\"><div class=\"label\">\(card.label)</div>"
                + "<div class=\"value\" \(Self.exact(card.column, value))>\(text)</div></div>\n"
        }
        s += "</div>\n"
        if report.hasRegressionMetrics {
            // Regression routes: each model's errors and the paired difference (legacy − learner,
            // + means the learner errs less) with its standard error.
            s += "<div class=\"cards\" id=\"regression-cards\">\n"
            let regression: [(label: String, column: String, signed: Bool)] = [
                ("legacy MAE", "legacy_mae", false), ("learner MAE", "learner_mae", false),
                ("legacy RMSE", "legacy_rmse", false), ("learner RMSE", "learner_rmse", false),
                ("|e| diff (legacy − learner)", "abs_error_diff", true), ("± SE", "abs_error_diff_se", false),
                ("e² diff (legacy − learner)", "sq_error_diff", true), ("± SE", "sq_error_diff_se", false),
            ]
            for card in regression {
                let value = report.value(card.column)
                var text = ComparisonReport.format(value)
                if card.signed, let value, value >= 0 { text = "+" + text }
                s += "<div class=\"card\"><div class=\"label\">\(card.label)</div>"
                    + "<div class=\"value\" \(Self.exact(card.column, value))>\(text)</div></div>\n"
            }
            s += "</div>\n"
        }
        s += "<table id=\"summary-table\" class=\"summary\">\n<thead><tr><th>metric</th>"
            + "<th class=\"number\"><span class=\"swatch legacy\"></span>legacy</th>"
            + "<th class=\"number\"><span class=\"swatch learner\"></span>learner</th></tr></thead>\n<tbody>\n"
        // MAE and RMSE are in the regression cards above
        for row in report.rows where row.legacyColumn != "legacy_mae" && row.legacyColumn != "legacy_rmse" {
            s += "<tr data-metric=\"\(HTMLText.escape(row.metric))\" data-better=\"\(row.better?.rawValue ?? "")\"><th>\(HTMLText.escape(row.metric))</th>"
            s += cell(row.legacyColumn, row.legacy, model: .legacy, better: row.better)
            s += cell(row.learnerColumn, row.learner, model: .learner, better: row.better)
            s += "</tr>\n"
        }
        return s + "</tbody>\n</table>\n</section>\n"
    }

    private func cell(_ column: String, _ value: Double?, model: ModelRole, better: ModelRole?) -> String {
        let wins = better == model
        let badge = wins ? "<span class=\"badge\">better</span>" : ""
        return "<td class=\"number \(model.rawValue)\(wins ? " winner" : "")\" \(Self.exact(column, value))>"
            + "\(ComparisonReport.format(value))\(badge)</td>"
    }

    /// `data-column="…" data-value="…"`: the value exactly as `compare()` returned it (Swift's
    /// shortest round-tripping text of the same double), empty for NULL.
    static func exact(_ column: String, _ value: Double?) -> String {
        "data-column=\"\(column)\" data-value=\"\(value.map { "\($0)" } ?? "")\""
    }
}
