/// Reads predictions out of model responses and features out of requests, per the route's
/// inference protocol.
///
/// Built once per route and shared across event loops. Every method takes any bytes — JSON,
/// OIP binary-extension bodies, HTML error pages, truncated or hostile input — and answers
/// without trapping: the body is validated in full (so a body with garbage after the JSON is
/// "unparsed", never half-read), then the wanted value is located and copied once.
///
/// Bodies may use the non-standard `NaN`/`Infinity`/`-Infinity` tokens (TensorFlow Serving,
/// Python); text handed back for storage has them as `null` so PostgreSQL `jsonb` accepts it.
///
/// A class of constants, so the per-request readings share one instance instead of copying (and
/// retaining) its pointers each time.
public final class PredictionAdapter: Sendable {
    public let inferenceProtocol: InferenceProtocol
    /// For `json`: where the prediction is in a response; nil means the whole body.
    public let predictionPointer: JSONPointer?
    /// For `json`: where the features are in a request; nil means the whole body.
    public let featuresPointer: JSONPointer?
    // A configured pointer that is not RFC 6901 makes every reading fail loudly rather than
    // silently fall back to the whole body.
    private let invalidPredictionPointer: String?
    private let invalidFeaturesPointer: String?

    public init(protocol inferenceProtocol: InferenceProtocol, predictionPointer: String? = nil, featuresPointer: String? = nil) {
        self.inferenceProtocol = inferenceProtocol
        self.predictionPointer = predictionPointer.flatMap(JSONPointer.init)
        self.featuresPointer = featuresPointer.flatMap(JSONPointer.init)
        self.invalidPredictionPointer = self.predictionPointer == nil ? predictionPointer : nil
        self.invalidFeaturesPointer = self.featuresPointer == nil ? featuresPointer : nil
    }

    /// Reads predictions from a 2xx response body.
    ///
    /// `parsed` is false, with a short `error`, when the body is not JSON (position of the first
    /// bad byte), is not an object (OIP v2, KServe v1), has no `outputs` array (OIP v2) or no
    /// `predictions`/`outputs` (KServe v1), or has nothing at the prediction pointer (`json`).
    public func readResponse(_ body: UnsafeRawBufferPointer) -> ResponseReading {
        if let invalidPredictionPointer {
            return .unparsed("invalid prediction pointer '\(invalidPredictionPointer)'")
        }
        let scanner = JSONScanner(body, options: .lenient)
        var modelVersion: JSONSpan?
        var errorMessage: JSONSpan?
        var primary: JSONSpan?
        var secondary: JSONSpan?
        let document: JSONScanner.Document
        do {
            // Top-level fields are picked up while validating: one pass over the body.
            document = try scanner.validate { key, value in
                if scanner.string(key, equals: "model_version") {
                    modelVersion = value
                } else if scanner.string(key, equals: "error") {
                    errorMessage = value
                } else if inferenceProtocol == .oipV2, scanner.string(key, equals: "outputs") {
                    primary = value
                } else if inferenceProtocol == .kserveV1, scanner.string(key, equals: "predictions") {
                    primary = value
                } else if inferenceProtocol == .kserveV1, scanner.string(key, equals: "outputs") {
                    secondary = value
                }
            }
        } catch {
            return .unparsed(error.description)
        }
        let root = document.root

        // Fields as locals, the reading built once at the end: assigning into a `var` reading copied it.
        var score: Double?
        var label: String?
        let predictions: JSONSpan
        switch inferenceProtocol {
        case .oipV2:
            guard root.kind == .object else { return .unparsed("response is not a JSON object") }
            guard let outputs = primary, outputs.kind == .array else {
                return .unparsed(withServerError("no 'outputs' array", errorMessage, scanner))
            }
            predictions = outputs
            var scoreSpan: JSONSpan?
            var labelSpan: JSONSpan?
            // The tensors are in each output's `data`; `name`, `datatype` and `shape` are not
            // predictions, so search only there.
            for output in scanner.elements(of: outputs) {
                guard let data = scanner.value(forKey: "data", in: output) else { continue }
                if scoreSpan == nil { scoreSpan = scanner.firstNumber(in: data) }
                if labelSpan == nil { labelSpan = scanner.firstString(in: data) }
                if scoreSpan != nil, labelSpan != nil { break }
            }
            score = scoreSpan.flatMap { finite(scanner.number($0)) }
            label = labelSpan.flatMap { scanner.string($0) }
        case .kserveV1:
            guard root.kind == .object else { return .unparsed("response is not a JSON object") }
            guard let found = primary ?? secondary else {
                return .unparsed(withServerError("no 'predictions' or 'outputs'", errorMessage, scanner))
            }
            predictions = found
        case .json:
            if let predictionPointer {
                guard let found = scanner.value(at: predictionPointer, in: root) else {
                    return .unparsed("no value at '\(predictionPointer)'")
                }
                predictions = found
            } else {
                predictions = root
            }
        }
        if inferenceProtocol != .oipV2 {
            score = scanner.firstNumber(in: predictions).flatMap { finite(scanner.number($0)) }
            label = scanner.firstString(in: predictions).flatMap { scanner.string($0) }
        }
        let output = scanner.sanitizedText(
            predictions, maxBytes: .max, mayNeedRewriting: document.needsSanitizing
        )
        var version: String?
        if let modelVersion {
            switch modelVersion.kind {
            case .string: version = scanner.string(modelVersion)
            case .number: version = scanner.text(modelVersion)
            default: break
            }
        }
        return ResponseReading(parsed: true, output: output, score: score, label: label, modelVersion: version)
    }

