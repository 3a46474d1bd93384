/// What the engine answers for one command (`docs/pr-rules.md` §4.9): a status, fixed-format sense for CHECK
/// CONDITION, data-in bytes (already cut to the allocation length), and for PREEMPT AND ABORT the nexuses whose
/// outstanding commands the LU must abort.
public struct SCSIResponse: Hashable, Sendable {
    public var status: ScsiStatus
    /// Present iff `status` is CHECK CONDITION. RESERVATION CONFLICT carries none.
    public var sense: SenseData?
    /// Data-in bytes to transfer.
    public var data: [UInt8]
    /// PREEMPT AND ABORT only: every nexus (other than the issuer) whose outstanding commands are aborted (§2.6).
    /// The LU aborts them and, with TAS=0, queues 2F/00 for those that had commands (`establishUnitAttention`).
    public var abortedNexuses: [Nexus]

    public init(status: ScsiStatus, sense: SenseData? = nil, data: [UInt8] = [], abortedNexuses: [Nexus] = []) {
        self.status = status
        self.sense = sense
        self.data = data
        self.abortedNexuses = abortedNexuses
    }

    /// GOOD with optional data-in.
    public static func good(_ data: [UInt8] = []) -> SCSIResponse { SCSIResponse(status: .good, data: data) }

    /// RESERVATION CONFLICT, no sense.
    public static let reservationConflict = SCSIResponse(status: .reservationConflict)

    /// CHECK CONDITION with fixed-format sense.
    public static func checkCondition(_ key: SenseKey, _ additionalSense: AdditionalSense,
                                      senseKeySpecific: SenseKeySpecific? = nil) -> SCSIResponse {
        SCSIResponse(status: .checkCondition,
                     sense: SenseData(key: key, additionalSense: additionalSense, senseKeySpecific: senseKeySpecific))
    }

    /// CHECK CONDITION, ILLEGAL REQUEST.
    static func illegalRequest(_ additionalSense: AdditionalSense) -> SCSIResponse {
        checkCondition(.illegalRequest, additionalSense)
    }

    /// The sense bytes as a device returns them (18-byte fixed format), empty when there is no sense.
    public var senseBytes: [UInt8] { sense?.encodeFixed() ?? [] }
}

/// The engine's verdict on one command.
public enum EngineOutcome: Hashable, Sendable {
    /// The engine completed the command: a PR command, a reported unit attention, or RESERVATION CONFLICT.
    case response(SCSIResponse)
    /// An ordinary command the access rules allow; the LU executes it itself.
    case proceed
}
