#if canImport(Glibc)
import Glibc
#endif

/// Sleeps that a stop signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) ends at once, without a signal
/// handler or global state.
///
/// The signals are blocked for the whole run (`ProcessSignals.holdTerminating`), so this only
/// collects them with sigtimedwait(2); a signal that arrives during a SCSI command stays pending
/// until the next sleep (or the end of the command), so a command is never cut in half and
/// "nothing is left half-done" holds by construction. Nothing is unblocked when the sleeper goes.
public final class SignalSleeper {
    private var set = ProcessSignals.stopSet

    public init() {}

    /// Waits up to `duration`; returns the signal number if a stop signal came, else nil.
    public func sleep(_ duration: Duration) -> Int32? {
        let deadline = ContinuousClock.now + duration
        // EINTR (SIGSTOP/SIGCONT, not a stop signal) is retried with what is left until the deadline, so the
        // wait keeps its end; only a stop signal (the return value) or the timeout (EAGAIN) ends it.
        let signal = SystemCall.valueOrErrno {
            let (seconds, attoseconds) = ContinuousClock.now.duration(to: deadline).components
            let nanos = max(Int64(0), seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            var timeout = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
            return sigtimedwait(&set, nil, &timeout)
        }
        guard case .success(let number) = signal, number > 0 else { return nil }
        return number
    }
}
