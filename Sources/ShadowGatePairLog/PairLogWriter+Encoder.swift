import Foundation
import LibPQ
import ShadowGatePairRecord

extension PairLogWriter {
    /// The encoder thread: queue → COPY text batches → database thread (or spool).
    func encoderLoop() {
        var spare: [PairRecord] = []
        var spareLabels: [LabelRecord] = []
        let flushNanos = UInt64(config.flushMillis) * 1_000_000
        cond.lock()
        while true {
            var take = stopping
            var deadline: UInt64? = nil
            if !take && queuedCount > 0 {
                let now = monotonicNanos()
                let age = now &- firstQueuedNanos
                let due = queuedCount >= config.batchRows || age >= flushNanos
                let room = dbDown || handoff.count < maxPendingBatches || queuedCount >= config.queueCapacity / 2
                if due && room {
                    take = true
                } else if !due {
                    deadline = now + (flushNanos - age)
                } else {
                    deadline = now + flushNanos  // waiting for the database thread to take a batch
                }
            }
            if take {
                swap(&queue, &spare)
                swap(&labelQueue, &spareLabels)
                encoding = !spare.isEmpty || !spareLabels.isEmpty
                let finished = stopping
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
                encoding = false
                if finished && queuedCount == 0 { break }
                continue
            }
            if let deadline {
                let secs = Double(deadline &- monotonicNanos()) / 1e9
                _ = cond.wait(until: Date(timeIntervalSinceNow: max(0.0005, secs)))
            } else {
                cond.wait()
            }
        }
        encoderDone = true
        cond.unlock()
        cond.broadcast()
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
        while !dbDown && !stopping && handoff.count >= maxPendingBatches && queuedCount < config.queueCapacity / 2 {
            cond.wait()
        }
        if !dbDown && (handoff.count < maxPendingBatches || stopping) {
            handoff.append(batch)
            cond.unlock()
            cond.broadcast()
            return
        }
        cond.unlock()
        spoolBatch(batch)
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
        let now = monotonicNanos()
        let report = now &- lastSpoolDropLog >= 10_000_000_000 || lastSpoolDropLog == 0
        if report { lastSpoolDropLog = now }
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
