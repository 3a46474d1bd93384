import CSGIO
import Glibc
import PRCore
import ProcessSupport

/// One I_T nexus through the Linux SCSI generic pass-through: `ioctl(SG_IO)` on an sg node
/// (`/dev/sgN`) or on a SCSI block device (`/dev/sdX`).
///
/// What this layer does and does not do:
/// - It delivers one CDB and reports what came back. SCSI-level outcomes (CHECK CONDITION, BUSY,
///   RESERVATION CONFLICT, TASK SET FULL, ...) are results, never errors. Data-in is trimmed by the
///   residual count, and empty when the status says the command was not executed.
/// - It never retries: not UNIT ATTENTION, not BUSY (the CLI retries; the sg_persist personality must
///   not), and not an SG_IO interrupted by a signal (the command may already have run on the device).
/// - Host status `DID_NEXUS_FAILURE` (0x11) is the mid-layer's word for a reservation conflict; when a
///   path reports it with a GOOD status byte, the result's `status` is set to RESERVATION CONFLICT so
///   the layers above need to look at `status` only. `hostStatus` keeps the raw value.
/// - Other host statuses that the mid-layer derives from the target's own status or sense
///   (`DID_TARGET_FAILURE` for ILLEGAL REQUEST, `DID_MEDIUM_ERROR`, `DID_ALLOC_FAILURE`) come back as
///   results too: the status byte and sense tell what happened.
/// - A timeout (`DID_TIME_OUT`, `DRIVER_TIMEOUT` or ETIMEDOUT) throws `.timeout`; any other host or
///   driver failure throws: the command was not delivered, or its outcome is unknown.
///
/// Use `DeviceResolver.open` rather than this initializer directly: the resolver checks through
/// sysfs that a character device is an sg node before anything opens it (opening an arbitrary
/// character device can have side effects: a tape rewinds on close, a watchdog arms).
public final class SGIOTransport: SCSITransport {
    /// What the node is, as far as SG_IO is concerned.
    public enum NodeKind: Sendable, Equatable {
        /// A character device of the sg driver (`/dev/sgN`).
        case scsiGeneric
        /// A block device whose driver accepts SG_IO (`/dev/sdX`, a dm-multipath map).
        case blockDevice
    }

    /// The path the user named (for messages): `/dev/nst0` even when `/dev/sg2` was opened.
    public let path: String
    /// The node actually opened.
    public let nodePath: String
    /// One line saying how `path` led to `nodePath`, for `-v` (nil when they are the same node).
    public let resolutionNote: String?
    public let nodeKind: NodeKind
    /// The sg interface version the node reported through SG_GET_VERSION_NUM (30536 = 3.5.36).
    public let sgVersion: Int32
    /// Kernel-side details of the last command that reached the device, for tracing.
    public private(set) var lastCommand: SGIOCommandRecord?
    /// The SCSI device (LU path) sysfs shows for the node, as the resolver found it; nil when it found none
    /// (a dm-multipath map, no sysfs): then the nexus is unknown.
    public let scsiAddress: SCSIAddress?
    /// Where sysfs is mounted, for `ownNexuses`.
    public let sysfsRoot: String
    private var ownNexusesRead: OwnNexuses?

    /// Internal: BlockPR sends the block layer's PR ioctls on the same open node.
    let fd: FileDescriptor

    /// Sense buffer offered to the kernel: the largest sense SPC allows (252 bytes).
    static let senseCapacity = 252

