import ArgumentParser
import Foundation
import Logging
import Synchronization
import ShadowGateAdapters
import ShadowGateConfig
import ShadowGateConfigYAML
import ShadowGatePairLog

/// Options every subcommand that reads the configuration shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Path of the YAML configuration.")
    var config: String = "config/shadowgate.yaml"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    /// Reads and validates the configuration; a problem becomes a one-sentence error naming the key.
    func loadConfig() throws -> GatewayConfig {
        let text: String
        do {
            text = try String(contentsOfFile: config, encoding: .utf8)
        } catch {
            throw CommandFailure("cannot read config file '\(config)': \((error as NSError).localizedDescription)")
        }
        do {
            return try GatewayConfig.parse(yaml: text, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw CommandFailure("\(config): \(error)")
        }
    }

    /// Sends logs at `--log-level` and above to standard error; only the first call counts (the
    /// logging system is bootstrapped once per process).
    /// - Parameter format: `log_format` of the config (commands that read none log text).
    func bootstrapLogging(format: LogFormat = .text) {
        let level = logLevel
        guard Self.loggingBootstrapped.withLock({ done in defer { done = true }; return !done }) else { return }
        LoggingSystem.bootstrap { label in
            switch format {
            case .json:
                return JSONLogHandler(label: label, level: level)
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }

    private static let loggingBootstrapped = Mutex(false)

    /// The database a command works on: `explicit` (its `--database-url`), else the config's, else
    /// `SHADOWGATE_DATABASE_URL`, else the embedded cluster a running gateway started in
    /// `database.embedded_data_dir`; a sentence saying how to name one when there is none.
    func databaseURL(explicit: String?, purpose: String, hint: String = "") throws -> String {
        if let explicit { return explicit }
        let config = try loadConfig()
        guard let configured = Self.databaseURL(config)
                ?? EmbeddedPostgres.runningConnectionString(dataDirectory: config.database.embeddedDataDir) else {
            throw CommandFailure("no database to \(purpose): set database.url in the config, SHADOWGATE_DATABASE_URL, or --database-url\(hint)")
        }
        return configured
    }

    /// The database URL: the config's, else `SHADOWGATE_DATABASE_URL`, else `nil` (embedded cluster).
    static func databaseURL(_ config: GatewayConfig) -> String? {
        if let url = config.database.url { return url }
        if let url = ProcessInfo.processInfo.environment["SHADOWGATE_DATABASE_URL"], !url.isEmpty { return url }
        return nil
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// A failure shown to the user as one sentence (`Error: …`), exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }

    /// `sentence: <the cause's plain sentence>`; the cause's full detail (a PGError's server message
    /// and statement) is logged at debug level, shown with `--log-level debug`.
    init(_ sentence: String, cause: any Error) {
        self.description = "\(sentence): \(cause)"
        Self.logDetail(of: cause)
    }

    /// The cause's own sentence, as it is.
    init(_ cause: any Error) {
        self.description = "\(cause)"
        Self.logDetail(of: cause)
    }

    private static func logDetail(of cause: any Error) {
        Logger(label: "shadowgate").debug("failure detail", metadata: ["detail": "\(String(reflecting: cause))"])
    }
}
