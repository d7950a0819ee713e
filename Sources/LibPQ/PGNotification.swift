/// One asynchronous notification received on a channel the connection `LISTEN`s to.
public struct PGNotification: Sendable, Hashable {
    public var channel: String
    public var payload: String
    /// Process id of the notifying server backend.
    public var senderPID: Int32

    public init(channel: String, payload: String, senderPID: Int32) {
        self.channel = channel
        self.payload = payload
        self.senderPID = senderPID
    }
}
