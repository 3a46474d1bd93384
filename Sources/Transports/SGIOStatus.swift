import PRCore

/// Host status (`host_status` of `struct sg_io_hdr`): what the Linux SCSI mid-layer and the host bus
/// adapter say about the delivery of a command, as opposed to the target's SCSI status.
///
/// The values are the kernel's `enum host_status` (include/scsi/scsi_status.h, not exported to user
/// space). Unknown values stay representable.
public struct SGIOHostStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// No error. The corresponding kernel value is `DID_OK` (0x00).
    public static let ok = SGIOHostStatus(rawValue: 0x00)
    /// The device did not answer selection / the connection is gone. `DID_NO_CONNECT` (0x01).
    public static let noConnect = SGIOHostStatus(rawValue: 0x01)
    /// The bus stayed busy. `DID_BUS_BUSY` (0x02).
    public static let busBusy = SGIOHostStatus(rawValue: 0x02)
    /// The command timed out and was aborted. `DID_TIME_OUT` (0x03).
    public static let timeOut = SGIOHostStatus(rawValue: 0x03)
    /// Bad target. `DID_BAD_TARGET` (0x04).
    public static let badTarget = SGIOHostStatus(rawValue: 0x04)
    /// Aborted. `DID_ABORT` (0x05).
    public static let abort = SGIOHostStatus(rawValue: 0x05)
    /// Parity error. `DID_PARITY` (0x06).
    public static let parity = SGIOHostStatus(rawValue: 0x06)
    /// Internal error of the host adapter. `DID_ERROR` (0x07).
    public static let error = SGIOHostStatus(rawValue: 0x07)
    /// Reset by somebody. `DID_RESET` (0x08).
    public static let reset = SGIOHostStatus(rawValue: 0x08)
    /// Unexpected interrupt. `DID_BAD_INTR` (0x09).
    public static let badInterrupt = SGIOHostStatus(rawValue: 0x09)
    /// Force command past mid-layer. `DID_PASSTHROUGH` (0x0a).
    public static let passthrough = SGIOHostStatus(rawValue: 0x0a)
    /// The low-level driver wants a retry. `DID_SOFT_ERROR` (0x0b).
    public static let softError = SGIOHostStatus(rawValue: 0x0b)
    /// Retry without decrementing the retry count. `DID_IMM_RETRY` (0x0c).
    public static let immediateRetry = SGIOHostStatus(rawValue: 0x0c)
    /// Requeue the command. `DID_REQUEUE` (0x0d).
    public static let requeue = SGIOHostStatus(rawValue: 0x0d)
    /// The transport was disrupted (e.g. an iSCSI connection dropped). `DID_TRANSPORT_DISRUPTED` (0x0e).
    public static let transportDisrupted = SGIOHostStatus(rawValue: 0x0e)
    /// The transport failed fast. `DID_TRANSPORT_FAILFAST` (0x0f).
    public static let transportFailfast = SGIOHostStatus(rawValue: 0x0f)
    /// The mid-layer classified the target's sense as a permanent error (e.g. ILLEGAL REQUEST 24/00).
    /// `DID_TARGET_FAILURE` (0x10).
    public static let targetFailure = SGIOHostStatus(rawValue: 0x10)
    /// Reservation conflict: the mid-layer's name for SCSI status 18h. `DID_NEXUS_FAILURE` (0x11).
    public static let nexusFailure = SGIOHostStatus(rawValue: 0x11)
    /// Space allocation failure on the target. `DID_ALLOC_FAILURE` (0x12).
    public static let allocationFailure = SGIOHostStatus(rawValue: 0x12)
    /// Medium error reported by the target. `DID_MEDIUM_ERROR` (0x13).
    public static let mediumError = SGIOHostStatus(rawValue: 0x13)
    /// The transport is marginal. `DID_TRANSPORT_MARGINAL` (0x14).
    public static let transportMarginal = SGIOHostStatus(rawValue: 0x14)

    /// The kernel's name, as sg3_utils prints it ("DID_NEXUS_FAILURE").
    public var name: String {
        switch rawValue {
        case 0x00: return "DID_OK"
        case 0x01: return "DID_NO_CONNECT"
        case 0x02: return "DID_BUS_BUSY"
        case 0x03: return "DID_TIME_OUT"
        case 0x04: return "DID_BAD_TARGET"
        case 0x05: return "DID_ABORT"
        case 0x06: return "DID_PARITY"
        case 0x07: return "DID_ERROR"
        case 0x08: return "DID_RESET"
        case 0x09: return "DID_BAD_INTR"
        case 0x0a: return "DID_PASSTHROUGH"
        case 0x0b: return "DID_SOFT_ERROR"
        case 0x0c: return "DID_IMM_RETRY"
        case 0x0d: return "DID_REQUEUE"
        case 0x0e: return "DID_TRANSPORT_DISRUPTED"
        case 0x0f: return "DID_TRANSPORT_FAILFAST"
        case 0x10: return "DID_TARGET_FAILURE"
        case 0x11: return "DID_NEXUS_FAILURE"
        case 0x12: return "DID_ALLOC_FAILURE"
        case 0x13: return "DID_MEDIUM_ERROR"
        case 0x14: return "DID_TRANSPORT_MARGINAL"
        default: return "DID_0x" + Hex.twoDigits(rawValue)
        }
    }

    /// What the value means for someone reading an error line.
    var explanation: String {
        switch rawValue {
        case 0x01: return "the device did not answer or its connection is gone"
        case 0x02: return "the bus stayed busy"
        case 0x03: return "the command timed out"
        case 0x04: return "the target address is not valid"
        case 0x05: return "the command was aborted"
        case 0x06: return "parity error on the bus"
        case 0x07: return "the host adapter reported an internal error"
        case 0x08: return "the bus or device was reset while the command ran"
        case 0x09: return "unexpected interrupt"
        case 0x0b, 0x0c, 0x0d: return "the driver asked for a retry"
        case 0x0e: return "the transport was disrupted (connection lost)"
        case 0x0f: return "the transport is failing commands fast (path down)"
        case 0x14: return "the transport is marginal"
        default: return "host adapter error"
        }
    }

    /// True for the values the mid-layer derives from the target's own SCSI status or sense data
    /// (the command was delivered, and the status byte tells what happened).
    var isDerivedFromTargetStatus: Bool {
        switch rawValue {
        case 0x10, 0x11, 0x12, 0x13: return true
        default: return false
        }
    }

    public var description: String { "\(name) (0x\(Hex.twoDigits(rawValue)))" }
}

