/// Reads the Open Inference Protocol's gRPC messages (`inference.ModelInferResponse`,
/// `ModelInferRequest`) by hand from their protobuf bytes, into the same values the REST
/// adapter produces, so gRPC pairs land in the same columns as REST pairs.
///
/// Field numbers (kserve open_inference_grpc.proto, Triton's grpc_service.proto is a superset):
/// response model_name=1, model_version=2, id=3, outputs=5, raw_output_contents=6; request
/// inputs=5, raw_input_contents=7; tensor name=1, datatype=2, shape=3, contents=5;
/// InferTensorContents bool=1 int=2 int64=3 uint=4 uint64=5 fp32=6 fp64=7 bytes=8.
///
/// `output` is the outputs as the REST protocol writes them:
/// `[{"name":"predict","datatype":"INT64","shape":[1,1],"data":[1]}]`. Raw contents are
/// little-endian, row-major; BYTES elements are a 4-byte little-endian length and the bytes.
/// Anything it cannot decode (truncated message, a raw buffer whose size does not fit the
/// datatype, an unknown datatype) makes the reading "unparsed" with a reason; it never traps.
public enum OIPProtobufReading {
    /// Predictions from the bytes of one `ModelInferResponse` (the gRPC frame already removed).
    public static func readResponse(_ message: UnsafeRawBufferPointer) -> ResponseReading {
        var reader = ProtobufReader(message)
        var modelVersion: String?
        var tensors: [Range<Int>] = []
        var raw: [Range<Int>] = []
        while let (field, value) = reader.next() {
            switch (field, value) {
            case (2, .bytes(let r)): modelVersion = reader.string(r)
            case (5, .bytes(let r)): tensors.append(r)
            case (6, .bytes(let r)): raw.append(r)
            default: break
            }
        }
        if reader.isMalformed { return .unparsed("malformed protobuf in ModelInferResponse") }
        guard !tensors.isEmpty else { return .unparsed("no outputs in ModelInferResponse") }
        switch tensorsJSON(message, tensors: tensors, raw: raw) {
        case .failure(let reason):
            return .unparsed(reason.text)
        case .success(let decoded):
            var reading = ResponseReading(parsed: true, output: decoded.json, score: decoded.score, label: decoded.label)
            if let modelVersion, !modelVersion.isEmpty { reading.modelVersion = modelVersion }
            return reading
        }
    }

    /// Field 1 of a request message: `model_name` of `ModelInferRequest`, `name` of
    /// `ModelReadyRequest` and `ModelMetadataRequest`; nil when absent or not decodable.
    public static func modelName(_ message: UnsafeRawBufferPointer) -> String? {
        var reader = ProtobufReader(message)
        while let (field, value) = reader.next() {
            if field == 1, case .bytes(let r) = value { return reader.string(r) }
        }
        return nil
    }

    /// The request's inputs as JSON text (REST layout) for feedback forwarding; `(nil, true)`
    /// when longer than `maxBytes`, `(nil, false)` when the message cannot be decoded.
    public static func readFeatures(_ message: UnsafeRawBufferPointer, maxBytes: Int) -> (features: String?, truncated: Bool) {
        var reader = ProtobufReader(message)
        var tensors: [Range<Int>] = []
        var raw: [Range<Int>] = []
        while let (field, value) = reader.next() {
            switch (field, value) {
            case (5, .bytes(let r)): tensors.append(r)
            case (7, .bytes(let r)): raw.append(r)
            default: break
            }
        }
        guard !reader.isMalformed, !tensors.isEmpty, case .success(let decoded) = tensorsJSON(message, tensors: tensors, raw: raw) else {
            return (nil, false)
        }
        if decoded.json.utf8.count > maxBytes { return (nil, true) }
        return (decoded.json, false)
    }

    struct Reason: Error { var text: String }

    struct Decoded {
        var json: String
        var score: Double?
        var label: String?
    }

    /// One tensor's elements: numbers (nil for a non-finite float) or strings or booleans.
    enum Elements {
        case numbers([String], first: Double?)
        case strings([String])
        case bools([Bool])
    }

