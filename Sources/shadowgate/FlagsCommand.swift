import ArgumentParser
import ShadowGateControl
import ShadowGateRouting

struct FlagsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flags",
        abstract: "Read and change routes' live flags in shadowgate.flags (every gateway applies a change within a second).",
        subcommands: [List.self, Get.self, SetFlags.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every route's mode, canary share and last change.")
        @OptionGroup var database: FlagDatabaseOptions

        func run() async throws {
            let records = try await database.withConnection { try FlagStore(connection: $0).all() }
            guard !records.isEmpty else {
                print("no route has flags yet: a gateway seeds them from its config the first time it starts on this database")
                return
            }
            print(FlagTable.render(records), terminator: "")
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One route's flags.")
        @OptionGroup var database: FlagDatabaseOptions
        @Argument(help: "Route name.") var route: String

        func run() async throws {
            let route = route
            guard let record = try await database.withConnection({ try FlagStore(connection: $0).get(route: route) }) else {
                throw CommandFailure("route '\(route)' has no flags: no gateway with this route has started on this database")
            }
            print(FlagTable.render([record]), terminator: "")
        }
    }

    /// `shadowgate flags set` (named so it does not shadow `Swift.Set` inside `FlagsCommand`).
    struct SetFlags: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set a route's mode and canary share, with a reason (audited in shadowgate.rollout_events).")
        @OptionGroup var database: FlagDatabaseOptions
        @Argument(help: "Route name.") var route: String
        @Option(help: "legacy, shadow, canary or promoted.") var mode: RouteMode
        @Option(help: "Learner share in canary mode, 0–100, resolution 0.01 (promoted is 100, shadow and legacy 0).")
        var percent: Double?
        @Option(help: "Why (recorded with the change).") var reason: String

        func validate() throws {
            if let percent {
                guard percent.isFinite, (0...100).contains(percent) else {
                    throw ValidationError("--percent must be between 0 and 100, got \(percent)")
                }
                if let fixed = mode.fixedCanaryPercent, percent != fixed {
                    throw ValidationError("--percent \(percent) does not fit mode \(mode.rawValue) (only canary takes a share)")
                }
            } else if mode == .canary {
                throw ValidationError("--percent is required with mode canary")
            }
            guard !reason.allSatisfy(\.isWhitespace) else { throw ValidationError("--reason must say why") }
        }

        func run() async throws {
            // validate() made sure canary has a percent; the other modes have a fixed one.
            let percent = percent ?? mode.fixedCanaryPercent ?? 0
            try await database.change(route: route, mode: mode, percent: (percent * 100).rounded() / 100, action: .set, reason: reason)
        }
    }
}

extension RouteMode: ExpressibleByArgument {}

struct PromoteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Send all of a route's traffic to the learner now (mode promoted; the legacy model keeps running in shadow).")
    @OptionGroup var database: FlagDatabaseOptions
    @Argument(help: "Route name.") var route: String
    @Option(help: "Why (recorded with the change).") var reason: String = "promoted by hand"

    func run() async throws {
        try await database.change(route: route, mode: .promoted, percent: 100, action: .promote, reason: reason)
    }
}

struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Send all of a route's traffic back to the legacy model now (mode shadow; the learner keeps running in shadow).")
    @OptionGroup var database: FlagDatabaseOptions
    @Argument(help: "Route name.") var route: String
    @Option(help: "Why (recorded with the change).") var reason: String = "rolled back by hand"

    func run() async throws {
        try await database.change(route: route, mode: .shadow, percent: 0, action: .rollback, reason: reason)
    }
}
