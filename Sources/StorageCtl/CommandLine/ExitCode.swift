/// The documented exit status of storage-ctl (README.md "Exit status", the man page and --help).
///
/// Backup daemons branch on these numbers, so they are an interface: never renumber.
public enum ExitCode: Int32, Sendable, CaseIterable {
    /// Done; for lock/trylock, we hold the reservation.
    case ok = 0
    /// Another key holds the reservation (trylock, or a command refused with RESERVATION CONFLICT).
    case busy = 1
    /// Usage or configuration error.
    case usage = 2
    /// Device error: cannot open, not SCSI, PR unsupported, SCSI or I/O error, timeout.
    case device = 3
    /// `lock` gave up after `max_lock_wait` seconds.
    case timedOut = 4
    /// Interrupted by a signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) while `lock` waited, or before the
    /// command sent its first SCSI command; nothing was left half-done and nothing was taken.
    case interrupted = 5
    /// Our initiator (I_T nexus) is registered under another key: two storage daemons sharing one
    /// initiator, or `key=` changed on this host. Refused, the other key's registration left alone.
    case initiatorShared = 6
    /// Standard output could not be written (full disk, closed descriptor, broken pipe, I/O error):
    /// what was asked for did not reach the caller. A command that changes state writes nothing on
    /// stdout, so its status still tells what it did; a failed write to stderr never changes a status.
    case outputFailed = 7

    /// What the code means, as `--help`, README.md ("Exit status") and the man page (EXIT STATUS) say
    /// it, word for word: written once here, `--help` prints it and DocsInStepTests holds the two
    /// documents to it.
    public var meaning: String {
        switch self {
        case .ok: "done (lock, trylock: we hold the lock)"
        case .busy: "busy: another key holds the lock, or the device refused the command with RESERVATION "
            + "CONFLICT (preempt: KEY is not registered); audit: a registered key the configuration does not "
            + "name, a key registered through initiators of more than one host, or ours through a path of this "
            + "host that is gone"
        case .usage: "usage or configuration error (an empty DEVICE, preempt of our own key, a command that "
            + "needs a key and finds none, a configuration that cannot be read)"
        case .device: "device error (cannot open, not SCSI, no PR support, SCSI or I/O error, timeout); drives: "
            + "some drive could not be asked (its row says why)"
        case .timedOut: "lock gave up after max_lock_wait seconds"
        case .interrupted: "interrupted by SIGINT, SIGTERM, SIGHUP or SIGQUIT while lock waited or before the "
            + "first SCSI command was sent; nothing was taken"
        case .initiatorShared: "our initiator is already registered under another key: two storage daemons "
            + "share one initiator (set initiator=) or key= was changed"
        case .outputFailed: "output could not be written (stdout: full disk, closed or broken pipe)"
        }
    }
}

/// A failure that ends the command: one line for stderr and the exit code that goes with it.
///
/// `message` is printed as `storage-ctl: <message>`; for device failures it already starts with
/// the device path (`/dev/sg0: ...`), so every line names what failed.
public struct StorageCtlError: Error, Sendable, Equatable, CustomStringConvertible {
    public var exitCode: ExitCode
    public var message: String

    public init(_ exitCode: ExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    public static func usage(_ message: String) -> StorageCtlError { StorageCtlError(.usage, message) }
    public static func device(_ path: String, _ message: String) -> StorageCtlError {
        StorageCtlError(.device, "\(path): \(message)")
    }
    public var description: String { "storage-ctl: \(message)" }
}
