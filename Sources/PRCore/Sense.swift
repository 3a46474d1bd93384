/// Sense data: sense keys, additional sense codes (ASC/ASCQ) and the sense data formats.
///
/// `pr-semantics.md` §4.9:
///
/// | Byte | Fixed format (70h current / 71h deferred) |
/// |---|---|
/// | 0 | bit 7 VALID, bits 6–0 RESPONSE CODE (70h/71h) |
/// | 2 | bits 3–0 SENSE KEY |
/// | 3–6 | INFORMATION |
/// | 7 | ADDITIONAL SENSE LENGTH (0Ah: 18-byte sense) |
/// | 12 | ADDITIONAL SENSE CODE |
/// | 13 | ADDITIONAL SENSE CODE QUALIFIER |
/// | 15 | bit 7 SKSV; for 24/00 and 26/00: bit 6 C/D (1 = CDB), bit 3 BPV, bits 2–0 BIT POINTER |
/// | 16–17 | FIELD POINTER (byte offset of the bad field) |
///
/// Descriptor format (72h/73h): byte 1 SENSE KEY, byte 2 ASC, byte 3 ASCQ, byte 7 ADDITIONAL SENSE LENGTH,
/// descriptors from byte 8 (type 02h = sense key specific, its bytes 4–6 as fixed bytes 15–17).
/// RESERVATION CONFLICT carries no sense data; a unit attention is sense key 6 with the queued ASC/ASCQ.

/// SENSE KEY (SPC-4 table "Sense key descriptions").
public struct SenseKey: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// NO SENSE (0h).
    public static let noSense = SenseKey(rawValue: 0x0)
    /// RECOVERED ERROR (1h).
    public static let recoveredError = SenseKey(rawValue: 0x1)
    /// NOT READY (2h): also LIO's 2/08/00 quirk.
    public static let notReady = SenseKey(rawValue: 0x2)
    /// MEDIUM ERROR (3h).
    public static let mediumError = SenseKey(rawValue: 0x3)
    /// HARDWARE ERROR (4h).
    public static let hardwareError = SenseKey(rawValue: 0x4)
    /// ILLEGAL REQUEST (5h): bad CDB or parameter list.
    public static let illegalRequest = SenseKey(rawValue: 0x5)
    /// UNIT ATTENTION (6h): a queued event (PR change, power on) reported once per nexus.
    public static let unitAttention = SenseKey(rawValue: 0x6)
    /// DATA PROTECT (7h).
    public static let dataProtect = SenseKey(rawValue: 0x7)
    /// BLANK CHECK (8h).
    public static let blankCheck = SenseKey(rawValue: 0x8)
    /// VENDOR SPECIFIC (9h).
    public static let vendorSpecific = SenseKey(rawValue: 0x9)
    /// COPY ABORTED (Ah).
    public static let copyAborted = SenseKey(rawValue: 0xA)
    /// ABORTED COMMAND (Bh).
    public static let abortedCommand = SenseKey(rawValue: 0xB)
    /// EQUAL (Ch, obsolete).
    public static let equal = SenseKey(rawValue: 0xC)
    /// VOLUME OVERFLOW (Dh).
    public static let volumeOverflow = SenseKey(rawValue: 0xD)
    /// MISCOMPARE (Eh).
    public static let miscompare = SenseKey(rawValue: 0xE)
    /// COMPLETED (Fh).
    public static let completed = SenseKey(rawValue: 0xF)

    /// The text sg3_utils prints (`sg_lib_sense_key_desc`).
    public var name: String {
        switch rawValue {
        case 0x0: return "No Sense"
        case 0x1: return "Recovered Error"
        case 0x2: return "Not Ready"
        case 0x3: return "Medium Error"
        case 0x4: return "Hardware Error"
        case 0x5: return "Illegal Request"
        case 0x6: return "Unit Attention"
        case 0x7: return "Data Protect"
        case 0x8: return "Blank Check"
        case 0x9: return "Vendor specific(9)"
        case 0xA: return "Copy Aborted"
        case 0xB: return "Aborted Command"
        case 0xC: return "Equal"
        case 0xD: return "Volume Overflow"
        case 0xE: return "Miscompare"
        case 0xF: return "Completed"
        default: return "Unknown sense key [0x\(String(rawValue, radix: 16))]"
        }
    }
    public var description: String { name }
}

