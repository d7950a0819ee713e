import Foundation
@testable import ShadowGateAdapters

/// Runs `body` over the UTF-8 bytes of `text`, exactly that long (no terminator in range).
func withBytes<R>(_ text: String, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try Array(text.utf8).withUnsafeBytes(body)
}

func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try bytes.withUnsafeBytes(body)
}

/// Validates and returns the error, or nil when the text is accepted.
func scanError(_ bytes: [UInt8], options: JSONScanner.Options = .strict) -> JSONScanError? {
    withBytes(bytes) { buffer -> JSONScanError? in
        do throws(JSONScanError) {
            _ = try JSONScanner(buffer, options: options).validate()
            return nil
        } catch {
            return error
        }
    }
}

func scanError(_ text: String, options: JSONScanner.Options = .strict) -> JSONScanError? {
    scanError(Array(text.utf8), options: options)
}

func accepts(_ text: String, options: JSONScanner.Options = .strict) -> Bool {
    scanError(text, options: options) == nil
}

/// The oracle for "strictly valid JSON": Foundation's parser, fine in tests.
func isStrictJSON(_ text: String) -> Bool {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil
}

func isStrictJSON(_ bytes: [UInt8]) -> Bool {
    (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
}

/// A JSON value tree for tests; objects keep member order so round trips compare exactly.
indirect enum TestJSON: Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([TestJSON])
    case object([Member])

    struct Member: Equatable {
        var key: String
        var value: TestJSON
    }

    static func == (lhs: TestJSON, rhs: TestJSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        // Bit patterns, so -0.0 and 0.0 differ and the round trip is checked exactly.
        case let (.number(a), .number(b)): a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)
        case let (.string(a), .string(b)): Array(a.utf8) == Array(b.utf8)
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)): a == b
        default: false
        }
    }

    var description: String { TestJSONWriter.compact(self) }
}

/// Reads a validated span back into a tree through the scanner's public navigation API.
func readTree(_ scanner: JSONScanner, _ span: JSONSpan) -> TestJSON {
    switch span.kind {
    case .null: return .null
    case .bool: return .bool(scanner.bool(span)!)
    case .number: return .number(scanner.number(span)!)
    case .string: return .string(scanner.string(span)!)
    case .array: return .array(scanner.elements(of: span).map { readTree(scanner, $0) })
    case .object:
        return .object(scanner.members(of: span).map { .init(key: scanner.string($0.key)!, value: readTree(scanner, $0.value)) })
    }
}

/// A deterministic generator (SplitMix64) so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum TestJSONGenerator {
    static func value(depth: Int, using rng: inout SeededGenerator) -> TestJSON {
        let choice = depth >= 5 ? Int.random(in: 0..<4, using: &rng) : Int.random(in: 0..<6, using: &rng)
        switch choice {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .number(number(using: &rng))
        case 3: return .string(string(using: &rng))
        case 4: return .array((0..<Int.random(in: 0...5, using: &rng)).map { _ in value(depth: depth + 1, using: &rng) })
        default:
            var keys = Set<String>()
            var members: [TestJSON.Member] = []
            for _ in 0..<Int.random(in: 0...5, using: &rng) {
                let key = string(using: &rng)
                if keys.insert(key).inserted {
                    members.append(.init(key: key, value: value(depth: depth + 1, using: &rng)))
                }
            }
            return .object(members)
        }
    }

    /// A container at the root, so every proper prefix of its text is invalid.
    static func document(using rng: inout SeededGenerator) -> TestJSON {
        while true {
            let v = value(depth: 0, using: &rng)
            switch v {
            case .array, .object: return v
            default: continue
            }
        }
    }

    static func number(using rng: inout SeededGenerator) -> Double {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return Double(Int.random(in: -1000...1000, using: &rng))
        case 1: return Double.random(in: -1...1, using: &rng)
        case 2:
            // Any finite double: the exponent field stays below all-ones.
            let magnitude = Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF)
            return Bool.random(using: &rng) ? magnitude : -magnitude
        case 3: return [0.0, -0.0, 0.1, 1e22, 1e23, .leastNonzeroMagnitude, 1.7976931348623157e308, 2.2250738585072014e-308][Int.random(in: 0..<8, using: &rng)]
        case 4: return Double(Int64.random(in: .min ... .max, using: &rng))
        default: return Double.random(in: -1e6...1e6, using: &rng)
        }
    }

    static func string(using rng: inout SeededGenerator) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...8, using: &rng) {
            let v: UInt32
            switch Int.random(in: 0..<8, using: &rng) {
            case 0: v = UInt32.random(in: 0x00...0x1F, using: &rng)
            case 1: v = [0x22, 0x5C, 0x2F, 0x7F, 0x00][Int.random(in: 0..<5, using: &rng)]
            case 2: v = UInt32.random(in: 0x80...0x7FF, using: &rng)
            case 3: v = UInt32.random(in: 0x800...0xD7FF, using: &rng)
            case 4: v = UInt32.random(in: 0xE000...0xFFFF, using: &rng)
            case 5: v = UInt32.random(in: 0x10000...0x10FFFF, using: &rng)
            default: v = UInt32.random(in: 0x20...0x7E, using: &rng)
            }
            scalars.append(Unicode.Scalar(v)!)
        }
        return String(scalars)
    }
}

