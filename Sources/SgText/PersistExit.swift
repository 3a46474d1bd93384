/// sg3_utils 1.46 exit statuses (`SG_LIB_*` in sg_lib.h) that sg_persist can return, and their texts
/// (`sg_exit_str_arr`, used by `sg_exit2str()` for "sg_persist failed: ..." and "PR in (...): ...").
public enum PersistExit {
    public static let ok: Int32 = 0
    /// SG_LIB_SYNTAX_ERROR.
    public static let syntaxError: Int32 = 1
    /// SG_LIB_CAT_NOT_READY.
    public static let notReady: Int32 = 2
    /// SG_LIB_CAT_MEDIUM_HARD.
    public static let mediumHard: Int32 = 3
    /// SG_LIB_CAT_ILLEGAL_REQ (also INVALID FIELD IN PARAMETER LIST).
    public static let illegalRequest: Int32 = 5
    /// SG_LIB_CAT_UNIT_ATTENTION.
    public static let unitAttention: Int32 = 6
    /// SG_LIB_CAT_DATA_PROTECT.
    public static let dataProtect: Int32 = 7
    /// SG_LIB_CAT_INVALID_OP.
    public static let invalidOperationCode: Int32 = 9
    /// SG_LIB_CAT_COPY_ABORTED.
    public static let copyAborted: Int32 = 10
    /// SG_LIB_CAT_ABORTED_COMMAND.
    public static let abortedCommand: Int32 = 11
    /// SG_LIB_CAT_MISCOMPARE.
    public static let miscompare: Int32 = 14
    /// SG_LIB_FILE_ERROR (used here for a simulated LU whose state file cannot be used).
    public static let fileError: Int32 = 15
    /// SG_LIB_CAT_NO_SENSE.
    public static let noSense: Int32 = 20
    /// SG_LIB_CAT_RECOVERED.
    public static let recovered: Int32 = 21
    /// SG_LIB_LBA_OUT_OF_RANGE.
    public static let lbaOutOfRange: Int32 = 22
    /// SG_LIB_CAT_RES_CONFLICT.
    public static let reservationConflict: Int32 = 24
    /// SG_LIB_CAT_CONDITION_MET.
    public static let conditionMet: Int32 = 25
    /// SG_LIB_CAT_BUSY.
    public static let busy: Int32 = 26
    /// SG_LIB_CAT_TS_FULL.
    public static let taskSetFull: Int32 = 27
    /// SG_LIB_CAT_ACA_ACTIVE.
    public static let acaActive: Int32 = 28
    /// SG_LIB_CAT_TASK_ABORTED.
    public static let taskAborted: Int32 = 29
    /// SG_LIB_CONTRADICT.
    public static let contradict: Int32 = 31
    /// SG_LIB_OK_FALSE.
    public static let okFalse: Int32 = 36
    /// SG_LIB_CAT_PROTECTION.
    public static let protection: Int32 = 40
    /// SG_LIB_OS_BASE_ERR: OS errors 1...46 map to 51...96, others to 50.
    public static let osBase: Int32 = 50
    /// SG_LIB_CAT_MALFORMED.
    public static let malformed: Int32 = 97
    /// SG_LIB_CAT_SENSE.
    public static let otherSense: Int32 = 98
    /// SG_LIB_CAT_OTHER.
    public static let other: Int32 = 99

    /// `sg_convert_errno()`.
    public static func convert(errno value: Int32) -> Int32 {
        if value <= 0 { return value < 0 ? osBase : 0 }
        return value < malformed - osBase ? osBase + value : osBase
    }

