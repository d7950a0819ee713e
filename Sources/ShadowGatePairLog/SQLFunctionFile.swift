/// One file of `migrations/functions/`: the one definition of some SQL functions, types or views
/// (`compare.sql` → name `compare.sql`).
///
/// Unlike a numbered ``Migration`` it is not applied once: ``MigrationRunner`` re-applies the
/// whole set whenever the text of any file changed (or one was added or removed), so each file
/// must be safe to run again (`CREATE OR REPLACE`, or `DROP … IF EXISTS` before `CREATE`).
public struct SQLFunctionFile: Sendable, Hashable {
    /// The file name, `compare.sql`; files are applied in the order of their names.
    public var name: String
    public var sql: String
    /// ``Migration/checksum(of:)`` of the text, recorded in `shadowgate.schema_functions`.
    public var checksum: String

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
        checksum = Migration.checksum(of: sql)
    }
}
