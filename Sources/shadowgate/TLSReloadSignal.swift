import Logging
import ServiceLifecycle
import ShadowGateTLS
import UnixSignals

/// Reloads the listeners' certificates on SIGHUP and when their files change, for one `serve` run.
struct TLSReloadSignal {
    private let tasks: [Task<Void, Never>]

    static func start(_ tls: GatewayTLS, logger: Logger) -> TLSReloadSignal {
        let listeners = tls.listeners
        guard !listeners.isEmpty else { return TLSReloadSignal(tasks: []) }
        var tasks = listeners.compactMap { $0.watch(logger: logger) }
        tasks.append(Task {
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                for listener in listeners {
                    do {
                        try listener.reload()
                        logger.notice("TLS certificate reloaded (SIGHUP)", metadata: ["key": "\(listener.config.configKey)"])
                    } catch {
                        logger.error("TLS certificate reload failed; the previous certificate stays in use", metadata: ["error": "\(error)"])
                    }
                }
            }
        })
        return TLSReloadSignal(tasks: tasks)
    }

    func stop() {
        for task in tasks { task.cancel() }
    }
}
