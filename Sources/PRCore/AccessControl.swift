/// Command access while a persistent reservation exists (`docs/pr-rules.md` §3.1, §3.3).
///
/// ```
/// decide(cmd, N):
///   if res == None or is_holder(N):                 return ALLOW
///   if cmd in ALWAYS_ALLOWED:                       return ALLOW
///   if cmd is PR OUT:                               return pr_out_access(cmd.sa, N)   # §3.2 (in process)
///   r = registered(N); cls = class(cmd)
///   switch res.type:
///     1 (WE):      return cls == READ ? ALLOW : CONFLICT
///     3 (EA):      return CONFLICT
///     5, 7:        return (r or cls == READ) ? ALLOW : CONFLICT
///     6, 8:        return r ? ALLOW : CONFLICT
/// ```
///
/// | Command | 1 WE (H/R/U) | 3 EA | 5 WE-RO | 6 EA-RO | 7 WE-AR | 8 EA-AR |
/// |---|---|---|---|---|---|---|
/// | READ-class (and MODE SENSE, READ BUFFER, RECEIVE DIAGNOSTIC RESULTS) | A/A/A | A/C/C | A/A/A | A/A/C | A/—/A | A/—/C |
/// | WRITE-class | A/C/C | A/C/C | A/A/C | A/A/C | A/—/C | A/—/C |
/// | ALWAYS_ALLOWED | A everywhere | | | | | |
public enum CommandAccessClass: Hashable, Sendable {
    /// INQUIRY, REPORT LUNS, REQUEST SENSE, TEST UNIT READY, LOG SENSE, READ CAPACITY(10/16), PR IN.
    case alwaysAllowed
    /// Reads the medium or device state without changing it.
    case read
    /// Everything else, including commands this table does not know (the conservative choice).
    case write

    /// The class of a CDB. MODE SENSE, READ BUFFER and RECEIVE DIAGNOSTIC RESULTS have the READ-class row of §3.1.
    /// Tape positioning (REWIND, SPACE, LOCATE, READ POSITION, READ BLOCK LIMITS) does not change the medium,
    /// so it is READ-class; LOAD UNLOAD, WRITE FILEMARKS and ERASE are WRITE-class.
    public static func of(cdb: [UInt8]) -> CommandAccessClass {
        guard let first = cdb.first else { return .write }
        let opcode = OperationCode(rawValue: first)
        switch opcode {
        case .inquiry, .reportLuns, .requestSense, .testUnitReady, .logSense, .readCapacity10, .persistentReserveIn:
            return .alwaysAllowed
        case .serviceActionIn16:
            // READ CAPACITY(16) is SERVICE ACTION IN(16) SA 10h; the engine allows it (D33).
            return (cdb.count > 1 && cdb[1] & 0x1F == 0x10) ? .alwaysAllowed : .read
        case .read6, .read10, .read12, .read16, .verify6, .verify10, .verify12, .verify16, .preFetch10, .preFetch16,
             .modeSense6, .modeSense10, .readBuffer, .receiveDiagnosticResults,
             .rewind, .space6, .locate10, .readBlockLimits, .maintenanceIn:
            return .read
        default:
            return .write
        }
    }
}

/// The verdict of the §3.1 decision for an ordinary command.
public enum AccessDecision: Hashable, Sendable {
    case allowed
    case conflict
}

extension LogicalUnitState {
    /// §3.1 `decide(cmd, N)` for a command other than PR OUT (whose access check is §3.2, inside `process`).
    public func accessDecision(for cdb: [UInt8], from nexus: Nexus) -> AccessDecision {
        let nexus = nexus.normalized
        guard let reservation, !holds(nexus) else { return .allowed }
        let accessClass = CommandAccessClass.of(cdb: cdb)
        if accessClass == .alwaysAllowed { return .allowed }
        let registered = registrationIndex(of: nexus) != nil
        let isRead = accessClass == .read
        switch reservation.type.rawValue {
        case 1: return isRead ? .allowed : .conflict
        case 3: return .conflict
        case 5, 7: return registered || isRead ? .allowed : .conflict
        case 6, 8: return registered ? .allowed : .conflict
        default: return .conflict
        }
    }
}
