import PRCore
import ProcessSupport

/// What one SCSI command produced, as the initiator sees it.
///
/// The simulated LU fills `status`, `sense` and `data`; SG_IO also fills the host and driver
/// status the Linux mid-layer reports (DID_NEXUS_FAILURE 0x11 means a reservation conflict).
public struct SCSICommandResult: Sendable, Equatable {
    public var status: ScsiStatus
    /// Sense bytes as returned (fixed or descriptor format), empty when none.
    public var sense: [UInt8]
    /// Data-in bytes actually transferred (already trimmed to the residual count).
    public var data: [UInt8]
    /// Linux `host_status` (DID_*), 0 for the simulated LU.
    public var hostStatus: UInt16
    /// Linux `driver_status` (DRIVER_*), 0 for the simulated LU.
    public var driverStatus: UInt16

    public init(status: ScsiStatus, sense: [UInt8] = [], data: [UInt8] = [], hostStatus: UInt16 = 0, driverStatus: UInt16 = 0) {
        self.status = status
        self.sense = sense
        self.data = data
        self.hostStatus = hostStatus
        self.driverStatus = driverStatus
    }
}

/// A failure below the SCSI layer: the command could not be delivered or its result is unknown.
/// Every such failure is a device error for the CLI (exit 3).
public struct TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// open(2) failed; errno kept so the CLI can say which privilege or node is missing.
        case open(errno: Errno)
        /// The path exists but is not something we can send SCSI commands to.
        case notSCSIDevice
        /// The command timed out (`command_timeout`).
        case timeout
        /// Another process held the simulated LU's file lock past the wait allowed (a stopped storage-ctl):
        /// the drive was never reached, so `lock` may give up as it does when the drive stays busy.
        case lockWait
        /// ioctl/read/write failed after the device was opened.
        case io(errno: Errno)
        /// The simulated LU's file is not a valid state file (corrupt, foreign, or a newer version).
        case corruptState
        /// Anything else, described by `message`.
        case other
    }
    public var kind: Kind
    /// One line, no trailing newline, without the "storage-ctl: DEVICE:" prefix.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}

/// One I_T nexus to one logical unit. Commands are executed one at a time, in order.
///
/// Implementations: `SimulatedLU` (a regular file running the CDB bytes through the PR engine)
/// and `SGIOTransport` (Linux SG_IO on /dev/sgN or a SCSI block device).
public protocol SCSITransport: AnyObject {
    /// The path the user named (for messages).
    var path: String { get }
    /// Sends one CDB. `dataOut` is the data-out buffer (empty for none); `dataInLength` is the
    /// size of the data-in buffer (0 for none). SCSI-level errors (CHECK CONDITION, RESERVATION
    /// CONFLICT, ...) are returned in the result, never thrown.
    func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult
    /// This I_T nexus as the LU's READ FULL STATUS shows it (initiator TransportID + relative target
    /// port), when the transport knows it: the simulated LU does (its configured initiator); SG_IO
    /// derives it from sysfs (the session or HBA port above the device, VPD 83h's relative target port)
    /// where it can, else `nil`.
    var knownNexus: Nexus? { get }
    /// This host's nexuses to the LU: `knownNexus`, the other live paths, the host's initiator ports
    /// (docs/DESIGN.md "Several paths to one drive"). By default only `knownNexus`, nothing else known.
    var ownNexuses: OwnNexuses { get }
}

extension SCSITransport {
    public var knownNexus: Nexus? { nil }
    public var ownNexuses: OwnNexuses { OwnNexuses(this: knownNexus) }
}
