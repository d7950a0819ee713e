import ArgumentParser
import ShadowGateCore

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
            print("\(options.config): valid, listening on \(config.listen), \(config.routes.count) route(s)")
            for route in config.routes {
                let learner = route.learner?.url ?? "none"
                print("  \(route.name): \(route.match.joined(separator: ", ")) [\(route.inferenceProtocol.rawValue)] mode=\(route.mode.rawValue) legacy=\(route.legacy.url) learner=\(learner)")
            }
        }
    }
}
