import ArgumentParser
import ShadowGateControl
import ShadowGatePromotion

struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Where a route's rollout stands and why.",
        subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The route's flags, the controller's last evaluation (outcome, gates, reason) and the latest rollout events.")
        @OptionGroup var database: FlagDatabaseOptions
        @Argument(help: "Route name.") var route: String
        @Option(help: "How many recent rollout events to show.") var events: Int = 8

        func run() async throws {
            let route = route, limit = events
            guard let status = try await database.withConnection({ try RolloutStatus.load(route: route, connection: $0, events: limit) }) else {
                throw CommandFailure("route '\(route)' has no flags: no gateway with this route has started on this database")
            }
            print(Self.render(status), terminator: "")
        }

        static func render(_ status: RolloutStatus) -> String {
            var out = "route '\(status.flags.route)': \(status.flags.flags.summary)"
            out += "  (revision \(status.flags.revision), set \(FlagTable.timestamp(status.flags.updatedAt)) by \(status.flags.updatedBy): \(status.flags.reason))\n"
            out += "controller: \(status.controllerHolder.map { "held by \($0)" } ?? "no replica holds the controller lock")\n"
            if let evaluation = status.evaluation {
                out += "last evaluation: \(evaluation.evaluatedAt) by \(evaluation.controller)\n"
                out += "  outcome  \(evaluation.outcome.uppercased()) → \(evaluation.decision)\n"
                out += "  why      \(evaluation.reason)\n"
                if let since = evaluation.passingSince { out += "  passing since \(since)\n" }
                if let at = evaluation.rolledBackAt { out += "  rolled back at \(at); advancing again needs a window wholly after it\n" }
                out += "  learner version \(evaluation.learnerVersion ?? "unknown")\n"
                if let evidence = evaluation.evidence { out += "  evidence \(evidence)\n" }
                if !evaluation.gates.isEmpty {
                    // Values and bounds as the terminal report prints numbers (3 decimals); evidence
                    // gates add their confidence interval [lower, upper] at their alpha and its count.
                    let gates = evaluation.gates.map { gate in
                        let cells = gate.enumerated().map { index, cell in
                            [1, 2, 6, 7, 9].contains(index) ? (Double(cell).map { ComparisonReport.format($0) } ?? cell) : cell
                        }
                        let interval = cells.count > 9 && !cells[6].isEmpty ? "[\(cells[6]), \(cells[7])] over \(cells[8]) at alpha \(cells[9])" : ""
                        return Array(cells.prefix(6)) + [interval]
                    }
                    out += "\n" + FlagTable.aligned([["gate", "value", "bound", "threshold", "kind", "outcome", "confidence interval"]] + gates)
                        .split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
                }
            } else {
                out += "last evaluation: none yet (promotion off for this route, or the controller has not run)\n"
            }
            if !status.events.isEmpty {
                out += "\nrecent rollout events (newest first):\n"
                let rows = [["at", "actor", "action", "from", "to", "version", "reason"]] + status.events.map {
                    [$0.at, $0.actor, $0.action, $0.from, $0.to, $0.learnerVersion ?? "", $0.reason]
                }
                out += FlagTable.aligned(rows).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
            }
            return out
        }
    }
}
