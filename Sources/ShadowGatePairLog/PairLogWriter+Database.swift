import Foundation
import LibPQ
import Logging

extension PairLogWriter {

    /// The database thread: connect, write handed-off batches, replay the spool, partition upkeep,
    /// roll-up of the per-minute value counts — in the order ``StateMachine/databaseStep(now:spoolsEmpty:)`` says.
    func databaseLoop() {
        cond.lock()
        loop: while true {
            let action = machine.databaseStep(now: monotonicNanos(), spoolsEmpty: spoolsEmpty)
            switch action {
            case .sleep(until: let deadline?):
                let secs = Double(deadline &- monotonicNanos()) / 1e9
                _ = cond.wait(until: Date(timeIntervalSinceNow: max(0.0005, secs)))
                continue loop
            case .sleep(until: nil):
                cond.wait()
                continue loop
            case .exit:
                break loop
            default:
                break
            }
            cond.unlock()
            switch action {
            case .connect:
                connectOrSpool()
            case .upkeep:
                upkeep()
            case .rollUp:
                rollUp()
            case .write(let batches):
                cond.broadcast()  // the encoder may be waiting for room in the hand-off
                let succeeded = write(batches)
                cond.lock()
                machine.writeFinished(succeeded: succeeded)
                cond.unlock()
            case .replay:
                // Pairs first: a label's pair is written before the label (not required, but a
                // reader then never sees a label without its pair).
                let succeeded = replayOneSpoolFile(spool.isEmpty ? labelSpool : spool)
                cond.lock()
                machine.replayFinished(succeeded: succeeded)
                cond.unlock()
            case .sleep, .exit:
                break
            }
            cond.lock()
        }
        cond.unlock()
        conn?.close()
        conn = nil
        cond.lock()
        machine.databaseThreadEnded()
        let waiters = exitWaiters
        exitWaiters = []
        cond.unlock()
        cond.broadcast()
        metrics.connected.record(0)
        for w in waiters { w.resume() }
    }

    /// One connection attempt; on failure the hand-off goes to the spool and the outage is logged once.
    func connectOrSpool() {
        if connect() {
            cond.lock()
            let announce = machine.connected(spoolsEmpty: spoolsEmpty)
            cond.unlock()
            cond.broadcast()
            metrics.connected.record(1)
            if announce {
                logger.info("connected to PostgreSQL; replaying spooled pairs and labels", metadata: ["spool_bytes": "\(spoolBytes)"])
            }
            return
        }
        cond.lock()
        let failure = machine.connectFailed(now: monotonicNanos())
        cond.unlock()
        cond.broadcast()
        metrics.connected.record(0)
        if failure.logOutage {
            logger.warning("PostgreSQL is unreachable; spooling pairs until it is back", metadata: [
                "spool_dir": "\(spool.directory)", "first_attempt": "\(failure.neverConnected)",
            ])
        }
        for b in failure.spool { spoolBatch(b) }
    }

    /// Writes the handed-off batches: pairs in one COPY, then labels. `false` when the connection
    /// failed (the unwritten batches are spooled).
    func write(_ batches: [PairBatch]) -> Bool {
        let pairs = batches.filter { $0.kind == .pairs }
        let labels = batches.filter { $0.kind == .labels }
        do {
            if !pairs.isEmpty { try writeFromQueue(pairs) }
            do {
                for b in labels { try writeLabelsFromQueue(b) }
            } catch {
                connectionLost(error, pending: labels)
                return false
            }
        } catch {
            connectionLost(error, pending: batches)
            return false
        }
        return true
    }

