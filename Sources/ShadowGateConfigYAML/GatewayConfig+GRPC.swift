import ShadowGateConfig

extension GatewayConfig {
    /// The `grpc` mapping: listener, message size limit and gRPC routes, each naming a `routes[]` entry.
    static func readGRPC(_ node: ConfigNode, routes: [RouteConfig]) throws(ConfigError) -> GRPCConfig {
        let map = try node.mapping(allowed: ["listen", "tls", "max_message_bytes", "routes"])
        guard let listenNode = map["listen"] else { throw node.fail("'listen' is required (e.g. 127.0.0.1:9081)") }
        let listen = try listenNode.hostPort()
        let tls = try map["tls"].map { n throws(ConfigError) in try readListenerTLS(n) }
        let maxMessageBytes = try map["max_message_bytes"]?.int(in: 1024...(1 << 30)) ?? (4 << 20)
        guard let routesNode = map["routes"] else { throw node.fail("'routes' is required: list at least one gRPC route") }
        let routeNodes = try routesNode.sequence()
        guard !routeNodes.isEmpty else { throw routesNode.fail("list at least one gRPC route") }
        var grpcRoutes: [GRPCRouteConfig] = []
        var seenModels: [String: Int] = [:]
        for (index, routeNode) in routeNodes.enumerated() {
            let entry = try routeNode.mapping(allowed: ["route", "models", "legacy", "learner"])
            guard let nameNode = entry["route"] else { throw routeNode.fail("'route' is required: the routes[] entry whose flags this gRPC route uses") }
            let name = try nameNode.nonEmptyString()
            guard let route = routes.first(where: { $0.name == name }) else {
                throw nameNode.fail("no route named '\(name)' in routes[]")
            }
            guard let modelsNode = entry["models"] else { throw routeNode.fail("'models' is required (model names, or \"*\")") }
            let models = try modelsNode.sequence().map { n throws(ConfigError) in try n.nonEmptyString() }
            guard !models.isEmpty else { throw modelsNode.fail("list at least one model name, or \"*\"") }
            for model in models {
                if let other = seenModels[model] {
                    throw modelsNode.fail("model '\(model)' is already routed by grpc.routes[\(other)]")
                }
                seenModels[model] = index
            }
            guard let legacyNode = entry["legacy"] else { throw routeNode.fail("'legacy' is required") }
            let legacy = try readUpstream(legacyNode, isLearner: false)
            let learner = try entry["learner"].map { n throws(ConfigError) in try readUpstream(n, isLearner: false) }
            if learner == nil, route.mode != .legacy {
                throw routeNode.fail("route '\(name)' mirrors (mode \(route.mode.rawValue)): the gRPC route needs a 'learner' upstream")
            }
            grpcRoutes.append(GRPCRouteConfig(route: name, models: models, legacy: legacy, learner: learner))
        }
        return GRPCConfig(listen: listen, tls: tls, maxMessageBytes: maxMessageBytes, routes: grpcRoutes)
    }
}
