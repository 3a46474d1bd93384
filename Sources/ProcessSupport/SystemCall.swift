#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How every system call of the program is made (swift-system's `valueOrErrno` and `_retryOnInterrupt`):
/// the call's value, or the `Errno` it failed with, read here right after the failure. EINTR is retried in
/// `retryingOnInterrupt` and nowhere else; a call that must not be retried says so with
/// `retryOnInterrupt: false` and a comment saying why (close(2), SG_IO, a wait a signal must end).
public enum SystemCall {
    /// Runs `attempt` again for as long as it fails with EINTR: the program's one EINTR loop.
    @inline(__always)
    public static func retryingOnInterrupt<T>(_ attempt: () -> Result<T, Errno>) -> Result<T, Errno> {
        while true {
            let result = attempt()
            if case .failure(.interrupted) = result { continue }
            return result
        }
    }

    /// A call that returns -1 and sets errno on failure (open, read, write, fstat, flock, ...).
    @inline(__always)
    public static func valueOrErrno<I: FixedWidthInteger>(retryOnInterrupt: Bool = true,
                                                          _ call: () -> I) -> Result<I, Errno> {
        retryOnInterrupt ? retryingOnInterrupt { once(call) } : once(call)
    }

    @inline(__always)
    private static func once<I: FixedWidthInteger>(_ call: () -> I) -> Result<I, Errno> {
        let value = call()
        return value == -1 ? .failure(.current) : .success(value)
    }

    /// A call that returns -1 and sets errno on failure, whose value on success means nothing.
    @inline(__always)
    public static func nothingOrErrno<I: FixedWidthInteger>(retryOnInterrupt: Bool = true,
                                                            _ call: () -> I) -> Result<Void, Errno> {
        valueOrErrno(retryOnInterrupt: retryOnInterrupt, call).map { _ in () }
    }

    /// A call that returns its error number instead of setting errno (posix_fallocate(3), the CSGIO shim):
    /// 0 is success.
    @inline(__always)
    public static func nothingOrReturnedErrno(retryOnInterrupt: Bool = true,
                                              _ call: () -> Int32) -> Result<Void, Errno> {
        retryOnInterrupt ? retryingOnInterrupt { returnedOnce(call) } : returnedOnce(call)
    }

    @inline(__always)
    private static func returnedOnce(_ call: () -> Int32) -> Result<Void, Errno> {
        let code = call()
        return code == 0 ? .success(()) : .failure(Errno(rawValue: code))
    }

    /// A call that returns NULL and sets errno on failure (realpath, opendir, getcwd). Not retried: none of
    /// these report EINTR.
    @inline(__always)
    public static func pointerOrErrno<T>(_ call: () -> T?) -> Result<T, Errno> {
        guard let value = call() else { return .failure(.current) }
        return .success(value)
    }

    /// Sleeps the calling thread for `duration` (nanosleep(2)); a signal that interrupts it (one not
    /// blocked, SIGSTOP/SIGCONT) does not shorten it: the rest is slept.
    public static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        guard seconds > 0 || (seconds == 0 && attoseconds > 0) else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        _ = nothingOrErrno {
            let result = nanosleep(&request, &remaining)
            request = remaining
            return result
        }
    }
}
