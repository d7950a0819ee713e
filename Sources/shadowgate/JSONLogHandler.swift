import Foundation
import Logging
import ShadowGateAdapters

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
        var text = "{\"ts\":\(JSONLiteral.string(Self.timestamp())),\"level\":\(JSONLiteral.string(level.rawValue)),\"label\":\(JSONLiteral.string(label)),\"message\":\(JSONLiteral.string(message.description))"
        for key in all.keys.sorted() {
            let name = ["ts", "level", "label", "message"].contains(key) ? "meta.\(key)" : key
            text += ",\(JSONLiteral.string(name)):\(JSONLiteral.string(all[key]!.description))"
        }
        text += "}\n"
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func timestamp(_ date: Date = Date()) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
