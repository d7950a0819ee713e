import Foundation
import LibPQ
import ShadowGatePairRecord

extension PairLogWriter {
    /// The encoder thread: queue → COPY text batches → database thread (or spool).
    func encoderLoop() {
        var spare: [PairRecord] = []
        var spareLabels: [LabelRecord] = []
        cond.lock()
        while true {
            switch machine.encoderStep(now: monotonicNanos(), pairs: &spare, labels: &spareLabels) {
            case .sleep(until: let deadline?):
                let secs = Double(deadline &- monotonicNanos()) / 1e9
                _ = cond.wait(until: Date(timeIntervalSinceNow: max(0.0005, secs)))
            case .sleep(until: nil):
                cond.wait()
            case .encode:
                cond.unlock()
                metrics.queueDepth.record(spare.count + spareLabels.count)
                if !spare.isEmpty {
                    encodeAndDispatch(spare, kind: .pairs, PairCOPYFormat.append)
                    spare.removeAll(keepingCapacity: spare.capacity <= config.batchRows * 4)
                }
                if !spareLabels.isEmpty {
                    encodeAndDispatch(spareLabels, kind: .labels, LabelCOPYFormat.append)
                    spareLabels.removeAll(keepingCapacity: spareLabels.capacity <= config.batchRows)
                }
                cond.lock()
                if machine.encoded() {
                    cond.unlock()
                    cond.broadcast()
                    return
                }
            }
        }
    }

    func encodeAndDispatch<R>(_ records: [R], kind: PairLogRowKind, _ append: (R, inout COPYTextEncoder) -> Void) {
        var i = 0
        while i < records.count {
            let end = min(i + config.batchRows, records.count)
            var e = COPYTextEncoder(reservingCapacity: (end - i) * (kind == .pairs ? 640 : 96))
            var ends: [Int] = []
            ends.reserveCapacity(end - i)
            for k in i..<end {
                append(records[k], &e)
                ends.append(e.bytes.count)
            }
            dispatch(PairBatch(kind: kind, bytes: e.bytes, rowEnds: ends))
            i = end
        }
        metrics.rows(kind).queued.increment(by: Int64(records.count))
    }

    /// Hands a batch to the database thread when it is connected and keeping up, else spools it.
    ///
    /// When `maxPendingBatches` are already waiting, it waits for the database thread to take one
    /// — unless the queue fills to half its capacity meanwhile (PostgreSQL too slow: spool), the
    /// database is down (spool), or shutdown began (hand off anyway).
    func dispatch(_ batch: PairBatch) {
        cond.lock()
        stats[batch.kind].queued += batch.rowCount
        while true {
            switch machine.offer(batch) {
            case .wait:
                cond.wait()
            case .handedOff:
                cond.unlock()
                cond.broadcast()
                return
            case .spool:
                cond.unlock()
                spoolBatch(batch)
                return
            }
        }
    }

    /// Appends a batch to the spool, or counts and logs it as dropped when the spool refuses it.
    func spoolBatch(_ batch: PairBatch) {
        let result = spool(for: batch.kind).append(batch.bytes)
        cond.lock()
        if result == .spooled {
            stats[batch.kind].spooled += batch.rowCount
            cond.unlock()
            metrics.rows(batch.kind).spooled.increment(by: Int64(batch.rowCount))
            metrics.spoolBytes.record(spoolBytes)
            return
        }
        stats[batch.kind].droppedSpoolFull += batch.rowCount
        let report = machine.spoolRefused(now: monotonicNanos())
        cond.unlock()
        metrics.rows(batch.kind).droppedSpoolFull.increment(by: Int64(batch.rowCount))
        if report {
            let why: String
            switch result {
            case .full: why = "the spool is full (\(config.spoolMaxBytes) bytes)"
            case .failed(let m): why = "the spool could not be written: \(m)"
            case .spooled: why = ""
            }
            logger.error("\(batch.kind.rawValue) records dropped: PostgreSQL cannot take them and \(why)", metadata: [
                "rows": "\(batch.rowCount)", "spool_dir": "\(spool.directory)",
            ])
        }
    }
}
