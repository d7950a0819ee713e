import CLibPQ

/// The rows of a finished statement, copied out of libpq's `PGresult` into Swift values.
///
/// Every value is the server's text representation (`nil` for SQL NULL). The libpq result is
/// freed before this value is returned, so a `PGResult` is an ordinary `Sendable` value.
public struct PGResult: Sendable, Hashable {
    /// Column names, in order.
    public var columns: [String]
    /// Row values in text form, `nil` for NULL; every row has `columns.count` values.
    public var rows: [[String?]]
    /// The command tag, e.g. `INSERT 0 3` or `SELECT 2`.
    public var commandTag: String
    /// Rows affected by INSERT/UPDATE/DELETE/COPY/SELECT, when the server reports it.
    public var affectedRows: Int?

    public init(columns: [String] = [], rows: [[String?]] = [], commandTag: String = "", affectedRows: Int? = nil) {
        self.columns = columns
        self.rows = rows
        self.commandTag = commandTag
        self.affectedRows = affectedRows
    }

    /// Copies everything out of `res` (which the caller still owns and must clear).
    init(copying res: OpaquePointer) {
        let nCols = Int(PQnfields(res))
        let nRows = Int(PQntuples(res))
        columns = (0..<nCols).map { String(cString: PQfname(res, Int32($0))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(nRows)
        for r in 0..<nRows {
            var row: [String?] = []
            row.reserveCapacity(nCols)
            for c in 0..<nCols {
                if PQgetisnull(res, Int32(r), Int32(c)) == 1 {
                    row.append(nil)
                } else {
                    row.append(String(cString: PQgetvalue(res, Int32(r), Int32(c))))
                }
            }
            rows.append(row)
        }
        self.rows = rows
        commandTag = String(cString: PQcmdStatus(res))
        affectedRows = Int(String(cString: PQcmdTuples(res)))
    }

    /// The first row's first value, for single-value queries (`nil` when there is no row or it is NULL).
    public var scalar: String? { rows.first?.first ?? nil }

    /// The value of the named column in row `row`; `nil` when NULL or when there is no such column.
    public func value(_ column: String, row: Int = 0) -> String? {
        guard let i = columns.firstIndex(of: column), row < rows.count else { return nil }
        return rows[row][i]
    }
}
