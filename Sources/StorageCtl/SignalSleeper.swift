#if canImport(Glibc)
import Glibc
#endif

/// Sleeps that a SIGINT or SIGTERM ends at once, without a signal handler or global state.
///
/// While `lock` waits, both signals are blocked and collected with sigtimedwait(2). A signal
/// that arrives during a SCSI command stays pending until the next sleep, so a command is never
/// cut in half and "nothing is left half-done" holds by construction.
public final class SignalSleeper {
    private var set = sigset_t()
    private var previous = sigset_t()

    public init() {
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, &previous)
    }

    deinit {
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    /// Waits up to `duration`; returns the signal number if SIGINT/SIGTERM came, else nil.
    public func sleep(_ duration: Duration) -> Int32? {
        let deadline = ContinuousClock.now + duration
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            let nanos = max(Int64(0), left.nanoseconds)
            var timeout = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
            let signal = sigtimedwait(&set, nil, &timeout)
            if signal > 0 { return signal }
            if errno == EINTR, ContinuousClock.now < deadline { continue }  // another signal; keep waiting
            return nil
        }
    }

    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        default: return "signal \(signal)"
        }
    }
}
