import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a command to completion with `posix_spawn` + `waitpid`, capturing its output in a temp file.
///
/// Not Foundation's `Process`: `pg_ctl start` leaves the server daemon holding the child's
/// stdout/stderr, and `Process.waitUntilExit` was seen hanging on that. A file instead of a pipe
/// means nobody waits for the daemon to close it.
enum ChildProcess {
    /// Runs `args[0]` (an absolute path) with `args[1...]`; returns exit status and output (≤ 64 KiB).
    static func run(_ args: [String]) throws -> (status: Int32, output: String) {
        let outPath = NSTemporaryDirectory() + "shadowgate-cmd-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
        defer { unlink(outPath) }
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fa, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&fa, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        argv.append(nil)
        defer { for p in argv { free(p) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, args[0], &fa, nil, argv, environ)
        guard rc == 0 else {
            throw PairLogError(.embeddedFailed, "could not run \(args[0]): \(String(cString: strerror(rc)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw PairLogError(.embeddedFailed, "waiting for \(args[0]) failed: errno \(errno)") }
        }
        // WIFEXITED / WEXITSTATUS by hand (macros are not imported).
        let exit: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        var out = ""
        if let h = FileHandle(forReadingAtPath: outPath) {
            let data = (try? h.read(upToCount: 65536)) ?? nil
            try? h.close()
            out = String(decoding: data ?? Data(), as: UTF8.self)
        }
        return (exit, out.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