/// ADDITIONAL SENSE CODE and QUALIFIER (ASC/ASCQ), e.g. 2A/03.
public struct AdditionalSense: Hashable, Sendable, CustomStringConvertible {
    public var asc: UInt8
    public var ascq: UInt8
    public init(asc: UInt8, ascq: UInt8) {
        self.asc = asc
        self.ascq = ascq
    }

    /// 00/00 NO ADDITIONAL SENSE INFORMATION.
    public static let noAdditionalSenseInformation = AdditionalSense(asc: 0x00, ascq: 0x00)
    /// 04/00 LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE.
    public static let logicalUnitNotReady = AdditionalSense(asc: 0x04, ascq: 0x00)
    /// 08/00 LOGICAL UNIT COMMUNICATION FAILURE (LIO's answer to PR OUT from an unregistered nexus, D15).
    public static let logicalUnitCommunicationFailure = AdditionalSense(asc: 0x08, ascq: 0x00)
    /// 1A/00 PARAMETER LIST LENGTH ERROR (PR OUT PLL ≠ 24, §2.0 step 4).
    public static let parameterListLengthError = AdditionalSense(asc: 0x1A, ascq: 0x00)
    /// 20/00 INVALID COMMAND OPERATION CODE.
    public static let invalidCommandOperationCode = AdditionalSense(asc: 0x20, ascq: 0x00)
    /// 24/00 INVALID FIELD IN CDB (bad service action, TYPE or SCOPE).
    public static let invalidFieldInCDB = AdditionalSense(asc: 0x24, ascq: 0x00)
    /// 25/00 LOGICAL UNIT NOT SUPPORTED.
    public static let logicalUnitNotSupported = AdditionalSense(asc: 0x25, ascq: 0x00)
    /// 26/00 INVALID FIELD IN PARAMETER LIST.
    public static let invalidFieldInParameterList = AdditionalSense(asc: 0x26, ascq: 0x00)
    /// 26/04 INVALID RELEASE OF PERSISTENT RESERVATION (holder RELEASE with the wrong TYPE, L5).
    public static let invalidReleaseOfPersistentReservation = AdditionalSense(asc: 0x26, ascq: 0x04)
    /// 29/00 POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (the UA every nexus sees after power on).
    public static let powerOnResetOrBusDeviceReset = AdditionalSense(asc: 0x29, ascq: 0x00)
    /// 29/01 POWER ON OCCURRED.
    public static let powerOnOccurred = AdditionalSense(asc: 0x29, ascq: 0x01)
    /// 29/07 I_T NEXUS LOSS OCCURRED.
    public static let itNexusLossOccurred = AdditionalSense(asc: 0x29, ascq: 0x07)
    /// 2A/03 RESERVATIONS PREEMPTED (UA after CLEAR).
    public static let reservationsPreempted = AdditionalSense(asc: 0x2A, ascq: 0x03)
    /// 2A/04 RESERVATIONS RELEASED (UA after RELEASE of types 5–8, or a type change by PREEMPT).
    public static let reservationsReleased = AdditionalSense(asc: 0x2A, ascq: 0x04)
    /// 2A/05 REGISTRATIONS PREEMPTED (UA for a nexus whose registration PREEMPT removed).
    public static let registrationsPreempted = AdditionalSense(asc: 0x2A, ascq: 0x05)
    /// 2F/00 COMMANDS CLEARED BY ANOTHER INITIATOR (PREEMPT AND ABORT with TAS=0).
    public static let commandsClearedByAnotherInitiator = AdditionalSense(asc: 0x2F, ascq: 0x00)
    /// 3A/00 MEDIUM NOT PRESENT.
    public static let mediumNotPresent = AdditionalSense(asc: 0x3A, ascq: 0x00)
    /// 3F/0E REPORTED LUNS DATA HAS CHANGED.
    public static let reportedLunsDataHasChanged = AdditionalSense(asc: 0x3F, ascq: 0x0E)
    /// 44/00 INTERNAL TARGET FAILURE.
    public static let internalTargetFailure = AdditionalSense(asc: 0x44, ascq: 0x00)
    /// 55/04 INSUFFICIENT REGISTRATION RESOURCES (registration limit reached, R8).
    public static let insufficientRegistrationResources = AdditionalSense(asc: 0x55, ascq: 0x04)

