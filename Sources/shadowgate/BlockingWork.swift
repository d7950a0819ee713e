import Foundation

/// Runs blocking work (libpq, pg_ctl) on a thread of its own, keeping the cooperative pool free.
func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
