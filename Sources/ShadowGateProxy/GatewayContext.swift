import Logging
import NIOCore
import ShadowGateAdapters
import ShadowGateConfig
import ShadowGatePairRecord
import Synchronization

/// What every connection on every event loop shares: routes, flags, adapters, the sink, metrics.
final class GatewayContext: Sendable {
    let config: GatewayConfig
    let routeTable: RouteTable
    let flags: RouteFlagsStore
    let adapters: [PredictionAdapter]
    let sink: any PairRecordSink
    /// Where `POST /v1/feedback` stores labels; `nil` when the pair log is off.
    let feedback: (any FeedbackStore)?
    let metrics: GatewayMetrics
    let inFlight = InFlightTracker()
    /// Where internal error detail goes (clients get a plain sentence).
    let logger: Logger
    /// Renders `/metrics` (Prometheus text format).
    let renderMetrics: @Sendable () -> String
    private let draining = Atomic<Bool>(false)

    init(
        config: GatewayConfig,
        flags: RouteFlagsStore,
        sink: any PairRecordSink,
        feedback: (any FeedbackStore)?,
        metrics: GatewayMetrics,
        renderMetrics: @escaping @Sendable () -> String,
        logger: Logger = Logger(label: "shadowgate.gateway")
    ) {
        self.logger = logger
        self.config = config
        self.routeTable = RouteTable(routes: config.routes)
        self.flags = flags
        self.adapters = config.routes.map {
            PredictionAdapter(protocol: $0.inferenceProtocol, predictionPointer: $0.predictionPointer, featuresPointer: $0.featuresPointer)
        }
        self.sink = sink
        self.feedback = feedback
        self.metrics = metrics
        self.renderMetrics = renderMetrics
    }

    /// True once shutdown began: `/readyz` fails so load balancers stop sending.
    var isDraining: Bool {
        get { draining.load(ordering: .relaxed) }
        set { draining.store(newValue, ordering: .relaxed) }
    }
}
