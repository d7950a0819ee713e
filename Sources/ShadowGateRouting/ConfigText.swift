/// Text helpers shared by the config reader, the promotion gates and the flag summaries, so a
/// number or a word reads the same in every message.
extension String {
    /// The text without leading and trailing whitespace.
    public var trimmingWhitespace: Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map { index(after: $0) } ?? start
        return self[start..<max(start, end)]
    }
}

extension Double {
    /// `5`, `0.25`: whole numbers without `.0`, for messages about config values.
    public var formattedShort: String {
        self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self)
    }
}
