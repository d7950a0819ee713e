#if canImport(Glibc)
import Glibc
#endif
import LibPQ
import ShadowGateAdapters
import ShadowGateConfig
import ShadowGateConfigYAML
import ShadowGatePairRecord
import ShadowGateProxy
import Foundation

/// One fuzz target: any bytes in, no trap, and the properties each one checks (a broken property
/// aborts, which libFuzzer reports as a crash with the input saved).
enum FuzzTarget: String {
    /// The JSON scanner, strict and lenient: sanitized text of a valid document is strict JSON.
    case json
    /// The prediction adapters of every protocol: outputs and features they hand back are strict JSON,
    /// features never longer than asked.
    case adapter
    /// The YAML configuration reader: a config or a `ConfigError`, never a trap.
    case yaml
    /// The COPY text encoder: what it writes decodes back to the fields it was given.
    case copy
    /// The `/v1/feedback` body parser: labels within their limits (label JSON strict, a string label
    /// round-trips), or a short plain sentence for the client.
    case feedback
    /// The client request decoder against NIO's (llhttp): every request both decode is the same
    /// request (method, target, version, fields, body), so no byte stream is cut into different
    /// requests by the two (request smuggling lives in such differences).
    case request

    static let selected: FuzzTarget = {
        guard let name = getenv("SHADOWGATE_FUZZ_TARGET").map({ String(cString: $0) }), let target = FuzzTarget(rawValue: name) else {
            printError("set SHADOWGATE_FUZZ_TARGET to json, adapter, yaml, copy, feedback or request")
            exit(2)
        }
        return target
    }()

