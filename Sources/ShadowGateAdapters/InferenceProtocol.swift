/// The wire protocol a route speaks, which decides how predictions are read out of bodies.
public enum InferenceProtocol: String, Sendable, Hashable, CaseIterable, Codable {
    /// Open Inference Protocol v2 over REST/JSON (KServe v2, MLServer, Triton).
    case oipV2 = "oip-v2"
    /// KServe v1 / TensorFlow Serving `:predict`.
    case kserveV1 = "kserve-v1"
    /// Any JSON; the prediction is found through the route's configured JSON pointer.
    case json
}
