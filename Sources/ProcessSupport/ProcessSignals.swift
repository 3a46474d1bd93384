#if canImport(Glibc)
import Glibc
#endif

/// How the storage-ctl personality treats signals. A process that dies between its RESERVE and its
/// exit holds a lock nobody knows about, and one that dies between two commands of a sequence leaves
/// it half done; so no signal may end storage-ctl in the middle of a command, and no handler runs.
///
/// Before the Swift runtime starts (a constructor in Sources/CEarlySignals, linked into the executable
/// only) and again on the first line of `StorageCtlMain.run` (for callers in-process), every catchable
/// signal whose default action ends the process (`held`) is blocked, and it is never unblocked. What becomes of them:
/// - `stop` (SIGINT, SIGTERM, SIGHUP, SIGQUIT) asks us to stop. `lock` collects them while it waits
///   (`SignalSleeper`, sigtimedwait(2)) and exits 5; a command that has not sent a SCSI command yet
///   stops there (after opening its device, which can wait), exit 5, nothing done; a command already
///   sending SCSI finishes its sequence, keeps the exit status that tells what it did, and says in one
///   stderr line that the signal came too late. A failed command keeps its status and its one line.
/// - a signal the caller left ignored stays ignored (`nohup storage-ctl ... lock` is not stopped by SIGHUP).
/// - the others (SIGUSR1, SIGUSR2, SIGALRM, the real-time signals, ...) are held off and ignored: they
///   stay pending and are discarded when the process exits.
/// SIGPIPE is ignored (in both personalities, `ProcessStart.prepare`): a write to a closed pipe fails with
/// EPIPE, which the writer reports as failed output (exit 7), instead of killing us with 141 holding the lock.
/// SIGKILL cannot be blocked; the simulated LU's commits survive it (SoakAndCrashTests).
///
/// The sg_persist personality keeps the default dispositions of the real sg_persist, except SIGPIPE.
public enum ProcessSignals {
    /// The signals that mean "stop": interactive (INT, QUIT), the terminal going away (HUP), and
    /// what service managers, `timeout` and `kill` send (TERM).
    public static let stop: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// Every catchable signal whose default action terminates the process. The synchronous ones
    /// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS) are left alone: they report a
    /// bug, and blocking them does not stop the kernel from killing us. Blocking SIGXFSZ makes a
    /// write past RLIMIT_FSIZE fail with EFBIG, an error we report, instead of a kill.
    public static var held: [Int32] {
        [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ,
         SIGIO, SIGPWR, SIGSTKFLT]
            + Array(__libc_current_sigrtmin()...__libc_current_sigrtmax())
    }

    /// Blocks `held` for the rest of the process's life (the process has one thread). A signal the
    /// caller left ignored (`nohup` ignores SIGHUP, a shell's background job SIGINT and SIGQUIT) stays
    /// ignored and unblocked: Linux queues a blocked signal even when it is ignored, and sigtimedwait
    /// would then take it as "stop".
    public static func holdTerminating() {
        var set = makeSet(held.filter { !isIgnored($0) })
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    static func isIgnored(_ signal: Int32) -> Bool {
        var current = sigaction()
        guard sigaction(signal, nil, &current) == 0 else { return false }
        return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
    }

    static var stopSet: sigset_t { makeSet(stop) }

    /// Takes one pending stop signal, if any, without waiting (sigtimedwait with a zero timeout).
    /// With the stop signals not blocked (tests in-process), there is never one pending.
    public static func takePendingStop() -> Int32? {
        var set = stopSet
        var zero = timespec(tv_sec: 0, tv_nsec: 0)
        // EAGAIN: none pending
        guard case .success(let signal) = SystemCall.valueOrErrno({ sigtimedwait(&set, nil, &zero) }), signal > 0 else { return nil }
        return signal
    }

    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        case SIGQUIT: return "SIGQUIT"
        default: return "signal \(signal)"
        }
    }

    static func makeSet(_ signals: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }
}
