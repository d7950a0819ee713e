import ShadowGatePairRecord
import Synchronization

/// A sink that keeps every record in memory (tests), optionally refusing after a capacity.
public final class CollectingPairSink: PairRecordSink {
    private let records = Mutex<[PairRecord]>([])
    private let capacity: Int

    public init(capacity: Int = .max) { self.capacity = capacity }

    public func submit(_ record: consuming PairRecord) -> Bool {
        let record = record
        return records.withLock { records in
            guard records.count < capacity else { return false }
            records.append(record)
            return true
        }
    }

    public var all: [PairRecord] { records.withLock { $0 } }
}