    /// `sg_exit_str_arr`: (status, name, longer name).
    public static let texts: [(Int32, String, String?)] = [
        (0, "No errors", "may also convey true"),
        (1, "Syntax error", "command line options (usually)"),
        (2, "Device not ready", "type: sense key"),
        (3, "Medium or hardware error", "type: sense key (plus blank check for tape)"),
        (5, "Illegal request", "type: sense key, apart from Invalid opcode"),
        (6, "Unit attention", "type: sense key"),
        (7, "Data protect", "type: sense key; write protected media?"),
        (9, "Illegal request, Invalid opcode", "type: sense key + asc,ascq"),
        (10, "Copy aborted", "type: sense key"),
        (11, "Aborted command", "type: sense key, other than protection related (asc=0x10)"),
        (14, "Miscompare", "type: sense key"),
        (15, "File error", nil),
        (17, "Illegal request with Info field", nil),
        (18, "Medium or hardware error with Info", nil),
        (20, "No sense key", "type: probably additional sense code"),
        (21, "Recovered error (warning)", "tye: sense key"),
        (22, "LBA out of range", nil),
        (24, "Reservation conflict", "type: SCSI status"),
        (25, "Condition met", "type: SCSI status"),
        (26, "Busy", "type: SCSI status"),
        (27, "Task set full", "type: SCSI status"),
        (28, "ACA aactive", "type: SCSI status"),
        (29, "Task aborted", "type: SCSI status"),
        (31, "Contradict", "command line options contradict or select bad mode"),
        (32, "Logic error", "unexpected situation, contact author"),
        (33, "SCSI command timeout", nil),
        (36, "No errors (false)", nil),
        (40, "Aborted command, protection error", nil),
        (41, "Aborted command, protection error with Info field", nil),
        (47, "flock (Unix system call) error", nil),
        (48, "NVMe command with non-zero status", nil),
        (50, "An OS error occurred", "(errno > 46 or negative)"),
        (97, "Malformed SCSI command", "trouble building command"),
        (98, "Some other sense error", "try '-v' option for more information"),
        (99, "Some other error", "possible transport of driver issue"),
        (100, "Parameter list length error", nil),
        (101, "Invalid field in parameter", nil),
        (102, "Too many segments in parameters", nil),
        (103, "Target underrun", nil),
        (104, "Target overrun", nil),
        (105, "Operation in progress", nil),
        (106, "Insufficient resources to create ROD", nil),
        (107, "Insufficient resources to create ROD token", nil),
        (108, "Commands cleared by device server", nil),
        (109, "See leave_reason for error", nil),
        (110, "Invalid token operation, cause not reportable", nil),
        (111, "Invalid token operation, unsupported token type", nil),
        (112, "Invalid token operation, remote token usage not supported", nil),
        (113, "Invalid token operation, remote token creation not supported", nil),
        (114, "Invalid token operation, token unknown", nil),
        (115, "Invalid token operation, token corrupt", nil),
        (116, "Invalid token operation, token revoked", nil),
        (117, "Invalid token operation, token expired", nil),
        (118, "Invalid token operation, token cancelled", nil),
        (119, "Invalid token operation, token deleted", nil),
        (120, "Invalid token operation, invalid token length", nil),
        (126, "Utility found but did not have execute permissions", nil),
        (127, "Utility to be executed was not found", nil),
        (128, "Utility stopped/aborted by signal number: 0", "signal # 0 ??"),
        (255, "Utility returned 255 or higher", "Windows error number?"),
    ]

    /// `sg_exit2str()`: the text for an exit status, or `nil` when there is none.
    public static func text(_ status: Int32, longer: Bool) -> String? {
        if status < 0 { return nil }
        if status == 0 || status == okFalse {
            if !longer { return "" }
        } else if status > osBase && status < malformed {
            return (longer ? "OS error: " : "") + PersistText.strerror(status - osBase)
        } else if status > 128 && status < 255 {
            return "Utility stopped/aborted by signal number: \(status - 128)"
        }
        guard let entry = texts.first(where: { $0.0 == status }) else { return nil }
        if longer, let second = entry.2 { return "\(entry.1), \(second)" }
        return entry.1
    }

    /// `sg_get_category_sense_str()` with sg_persist's 80-byte buffer.
    public static func categoryText(_ status: Int32, verbose: Int) -> String {
        var text: String
        if let known = self.text(status, longer: verbose > 0) {
            text = known
        } else {
            text = "Sense category: \(status)"
            if verbose == 0 { text += ", try '-v' option for more information" }
        }
        return PersistText.truncated(text, to: 79)
    }
}
