// Computed, not `static let`: stored statics are lazily initialised globals whose every read
// goes through an accessor, which made the hot loops several times slower.
enum ASCII {
    @inline(__always) static var quote: UInt8 { UInt8(ascii: "\"") }
    @inline(__always) static var backslash: UInt8 { UInt8(ascii: "\\") }
    @inline(__always) static var slash: UInt8 { UInt8(ascii: "/") }
    @inline(__always) static var colon: UInt8 { UInt8(ascii: ":") }
    @inline(__always) static var comma: UInt8 { UInt8(ascii: ",") }
    @inline(__always) static var openBrace: UInt8 { UInt8(ascii: "{") }
    @inline(__always) static var closeBrace: UInt8 { UInt8(ascii: "}") }
    @inline(__always) static var openBracket: UInt8 { UInt8(ascii: "[") }
    @inline(__always) static var closeBracket: UInt8 { UInt8(ascii: "]") }
    @inline(__always) static var minus: UInt8 { UInt8(ascii: "-") }
    @inline(__always) static var plus: UInt8 { UInt8(ascii: "+") }
    @inline(__always) static var dot: UInt8 { UInt8(ascii: ".") }
    @inline(__always) static var zero: UInt8 { UInt8(ascii: "0") }
    @inline(__always) static var nine: UInt8 { UInt8(ascii: "9") }
    @inline(__always) static var space: UInt8 { UInt8(ascii: " ") }
    @inline(__always) static var tab: UInt8 { UInt8(ascii: "\t") }
    @inline(__always) static var newline: UInt8 { UInt8(ascii: "\n") }
    @inline(__always) static var carriageReturn: UInt8 { UInt8(ascii: "\r") }
    @inline(__always) static var lowerE: UInt8 { UInt8(ascii: "e") }
    @inline(__always) static var upperE: UInt8 { UInt8(ascii: "E") }
    @inline(__always) static var lowerU: UInt8 { UInt8(ascii: "u") }
    @inline(__always) static var tilde: UInt8 { UInt8(ascii: "~") }
    @inline(__always) static var upperN: UInt8 { UInt8(ascii: "N") }
    @inline(__always) static var upperI: UInt8 { UInt8(ascii: "I") }
    @inline(__always) static var lowerT: UInt8 { UInt8(ascii: "t") }
    @inline(__always) static var lowerF: UInt8 { UInt8(ascii: "f") }
    @inline(__always) static var lowerN: UInt8 { UInt8(ascii: "n") }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- zero <= 9 }

    @inline(__always) static func isWhitespace(_ b: UInt8) -> Bool {
        b == space || b == newline || b == carriageReturn || b == tab
    }

    /// The value of a hex digit, or nil.
    @inline(__always) static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(b &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(b &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(b &- UInt8(ascii: "A") &+ 10)
        default: nil
        }
    }
}
