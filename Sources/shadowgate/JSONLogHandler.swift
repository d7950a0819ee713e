import Foundation
import Logging

/// Writes each log record as one JSON object on one line of standard error (`log_format: json`):
/// `{"ts":"2026-11-29T09:15:00.123Z","level":"notice","label":"shadowgate","message":"…", …metadata}`.
///
/// Promises: one `write` per record (lines from several threads never interleave); metadata values
/// are strings (nested dictionaries and arrays rendered as text); keys `ts`, `level`, `label` and
/// `message` are never overwritten by metadata of the same name (those get a `meta.` prefix).
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        write(level: event.level, message: event.message, explicit: event.metadata, error: event.error)
    }

    private func write(level: Logger.Level, message: Logger.Message, explicit: Logger.Metadata?, error: (any Error)?) {
        var all = metadata
        if let error { all["error"] = "\(error)" }
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let explicit { all.merge(explicit) { $1 } }
        var text = "{\"ts\":\(Self.quote(Self.timestamp())),\"level\":\(Self.quote(level.rawValue)),\"label\":\(Self.quote(label)),\"message\":\(Self.quote(message.description))"
        for key in all.keys.sorted() {
            let name = ["ts", "level", "label", "message"].contains(key) ? "meta.\(key)" : key
            text += ",\(Self.quote(name)):\(Self.quote(all[key]!.description))"
        }
        text += "}\n"
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func timestamp(_ date: Date = Date()) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// A JSON string literal (RFC 8259 escaping).
    static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
