/// What a ``PredictionAdapter`` read from one response body.
///
/// Built for ``PredictionSide``: when `parsed` is true, `output` holds the predictions as JSON
/// text that PostgreSQL `jsonb` accepts; when it is false, every other field except `error` is
/// nil and the pair is still logged, just without predictions.
public struct ResponseReading: Sendable, Hashable {
    /// False when the body is not valid JSON or lacks the protocol's predictions.
    public var parsed: Bool
    /// The predictions as JSON text: OIP v2 the `outputs` array, KServe v1 `predictions`
    /// (or `outputs`), `json` the value at the prediction pointer. Always strictly valid JSON
    /// that `jsonb` accepts (see ``JSONScanner/sanitizedText(_:maxBytes:)``).
    public var output: String?
    /// The first number in the predictions, depth-first (OIP v2: in the outputs' `data`, first
    /// output first); nil when there is none or it is `NaN`/`±Infinity`/out of `Double` range.
    public var score: Double?
    /// The first string in the predictions, depth-first, ignoring object keys (OIP v2: in the
    /// outputs' `data`, e.g. a `BYTES` class label); nil when there is none.
    public var label: String?
    /// The top-level `model_version` (a number is kept as its JSON text); nil when absent.
    public var modelVersion: String?
    /// Why `parsed` is false, short enough to store: "truncated JSON at byte 120",
    /// "not JSON at byte 0", "no 'outputs' array".
    public var error: String?

    public init(
        parsed: Bool,
        output: String? = nil,
        score: Double? = nil,
        label: String? = nil,
        modelVersion: String? = nil,
        error: String? = nil
    ) {
        self.parsed = parsed
        self.output = output
        self.score = score
        self.label = label
        self.modelVersion = modelVersion
        self.error = error
    }

    /// A reading of a body the adapter could not use.
    public static func unparsed(_ reason: String) -> ResponseReading {
        ResponseReading(parsed: false, error: reason)
    }
}
