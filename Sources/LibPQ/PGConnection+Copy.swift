import CLibPQ

extension PGConnection {
    /// Runs `COPY … FROM STDIN` and streams the data `produce` hands to its `send` function.
    ///
    /// The data must be in the format the COPY statement names (ShadowGate uses text format,
    /// see ``COPYTextEncoder``). One COPY is one transaction unless the caller opened one: if any
    /// row is bad the server rejects the whole COPY and nothing is written.
    ///
    /// - Returns: the number of rows the server reports as copied.
    /// - Throws: ``PGError`` `.server` (with SQLSTATE) when the server rejects the data,
    ///   `.copyFailed`/`.connectionClosed` when the connection breaks, or whatever `produce`
    ///   throws (the COPY is then aborted on the server, nothing is written).
    @discardableResult
    public func copyIn(_ copySQL: String, _ produce: (_ send: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> Int {
        let conn = try live(copySQL)
        guard let start = PQexec(conn, copySQL) else { throw connectionError(sql: copySQL) }
        let status = PQresultStatus(start)
        if status != PGRES_COPY_IN {
            defer { PQclear(start) }
            if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK {
                throw PGError(.unexpectedResult, message: "the statement did not start COPY FROM STDIN", query: copySQL)
            }
            throw error(from: start, sql: copySQL)
        }
        PQclear(start)

        let send: (UnsafeRawBufferPointer) throws -> Void = { buf in
            var offset = 0
            while offset < buf.count {
                let n = min(buf.count - offset, 1 << 20)
                let rc = PQputCopyData(conn, buf.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self), Int32(n))
                if rc != 1 { throw self.connectionError(sql: copySQL, code: .copyFailed) }
                offset += n
            }
        }
        do {
            try produce(send)
        } catch {
            PQputCopyEnd(conn, "aborted by the client: \(error)")
            drainResults()
            throw error
        }
        if PQputCopyEnd(conn, nil) != 1 { throw connectionError(sql: copySQL, code: .copyFailed) }
        var result: Result<Int, PGError> = .failure(connectionError(sql: copySQL))
        var first = true
        while let res = PQgetResult(conn) {
            if first {
                if PQresultStatus(res) == PGRES_COMMAND_OK {
                    result = .success(Int(String(cString: PQcmdTuples(res))) ?? 0)
                } else {
                    result = .failure(error(from: res, sql: copySQL))
                }
                first = false
            }
            PQclear(res)
        }
        return try result.get()
    }

    /// Runs `COPY … FROM STDIN` with the given chunks of data (see ``copyIn(_:_:)``).
    @discardableResult
    public func copyIn(_ copySQL: String, data: some Sequence<[UInt8]>) throws -> Int {
        try copyIn(copySQL) { send in
            for chunk in data { try chunk.withUnsafeBytes { try send($0) } }
        }
    }
}