    func connect() -> Bool {
        do {
            conn = try PGConnection(
                connectionString: connectionString, applicationName: "shadowgate-pairlog", connectTimeoutSeconds: 5,
                defaults: ["keepalives_idle": "10", "keepalives_interval": "5", "keepalives_count": "3", "tcp_user_timeout": "30000"])
            stagesReady = []
            return true
        } catch {
            logger.debug("connecting to PostgreSQL failed", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Called when a write failed for a reason other than bad data: keep the rows, drop the connection.
    func connectionLost(_ error: any Error, pending: [PairBatch]) {
        logger.warning("writing to PostgreSQL failed; spooling and reconnecting", metadata: ["error": "\(error)"])
        conn?.close()
        conn = nil
        cond.lock()
        let waiting = machine.connectionLost(now: monotonicNanos())
        cond.unlock()
        cond.broadcast()
        metrics.connected.record(0)
        for b in pending + waiting { spoolBatch(b) }
    }

    /// Fast path: one COPY straight into the table for all `batches`. Duplicates or bad rows make
    /// PostgreSQL reject the whole COPY; then each batch goes through the staging path.
    func writeFromQueue(_ batches: [PairBatch]) throws {
        guard let conn else { throw PGError(.connectionClosed, message: "not connected") }
        let t0 = monotonicNanos()
        let rows = batches.reduce(0) { $0 + $1.rowCount }
        var written = rows
        var rejected = 0
        do {
            try conn.copyIn(copySQL) { send in
                for b in batches { try b.bytes.withUnsafeBytes { try send($0) } }
            }
        } catch let e as PGError where e.isUniqueViolation || e.isDataError {
            written = 0
            for b in batches {
                let (w, r) = try writeStagedBisecting(b)
                written += w
                rejected += r
            }
        }
        let dt = monotonicNanos() - t0
        metrics.copyDuration.recordNanoseconds(Int64(dt))
        metrics.batchRows.record(rows)
        metrics.pairs.written.increment(by: Int64(written))
        cond.lock()
        stats.pairs.written += written
        stats.pairs.rejected += rejected
        stats.batches += 1
        stats.copySeconds += Double(dt) / 1e9
        cond.unlock()
    }

    /// Labels go through the staging path only (an upsert, see ``LabelCOPYFormat``).
    func writeLabelsFromQueue(_ batch: PairBatch) throws {
        let t0 = monotonicNanos()
        let (written, rejected) = try writeStagedBisecting(batch)
        metrics.copyDuration.recordNanoseconds(Int64(monotonicNanos() - t0))
        metrics.labels.written.increment(by: Int64(written))
        cond.lock()
        stats.labels.written += written
        stats.labels.rejected += rejected
        cond.unlock()
    }

    /// Staging path, in one transaction: COPY into a temporary table, then into the real one —
    /// pairs with `INSERT … ON CONFLICT DO NOTHING`, labels with the upsert of
    /// ``LabelCOPYFormat``. Returns the rows actually inserted (or, for labels, replaced).
    func writeStaged(_ batch: PairBatch) throws -> Int {
        guard let conn else { throw PGError(.connectionClosed, message: "not connected") }
        let kind = batch.kind
        if !stagesReady.contains(kind) {
            try conn.execute(kind.createStageSQL)
            stagesReady.insert(kind)
        }
        try conn.execute("BEGIN")
        do {
            try conn.copyIn(kind.copyStageSQL) { send in
                try batch.bytes.withUnsafeBytes { try send($0) }
            }
            let r = try conn.execute(kind.moveStagedSQL)
            try conn.execute("COMMIT")
            return r.affectedRows ?? 0
        } catch {
            _ = try? conn.execute("ROLLBACK")
            throw error
        }
    }

    /// The staging path, splitting the batch in halves until rows PostgreSQL rejects as bad data
    /// are isolated; those are dropped, counted and logged. Returns (inserted, rejected).
    func writeStagedBisecting(_ batch: PairBatch) throws -> (Int, Int) {
        do {
            return (try writeStaged(batch), 0)
        } catch let e as PGError where e.isDataError {
            if batch.rowCount == 1 {
                let id = String(decoding: batch.bytes.prefix { $0 != 0x09 }, as: UTF8.self)
                logger.error("PostgreSQL rejected a \(batch.kind == .pairs ? "pair record" : "label"); dropped", metadata: [
                    "request_id": "\(id)", "error": "\(e)",
                ])
                metrics.rows(batch.kind).rejected.increment()
                return (0, 1)
            }
            let mid = batch.rowCount / 2
            let a = try writeStagedBisecting(batch.rows(0..<mid))
            let b = try writeStagedBisecting(batch.rows(mid..<batch.rowCount))
            return (a.0 + b.0, a.1 + b.1)
        }
    }

    /// Replays the oldest file of `spool` through the staging path and deletes it. On a connection
    /// problem the file stays and is replayed from its start later (replay is idempotent).
    /// `true` when a file was replayed and removed.
    func replayOneSpoolFile(_ spool: PairSpool) -> Bool {
        guard let path = spool.oldestForReplay() else { return false }
        var rows = 0
        var inserted = 0
        do {
            try spool.forEachChunk(of: path) { batch in
                let t0 = monotonicNanos()
                let (ins, rej) = try writeStagedBisecting(batch)
                metrics.copyDuration.recordNanoseconds(Int64(monotonicNanos() - t0))
                metrics.rows(batch.kind).replayed.increment(by: Int64(batch.rowCount - rej))
                rows += batch.rowCount
                inserted += ins
                cond.lock()
                stats[batch.kind].replayed += batch.rowCount - rej
                stats[batch.kind].rejected += rej
                cond.unlock()
            }
            spool.remove(path)
            metrics.spoolBytes.record(spoolBytes)
            logger.info("replayed a spool file", metadata: [
                "file": "\(path)", "rows": "\(rows)", "inserted": "\(inserted)", "already_present": "\(rows - inserted)",
            ])
            return true
        } catch let e as PairLogError {
            logger.error("a spool file could not be read; it is kept for inspection and skipped", metadata: ["error": "\(e)"])
            let bad = path + ".unreadable"
            _ = rename(path, bad)
            spool.remove(path)
            return false
        } catch {
            connectionLost(error, pending: [])
            return false
        }
    }

    /// Creates partitions ahead and drops expired ones; failures are logged and retried next time.
    func upkeep() {
        guard let conn else { return }
        do {
            let created = try conn.execute("SELECT shadowgate.ensure_partitions($1)", [String(partitionDaysAhead)]).scalar ?? "0"
            var dropped = "0"
            if config.retentionDays > 0 {
                dropped = try conn.execute("SELECT shadowgate.drop_partitions_older_than($1)", [String(config.retentionDays)]).scalar ?? "0"
            }
            if created != "0" || dropped != "0" {
                logger.info("pair partitions maintained", metadata: ["created": "\(created)", "dropped": "\(dropped)"])
            }
        } catch let e as PGError where !e.isConnectionProblem {
            logger.warning("partition upkeep failed (are the migrations applied?)", metadata: ["error": "\(e)"])
            cond.lock()
            machine.upkeepFailed(now: monotonicNanos())
            cond.unlock()
        } catch {
            connectionLost(error, pending: [])
        }
    }

    /// Rolls the complete minutes into shadowgate.pair_value_counts (`roll_up_counts()`, 0006):
    /// what keeps compare() fast without an upsert per batch. Failures are logged and retried
    /// next time; writing goes on either way.
    func rollUp() {
        guard let conn else { return }
        do {
            _ = try conn.execute("SELECT shadowgate.roll_up_counts()")
        } catch let e as PGError where !e.isConnectionProblem {
            logger.warning("roll-up of the value counts failed (are the migrations applied?)", metadata: ["error": "\(e)"])
            cond.lock()
            machine.rollUpFailed(now: monotonicNanos())
            cond.unlock()
        } catch {
            connectionLost(error, pending: [])
        }
    }
}

/// The staging statements of each kind of row.
extension PairLogRowKind {
    var createStageSQL: String { self == .pairs ? PairCOPYFormat.createStageSQL : LabelCOPYFormat.createStageSQL }
    var copyStageSQL: String { self == .pairs ? PairCOPYFormat.copyStageSQL : LabelCOPYFormat.copyStageSQL }
    /// Pairs: insert, skipping those already stored; labels: the newest label per key wins.
    var moveStagedSQL: String { self == .pairs ? PairCOPYFormat.insertStagedSQL : LabelCOPYFormat.upsertSQL }
}