    /// The text sg3_utils prints for this pair (`sg_get_asc_ascq_str`), or a hex rendering for an unknown pair.
    public var description: String {
        if let text = AdditionalSense.knownDescription(asc: asc, ascq: ascq) { return text }
        let a = AdditionalSense.hex2(asc), q = AdditionalSense.hex2(ascq)
        if asc >= 0x80 { return "vendor specific ASC=\(a), ASCQ=\(q) (hex)" }
        if ascq >= 0x80 { return "ASC=\(a), vendor specific qualification ASCQ=\(q) (hex)" }
        return "ASC=\(a), ASCQ=\(q) (hex)"
    }

    /// The table text, or `nil` when the pair is not in the table.
    public static func knownDescription(asc: UInt8, ascq: UInt8) -> String? {
        let code = UInt16(asc) << 8 | UInt16(ascq)
        var low = 0, high = descriptions.count - 1
        while low <= high {
            let mid = (low + high) / 2
            let entry = descriptions[mid]
            if entry.code == code { return entry.text }
            if entry.code < code { low = mid + 1 } else { high = mid - 1 }
        }
        return nil
    }

    static func hex2(_ value: UInt8) -> String {
        let digits = String(value, radix: 16)
        return value < 0x10 ? "0" + digits : digits
    }