    /// The request's input features as JSON text for storage: OIP v2 the `inputs` array;
    /// KServe v1 `instances` or `inputs`; `json` the value at the features pointer, or the
    /// whole body when none is configured. Non-finite tokens become `null`.
    ///
    /// Returns `(nil, false)` when the body is not JSON or has no features, and `(nil, true)`
    /// when the features' text is longer than `maxBytes` (it is measured, never built).
    public func readFeatures(_ body: UnsafeRawBufferPointer, maxBytes: Int) -> (features: String?, truncated: Bool) {
        if invalidFeaturesPointer != nil { return (nil, false) }
        let scanner = JSONScanner(body, options: .lenient)
        var primary: JSONSpan?
        var secondary: JSONSpan?
        let document: JSONScanner.Document
        do {
            document = try scanner.validate { key, value in
                if inferenceProtocol == .kserveV1, scanner.string(key, equals: "instances") {
                    primary = value
                } else if scanner.string(key, equals: "inputs") {
                    secondary = value
                }
            }
        } catch {
            return (nil, false)
        }
        let root = document.root
        let span: JSONSpan?
        switch inferenceProtocol {
        case .oipV2:
            span = secondary.flatMap { $0.kind == .array ? $0 : nil }
        case .kserveV1:
            span = primary ?? secondary
        case .json:
            span = featuresPointer.map { scanner.value(at: $0, in: root) } ?? root
        }
        guard let span else { return (nil, false) }
        guard let text = scanner.sanitizedText(span, maxBytes: maxBytes, mayNeedRewriting: document.needsSanitizing) else {
            return (nil, true)
        }
        return (text, false)
    }

    /// The value at a JSON pointer in a request body as a sticky-bucket key: strings unescaped
    /// and unquoted, numbers and booleans as their JSON text, objects and arrays as their raw
    /// text. Nil when the body is not JSON, the pointer is not RFC 6901, or the value is
    /// absent or `null` — so the caller falls back the same way on every replica.
    public static func stickyValue(_ body: UnsafeRawBufferPointer, pointer: String) -> String? {
        guard JSONPointer.isValid(pointer.utf8) else { return nil }
        let scanner = JSONScanner(body, options: .lenient)
        guard let document = try? scanner.validate() else { return nil }
        var pointer = pointer
        let found = pointer.withUTF8 { scanner.resolve(pointerUTF8: $0, in: document.root) }
        guard let found else { return nil }
        switch found.kind {
        case .string: return scanner.string(found)
        case .null: return nil
        default: return scanner.text(found)
        }
    }

    private func finite(_ value: Double?) -> Double? {
        guard let value, value.isFinite else { return nil }
        return value
    }

    /// Model servers answer some failures with 200 and `{"error": "…"}`; keep their reason.
    private func withServerError(_ reason: String, _ message: JSONSpan?, _ scanner: JSONScanner) -> String {
        guard let message, let text = scanner.string(message) else { return reason }
        let limit = 200
        let short = text.utf8.count > limit ? String(text.prefix(limit)) + "…" : text
        return "\(reason) (error: \(short))"
    }
}
