import ArgumentParser
import ShadowGatePromotion
import ShadowGateRouting

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with the configuration file.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Validate a configuration and print a summary of its routes.")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.loadConfig()
            print("\(options.config): valid, listening on \(config.listen), \(config.routes.count) route(s)"
                  + (config.adminListen.map { ", admin API on \($0)" } ?? ""))
            for route in config.routes {
                let learner = route.learner?.url ?? "none"
                print("  \(route.name): \(route.match.joined(separator: ", ")) [\(route.inferenceProtocol.rawValue)] mode=\(route.mode.rawValue)\(route.task == .regression ? " task=regression" : "")\(route.holdoutPercent > 0 ? " holdout=\(route.holdoutPercent.formattedShort)%" : "") legacy=\(route.legacy.url) learner=\(learner)")
                if let promotion = route.promotion, promotion.enabled {
                    let steps = promotion.steps.map { $0.formattedShortPercent }.joined(separator: " → ")
                    let gates = promotion.gates.map { "\($0.metric.rawValue) \($0.threshold)\($0.hard ? "" : " (soft)")" }.joined(separator: ", ")
                    print("    promotion: \(steps), window \(promotion.window.configText), dwell \(promotion.dwell.configText); gates: \(gates)"
                          + "; alpha \(ComparisonReport.format(promotion.alpha)), label_delay \(promotion.labelDelay.configText)"
                          + (promotion.errorClip.map { ", error_clip \($0.formattedShort)" } ?? "")
                          + (promotion.evidenceSource == .holdout ? ", evidence from the holdout only" : ""))
                }
            }
        }
    }
}