    /// Descriptions as sg3_utils 1.46 spells them, sorted by (ASC << 8 | ASCQ) for binary search.
    /// Covers every code a PR tool meets plus the common neighbours (not ready, UA and resource families).
    static let descriptions: [(code: UInt16, text: String)] = [
        (0x0000, "No additional sense information"),
        (0x0001, "Filemark detected"),
        (0x0002, "End-of-partition/medium detected"),
        (0x0003, "Setmark detected"),
        (0x0004, "Beginning-of-partition/medium detected"),
        (0x0005, "End-of-data detected"),
        (0x0006, "I/O process terminated"),
        (0x0007, "Programmable early warning detected"),
        (0x0016, "Operation in progress"),
        (0x0017, "Cleaning requested"),
        (0x0018, "Erase operation in progress"),
        (0x0019, "Locate operation in progress"),
        (0x001A, "Rewind operation in progress"),
        (0x001B, "Set capacity operation in progress"),
        (0x001C, "Verify operation in progress"),
        (0x0400, "Logical unit not ready, cause not reportable"),
        (0x0401, "Logical unit is in process of becoming ready"),
        (0x0402, "Logical unit not ready, initializing command required"),
        (0x0403, "Logical unit not ready, manual intervention required"),
        (0x0404, "Logical unit not ready, format in progress"),
        (0x0405, "Logical unit not ready, rebuild in progress"),
        (0x0406, "Logical unit not ready, recalculation in progress"),
        (0x0407, "Logical unit not ready, operation in progress"),
        (0x0408, "Logical unit not ready, long write in progress"),
        (0x0409, "Logical unit not ready, self-test in progress"),
        (0x040A, "Logical unit not accessible, asymmetric access state transition"),
        (0x040B, "Logical unit not accessible, target port in standby state"),
        (0x040C, "Logical unit not accessible, target port in unavailable state"),
        (0x040D, "Logical unit not ready, structure check required"),
        (0x040E, "Logical unit not ready, security session in progress"),
        (0x0410, "Logical unit not ready, auxiliary memory not accessible"),
        (0x0411, "Logical unit not ready, notify (enable spinup) required"),
        (0x0412, "Logical unit not ready, offline"),
        (0x0413, "Logical unit not ready, SA creation in progress"),
        (0x0414, "Logical unit not ready, space allocation in progress"),
        (0x0415, "Logical unit not ready, robotics disabled"),
        (0x0416, "Logical unit not ready, configuration required"),
        (0x0417, "Logical unit not ready, calibration required"),
        (0x0418, "Logical unit not ready, a door is open"),
        (0x0419, "Logical unit not ready, operating in sequential mode"),
        (0x041A, "Logical unit not ready, start stop unit command in progress"),
        (0x041B, "Logical unit not ready, sanitize in progress"),
        (0x041C, "Logical unit not ready, additional power use not yet granted"),
        (0x041D, "Logical unit not ready, configuration in progress"),
        (0x041E, "Logical unit not ready, microcode activation required"),
        (0x041F, "Logical unit not ready, microcode download required"),
        (0x0420, "Logical unit not ready, logical unit reset required"),
        (0x0421, "Logical unit not ready, hard reset required"),
        (0x0422, "Logical unit not ready, power cycle required"),
        (0x0423, "Logical unit not ready, affiliation required"),
        (0x0500, "Logical unit does not respond to selection"),
        (0x0800, "Logical unit communication failure"),
        (0x0801, "Logical unit communication time-out"),
        (0x0802, "Logical unit communication parity error"),
        (0x0803, "Logical unit communication CRC error (Ultra-DMA/32)"),
        (0x0C00, "Write error"),
        (0x1100, "Unrecovered read error"),
        (0x1400, "Recorded entity not found"),
        (0x1A00, "Parameter list length error"),
        (0x2000, "Invalid command operation code"),
        (0x2001, "Access denied - initiator pending-enrolled"),
        (0x2002, "Access denied - no access rights"),
        (0x2003, "Access denied - invalid mgmt id key"),
        (0x2008, "Access denied - enrollment conflict"),
        (0x2009, "Access denied - invalid LU identifier"),
        (0x200A, "Access denied - invalid proxy token"),
        (0x200B, "Access denied - ACL LUN conflict"),
        (0x2100, "Logical block address out of range"),
        (0x2400, "Invalid field in cdb"),
        (0x2401, "CDB decryption error"),
        (0x2408, "Invalid xcdb"),
        (0x2500, "Logical unit not supported"),
        (0x2600, "Invalid field in parameter list"),
        (0x2601, "Parameter not supported"),
        (0x2602, "Parameter value invalid"),
        (0x2603, "Threshold parameters not supported"),
        (0x2604, "Invalid release of persistent reservation"),
        (0x2700, "Write protected"),
        (0x2800, "Not ready to ready change, medium may have changed"),
        (0x2801, "Import or export element accessed"),
        (0x2900, "Power on, reset, or bus device reset occurred"),
        (0x2901, "Power on occurred"),
        (0x2902, "SCSI bus reset occurred"),
        (0x2903, "Bus device reset function occurred"),
        (0x2904, "Device internal reset"),
        (0x2905, "Transceiver mode changed to single-ended"),
        (0x2906, "Transceiver mode changed to lvd"),
        (0x2907, "I_T nexus loss occurred"),
        (0x2A00, "Parameters changed"),
        (0x2A01, "Mode parameters changed"),
        (0x2A02, "Log parameters changed"),
        (0x2A03, "Reservations preempted"),
        (0x2A04, "Reservations released"),
        (0x2A05, "Registrations preempted"),
        (0x2A06, "Asymmetric access state changed"),
        (0x2A07, "Implicit asymmetric access state transition failed"),
        (0x2A08, "Priority changed"),
        (0x2A09, "Capacity data has changed"),
        (0x2A10, "Timestamp changed"),
        (0x2C00, "Command sequence error"),
        (0x2C09, "Previous reservation conflict status"),
        (0x2C0B, "Not reserved"),
        (0x2F00, "Commands cleared by another initiator"),
        (0x2F01, "Commands cleared by power loss notification"),
        (0x2F02, "Commands cleared by device server"),
        (0x3000, "Incompatible medium installed"),
        (0x3003, "Cleaning cartridge installed"),
        (0x3A00, "Medium not present"),
        (0x3A01, "Medium not present - tray closed"),
        (0x3A02, "Medium not present - tray open"),
        (0x3A03, "Medium not present - loadable"),
        (0x3A04, "Medium not present - medium auxiliary memory accessible"),
        (0x3B00, "Sequential positioning error"),
        (0x3E00, "Logical unit has not self-configured yet"),
        (0x3E01, "Logical unit failure"),
        (0x3E02, "Timeout on logical unit"),
        (0x3F00, "Target operating conditions have changed"),
        (0x3F01, "Microcode has been changed"),
        (0x3F02, "Changed operating definition"),
        (0x3F03, "Inquiry data has changed"),
        (0x3F04, "Component device attached"),
        (0x3F05, "Device identifier changed"),
        (0x3F0E, "Reported luns data has changed"),
        (0x3F0F, "Echo buffer overwritten"),
        (0x3F10, "Medium loadable"),
        (0x3F11, "Medium auxiliary memory accessible"),
        (0x3F12, "iSCSI IP address added"),
        (0x3F13, "iSCSI IP address removed"),
        (0x3F14, "iSCSI IP address changed"),
        (0x3F15, "Inspect referrals sense descriptors"),
        (0x3F16, "Microcode has been changed without reset"),
        (0x4400, "Internal target failure"),
        (0x4700, "SCSI parity error"),
        (0x477F, "Some commands cleared by iSCSI protocol event"),
        (0x4B00, "Data phase error"),
        (0x4B07, "Connection lost"),
        (0x4E00, "Overlapped commands attempted"),
        (0x5300, "Media load or eject failed"),
        (0x5302, "Medium removal prevented"),
        (0x5500, "System resource failure"),
        (0x5501, "System buffer full"),
        (0x5502, "Insufficient reservation resources"),
        (0x5503, "Insufficient resources"),
        (0x5504, "Insufficient registration resources"),
        (0x5505, "Insufficient access control resources"),
        (0x5D00, "Failure prediction threshold exceeded"),
        (0x5DFF, "Failure prediction threshold exceeded (false)"),
    ]
}

