/// Sense data: sense keys, additional sense codes (ASC/ASCQ) and the sense data formats.
///
/// `docs/pr-rules.md` §4.9:
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
        let a = Hex.twoDigits(asc), q = Hex.twoDigits(ascq)
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
