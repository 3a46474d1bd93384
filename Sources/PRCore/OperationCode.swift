/// OPERATION CODE (CDB byte 0), the commands the PR access check (`docs/pr-rules.md` §3.1, §3.3) classifies,
/// plus the tape (SSC) commands a tape-drive lock meets. Unknown codes stay representable.
public struct OperationCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// TEST UNIT READY (00h).
    public static let testUnitReady = OperationCode(rawValue: 0x00)
    /// REWIND (01h, SSC).
    public static let rewind = OperationCode(rawValue: 0x01)
    /// REQUEST SENSE (03h).
    public static let requestSense = OperationCode(rawValue: 0x03)
    /// FORMAT UNIT (04h) / FORMAT MEDIUM (SSC).
    public static let formatUnit = OperationCode(rawValue: 0x04)
    /// READ BLOCK LIMITS (05h, SSC).
    public static let readBlockLimits = OperationCode(rawValue: 0x05)
    /// READ(6) (08h).
    public static let read6 = OperationCode(rawValue: 0x08)
    /// WRITE(6) (0Ah).
    public static let write6 = OperationCode(rawValue: 0x0A)
    /// WRITE FILEMARKS(6) (10h, SSC).
    public static let writeFilemarks6 = OperationCode(rawValue: 0x10)
    /// SPACE(6) (11h, SSC).
    public static let space6 = OperationCode(rawValue: 0x11)
    /// INQUIRY (12h).
    public static let inquiry = OperationCode(rawValue: 0x12)
    /// VERIFY(6) (13h, SSC).
    public static let verify6 = OperationCode(rawValue: 0x13)
    /// MODE SELECT(6) (15h).
    public static let modeSelect6 = OperationCode(rawValue: 0x15)
    /// RESERVE(6) (16h, SPC-2).
    public static let reserve6 = OperationCode(rawValue: 0x16)
    /// RELEASE(6) (17h, SPC-2).
    public static let release6 = OperationCode(rawValue: 0x17)
    /// ERASE(6) (19h, SSC).
    public static let erase6 = OperationCode(rawValue: 0x19)
    /// MODE SENSE(6) (1Ah).
    public static let modeSense6 = OperationCode(rawValue: 0x1A)
    /// START STOP UNIT / LOAD UNLOAD (1Bh).
    public static let startStopUnit = OperationCode(rawValue: 0x1B)
    /// RECEIVE DIAGNOSTIC RESULTS (1Ch).
    public static let receiveDiagnosticResults = OperationCode(rawValue: 0x1C)
    /// SEND DIAGNOSTIC (1Dh).
    public static let sendDiagnostic = OperationCode(rawValue: 0x1D)
    /// PREVENT ALLOW MEDIUM REMOVAL (1Eh).
    public static let preventAllowMediumRemoval = OperationCode(rawValue: 0x1E)
    /// READ CAPACITY(10) (25h).
    public static let readCapacity10 = OperationCode(rawValue: 0x25)
    /// READ(10) (28h).
    public static let read10 = OperationCode(rawValue: 0x28)
    /// WRITE(10) (2Ah).
    public static let write10 = OperationCode(rawValue: 0x2A)
    /// SEEK(10) / LOCATE(10) (2Bh).
    public static let locate10 = OperationCode(rawValue: 0x2B)
    /// WRITE AND VERIFY(10) (2Eh).
    public static let writeAndVerify10 = OperationCode(rawValue: 0x2E)
    /// VERIFY(10) (2Fh).
    public static let verify10 = OperationCode(rawValue: 0x2F)
    /// PRE-FETCH(10) / READ POSITION (34h).
    public static let preFetch10 = OperationCode(rawValue: 0x34)
    /// SYNCHRONIZE CACHE(10) (35h).
    public static let synchronizeCache10 = OperationCode(rawValue: 0x35)
    /// WRITE BUFFER (3Bh).
    public static let writeBuffer = OperationCode(rawValue: 0x3B)
    /// READ BUFFER (3Ch).
    public static let readBuffer = OperationCode(rawValue: 0x3C)
    /// WRITE SAME(10) (41h).
    public static let writeSame10 = OperationCode(rawValue: 0x41)
    /// UNMAP (42h).
    public static let unmap = OperationCode(rawValue: 0x42)
    /// LOG SELECT (4Ch).
    public static let logSelect = OperationCode(rawValue: 0x4C)
    /// LOG SENSE (4Dh).
    public static let logSense = OperationCode(rawValue: 0x4D)
    /// MODE SELECT(10) (55h).
    public static let modeSelect10 = OperationCode(rawValue: 0x55)
    /// RESERVE(10) (56h, SPC-2).
    public static let reserve10 = OperationCode(rawValue: 0x56)
    /// RELEASE(10) (57h, SPC-2).
    public static let release10 = OperationCode(rawValue: 0x57)
    /// MODE SENSE(10) (5Ah).
    public static let modeSense10 = OperationCode(rawValue: 0x5A)
    /// PERSISTENT RESERVE IN (5Eh).
    public static let persistentReserveIn = OperationCode(rawValue: 0x5E)
    /// PERSISTENT RESERVE OUT (5Fh).
    public static let persistentReserveOut = OperationCode(rawValue: 0x5F)
    /// READ(16) (88h).
    public static let read16 = OperationCode(rawValue: 0x88)
    /// COMPARE AND WRITE (89h).
    public static let compareAndWrite = OperationCode(rawValue: 0x89)
    /// WRITE(16) (8Ah).
    public static let write16 = OperationCode(rawValue: 0x8A)
    /// WRITE AND VERIFY(16) (8Eh).
    public static let writeAndVerify16 = OperationCode(rawValue: 0x8E)
    /// VERIFY(16) (8Fh).
    public static let verify16 = OperationCode(rawValue: 0x8F)
    /// PRE-FETCH(16) (90h).
    public static let preFetch16 = OperationCode(rawValue: 0x90)
    /// SYNCHRONIZE CACHE(16) / SPACE(16) (91h).
    public static let synchronizeCache16 = OperationCode(rawValue: 0x91)
    /// WRITE SAME(16) (93h).
    public static let writeSame16 = OperationCode(rawValue: 0x93)
    /// SERVICE ACTION IN(16) (9Eh): READ CAPACITY(16) is SA 10h.
    public static let serviceActionIn16 = OperationCode(rawValue: 0x9E)
    /// REPORT LUNS (A0h).
    public static let reportLuns = OperationCode(rawValue: 0xA0)
    /// MAINTENANCE IN (A3h): REPORT TARGET PORT GROUPS, REPORT SUPPORTED OPCODES.
    public static let maintenanceIn = OperationCode(rawValue: 0xA3)
    /// READ(12) (A8h).
    public static let read12 = OperationCode(rawValue: 0xA8)
    /// WRITE(12) (AAh).
    public static let write12 = OperationCode(rawValue: 0xAA)
    /// WRITE AND VERIFY(12) (AEh).
    public static let writeAndVerify12 = OperationCode(rawValue: 0xAE)
    /// VERIFY(12) (AFh).
    public static let verify12 = OperationCode(rawValue: 0xAF)

    /// sg3_utils-style command name, or `Vendor specific [0x..]`-like hex for unknown codes.
    public var name: String {
        switch rawValue {
        case 0x00: return "Test Unit Ready"
        case 0x01: return "Rewind"
        case 0x03: return "Request Sense"
        case 0x04: return "Format Unit"
        case 0x05: return "Read Block Limits"
        case 0x08: return "Read(6)"
        case 0x0A: return "Write(6)"
        case 0x10: return "Write filemarks(6)"
        case 0x11: return "Space(6)"
        case 0x12: return "Inquiry"
        case 0x13: return "Verify(6)"
        case 0x15: return "Mode select(6)"
        case 0x16: return "Reserve(6)"
        case 0x17: return "Release(6)"
        case 0x19: return "Erase(6)"
        case 0x1A: return "Mode sense(6)"
        case 0x1B: return "Start stop unit"
        case 0x1C: return "Receive diagnostic results"
        case 0x1D: return "Send diagnostic"
        case 0x1E: return "Prevent allow medium removal"
        case 0x25: return "Read capacity(10)"
        case 0x28: return "Read(10)"
        case 0x2A: return "Write(10)"
        case 0x2B: return "Seek(10)"
        case 0x2E: return "Write and verify(10)"
        case 0x2F: return "Verify(10)"
        case 0x34: return "Pre-fetch(10)"
        case 0x35: return "Synchronize cache(10)"
        case 0x3B: return "Write buffer"
        case 0x3C: return "Read buffer"
        case 0x41: return "Write same(10)"
        case 0x42: return "Unmap"
        case 0x4C: return "Log select"
        case 0x4D: return "Log sense"
        case 0x55: return "Mode select(10)"
        case 0x56: return "Reserve(10)"
        case 0x57: return "Release(10)"
        case 0x5A: return "Mode sense(10)"
        case 0x5E: return "Persistent reserve in"
        case 0x5F: return "Persistent reserve out"
        case 0x88: return "Read(16)"
        case 0x89: return "Compare and write"
        case 0x8A: return "Write(16)"
        case 0x8E: return "Write and verify(16)"
        case 0x8F: return "Verify(16)"
        case 0x90: return "Pre-fetch(16)"
        case 0x91: return "Synchronize cache(16)"
        case 0x93: return "Write same(16)"
        case 0x9E: return "Service action in(16)"
        case 0xA0: return "Report luns"
        case 0xA3: return "Maintenance in"
        case 0xA8: return "Read(12)"
        case 0xAA: return "Write(12)"
        case 0xAE: return "Write and verify(12)"
        case 0xAF: return "Verify(12)"
        default: return "Opcode=0x" + Hex.twoDigits(rawValue)
        }
    }
    public var description: String { name }
}