/// Driver status (`driver_status` of `struct sg_io_hdr`): the low nibble is a DRIVER_* code, the high
/// nibble an obsolete SUGGEST_* hint. Modern kernels set at most DRIVER_SENSE (sense data is present)
/// and, from the sg driver, DRIVER_TIMEOUT.
public struct SGIODriverStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// `DRIVER_OK` (0x00).
    public static let ok = SGIODriverStatus(rawValue: 0x00)
    /// `DRIVER_BUSY` (0x01).
    public static let busy = SGIODriverStatus(rawValue: 0x01)
    /// `DRIVER_SOFT` (0x02).
    public static let soft = SGIODriverStatus(rawValue: 0x02)
    /// `DRIVER_MEDIA` (0x03).
    public static let media = SGIODriverStatus(rawValue: 0x03)
    /// `DRIVER_ERROR` (0x04).
    public static let error = SGIODriverStatus(rawValue: 0x04)
    /// `DRIVER_INVALID` (0x05).
    public static let invalid = SGIODriverStatus(rawValue: 0x05)
    /// The command timed out. `DRIVER_TIMEOUT` (0x06).
    public static let timeout = SGIODriverStatus(rawValue: 0x06)
    /// `DRIVER_HARD` (0x07).
    public static let hard = SGIODriverStatus(rawValue: 0x07)
    /// Sense data was returned. `DRIVER_SENSE` (0x08).
    public static let sense = SGIODriverStatus(rawValue: 0x08)

    /// The DRIVER_* code without the SUGGEST_* bits.
    public var code: SGIODriverStatus { SGIODriverStatus(rawValue: rawValue & 0x0f) }

    public var name: String {
        switch rawValue & 0x0f {
        case 0: return "DRIVER_OK"
        case 1: return "DRIVER_BUSY"
        case 2: return "DRIVER_SOFT"
        case 3: return "DRIVER_MEDIA"
        case 4: return "DRIVER_ERROR"
        case 5: return "DRIVER_INVALID"
        case 6: return "DRIVER_TIMEOUT"
        case 7: return "DRIVER_HARD"
        case 8: return "DRIVER_SENSE"
        default: return "DRIVER_0x" + Hex.twoDigits(rawValue & 0x0f)
        }
    }

    public var description: String { "\(name) (0x\(Hex.twoDigits(rawValue)))" }
}
