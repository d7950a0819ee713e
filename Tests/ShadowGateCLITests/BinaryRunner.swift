import Foundation
import ShadowGateTesting

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
    ///
    /// Waits on a thread of its own: a test blocking one of the cooperative pool's few threads
    /// for seconds would stall the async work of every test running in parallel.
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 60) async throws -> Output {
        try await onThread { try runBlocking(arguments, environment: environment, timeout: timeout) }
    }

    private static func runBlocking(_ arguments: [String], environment: [String: String], timeout: TimeInterval) throws -> Output {
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

    /// Reads both pipes to their end and waits for the exit; see `finished()` in async code.
    func finish() -> BinaryRunner.Output {
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return .init(status: process.terminationStatus, stdout: stdout, stderr: stderr, exitedNormally: process.terminationReason == .exit)
    }

    /// `finish()` on a thread of its own, keeping the cooperative pool free while the process drains.
    func finished() async throws -> BinaryRunner.Output {
        try await onThread { self.finish() }
    }
}
