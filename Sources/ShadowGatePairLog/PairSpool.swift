import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Append-only spool files holding COPY text rows while PostgreSQL cannot take them.
///
/// - Rows of one kind (pairs or labels) per spool: appended whole (one `write` loop per batch) to
///   the current file `<kind>-<micros>-<seq>.spool`; a torn last line after a crash is ignored on replay.
/// - The current file is sealed (closed, no longer appended to) before it is replayed or when it
///   passes `rotateBytes`; only sealed files are read, so appending and replaying never touch the
///   same file. Files left from an earlier run are sealed files.
/// - The total size of all files stays at or below `maxBytes`; an append that would pass it is refused.
/// - Thread-safe (one internal lock); one writer per spool directory.
final class PairSpool: @unchecked Sendable {
    enum AppendResult: Equatable { case spooled, full, failed(String) }

    let directory: String
    let kind: PairLogRowKind
    let maxBytes: Int
    let rotateBytes: Int
    private let lock = NSLock()
    private var fd: Int32 = -1
    private var currentPath: String?
    private var currentBytes = 0
    private var sealed: [(path: String, bytes: Int)] = []
    private var seq = 0

    /// Creates the directory if needed and adopts files of `kind` left by an earlier run.
    /// - Throws: `.spoolFailed` when the directory cannot be created or listed.
    init(directory: String, kind: PairLogRowKind = .pairs, maxBytes: Int, rotateBytes: Int = 64 << 20) throws {
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.kind = kind
        self.maxBytes = maxBytes
        self.rotateBytes = rotateBytes
        do {
            try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
            let names = try FileManager.default.contentsOfDirectory(atPath: self.directory)
                .filter { $0.hasPrefix("\(kind.rawValue)-") && $0.hasSuffix(".spool") }.sorted()
            for n in names {
                let p = self.directory + "/" + n
                let size = (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0
                if size == 0 { try? FileManager.default.removeItem(atPath: p) } else { sealed.append((p, size)) }
            }
        } catch {
            throw PairLogError(.spoolFailed, "The spool directory \(self.directory) could not be created or read: \(error.localizedDescription)")
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    var totalBytes: Int { lock.withLock { currentBytes + sealed.reduce(0) { $0 + $1.bytes } } }
    var isEmpty: Bool { lock.withLock { currentBytes == 0 && sealed.isEmpty } }

    /// Appends whole rows. Refuses (`.full`) when the spool would pass `maxBytes`.
    func append(_ bytes: [UInt8]) -> AppendResult {
        lock.withLock {
            let total = currentBytes + sealed.reduce(0) { $0 + $1.bytes }
            if total + bytes.count > maxBytes { return .full }
            if fd < 0 || currentBytes >= rotateBytes {
                sealCurrentLocked()
                seq += 1
                let micros = Int64(Date().timeIntervalSince1970 * 1_000_000)
                let name = "\(kind.rawValue)-\(String(format: "%020lld", micros))-\(String(format: "%06d", seq)).spool"
                let path = directory + "/" + name
                let f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
                if f < 0 { return .failed("could not create \(path): errno \(errno)") }
                fd = f
                currentPath = path
                currentBytes = 0
            }
            var off = 0
            let ok = bytes.withUnsafeBytes { buf -> Bool in
                while off < buf.count {
                    let n = write(fd, buf.baseAddress! + off, buf.count - off)
                    if n < 0 { if errno == EINTR { continue }; return false }
                    off += n
                }
                return true
            }
            currentBytes += off
            if !ok {
                // Cut the torn row off so the file still holds whole rows only.
                _ = ftruncate(fd, off_t(currentBytes - off))
                currentBytes -= off
                return .failed("write to \(currentPath ?? directory) failed: errno \(errno)")
            }
            return .spooled
        }
    }

    /// The oldest sealed file to replay, sealing the current one first when nothing else is sealed.
    func oldestForReplay() -> String? {
        lock.withLock {
            if sealed.isEmpty && currentBytes > 0 { sealCurrentLocked() }
            return sealed.first?.path
        }
    }

    /// Deletes a replayed file.
    func remove(_ path: String) {
        lock.withLock {
            sealed.removeAll { $0.path == path }
            unlink(path)
        }
    }

    private func sealCurrentLocked() {
        if fd >= 0 {
            close(fd)
            fd = -1
            if let p = currentPath {
                if currentBytes > 0 { sealed.append((p, currentBytes)) } else { unlink(p) }
            }
        }
        currentPath = nil
        currentBytes = 0
    }

    /// Reads a spool file in chunks of whole rows (about `chunkBytes` each) and hands each to `body`.
    func forEachChunk(of path: String, chunkBytes: Int = 8 << 20, _ body: (PairBatch) throws -> Void) throws {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw PairLogError(.spoolFailed, "The spool file \(path) could not be opened")
        }
        defer { try? h.close() }
        var carry: [UInt8] = []
        while true {
            let data: Data?
            do { data = try h.read(upToCount: chunkBytes) } catch {
                throw PairLogError(.spoolFailed, "The spool file \(path) could not be read: \(error.localizedDescription)")
            }
            guard let data, !data.isEmpty else { break }
            carry.append(contentsOf: data)
            guard let lastNL = carry.lastIndex(of: 0x0A) else { continue }
            let batch = PairBatch(kind: kind, scanning: Array(carry[...lastNL]))
            carry.removeFirst(lastNL + 1)
            try body(batch)
        }
        // Bytes after the last newline are a torn row from a crash: ignored.
    }
}