    static func tensorsJSON(_ message: UnsafeRawBufferPointer, tensors: [Range<Int>], raw: [Range<Int>]) -> Result<Decoded, Reason> {
        var json = "["
        var score: Double?
        var label: String?
        for (index, range) in tensors.enumerated() {
            var reader = ProtobufReader(message, range: range)
            var name = ""
            var datatype = ""
            var shape: [Int64] = []
            var contents: Range<Int>?
            while let (field, value) = reader.next() {
                switch (field, value) {
                case (1, .bytes(let r)): name = reader.string(r)
                case (2, .bytes(let r)): datatype = reader.string(r)
                case (3, .varint(let v)): shape.append(Int64(bitPattern: v))
                case (3, .bytes(let r)):
                    var packed = ProtobufReader(message, range: r)
                    while !packed.isAtEnd {
                        guard let v = packed.readVarint() else { return .failure(Reason(text: "malformed shape of tensor '\(name)'")) }
                        shape.append(Int64(bitPattern: v))
                    }
                case (5, .bytes(let r)): contents = r
                default: break
                }
            }
            if reader.isMalformed { return .failure(Reason(text: "malformed tensor \(index)")) }
            let elements: Elements
            if index < raw.count {
                guard let decoded = rawElements(message, raw[index], datatype: datatype) else {
                    return .failure(Reason(text: "raw contents of '\(name)' do not fit datatype '\(datatype)'"))
                }
                elements = decoded
            } else if let contents {
                guard let decoded = typedElements(message, contents, datatype: datatype) else {
                    return .failure(Reason(text: "contents of '\(name)' cannot be read as '\(datatype)'"))
                }
                elements = decoded
            } else {
                elements = .numbers([], first: nil)
            }
            if index > 0 { json += "," }
            json += "{\"name\":" + jsonString(name) + ",\"datatype\":" + jsonString(datatype)
            json += ",\"shape\":[" + shape.map(String.init).joined(separator: ",") + "],\"data\":["
            switch elements {
            case .numbers(let texts, let first):
                json += texts.joined(separator: ",")
                if score == nil { score = first }
            case .strings(let strings):
                json += strings.map(jsonString).joined(separator: ",")
                if label == nil { label = strings.first }
            case .bools(let bools):
                json += bools.map { $0 ? "true" : "false" }.joined(separator: ",")
            }
            json += "]}"
        }
        json += "]"
        return .success(Decoded(json: json, score: score, label: label))
    }

    static func typedElements(_ message: UnsafeRawBufferPointer, _ range: Range<Int>, datatype: String) -> Elements? {
        var reader = ProtobufReader(message, range: range)
        var numbers: [String] = []
        var first: Double?
        var strings: [String] = []
        var bools: [Bool] = []
        func number(_ text: String, _ value: Double?) {
            numbers.append(text)
            if first == nil, let value { first = value }
        }
        func integer(_ field: UInt64, _ v: UInt64) {
            switch field {
            case 1: bools.append(v != 0)
            case 2: let i = Int32(truncatingIfNeeded: v); number(String(i), Double(i))
            case 3: let i = Int64(bitPattern: v); number(String(i), Double(i))
            case 4: let u = UInt32(truncatingIfNeeded: v); number(String(u), Double(u))
            default: number(String(v), Double(v))
            }
        }
        while let (field, value) = reader.next() {
            switch (field, value) {
            case (1...5, .varint(let v)): integer(field, v)
            case (1...5, .bytes(let r)):
                var packed = ProtobufReader(message, range: r)
                while !packed.isAtEnd {
                    guard let v = packed.readVarint() else { return nil }
                    integer(field, v)
                }
            case (6, .fixed32(let bits)): let f = Float(bitPattern: bits); number(floatText(f), finite(Double(f)))
            case (6, .bytes(let r)):
                guard r.count % 4 == 0 else { return nil }
                for offset in stride(from: r.lowerBound, to: r.upperBound, by: 4) {
                    let f = Float(bitPattern: reader.readLittleEndian(UInt32.self, at: offset))
                    number(floatText(f), finite(Double(f)))
                }
            case (7, .fixed64(let bits)): let d = Double(bitPattern: bits); number(doubleText(d), finite(d))
            case (7, .bytes(let r)):
                guard r.count % 8 == 0 else { return nil }
                for offset in stride(from: r.lowerBound, to: r.upperBound, by: 8) {
                    let d = Double(bitPattern: reader.readLittleEndian(UInt64.self, at: offset))
                    number(doubleText(d), finite(d))
                }
            case (8, .bytes(let r)): strings.append(reader.string(r))
            default: break
            }
        }
        if reader.isMalformed { return nil }
        if datatype == "BYTES" || !strings.isEmpty { return .strings(strings) }
        if datatype == "BOOL" || !bools.isEmpty { return .bools(bools) }
        return .numbers(numbers, first: first)
    }

