import ServiceLifecycle

extension PairLogWriter: Service {
    /// Starts the writer and runs until graceful shutdown (or cancellation), then flushes
    /// everything to PostgreSQL or the spool (``shutdown()``) before returning.
    ///
    /// In a `ServiceGroup`, list the writer *before* the HTTP server: services shut down in
    /// reverse order, so the server drains its in-flight requests first and the writer then
    /// flushes their pairs.
    public func run() async throws {
        start()
        try? await gracefulShutdown()
        await shutdown()
    }
}
