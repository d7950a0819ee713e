#if canImport(Glibc)
import Glibc
#endif

/// `--work-us N`: N µs of busy user-space work per forwarded request (`--bytes` only).
///
/// It answers one question about the gateway's cost: whether the kernel time it spends beyond the
/// byte forwarder, for the same six syscalls per request, comes from the gateway's own user time.
/// On a small machine a slower front lets its peers (wrk, the stubs) fall asleep between its writes,
/// and waking a sleeping peer costs the writer more kernel time than waking a busy one. The spin
/// does no syscalls (the clock is read through the vDSO), so any kernel time it adds is that effect.
struct AddedWork: Sendable {
    let nanoseconds: UInt64

    func spend() {
        guard nanoseconds > 0 else { return }
        let end = Self.now() + nanoseconds
        while Self.now() < end {}
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
