import Foundation

/// Runs the `shadowgate` binary built next to the test bundle.
struct BinaryRunner {
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("shadowgate")
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        /// False when a signal ended the process rather than its own exit.
        var exitedNormally: Bool
    }

    /// Runs to completion (with a hard time limit) and returns what it printed.
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 60) throws -> Output {
        let process = try start(arguments, environment: environment)
        let deadline = Date().addingTimeInterval(timeout)
        while process.process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.process.isRunning { process.process.terminate() }
        return process.finish()
    }

    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> RunningBinary {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return RunningBinary(process: process, out: out, err: err)
    }
}

final class RunningBinary: @unchecked Sendable {
    let process: Process
    let out: Pipe
    let err: Pipe

    init(process: Process, out: Pipe, err: Pipe) {
        self.process = process
        self.out = out
        self.err = err
    }

    func finish() -> BinaryRunner.Output {
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return .init(status: process.terminationStatus, stdout: stdout, stderr: stderr, exitedNormally: process.terminationReason == .exit)
    }
}
