import Foundation

/// Runs blocking work (libpq, pg_ctl) on a thread of its own, keeping the cooperative pool free.
@discardableResult
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        Thread { c.resume(with: Result { try body() }) }.start()
    }
}