/// A JSON serializer independent of the code under test, with optional random whitespace and
/// random (but valid) choices of escaping.
struct TestJSONWriter {
    var rng: SeededGenerator?

    static func compact(_ value: TestJSON) -> String {
        var writer = TestJSONWriter(rng: nil)
        var out = ""
        writer.write(value, into: &out)
        return out
    }

    static func randomized(_ value: TestJSON, using rng: inout SeededGenerator) -> String {
        var writer = TestJSONWriter(rng: SeededGenerator(seed: rng.next()))
        var out = ""
        writer.space(&out)
        writer.write(value, into: &out)
        writer.space(&out)
        return out
    }

    mutating func flip() -> Bool {
        guard rng != nil else { return false }
        return Bool.random(using: &rng!)
    }

    mutating func space(_ out: inout String) {
        guard rng != nil else { return }
        for _ in 0..<Int.random(in: 0...2, using: &rng!) {
            out += [" ", "\n", "\t", "\r"][Int.random(in: 0..<4, using: &rng!)]
        }
    }

    mutating func write(_ value: TestJSON, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d):
            if d == d.rounded(), abs(d) < 1e15, flip() {
                out += d.sign == .minus && d == 0 ? "-0" : String(Int64(d))
            } else {
                out += "\(d)"  // Swift's shortest round-tripping form, e.g. 1e-05, 0.1, 100.0
            }
        case .string(let s): writeString(s, into: &out)
        case .array(let elements):
            out += "["
            for (k, e) in elements.enumerated() {
                if k > 0 { space(&out); out += "," }
                space(&out)
                write(e, into: &out)
                space(&out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (k, m) in members.enumerated() {
                if k > 0 { space(&out); out += "," }
                space(&out)
                writeString(m.key, into: &out)
                space(&out)
                out += ":"
                space(&out)
                write(m.value, into: &out)
                space(&out)
            }
            out += "}"
        }
    }

    mutating func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            let v = scalar.value
            switch v {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x08 where flip(): out += "\\b"
            case 0x0C where flip(): out += "\\f"
            case 0x0A where flip(): out += "\\n"
            case 0x0D where flip(): out += "\\r"
            case 0x09 where flip(): out += "\\t"
            case 0x2F where flip(): out += "\\/"
            case 0..<0x20: out += unicodeEscape(v)
            default:
                if flip() {
                    if v >= 0x10000 {
                        let u = v - 0x10000
                        out += unicodeEscape(0xD800 + (u >> 10)) + unicodeEscape(0xDC00 + (u & 0x3FF))
                    } else {
                        out += unicodeEscape(v)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    mutating func unicodeEscape(_ v: UInt32) -> String {
        let hex = String(v, radix: 16, uppercase: flip())
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}
