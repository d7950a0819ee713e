/// One model's half of a pair: what it answered, how fast, and what the adapter read from it.
public struct PredictionSide: Sendable, Hashable {
    /// HTTP status of the response; `nil` when none arrived.
    public var status: Int?
    /// Time from sending the request to the last response byte, in microseconds; `nil` when not called.
    public var latencyMicros: Int64?
    public var outcome: SideOutcome
    /// The predictions as JSON text (OIP v2 `outputs`, v1 `predictions`, or the configured pointer's value).
    /// Always valid JSON (non-standard `NaN`/`Infinity` tokens are rewritten to `null`).
    public var output: String?
    /// A numeric score read from the predictions (first number), for SQL statistics.
    public var score: Double?
    /// A class label when the prediction is a string (first string), for agreement and chi-squared.
    public var label: String?
    /// The model version the response names (OIP v2 `model_version`), if any.
    public var modelVersion: String?
    /// A short human-readable reason when `outcome` is not `.ok`.
    public var error: String?

    @inlinable
    public init(
        status: Int? = nil,
        latencyMicros: Int64? = nil,
        outcome: SideOutcome,
        output: String? = nil,
        score: Double? = nil,
        label: String? = nil,
        modelVersion: String? = nil,
        error: String? = nil
    ) {
        self.status = status
        self.latencyMicros = latencyMicros
        self.outcome = outcome
        self.output = output
        self.score = score
        self.label = label
        self.modelVersion = modelVersion
        self.error = error
    }

    /// A side that was not called.
    public static let skipped = PredictionSide(outcome: .skipped)
}