    /// Opens `nodePath` read-write, non-blocking (the sg driver then refuses rather than waits when
    /// someone holds the node exclusively; a block device opens without a medium), close-on-exec, and
    /// checks that it speaks SG_IO.
    ///
    /// - Parameters:
    ///   - nodePath: the sg node or SCSI block device to open.
    ///   - path: the path the user named, if different (a tape node, a by-id link); used in messages.
    ///   - resolutionNote: how `path` led to `nodePath`, for `-v`.
    ///   - scsiAddress: the node's SCSI device in sysfs (`DeviceResolution.address`), for `ownNexuses`.
    ///   - sysfsRoot: where sysfs is mounted.
    public init(nodePath: String, path: String? = nil, resolutionNote: String? = nil, scsiAddress: SCSIAddress? = nil,
                sysfsRoot: String = "/sys") throws(TransportError) {
        self.scsiAddress = scsiAddress
        self.sysfsRoot = sysfsRoot
        self.nodePath = nodePath
        self.path = path ?? nodePath
        self.resolutionNote = resolutionNote
        let opened: FileDescriptor
        do throws(Errno) {
            opened = try FileDescriptor.open(nodePath, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        } catch {
            throw SGIOErrors.openFailed(errno: error.rawValue, node: nodePath, userPath: self.path)
        }
        let status: SGIOSyscall.FileStatus
        switch SGIOSyscall.fstat(opened) {
        case .success(let s): status = s
        case .failure(let e):
            opened.close()
            throw TransportError(.io(errno: e), "cannot examine \(nodePath): \(e)")
        }
        switch status.type {
        case .characterDevice: nodeKind = .scsiGeneric
        case .blockDevice: nodeKind = .blockDevice
        default:
            opened.close()
            throw TransportError(.notSCSIDevice, "\(nodePath) is not a device node, so it cannot take SCSI commands")
        }
        var version: Int32 = 0
        // An ioctl that only asks: retrying an interrupted one is harmless.
        if case .failure(let error) = SystemCall.nothingOrReturnedErrno({ csgio_version(opened.rawValue, &version) }) {
            opened.close()
            throw TransportError(.notSCSIDevice,
                                 "\(nodePath) does not accept SCSI commands (SG_GET_VERSION_NUM: \(error.name)): not an sg node or SCSI disk")
        }
        sgVersion = version
        fd = opened
    }

    deinit {
        fd.close()
    }

    /// This host's nexuses to the node's LU, read from sysfs the first time they are asked for and kept: opening
    /// reads nothing more (the daemon runs storage-ctl on every mount), and only some verbs need them. No SCSI
    /// command is sent: the kernel read the VPD pages when it found the device.
    public var ownNexuses: OwnNexuses {
        if let ownNexusesRead { return ownNexusesRead }
        let read = scsiAddress.map { SCSIPaths.ownNexuses(of: $0, sysfsRoot: sysfsRoot) }
            ?? SCSIPaths.ownNexuses(unknownFor: nodePath, sysfsRoot: sysfsRoot)
        ownNexusesRead = read
        return read
    }

    /// This I_T nexus, from sysfs (`ownNexuses.this`): the session's or HBA port's TransportID and VPD 83h's
    /// relative target port; nil where either is unknown.
    public var knownNexus: Nexus? { ownNexuses.this }

    /// Sends one CDB with ioctl(SG_IO).
    ///
    /// `timeout` is the per-command limit the kernel enforces (rounded up to milliseconds; zero or
    /// negative means the kernel's default for the queue). Bidirectional commands are refused.
    public func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
        try Self.validate(cdb: cdb, dataOutCount: dataOut.count, dataInLength: dataInLength)
        let direction: csgio_direction
        var buffer: [UInt8]
        if !dataOut.isEmpty {
            direction = CSGIO_DIR_TO_DEV
            buffer = dataOut
        } else if dataInLength > 0 {
            direction = CSGIO_DIR_FROM_DEV
            buffer = [UInt8](repeating: 0, count: dataInLength)
        } else {
            direction = CSGIO_DIR_NONE
            buffer = []
        }
        var sense = [UInt8](repeating: 0, count: Self.senseCapacity)
        var raw = csgio_result()
        let timeoutMilliseconds = Self.milliseconds(timeout)
        let fd = self.fd.rawValue
        // Not retried on EINTR (`retryOnInterrupt: false`): an interrupted SG_IO may already have reached the
        // device, and a PR OUT sent twice is not the same as once.
        let outcome = SystemCall.nothingOrReturnedErrno(retryOnInterrupt: false) {
            cdb.withUnsafeBufferPointer { c in
                buffer.withUnsafeMutableBytes { d in
                    sense.withUnsafeMutableBufferPointer { s in
                        csgio_execute(fd, c.baseAddress, UInt8(c.count), Int32(direction.rawValue),
                                      d.baseAddress, UInt32(d.count), s.baseAddress, UInt8(s.count),
                                      timeoutMilliseconds, &raw)
                    }
                }
            }
        }
        if case .failure(let error) = outcome {
            throw SGIOErrors.commandFailed(errno: error.rawValue, cdb: cdb, node: nodePath, kind: nodeKind,
                                           timeoutMilliseconds: timeoutMilliseconds)
        }

        let deviceStatus = ScsiStatus(rawValue: raw.status)
        let host = SGIOHostStatus(rawValue: raw.host_status)
        let driver = SGIODriverStatus(rawValue: raw.driver_status)
        let senseLength = min(Int(raw.sb_len_wr), sense.count)
        lastCommand = SGIOCommandRecord(cdb: cdb, status: deviceStatus, hostStatus: host, driverStatus: driver,
                                        senseLength: senseLength, residual: raw.resid,
                                        kernelDurationMilliseconds: raw.duration, info: raw.info)

        let status = try Self.interpret(status: deviceStatus, host: host, driver: driver, cdb: cdb,
                                        node: nodePath, timeoutMilliseconds: timeoutMilliseconds)
        let data = direction == CSGIO_DIR_FROM_DEV ? Self.transferredData(buffer, residual: raw.resid, status: status) : []
        return SCSICommandResult(status: status, sense: Array(sense[0..<senseLength]), data: data,
                                 hostStatus: raw.host_status, driverStatus: raw.driver_status)
    }

