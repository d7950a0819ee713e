import Metrics
import Prometheus

/// Installs the Prometheus backend for swift-metrics once per process and returns its registry.
enum MetricsBootstrap {
    static func prometheus() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Upstream latencies of a proxy live in the sub-millisecond to seconds range.
        factory.durationHistogramBuckets["shadowgate_upstream_latency_seconds"] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        // Prediction → label: from sub-second (labels posted with the answer) to a day.
        factory.durationHistogramBuckets["shadowgate_feedback_label_delay_seconds"] = [
            .milliseconds(100), .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300),
            .seconds(900), .seconds(3600), .seconds(21600), .seconds(86400),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }
}