    static func rawElements(_ message: UnsafeRawBufferPointer, _ range: Range<Int>, datatype: String) -> Elements? {
        let reader = ProtobufReader(message, range: range)
        var numbers: [String] = []
        var first: Double?
        func each(_ size: Int, _ read: (Int) -> (String, Double?)) -> Elements? {
            guard range.count % size == 0 else { return nil }
            for offset in stride(from: range.lowerBound, to: range.upperBound, by: size) {
                let (text, value) = read(offset)
                numbers.append(text)
                if first == nil, let value { first = value }
            }
            return .numbers(numbers, first: first)
        }
        switch datatype {
        case "BOOL": return .bools(range.map { message[$0] != 0 })
        case "INT8": return each(1) { let v = Int8(bitPattern: message[$0]); return (String(v), Double(v)) }
        case "UINT8": return each(1) { let v = message[$0]; return (String(v), Double(v)) }
        case "INT16": return each(2) { let v = reader.readLittleEndian(Int16.self, at: $0); return (String(v), Double(v)) }
        case "UINT16": return each(2) { let v = reader.readLittleEndian(UInt16.self, at: $0); return (String(v), Double(v)) }
        case "INT32": return each(4) { let v = reader.readLittleEndian(Int32.self, at: $0); return (String(v), Double(v)) }
        case "UINT32": return each(4) { let v = reader.readLittleEndian(UInt32.self, at: $0); return (String(v), Double(v)) }
        case "INT64": return each(8) { let v = reader.readLittleEndian(Int64.self, at: $0); return (String(v), Double(v)) }
        case "UINT64": return each(8) { let v = reader.readLittleEndian(UInt64.self, at: $0); return (String(v), Double(v)) }
        case "FP16":
            return each(2) { let f = halfToFloat(reader.readLittleEndian(UInt16.self, at: $0)); return (floatText(f), finite(Double(f))) }
        case "BF16":
            return each(2) { let f = Float(bitPattern: UInt32(reader.readLittleEndian(UInt16.self, at: $0)) << 16); return (floatText(f), finite(Double(f))) }
        case "FP32":
            return each(4) { let f = Float(bitPattern: reader.readLittleEndian(UInt32.self, at: $0)); return (floatText(f), finite(Double(f))) }
        case "FP64":
            return each(8) { let d = Double(bitPattern: reader.readLittleEndian(UInt64.self, at: $0)); return (doubleText(d), finite(d)) }
        case "BYTES":
            var strings: [String] = []
            var offset = range.lowerBound
            while offset < range.upperBound {
                guard range.upperBound - offset >= 4 else { return nil }
                let length = Int(reader.readLittleEndian(UInt32.self, at: offset))
                offset += 4
                guard length <= range.upperBound - offset else { return nil }
                strings.append(reader.string(offset..<(offset + length)))
                offset += length
            }
            return .strings(strings)
        default:
            return nil
        }
    }

    static func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }

    /// JSON has no NaN or infinity: they become `null`, as the REST adapter stores them.
    static func floatText(_ value: Float) -> String { value.isFinite ? "\(value)" : "null" }
    static func doubleText(_ value: Double) -> String { value.isFinite ? "\(value)" : "null" }

    static func halfToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int((bits >> 10) & 0x1f)
        let mantissa = UInt32(bits & 0x3ff)
        if exponent == 0 {
            // Subnormal (or zero): mantissa × 2^-24.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }

    /// `text` as a JSON string for a jsonb column: jsonb refuses \u0000, so NUL becomes U+FFFD.
    static func jsonString(_ text: String) -> String {
        guard text.utf8.contains(0) else { return JSONLiteral.string(text) }
        return JSONLiteral.string(String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 })))
    }
}