/// SENSE KEY SPECIFIC field (fixed bytes 15–17). For ILLEGAL REQUEST it is a field pointer.
public struct SenseKeySpecific: Hashable, Sendable {
    /// The three raw bytes; bit 7 of the first is SKSV.
    public var bytes: (UInt8, UInt8, UInt8)

    public init(bytes: (UInt8, UInt8, UInt8)) { self.bytes = bytes }

    /// A field pointer: `inCDB` sets C/D (the error is in the CDB, not the parameter list); `bit` sets BPV.
    public static func fieldPointer(byte: UInt16, bit: UInt8? = nil, inCDB: Bool) -> SenseKeySpecific {
        var first: UInt8 = 0x80
        if inCDB { first |= 0x40 }
        if let bit { first |= 0x08 | (bit & 0x07) }
        return SenseKeySpecific(bytes: (first, UInt8(byte >> 8), UInt8(truncatingIfNeeded: byte)))
    }

    /// SKSV: the field is valid.
    public var isValid: Bool { bytes.0 & 0x80 != 0 }
    /// C/D: the pointer addresses the CDB (true) or the parameter list (false).
    public var isInCDB: Bool { bytes.0 & 0x40 != 0 }
    /// BIT POINTER when BPV is set.
    public var bitPointer: UInt8? { bytes.0 & 0x08 != 0 ? bytes.0 & 0x07 : nil }
    /// FIELD POINTER: byte offset of the offending field.
    public var fieldPointer: UInt16 { UInt16(bytes.1) << 8 | UInt16(bytes.2) }

    public static func == (lhs: SenseKeySpecific, rhs: SenseKeySpecific) -> Bool {
        lhs.bytes.0 == rhs.bytes.0 && lhs.bytes.1 == rhs.bytes.1 && lhs.bytes.2 == rhs.bytes.2
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.0)
        hasher.combine(bytes.1)
        hasher.combine(bytes.2)
    }
}

