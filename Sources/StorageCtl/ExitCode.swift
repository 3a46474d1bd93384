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