    func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .json: Self.json(bytes)
        case .adapter: Self.adapter(bytes)
        case .yaml: Self.yaml(bytes)
        case .copy: Self.copy(bytes)
        case .feedback: Self.feedback(bytes)
        case .request: Self.request(bytes)
        }
    }

    static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition {
            printError("property failed: \(message())")
            abort()
        }
    }

    static func printError(_ message: String) {
        var line = message + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    static func isStrictJSON(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in
            (try? JSONScanner(UnsafeRawBufferPointer(utf8), options: .strict).validate()) != nil
        }
    }

    static func json(_ bytes: UnsafeRawBufferPointer) {
        for options in [JSONScanner.Options.strict, .lenient] {
            let scanner = JSONScanner(bytes, options: options)
            guard let document = try? scanner.validate() else { continue }
            if let text = scanner.sanitizedText(document.root) {
                require(isStrictJSON(text), "sanitized text is not strict JSON: \(text.prefix(200))")
            }
            if let limited = scanner.sanitizedText(document.root, maxBytes: 16) {
                require(limited.utf8.count <= 16, "sanitized text longer than its limit")
            }
        }
    }

    static let adapters: [PredictionAdapter] = [
        PredictionAdapter(protocol: .oipV2),
        PredictionAdapter(protocol: .kserveV1),
        PredictionAdapter(protocol: .json),
        PredictionAdapter(protocol: .json, predictionPointer: "/outputs/0/data", featuresPointer: "/inputs"),
    ]

    static func adapter(_ bytes: UnsafeRawBufferPointer) {
        for adapter in adapters {
            let reading = adapter.readResponse(bytes)
            if let output = reading.output {
                require(isStrictJSON(output), "output is not strict JSON: \(output.prefix(200))")
            }
            let (features, truncated) = adapter.readFeatures(bytes, maxBytes: 256)
            if let features {
                require(!truncated, "features both returned and truncated")
                require(features.utf8.count <= 256, "features longer than maxBytes")
                require(isStrictJSON(features), "features are not strict JSON: \(features.prefix(200))")
            }
        }
        _ = PredictionAdapter.stickyValue(bytes, pointer: "/id")
        _ = PredictionAdapter.stickyValue(bytes, pointer: "/inputs/0/data/1")
    }

    static func yaml(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? GatewayConfig.parse(yaml: text)
    }

    static func feedback(_ bytes: UnsafeRawBufferPointer) {
        let items: [FeedbackItem]
        do {
            items = try FeedbackRequest.parse(Array(bytes))
        } catch {
            let message = error.message
            require(!message.isEmpty && message.utf8.count <= 200, "client message empty or long: \(message.prefix(300))")
            for fragment in ["Error Domain", "NSCocoa", "NSJSON", "Foundation", ".swift", "Fatal"] {
                require(!message.contains(fragment), "client message holds internal text: \(message)")
            }
            return
        }
        require(!items.isEmpty && items.count <= FeedbackRequest.maxItems, "accepted \(items.count) labels")
        for item in items {
            require(!item.requestID.isEmpty && item.requestID.utf8.count <= 128, "request_id outside its limits")
            require((item.rowIndex ?? 0) >= 0, "negative row index")
            require(isStrictJSON(item.labelJSON), "label JSON is not strict JSON: \(item.labelJSON.prefix(200))")
            // By byte: a quote followed by a combining mark is one Character, so hasPrefix("\"") would miss it.
            if item.labelJSON.utf8.first == UInt8(ascii: "\"") {
                let back = try? JSONSerialization.jsonObject(with: Data(item.labelJSON.utf8), options: [.fragmentsAllowed]) as? String
                require(back == item.labelText, "string label did not round-trip")
            } else {
                require(item.labelJSON == item.labelText, "scalar label stored as different text")
                require(item.labelText == "true" || item.labelText == "false" || Double(item.labelText)?.isFinite == true,
                        "label is neither boolean nor finite number: \(item.labelText.prefix(100))")
            }
        }
    }

    /// Input layout: fields separated by 0xFF, rows by 0xFE; a field that is exactly 0xFD is NULL,
    /// one that starts with 0xFC is an integer from its next 8 bytes.
    static func copy(_ bytes: UnsafeRawBufferPointer) {
        enum Field: Equatable { case null, text(String), integer(Int64) }
        var rows: [[Field]] = []
        for rowBytes in bytes.split(separator: 0xFE, omittingEmptySubsequences: false) {
            var row: [Field] = []
            for fieldBytes in rowBytes.split(separator: 0xFF, omittingEmptySubsequences: false) {
                if fieldBytes.count == 1, fieldBytes.first == 0xFD {
                    row.append(.null)
                } else if fieldBytes.first == 0xFC, fieldBytes.count >= 9 {
                    var value: Int64 = 0
                    for byte in fieldBytes.dropFirst().prefix(8) { value = value << 8 | Int64(byte) }
                    row.append(.integer(value))
                } else {
                    row.append(.text(String(decoding: fieldBytes, as: UTF8.self)))
                }
            }
            rows.append(row)
        }
        var encoder = COPYTextEncoder()
        for row in rows {
            for field in row {
                switch field {
                case .null: encoder.appendNull()
                case .text(let text): encoder.append(text)
                case .integer(let value): encoder.append(value)
                }
            }
            encoder.endRow()
        }
        require(encoder.rowCount == rows.count, "row count")
        let decoded = decodeCOPY(encoder.bytes)
        require(decoded.count == rows.count, "decoded \(decoded.count) rows, encoded \(rows.count)")
        for (row, back) in zip(rows, decoded) {
            require(row.count == back.count, "a row's field count changed")
            for (field, text) in zip(row, back) {
                switch field {
                case .null: require(text == nil, "NULL did not come back")
                case .integer(let value): require(text == String(value), "integer \(value) came back as \(text ?? "NULL")")
                case .text(let original):
                    // PostgreSQL text cannot hold NUL: the encoder promises U+FFFD in its place.
                    let expected = String(original.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : Character($0) })
                    require(text == expected, "text did not round-trip")
                }
            }
        }
    }

    /// A reference decoder of COPY text format (postgresql.org/docs/15/sql-copy.html), written from
    /// the documentation rather than from the encoder.
    static func decodeCOPY(_ bytes: [UInt8]) -> [[String?]] {
        var rows: [[String?]] = []
        var row: [String?] = []
        var field: [UInt8] = []
        var isNull = false
        var i = 0
        func endField() {
            row.append(isNull ? nil : String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            isNull = false
        }
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case 0x09: endField()
            case 0x0A:
                endField()
                rows.append(row)
                row = []
            case 0x5C:
                i += 1
                let next = i < bytes.count ? bytes[i] : 0
                switch next {
                case UInt8(ascii: "N") where field.isEmpty: isNull = true
                case UInt8(ascii: "t"): field.append(0x09)
                case UInt8(ascii: "n"): field.append(0x0A)
                case UInt8(ascii: "r"): field.append(0x0D)
                case UInt8(ascii: "\\"): field.append(0x5C)
                default: require(false, "unknown escape \\\(next)")
                }
            default:
                require(!isNull, "bytes after \\N")
                field.append(b)
            }
            i += 1
        }
        require(row.isEmpty && field.isEmpty, "data after the last row")
        return rows
    }
}
