import Foundation
import ShadowGateAdapters
import ShadowGateConfig
import ShadowGatePromotion
import ShadowGateRouting
import Yams

extension GatewayConfig {
    /// Reads and validates a YAML configuration.
    ///
    /// - Throws: ``ConfigError`` naming the first key that is unknown, missing, of the wrong type or
    ///   out of range, or a cross-key problem (duplicate route names or paths, a mode the route cannot run).
    /// - Parameter environment: variables that override keys of the file (``ConfigEnvironment``).
    public static func parse(yaml: String, environment: [String: String] = [:]) throws(ConfigError) -> GatewayConfig {
        let overrides = ConfigEnvironment(environment)
        do {
            return try parse(yaml: yaml, overrides: overrides)
        } catch {
            throw overrides.explain(error)
        }
    }

    private static func parse(yaml: String, overrides: ConfigEnvironment) throws(ConfigError) -> GatewayConfig {
        var root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ConfigError(key: "", problem: "the file is empty")
            }
            root = node
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(key: "", problem: "not valid YAML: \(error)")
        }
        root = try overrides.apply(to: root)
        let top = try ConfigNode(node: root, path: "").mapping(
            allowed: ["listen", "tls", "admin", "event_loops", "log_format", "limits", "database", "feedback", "routes", "grpc"])

        guard let listenNode = top["listen"] else { throw ConfigError(key: "listen", problem: "is required (e.g. 127.0.0.1:8080)") }
        let listen = try listenNode.hostPort()

        let listenTLS = try top["tls"].map { node throws(ConfigError) in try readListenerTLS(node) }
        var adminListen: HostPort?
        var adminTLS: ListenerTLSConfig?
        if let adminNode = top["admin"] {
            let admin = try adminNode.mapping(allowed: ["listen", "tls"])
            adminListen = try admin["listen"]?.hostPort()
            adminTLS = try admin["tls"].map { node throws(ConfigError) in try readListenerTLS(node) }
        }
        let eventLoops = try top["event_loops"]?.int(in: 1...256) ?? Machine.coreCount
        let logFormat = try top["log_format"].map { node throws(ConfigError) in try LogFormat.read(node) } ?? .text
        let limits = try top["limits"].map { node throws(ConfigError) in try readLimits(node) } ?? LimitsConfig()
        let database = try top["database"].map { node throws(ConfigError) in try readDatabase(node) } ?? DatabaseConfig()
        let feedback = try top["feedback"].map { node throws(ConfigError) in try readFeedback(node) } ?? FeedbackConfig()

        guard let routesNode = top["routes"] else { throw ConfigError(key: "routes", problem: "is required: list at least one route") }
        let routeNodes = try routesNode.sequence()
        guard !routeNodes.isEmpty else { throw routesNode.fail("list at least one route") }
        var routes: [RouteConfig] = []
        var names: Set<String> = []
        var paths: [String: String] = [:]
        for node in routeNodes {
            let route = try readRoute(node)
            guard names.insert(route.name).inserted else {
                throw ConfigError(key: node.childPath("name"), problem: "route name '\(route.name)' is used twice", line: node.line)
            }
            for path in route.match {
                if let other = paths[path] {
                    throw ConfigError(key: node.childPath("match"), problem: "path '\(path)' is already matched by route '\(other)'", line: node.line)
                }
                paths[path] = route.name
            }
            routes.append(route)
        }
        var config = GatewayConfig(
            listen: listen, adminListen: adminListen, eventLoops: eventLoops,
            limits: limits, database: database, feedback: feedback, routes: routes, listenTLS: listenTLS, adminTLS: adminTLS,
            logFormat: logFormat)
        config.grpc = try top["grpc"].map { node throws(ConfigError) in try readGRPC(node, routes: routes) }
        return config
    }

    private static func readLimits(_ node: ConfigNode) throws(ConfigError) -> LimitsConfig {
        let map = try node.mapping(allowed: [
            "max_body_bytes", "mirror_max_body_bytes", "max_response_bytes", "capture_features",
            "features_max_bytes", "upstream_idle_ms",
            "max_connections", "client_header_timeout_ms", "client_body_timeout_ms", "client_idle_timeout_ms",
            "client_linger_timeout_ms",
        ])
        var limits = LimitsConfig()
        if let n = map["max_body_bytes"] { limits.maxBodyBytes = try n.int(in: 1...(1 << 30)) }
        if let n = map["mirror_max_body_bytes"] { limits.mirrorMaxBodyBytes = try n.int(in: 0...(1 << 30)) }
        if let n = map["max_response_bytes"] { limits.maxResponseBytes = try n.int(in: 1...(1 << 30)) }
        if let n = map["capture_features"] { limits.captureFeatures = try n.bool() }
        if let n = map["features_max_bytes"] { limits.featuresMaxBytes = try n.int(in: 0...(1 << 26)) }
        if let n = map["upstream_idle_ms"] { limits.upstreamIdleMillis = try n.int(in: 100...3_600_000) }
        if let n = map["max_connections"] { limits.maxConnections = try n.int(in: 1...1_000_000) }
        if let n = map["client_header_timeout_ms"] { limits.clientHeaderTimeoutMillis = try n.int(in: 10...3_600_000) }
        if let n = map["client_body_timeout_ms"] { limits.clientBodyTimeoutMillis = try n.int(in: 10...3_600_000) }
        if let n = map["client_idle_timeout_ms"] { limits.clientIdleTimeoutMillis = try n.int(in: 10...3_600_000) }
        if let n = map["client_linger_timeout_ms"] { limits.clientLingerTimeoutMillis = try n.int(in: 0...600_000) }
        return limits
    }

    private static func readDatabase(_ node: ConfigNode) throws(ConfigError) -> DatabaseConfig {
        let map = try node.mapping(allowed: [
            "url", "control_url", "batch_rows", "flush_ms", "queue_capacity", "spool_dir", "spool_max_bytes",
            "retention_days", "embedded_data_dir",
        ])
        var db = DatabaseConfig()
        if let n = map["url"] { db.url = try n.nonEmptyString() }
        if let n = map["control_url"] { db.controlURL = try n.nonEmptyString() }
        if let n = map["batch_rows"] { db.batchRows = try n.int(in: 1...1_000_000) }
        if let n = map["flush_ms"] { db.flushMillis = try n.int(in: 1...60_000) }
        if let n = map["queue_capacity"] { db.queueCapacity = try n.int(in: 1...100_000_000) }
        if let n = map["spool_dir"] { db.spoolDir = try n.nonEmptyString() }
        if let n = map["spool_max_bytes"] { db.spoolMaxBytes = try n.int(in: 0...Int.max) }
        if let n = map["retention_days"] { db.retentionDays = try n.int(in: 1...36_500) }
        if let n = map["embedded_data_dir"] { db.embeddedDataDir = try n.nonEmptyString() }
        return db
    }

    static func readUpstream(_ node: ConfigNode, isLearner: Bool) throws(ConfigError) -> UpstreamConfig {
        var allowed: Set<String> = ["url", "timeout_ms", "pool", "max_waiting", "tls"]
        if isLearner { allowed.insert("feedback_path") }
        let map = try node.mapping(allowed: allowed)
        guard let urlNode = map["url"] else { throw node.fail("'url' is required (e.g. http://127.0.0.1:9000)") }
        let url = try urlNode.nonEmptyString()
        var upstream: UpstreamConfig
        do {
            upstream = try UpstreamConfig(url: url)
        } catch {
            throw urlNode.fail(error.problem)
        }
        if let n = map["timeout_ms"] { upstream.timeoutMillis = try n.int(in: 1...600_000) }
        if let n = map["pool"] { upstream.poolSize = try n.int(in: 1...10_000) }
        if let n = map["max_waiting"] { upstream.maxWaiting = try n.int(in: 0...1_000_000) }
        if let n = map["feedback_path"] {
            let path = try n.nonEmptyString()
            guard path.hasPrefix("/") else { throw n.fail("must start with '/'") }
            upstream.feedbackPath = path
        }
        if let n = map["tls"] { upstream.tls = try readUpstreamTLS(n, url: url) }
        return upstream
    }

    private static func readRoute(_ node: ConfigNode) throws(ConfigError) -> RouteConfig {
        let map = try node.mapping(allowed: [
            "name", "match", "protocol", "prediction_pointer", "features_pointer", "mode",
            "canary_percent", "shadow_percent", "sticky_key", "legacy", "learner", "promotion",
            "task", "holdout_percent",
        ])
        guard let nameNode = map["name"] else { throw node.fail("'name' is required") }
        let name = try nameNode.nonEmptyString()
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw nameNode.fail("'\(name)' may hold only letters, digits, '-', '_' and '.'")
        }
        guard let matchNode = map["match"] else { throw node.fail("'match' is required: the request paths of this route") }
        var match: [String] = []
        for entry in try matchNode.sequence() {
            let path = try entry.nonEmptyString()
            guard path.hasPrefix("/") else { throw entry.fail("'\(path)' must start with '/'") }
            match.append(path)
        }
        guard !match.isEmpty else { throw matchNode.fail("list at least one path") }

        var proto = InferenceProtocol.oipV2
        if let n = map["protocol"] {
            let text = try n.string()
            guard let value = InferenceProtocol(rawValue: text) else {
                throw n.fail("'\(text)' is not one of \(InferenceProtocol.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            proto = value
        }
        let predictionPointer = try map["prediction_pointer"]?.string()
        let featuresPointer = try map["features_pointer"]?.string()
        for (key, pointer) in [("prediction_pointer", predictionPointer), ("features_pointer", featuresPointer)] {
            if let pointer, !pointer.isEmpty, !pointer.hasPrefix("/") {
                throw ConfigError(key: node.childPath(key), problem: "'\(pointer)' is not a JSON pointer (it must start with '/')", line: node.line)
            }
        }
        if proto == .json, predictionPointer == nil {
            throw node.fail("'prediction_pointer' is required with protocol json (e.g. /result/score)")
        }

        var mode = RouteMode.shadow
        if let n = map["mode"] {
            let text = try n.string()
            guard let value = RouteMode(rawValue: text) else {
                throw n.fail("'\(text)' is not one of \(RouteMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            mode = value
        }
        let canary = try map["canary_percent"]?.double(in: 0...100) ?? 0
        let shadow = try map["shadow_percent"]?.double(in: 0...100) ?? 100
        var sticky = StickyKey.requestID
        if let n = map["sticky_key"] {
            let text = try n.string()
            guard let value = StickyKey(parsing: text) else {
                throw n.fail("'\(text)' is not header:NAME, json:/pointer or request-id")
            }
            sticky = value
        }
        guard let legacyNode = map["legacy"] else { throw node.fail("'legacy' is required: the model that answers clients today") }
        let legacy = try readUpstream(legacyNode, isLearner: false)
        let learner = try map["learner"].map { n throws(ConfigError) in try readUpstream(n, isLearner: true) }
        if learner == nil, mode != .legacy {
            throw ConfigError(key: node.childPath("mode"), problem: "mode '\(mode.rawValue)' needs a 'learner' upstream", line: node.line)
        }
        var task = RouteTask.classification
        if let n = map["task"] {
            let text = try n.string()
            guard let value = RouteTask(rawValue: text) else {
                throw n.fail("'\(text)' is not one of \(RouteTask.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            task = value
        }
        let holdout = try map["holdout_percent"]?.double(in: 0...100) ?? 0
        if let n = map["holdout_percent"], (holdout * 100).rounded() != holdout * 100 {
            throw n.fail("\(holdout) is finer than the 0.01 % resolution")
        }
        let promotion = try map["promotion"].map { n throws(ConfigError) in try readPromotion(n, task: task) }
        if let promotion, promotion.enabled, learner == nil {
            throw ConfigError(key: node.childPath("promotion.enabled"), problem: "promotion needs a 'learner' upstream", line: node.line)
        }
        if let promotion, promotion.evidenceSource == .holdout, holdout <= 0 {
            throw ConfigError(key: node.childPath("promotion.evidence"), problem: "evidence 'holdout' needs holdout_percent above 0", line: node.line)
        }
        var route = RouteConfig(
            name: name, match: match, inferenceProtocol: proto,
            predictionPointer: predictionPointer, featuresPointer: featuresPointer,
            mode: mode, canaryPercent: canary, shadowPercent: shadow, stickyKey: sticky,
            legacy: legacy, learner: learner, promotion: promotion)
        route.task = task
        route.holdoutPercent = holdout
        return route
    }

    private static func readPromotion(_ node: ConfigNode, task: RouteTask) throws(ConfigError) -> PromotionPolicy {
        let map = try node.mapping(allowed: [
            "enabled", "steps", "window", "dwell", "evaluate_every", "min_pairs", "min_labels", "gates",
            "alpha", "label_delay", "evidence_across_steps", "detector_alpha", "error_clip", "evidence",
        ])
        var policy = PromotionPolicy()
        if task == .regression { policy.gates = PromotionPolicy.defaultRegressionGates }
        if let n = map["error_clip"] { policy.errorClip = try n.double(in: 1e-12...1e300) }
        if let n = map["evidence"] {
            let text = try n.string()
            guard let source = PromotionPolicy.EvidenceSource(rawValue: text) else {
                throw n.fail("'\(text)' is not one of " + PromotionPolicy.EvidenceSource.allCases.map(\.rawValue).joined(separator: ", "))
            }
            policy.evidenceSource = source
        }
        policy.enabled = try map["enabled"]?.bool() ?? true
        if let n = map["steps"] {
            var steps: [Double] = []
            for entry in try n.sequence() {
                let step = try entry.double(in: 0.01...100)
                guard (step * 100).rounded() == step * 100 else { throw entry.fail("\(step) is finer than the 0.01 % resolution") }
                if let last = steps.last, step <= last { throw entry.fail("steps must increase (\(step.formattedShort) after \(last.formattedShort))") }
                steps.append(step)
            }
            guard !steps.isEmpty else { throw n.fail("list at least one step (e.g. [1, 5, 25, 50, 100])") }
            policy.steps = steps
        }
        if let n = map["window"] { policy.window = try n.duration(atLeast: .milliseconds(100)) }
        if let n = map["dwell"] { policy.dwell = try n.duration(atLeast: .zero) }
        if let n = map["evaluate_every"] { policy.evaluateEvery = try n.duration(atLeast: .milliseconds(100)) }
        if let n = map["min_pairs"] { policy.minPairs = try n.int(in: 0...Int(Int32.max)) }
        if let n = map["min_labels"] { policy.minLabels = try n.int(in: 0...Int(Int32.max)) }
        if let n = map["alpha"] { policy.alpha = try n.double(in: 1e-9...0.5) }
        if let n = map["detector_alpha"] { policy.detectorAlpha = try n.double(in: 1e-12...0.5) }
        if let n = map["label_delay"] { policy.labelDelay = try n.duration(atLeast: .zero) }
        if let n = map["evidence_across_steps"] {
            let text = try n.string()
            guard let mode = PromotionPolicy.EvidenceAcrossSteps(rawValue: text) else {
                throw n.fail("'\(text)' is not one of " + PromotionPolicy.EvidenceAcrossSteps.allCases.map(\.rawValue).joined(separator: ", "))
            }
            policy.evidenceAcrossSteps = mode
        }
        if let n = map["gates"] {
            let known = Set(GateRule.Metric.allCases.map(\.rawValue))
            let gates = try n.mapping(allowed: known)
            var rules: [GateRule] = []
            for metric in GateRule.Metric.allCases {
                if let gate = gates[metric.rawValue] { rules.append(try readGate(gate, metric: metric)) }
            }
            policy.gates = rules
        }
        for rule in policy.gates where rule.metric.isRegression {
            guard task == .regression else {
                throw ConfigError(key: node.childPath("gates.\(rule.metric.rawValue)"), problem: "\(rule.metric.rawValue) needs 'task: regression' on the route", line: node.line)
            }
            guard policy.errorClip != nil else {
                throw ConfigError(key: node.childPath("error_clip"), problem: "required with \(rule.metric.rawValue): errors above it count as it (an anytime-valid bound needs bounded errors; e.g. the range of the labels)", line: node.line)
            }
            if let clip = policy.errorClip, case .absolute(let x) = rule.threshold, abs(x) >= pow(clip, Double(rule.metric.errorPower ?? 1)) {
                throw ConfigError(key: node.childPath("gates.\(rule.metric.rawValue)"), problem: "\(x.formattedShort) is outside what clipped errors can show (error_clip \(clip.formattedShort))", line: node.line)
            }
        }
        return policy
    }

    /// A gate is `0.01`, `"1.2x legacy"`, or `{threshold: …, hard: false}`.
    private static func readGate(_ node: ConfigNode, metric: GateRule.Metric) throws(ConfigError) -> GateRule {
        var thresholdNode = node
        var hard = GateRule.Metric.defaultHard
        if node.node.mapping != nil {
            let map = try node.mapping(allowed: ["threshold", "hard"])
            guard let t = map["threshold"] else { throw node.fail("'threshold' is required (a number or e.g. \"1.2x legacy\")") }
            thresholdNode = t
            hard = try map["hard"]?.bool() ?? hard
        }
        let text = try thresholdNode.string()
        guard let threshold = GateRule.Threshold(parsing: text) else {
            throw thresholdNode.fail("'\(text)' is neither a number nor a factor of the legacy value such as '1.2x legacy'")
        }
        if case .relativeToLegacy = threshold, metric.legacyColumn == nil {
            throw thresholdNode.fail("\(metric.rawValue) compares the two models already; give an absolute number")
        }
        return GateRule(metric: metric, threshold: threshold, hard: hard)
    }
}
