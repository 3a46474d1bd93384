/// SCSI status byte (SAM-5 table "Status codes").
///
/// Unknown values stay representable: a device may answer anything.
public struct ScsiStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// GOOD (00h).
    public static let good = ScsiStatus(rawValue: 0x00)
    /// CHECK CONDITION (02h): sense data describes the error.
    public static let checkCondition = ScsiStatus(rawValue: 0x02)
    /// CONDITION MET (04h).
    public static let conditionMet = ScsiStatus(rawValue: 0x04)
    /// BUSY (08h): the logical unit cannot accept the command now; retry later.
    public static let busy = ScsiStatus(rawValue: 0x08)
    /// RESERVATION CONFLICT (18h): another I_T nexus holds a reservation; carries no sense data.
    public static let reservationConflict = ScsiStatus(rawValue: 0x18)
    /// TASK SET FULL (28h).
    public static let taskSetFull = ScsiStatus(rawValue: 0x28)
    /// ACA ACTIVE (30h).
    public static let acaActive = ScsiStatus(rawValue: 0x30)
    /// TASK ABORTED (40h).
    public static let taskAborted = ScsiStatus(rawValue: 0x40)

    /// The name sg3_utils prints (`sg_get_scsi_status_str`).
    public var name: String {
        switch rawValue {
        case 0x00: return "Good"
        case 0x02: return "Check Condition"
        case 0x04: return "Condition Met"
        case 0x08: return "Busy"
        case 0x10: return "Intermediate (obsolete)"
        case 0x14: return "Intermediate-Condition Met (obsolete)"
        case 0x18: return "Reservation Conflict"
        case 0x22: return "Command terminated (obsolete)"
        case 0x28: return "Task Set Full"
        case 0x30: return "ACA Active"
        case 0x40: return "Task Aborted"
        default: return "Unknown status [0x\(String(rawValue, radix: 16))]"
        }
    }
    public var description: String { name }
}
