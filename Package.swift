// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ShadowGate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "shadowgate", targets: ["shadowgate"]),
        .library(name: "ShadowGateAdapters", targets: ["ShadowGateAdapters"]),
        .library(name: "ShadowGateRouting", targets: ["ShadowGateRouting"]),
        .library(name: "ShadowGatePairRecord", targets: ["ShadowGatePairRecord"]),
        .library(name: "ShadowGatePromotion", targets: ["ShadowGatePromotion"]),
        .library(name: "ShadowGateConfig", targets: ["ShadowGateConfig"]),
        .library(name: "ShadowGateConfigYAML", targets: ["ShadowGateConfigYAML"]),
        .library(name: "ShadowGateTLS", targets: ["ShadowGateTLS"]),
        .library(name: "ShadowGateProxy", targets: ["ShadowGateProxy"]),
        .library(name: "ShadowGateGRPC", targets: ["ShadowGateGRPC"]),
        .library(name: "ShadowGatePairLog", targets: ["ShadowGatePairLog"]),
        .library(name: "LibPQ", targets: ["LibPQ"]),
        .library(name: "ShadowGateReport", targets: ["ShadowGateReport"]),
        .library(name: "ShadowGateControl", targets: ["ShadowGateControl"]),
        .library(name: "ShadowGateAdmin", targets: ["ShadowGateAdmin"]),
        .library(name: "ShadowGateEvidence", targets: ["ShadowGateEvidence"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    ],
    targets: [
        // libpq, the only PostgreSQL client ShadowGate uses (Debian `libpq-dev`).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // A small, safe Swift wrapper over libpq: connections, parameterised queries, COPY, LISTEN/NOTIFY.
        .target(name: "LibPQ", dependencies: ["CLibPQ"]),
        // Reading model traffic: the JSON scanner, pointers and literals, and the prediction adapters
        // (OIP v2, KServe v1, JSON pointer). Pure, no dependencies.
        .target(name: "ShadowGateAdapters"),
        // Which model serves a request: route modes, flags, sticky keys and buckets. Pure, no dependencies.
        .target(name: "ShadowGateRouting"),
        // What the data path hands to the pair log: pair records, their sides and skip reasons,
        // feedback labels and the sink/store protocols. Pure.
        .target(name: "ShadowGatePairRecord", dependencies: ["ShadowGateRouting"]),
        // Promotion policy, gates, evaluation of a comparison and the controller's decisions. Pure,
        // testable without a database.
        .target(name: "ShadowGatePromotion", dependencies: ["ShadowGateRouting", "ShadowGateAdapters", "ShadowGateEvidence"]),
        // The gateway's configuration as values (listeners, limits, database, routes, upstreams) and the
        // route table. No YAML here, so the data path does not depend on Yams.
        // Anytime-valid statistics for the promotion gates: confidence sequences, e-values, change detectors. No dependencies.
        .target(name: "ShadowGateEvidence"),
        .target(
            name: "ShadowGateConfig",
            dependencies: ["ShadowGateAdapters", "ShadowGateRouting", "ShadowGatePromotion"]
        ),
        // Reads and validates the YAML config file into ShadowGateConfig's values (the only Yams user).
        .target(
            name: "ShadowGateConfigYAML",
            dependencies: [
                "ShadowGateConfig", "ShadowGateRouting", "ShadowGatePromotion", "ShadowGateAdapters", "ShadowGateEvidence",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // TLS contexts from the configuration (swift-nio-ssl): upstream clients, reloadable listener
        // certificates, start-up checks of certificate files, readable TLS failure reasons.
        .target(
            name: "ShadowGateTLS",
            dependencies: [
                "ShadowGateConfig", "ShadowGateRouting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The SwiftNIO data path: HTTP server, upstream pools, shadowing.
        .target(
            name: "ShadowGateProxy",
            dependencies: [
                "ShadowGateAdapters", "ShadowGateRouting", "ShadowGatePairRecord", "ShadowGateConfig", "ShadowGateTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The gRPC data path (Open Inference Protocol over HTTP/2, a bytes-level proxy on swift-nio-http2):
        // its own listener, HTTP/2 upstream connections, mirroring and pair records like the REST path.
        .target(
            name: "ShadowGateGRPC",
            dependencies: [
                "ShadowGateAdapters", "ShadowGateRouting", "ShadowGatePairRecord", "ShadowGateConfig", "ShadowGateTLS",
                "ShadowGateProxy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The pair log in PostgreSQL: migrations, batched COPY writer, spool and replay, embedded cluster.
        .target(
            name: "ShadowGatePairLog",
            dependencies: [
                "ShadowGatePairRecord", "ShadowGateConfig", "ShadowGatePromotion",
                "LibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Flags in PostgreSQL, the flag watcher every replica runs, the promotion controller, fenced
        // leadership (also the label deliverer's) and the control connection (keepalives, session check).
        .target(
            name: "ShadowGateControl",
            dependencies: [
                "ShadowGateRouting", "ShadowGatePromotion", "ShadowGateConfig", "ShadowGateAdapters", "ShadowGateEvidence",
                "LibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The admin HTTP API (its own listener, bearer token): read and change flags.
        .target(
            name: "ShadowGateAdmin",
            dependencies: [
                "ShadowGateAdapters", "ShadowGateRouting", "ShadowGateConfig",
                "ShadowGateControl", "ShadowGateTLS",
                "LibPQ",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Labels to the learners: the leader-elected deliverer reading shadowgate.labels (fenced
        // leadership from ShadowGateControl), and the bulk import.
        .target(
            name: "ShadowGateFeedback",
            dependencies: [
                "ShadowGateConfig", "ShadowGatePairRecord", "ShadowGateRouting", "ShadowGateControl",
                "LibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The HTML report: data read over LibPQ, rendered by pure functions (inline SVG charts, no network).
        .target(
            name: "ShadowGateReport",
            dependencies: ["ShadowGateAdapters", "ShadowGateRouting", "ShadowGatePromotion", "ShadowGateControl", "LibPQ"]
        ),
        .executableTarget(
            name: "shadowgate",
            dependencies: [
                "ShadowGateAdapters",
                "ShadowGateRouting",
                "ShadowGatePairRecord",
                "ShadowGatePromotion",
                "ShadowGateConfig",
                "ShadowGateConfigYAML",
                "ShadowGateProxy",
                "ShadowGateGRPC",
                "ShadowGateTLS",
                "ShadowGatePairLog",
                "ShadowGateControl",
                "ShadowGateAdmin",
                "ShadowGateReport",
                "ShadowGateFeedback",
                "LibPQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // `Scripts/bench.sh gates`: the controller's decision code vs the old point-estimate rule on simulated paired streams.
        .executableTarget(name: "shadowgate-gates-bench", dependencies: ["ShadowGateControl", "ShadowGatePromotion", "ShadowGateRouting", "ShadowGateEvidence"]),
        // `Scripts/bench.sh` fronts nio-floor-proxy / nio-floor-mirror: the least an HTTP/1 proxy on SwiftNIO does, as a measuring stick.
        .executableTarget(
            name: "shadowgate-nio-floor",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Test helpers: in-process upstream stubs and a live gateway harness.
        .target(
            name: "ShadowGateTesting",
            dependencies: [
                "ShadowGatePairRecord",
                "ShadowGateProxy",
                "ShadowGatePairLog",
                "LibPQ",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ShadowGateAdaptersTests", dependencies: ["ShadowGateAdapters"]),
        .testTarget(name: "ShadowGateRoutingTests", dependencies: ["ShadowGateRouting"]),
        .testTarget(name: "ShadowGateConfigTests", dependencies: ["ShadowGateConfig", "ShadowGateConfigYAML"]),
        .testTarget(
            name: "ShadowGatePromotionTests",
            dependencies: ["ShadowGatePromotion", "ShadowGateRouting", "ShadowGateConfig", "ShadowGateConfigYAML"]
        ),
        // The flag store against a real PostgreSQL and its errors; the controller's and leadership's state machines without a
        // database; fencing and the control-session check against real servers.
        .testTarget(
            name: "ShadowGateControlTests",
            dependencies: [
                "ShadowGateControl", "ShadowGateConfig", "ShadowGateRouting", "ShadowGatePromotion", "ShadowGateEvidence",
                "ShadowGateTesting", "LibPQ",
            ]
        ),
        // The admin API without a socket: its handler called directly and on an in-memory channel.
        .testTarget(
            name: "ShadowGateAdminTests",
            dependencies: [
                "ShadowGateAdmin", "ShadowGateControl", "ShadowGateConfig", "ShadowGateTesting", "ShadowGateTLS", "LibPQ",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Against a real PostgreSQL: queries, errors, COPY, notifications, and the COPY text encoder.
        .testTarget(name: "LibPQTests", dependencies: ["LibPQ", "ShadowGateTesting"]),
        // Pure rendering: scales, ticks, gaps, escaping, the terminal comparison table; no database.
        .testTarget(
            name: "ShadowGateReportTests",
            dependencies: ["ShadowGateReport", "ShadowGateControl", "ShadowGatePromotion", "ShadowGateRouting"]
        ),
        // Statistics against SciPy reference values (Scripts/stats-fixtures/make_evidence_fixtures.py makes them).
        .testTarget(name: "ShadowGateEvidenceTests", dependencies: ["ShadowGateEvidence"], exclude: ["Fixtures"]),
        .testTarget(
            name: "ShadowGateProxyTests",
            dependencies: [
                "ShadowGateProxy", "ShadowGateTesting", "ShadowGateConfig", "ShadowGatePairRecord", "ShadowGateRouting",
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Runs the built `shadowgate` binary: exit codes, messages, signals.
        .testTarget(
            name: "ShadowGateCLITests",
            dependencies: [
                "ShadowGateTesting", "ShadowGateRouting", "ShadowGatePromotion", "ShadowGatePairLog", "LibPQ",
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The deliverer's pure parts (plan, backoff, import parsing); no sockets, no database.
        .testTarget(name: "ShadowGateFeedbackTests", dependencies: ["ShadowGateFeedback", "ShadowGateConfig", "ShadowGatePairRecord", "LibPQ", "ShadowGateTesting"]),
        .testTarget(
            name: "ShadowGatePairLogTests",
            dependencies: [
                "ShadowGatePairLog", "LibPQ", "ShadowGatePairRecord", "ShadowGateConfig", "ShadowGateProxy", "ShadowGateTesting",
            ],
            // SciPy fixtures, read through #filePath (Scripts/stats-fixtures/make_fixtures.py makes them).
            exclude: ["Fixtures"]
        ),
    ]
)

// Fuzzing (Fuzz/run.sh): one libFuzzer executable for the parsers and encoders. Built plainly it
// replays inputs (`shadowgate-fuzz TARGET FILE...`); Fuzz/run.sh builds it with -sanitize=fuzzer.
package.targets.append(
    .executableTarget(name: "shadowgate-fuzz", dependencies: [
        "ShadowGateAdapters", "ShadowGateConfig", "ShadowGateConfigYAML", "LibPQ", "ShadowGateProxy", "ShadowGatePairRecord",
        .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
    ], path: "Fuzz/Sources/shadowgate-fuzz")
)
