// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ShadowGate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "shadowgate", targets: ["shadowgate"]),
        .library(name: "ShadowGateCore", targets: ["ShadowGateCore"]),
        .library(name: "ShadowGateProxy", targets: ["ShadowGateProxy"]),
        .library(name: "ShadowGatePairLog", targets: ["ShadowGatePairLog"]),
        .library(name: "LibPQ", targets: ["LibPQ"]),
        .library(name: "ShadowGateReport", targets: ["ShadowGateReport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
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
        // Pure logic: configuration, pair records, protocol adapters. No sockets, no database.
        .target(
            name: "ShadowGateCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The SwiftNIO data path: HTTP server, upstream pools, shadowing.
        .target(
            name: "ShadowGateProxy",
            dependencies: [
                "ShadowGateCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The pair log in PostgreSQL: migrations, batched COPY writer, spool and replay, embedded cluster.
        .target(
            name: "ShadowGatePairLog",
            dependencies: [
                "ShadowGateCore",
                "LibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Flags in PostgreSQL, the flag watcher every replica runs, and the promotion controller.
        .target(
            name: "ShadowGateControl",
            dependencies: [
                "ShadowGateCore",
                "LibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The admin HTTP API (its own listener, bearer token): read and change flags.
        .target(
            name: "ShadowGateAdmin",
            dependencies: [
                "ShadowGateCore",
                "ShadowGateControl",
                "LibPQ",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The HTML report: data read over LibPQ, rendered by pure functions (inline SVG charts, no network).
        .target(name: "ShadowGateReport", dependencies: ["ShadowGateCore", "ShadowGateControl", "LibPQ"]),
        .executableTarget(
            name: "shadowgate",
            dependencies: [
                "ShadowGateCore",
                "ShadowGateProxy",
                "ShadowGatePairLog",
                "ShadowGateControl",
                "ShadowGateAdmin",
                "ShadowGateReport",
                "LibPQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Test helpers: in-process upstream stubs and a live gateway harness.
        .target(
            name: "ShadowGateTesting",
            dependencies: [
                "ShadowGateCore",
                "ShadowGateProxy",
                "ShadowGatePairLog",
                "LibPQ",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ShadowGateCoreTests", dependencies: ["ShadowGateCore"]),
        // Pure rendering: scales, ticks, gaps, escaping; no database.
        .testTarget(name: "ShadowGateReportTests", dependencies: ["ShadowGateReport", "ShadowGateControl", "ShadowGateCore"]),
        .testTarget(
            name: "ShadowGateProxyTests",
            dependencies: ["ShadowGateProxy", "ShadowGateTesting", "ShadowGateCore"]
        ),
        // Runs the built `shadowgate` binary: exit codes, messages, signals.
        .testTarget(
            name: "ShadowGateCLITests",
            dependencies: [
                "ShadowGateTesting", "ShadowGateCore", "ShadowGatePairLog", "LibPQ",
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ShadowGatePairLogTests",
            dependencies: ["ShadowGatePairLog", "LibPQ", "ShadowGateCore", "ShadowGateProxy", "ShadowGateTesting"],
            // SciPy fixtures, read through #filePath (Scripts/stats/make_fixtures.py makes them).
            exclude: ["Fixtures"]
        ),
    ]
)

// Fuzzing (Fuzz/run.sh): one libFuzzer executable for the parsers and encoders. Built plainly it
// replays inputs (`shadowgate-fuzz TARGET FILE...`); Fuzz/run.sh builds it with -sanitize=fuzzer.
package.targets.append(
    .executableTarget(name: "shadowgate-fuzz", dependencies: ["ShadowGateCore", "LibPQ"], path: "Fuzz/Sources/shadowgate-fuzz")
)