    /// The largest data transfer accepted (16 MiB): far above any PR or INQUIRY response, and small
    /// enough that a wrong length cannot make the buffer allocation fail.
    static let maxTransferLength = 16 << 20

    /// Refuses what SG_IO cannot carry, before anything is allocated or sent.
    static func validate(cdb: [UInt8], dataOutCount: Int, dataInLength: Int) throws(TransportError) {
        guard cdb.count >= 1, cdb.count <= Int(CSGIO_MAX_CDB_LEN) else {
            throw TransportError(.other, "a CDB of \(cdb.count) bytes cannot be sent through SG_IO (1 to \(CSGIO_MAX_CDB_LEN) bytes)")
        }
        guard dataInLength >= 0, dataInLength <= maxTransferLength, dataOutCount <= maxTransferLength else {
            throw TransportError(.other, "a data transfer of \(dataInLength < 0 ? dataInLength : max(dataInLength, dataOutCount)) bytes is out of range for SG_IO (0 to \(maxTransferLength))")
        }
        guard dataOutCount == 0 || dataInLength == 0 else {
            throw TransportError(.other, "bidirectional commands are not supported (\(dataOutCount) bytes out, \(dataInLength) in)")
        }
    }

    /// The rules of the type comment, as one pure function (tested without a device): the status to
    /// report, or the error to throw.
    static func interpret(status: ScsiStatus, host: SGIOHostStatus, driver: SGIODriverStatus, cdb: [UInt8],
                          node: String, timeoutMilliseconds: UInt32) throws(TransportError) -> ScsiStatus {
        if host == .timeOut || driver.code == .timeout {
            throw SGIOErrors.timedOut(cdb: cdb, node: node, timeoutMilliseconds: timeoutMilliseconds)
        }
        if host == .nexusFailure {
            return status == .good ? .reservationConflict : status
        }
        if host != .ok {
            // A status the mid-layer derived from what the target said: the status byte is the answer.
            if host.isDerivedFromTargetStatus && status != .good { return status }
            throw TransportError(.other,
                                 "\(SGIOErrors.commandName(cdb)) to \(node) failed below SCSI: host status \(host) (\(host.explanation))")
        }
        switch driver.code {
        case .ok, .sense:
            return status
        default:
            if status != .good { return status }
            throw TransportError(.other, "\(SGIOErrors.commandName(cdb)) to \(node) failed below SCSI: driver status \(driver)")
        }
    }

    /// The data-in bytes to report: the buffer less the residual count, and nothing at all for the
    /// statuses meaning the command was not executed. (On the test bed a READ refused with RESERVATION
    /// CONFLICT comes back with resid 0, as if the whole zero-filled buffer had been transferred.)
    /// CHECK CONDITION keeps what the residual says: a RECOVERED ERROR transfers valid data.
    static func transferredData(_ buffer: [UInt8], residual: Int32, status: ScsiStatus) -> [UInt8] {
        switch status {
        case .reservationConflict, .busy, .taskSetFull, .acaActive, .taskAborted:
            return []
        default:
            let resid = min(max(Int(residual), 0), buffer.count)
            return Array(buffer[0..<(buffer.count - resid)])
        }
    }

    /// A `Duration` as the `timeout` of `struct sg_io_hdr`: milliseconds rounded up, 0 (the kernel's
    /// default) for zero or negative, and below UINT_MAX (which would mean "never").
    static func milliseconds(_ timeout: Duration) -> UInt32 {
        let (seconds, attoseconds) = timeout.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let limit = Int64(UInt32.max - 1)
        if seconds >= limit / 1000 { return UInt32(limit) }
        let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
        let fraction = attoseconds > 0 ? (attoseconds + attosecondsPerMillisecond - 1) / attosecondsPerMillisecond : 0
        return UInt32(min(limit, seconds * 1000 + fraction))
    }
}

/// What the kernel reported for one command, beyond `SCSICommandResult`: for `-v` traces and for
/// measuring (`kernelDurationMilliseconds` is the kernel's own timing of the command).
public struct SGIOCommandRecord: Sendable, Equatable {
    public var cdb: [UInt8]
    /// The status byte as the device sent it (before the DID_NEXUS_FAILURE rule).
    public var status: ScsiStatus
    public var hostStatus: SGIOHostStatus
    public var driverStatus: SGIODriverStatus
    public var senseLength: Int
    /// `resid`: requested minus transferred bytes.
    public var residual: Int32
    public var kernelDurationMilliseconds: UInt32
    /// SG_INFO_* bits (bit 0: something abnormal happened).
    public var info: UInt32
}
