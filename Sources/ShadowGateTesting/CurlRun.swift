import Foundation

/// Runs `/usr/bin/curl -sS --max-time 10 ARGUMENTS` and returns its exit status and its standard
/// output and error together (tests of the TLS listeners read both).
///
/// The wait for curl (up to its 10 s limit) happens on a thread of its own: on a 2-core machine
/// the cooperative pool has two threads, and two tests blocking them would stall every other
/// test's async work, so timing-based tests running in parallel would miss their windows.
public func runCurl(_ arguments: [String]) async throws -> (status: Int32, output: String) {
    try await onThread {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-sS", "--max-time", "10"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