/// Decoded sense data (fixed or descriptor format).
public struct SenseData: Hashable, Sendable, CustomStringConvertible {
    public var key: SenseKey
    public var additionalSense: AdditionalSense
    /// Present when SKSV was set (or is to be set on encode).
    public var senseKeySpecific: SenseKeySpecific?
    /// True for response codes 72h/73h.
    public var isDescriptorFormat: Bool
    /// True for 70h/72h (current), false for 71h/73h (deferred).
    public var isCurrent: Bool

    public init(key: SenseKey, additionalSense: AdditionalSense, senseKeySpecific: SenseKeySpecific? = nil,
                isDescriptorFormat: Bool = false, isCurrent: Bool = true) {
        self.key = key
        self.additionalSense = additionalSense
        self.senseKeySpecific = senseKeySpecific
        self.isDescriptorFormat = isDescriptorFormat
        self.isCurrent = isCurrent
    }

    /// "Illegal Request: Invalid field in cdb" — sense key name and ASC/ASCQ text, as sg3_utils prints them.
    public var description: String { "\(key.name): \(additionalSense.description)" }

    /// 18-byte fixed-format sense (70h, or 71h when deferred), §4.9.
    public func encodeFixed() -> [UInt8] {
        var sense = [UInt8](repeating: 0, count: 18)
        sense[0] = isCurrent ? 0x70 : 0x71
        sense[2] = key.rawValue & 0x0F
        sense[7] = 0x0A
        sense[12] = additionalSense.asc
        sense[13] = additionalSense.ascq
        if let sks = senseKeySpecific {
            sense[15] = sks.bytes.0 | 0x80
            sense[16] = sks.bytes.1
            sense[17] = sks.bytes.2
        }
        return sense
    }

    /// Decodes fixed (70h/71h) or descriptor (72h/73h) sense. `nil` for other response codes or when the
    /// sense key is missing; a missing ASC/ASCQ (short sense) decodes as 00/00.
    public static func decode(_ bytes: [UInt8]) -> SenseData? {
        guard let first = bytes.first else { return nil }
        let responseCode = first & 0x7F
        switch responseCode {
        case 0x70, 0x71:
            guard let keyByte = bytes.byte(at: 2) else { return nil }
            // Honour ADDITIONAL SENSE LENGTH: bytes beyond 8 + length are not sense data.
            let declared = 8 + Int(bytes.byte(at: 7) ?? 0)
            let usable = Array(bytes.prefix(min(bytes.count, declared)))
            let asc = usable.byte(at: 12) ?? 0
            let ascq = usable.byte(at: 13) ?? 0
            var sks: SenseKeySpecific?
            if let b15 = usable.byte(at: 15), b15 & 0x80 != 0 {
                sks = SenseKeySpecific(bytes: (b15, usable.byte(at: 16) ?? 0, usable.byte(at: 17) ?? 0))
            }
            return SenseData(key: SenseKey(rawValue: keyByte & 0x0F), additionalSense: AdditionalSense(asc: asc, ascq: ascq),
                             senseKeySpecific: sks, isDescriptorFormat: false, isCurrent: responseCode == 0x70)
        case 0x72, 0x73:
            guard let keyByte = bytes.byte(at: 1) else { return nil }
            let asc = bytes.byte(at: 2) ?? 0
            let ascq = bytes.byte(at: 3) ?? 0
            var sks: SenseKeySpecific?
            let end = min(bytes.count, 8 + Int(bytes.byte(at: 7) ?? 0))
            var index = 8
            // Walk descriptors (type, additional length, body); stop at the first that does not fit.
            while index + 2 <= end {
                let type = bytes[index]
                let length = Int(bytes[index + 1])
                guard index + 2 + length <= end else { break }
                if type == 0x02, length >= 6 {
                    let b = bytes[index + 4]
                    if b & 0x80 != 0 { sks = SenseKeySpecific(bytes: (b, bytes[index + 5], bytes[index + 6])) }
                }
                index += 2 + length
            }
            return SenseData(key: SenseKey(rawValue: keyByte & 0x0F), additionalSense: AdditionalSense(asc: asc, ascq: ascq),
                             senseKeySpecific: sks, isDescriptorFormat: true, isCurrent: responseCode == 0x72)
        default:
            return nil
        }
    }
}
