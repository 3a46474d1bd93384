#if canImport(Glibc)
import Glibc
#endif
import PRCore
import Transports
import ProcessSupport

/// `PersistentReservationDevice` over any `SCSITransport` (SG_IO, the simulated LU): PRCore
/// encodes the CDBs and parameter lists and decodes the replies; this type keeps the policy every
/// verb shares in one place:
/// - UNIT ATTENTION (power-on/reset 29/xx, 2A/03 after another host's CLEAR/PREEMPT, 2A/04, 2A/05, ...)
///   and BUSY/TASK SET FULL are retried a bounded number of times: a UA reports an event that
///   already happened, not a failure of this command (LIO answers the other initiator's next
///   command with 2A/03 once after CLEAR);
/// - sense data is decoded here and nowhere above: a CHECK CONDITION becomes `.failed` naming the sense,
///   or `.unsupported` for INVALID COMMAND OPERATION CODE; the devices' deviations are read as SPC means
///   them (LIO's 2/08/00 for RESERVATION CONFLICT, D15; 5/26/04 for a RELEASE of the wrong type, D4);
/// - `-v` traces each command (CDB, status, sense, duration) on stderr, `debug_log` appends it to
///   the debug file;
/// - every failure becomes a `ReservationDeviceError` naming the device.
/// (The sg_persist personality does not use this: sg_persist reports a UA as exit 6.)
public final class SCSIReservationDevice: PersistentReservationDevice {
    public let transport: any SCSITransport
    /// DEVICE as messages show it (escaped and capped by the caller: `OutputText.argument`).
    public let path: String
    public let resolutionNote: String?
    let timeout: Duration
    let tracer: CommandTracer?
    /// The TYPE field of REGISTER, REGISTER AND IGNORE EXISTING KEY and CLEAR, which SPC says the
    /// device ignores: storage-ctl has always sent the configured type there, and keeps sending it
    /// (a device that does not ignore it must see what it saw before).
    let typeField: ReservationType
    /// `lock`'s budget: when a simulated LU's file lock (held by another process) makes a command wait past it,
    /// the command gives up as `lock` does, exit 4 with the reason (the simulated LU stops waiting there).
    let lockDeadline: ContinuousClock.Instant?
    /// This host's initiator ports named in the configuration (`initiator_ports=`).
    let configuredPorts: [TransportID]

    /// How often one command is re-sent after UNIT ATTENTION or BUSY before giving up.
    static let maxRetries = 8

    public init(transport: any SCSITransport, path: String, commandTimeout: Double, tracer: CommandTracer?,
                typeField: ReservationType, resolutionNote: String? = nil, lockDeadline: ContinuousClock.Instant? = nil,
                configuredPorts: [TransportID] = []) {
        self.configuredPorts = configuredPorts
        self.transport = transport
        self.path = path
        self.timeout = Self.commandTimeout(seconds: commandTimeout)
        self.tracer = tracer
        self.typeField = typeField
        self.resolutionNote = resolutionNote
        self.lockDeadline = lockDeadline
    }

    /// `command_timeout` as a Duration: whole milliseconds rounded up, at least 1 ms (SG_IO counts in
    /// milliseconds, and 0 there would mean the kernel's default rather than a very short limit).
    public static func commandTimeout(seconds: Double) -> Duration {
        let milliseconds = (seconds * 1000).rounded(.up)
        guard milliseconds.isFinite, milliseconds < Double(Int64.max / 1_000_000) else { return .seconds(Int64.max / 1_000_000_000) }
        return .milliseconds(max(1, Int64(milliseconds)))
    }

    /// The error for a transport failure: the device failed, or `lock` gave up when a wait for another
    /// process (a simulated LU's file lock) outlasted `lockDeadline` (while opening it too).
    public static func transportFailure(_ path: String, _ what: String, _ error: TransportError,
                                        lockDeadline: ContinuousClock.Instant?) -> ReservationDeviceError {
        // Transport messages may carry names from the file system (a link's target, a sysfs name): escaped.
        let message = OutputText.escaped(error.message)
        let text = what.isEmpty ? message : "\(what): \(message)"
        if error.kind == .lockWait, let lockDeadline, ContinuousClock.now >= lockDeadline {
            return ReservationDeviceError(.gaveUp, "\(path): gave up waiting (max_lock_wait): \(text)")
        }
        return .failed(path, text)
    }

    public var knownNexus: Nexus? { transport.knownNexus }
    /// The transport's view, with the initiator ports the configuration names (`initiator_ports=`) added as
    /// this host's own: ports sysfs cannot show (a hardware iSCSI initiator) or a simulated drive's other paths.
    /// Worked out once: status, audit and a takeover each ask.
    public private(set) lazy var ownNexuses: OwnNexuses = {
        var own = transport.ownNexuses
        for port in configuredPorts where !own.hostPorts.contains(where: { $0.normalized == port.normalized }) {
            own.hostPorts.append(port)
            if case .iscsiPort(let name, _) = port.decoded, !own.iscsiNames.contains(name.lowercased()) {
                own.iscsiNames.append(name.lowercased())
            }
        }
        return own
    }()

    /// A command's outcome once retries are done: GOOD, RESERVATION CONFLICT, or CHECK CONDITION
    /// with its decoded sense (any other status is turned into an error).
    struct Reply {
        var status: ScsiStatus
        var sense: SenseData?
        var data: [UInt8]
    }

    /// Sends one CDB with the shared retry policy. `what` names the command in messages.
    func send(_ cdb: [UInt8], dataOut: [UInt8] = [], dataInLength: Int = 0, what: String) throws(ReservationDeviceError) -> Reply {
        var attempt = 0
        while true {
            attempt += 1
            let start = ContinuousClock.now
            let result: SCSICommandResult
            do {
                result = try transport.execute(cdb: cdb, dataOut: dataOut, dataInLength: dataInLength, timeout: timeout)
            } catch {
                tracer?.trace(what: what, cdb: cdb, outcome: "transport error: \(error.message)", elapsed: ContinuousClock.now - start)
                throw Self.transportFailure(path, what, error, lockDeadline: lockDeadline)
            }
            let sense = result.sense.isEmpty ? nil : SenseData.decode(result.sense)
            tracer?.trace(what: what, cdb: cdb, outcome: Self.describe(result, sense), elapsed: ContinuousClock.now - start)
            switch result.status {
            case .good, .conditionMet:
                return Reply(status: .good, sense: nil, data: result.data)
            case .reservationConflict:
                return Reply(status: .reservationConflict, sense: nil, data: [])
            case .checkCondition:
                guard let sense else {
                    throw .failed(path, "\(what) failed: CHECK CONDITION without valid sense data")
                }
                if sense.key == .unitAttention, attempt <= Self.maxRetries { continue }
                if sense.key == .noSense || sense.key == .recoveredError {
                    return Reply(status: .good, sense: sense, data: result.data)
                }
                return Reply(status: .checkCondition, sense: sense, data: result.data)
            case .busy, .taskSetFull:
                if attempt <= Self.maxRetries {
                    SystemCall.sleep(.milliseconds(10 * attempt))
                    continue
                }
                throw .failed(path, "\(what) failed: device stayed \(result.status.name) after \(Self.maxRetries) retries")
            default:
                throw .failed(path, "\(what) failed: SCSI status \(result.status.name)")
            }
        }
    }

    static func describe(_ result: SCSICommandResult, _ sense: SenseData?) -> String {
        var text = result.status.name
        if let sense { text += " [\(sense.key.name): \(sense.additionalSense.description)]" }
        if result.hostStatus != 0 { text += " host_status=0x\(String(result.hostStatus, radix: 16))" }
        if result.driverStatus != 0 { text += " driver_status=0x\(String(result.driverStatus, radix: 16))" }
        return text
    }

    /// The error for a reply that is not GOOD where GOOD was needed.
    func failure(_ what: String, _ reply: Reply) -> ReservationDeviceError {
        guard let sense = reply.sense else { return .failed(path, "\(what) failed: \(reply.status.name)") }
        switch Self.outcome(sense) {
        case .unsupported(let reason): return .failed(path, "persistent reservations are not supported by this device (\(what): \(reason))")
        default: return .failed(path, "\(what) failed: \(Self.reason(sense))")
        }
    }

    /// A CHECK CONDITION nobody expected, as an outcome: an unsupported command says so.
    static func outcome(_ sense: SenseData) -> ReservationOutcome {
        if sense.key == .illegalRequest, sense.additionalSense == .invalidCommandOperationCode {
            return .unsupported(reason: sense.additionalSense.description)
        }
        return .failed(reason: reason(sense))
    }

    /// `Not Ready: Logical unit communication failure`.
    static func reason(_ sense: SenseData) -> String { "\(sense.key.name): \(sense.additionalSense.description)" }

    // MARK: - INQUIRY

    public func inquiry() throws(ReservationDeviceError) -> StandardInquiryData {
        let cdb = Inquiry.CDB(allocationLength: 96).encode()
        let reply = try send(cdb, dataInLength: 96, what: "INQUIRY")
        guard reply.status == .good else { throw failure("INQUIRY", reply) }
        guard let data = StandardInquiryData.decode(reply.data) else {
            throw .failed(path, "INQUIRY returned \(reply.data.count) bytes, too short to decode")
        }
        return data
    }

    // MARK: - PERSISTENT RESERVE IN

    /// Sends a PR IN, growing the allocation length once if the device has more to say.
    func persistentReserveIn(_ action: PersistentReserveIn.ServiceAction, what: String) throws(ReservationDeviceError) -> Reply {
        var allocation = 8192
        while true {
            let cdb = PersistentReserveIn.CDB(serviceAction: action, allocationLength: UInt16(allocation)).encode()
            let reply = try send(cdb, dataInLength: allocation, what: what)
            guard reply.status == .good else { return reply }
            // bytes 4-7 hold ADDITIONAL LENGTH for every SA but REPORT CAPABILITIES
            if action != .reportCapabilities, allocation < 65535,
               let additional = ByteReader(reply.data, offset: 4).peekInteger(as: UInt32.self),
               Int(additional) + 8 > allocation {
                allocation = min(65535, Int(additional) + 8)
                continue
            }
            return reply
        }
    }

    public func readKeys() throws(ReservationDeviceError) -> Registrations {
        let what = "PERSISTENT RESERVE IN (READ KEYS)"
        let reply = try persistentReserveIn(.readKeys, what: what)
        guard reply.status == .good else { throw readFailure(what, reply) }
        guard let response = ReadKeysResponse.decode(reply.data) else { throw malformed(what) }
        return Registrations(response)
    }

    public func readReservation() throws(ReservationDeviceError) -> ReservationState {
        let what = "PERSISTENT RESERVE IN (READ RESERVATION)"
        let reply = try persistentReserveIn(.readReservation, what: what)
        guard reply.status == .good else { throw readFailure(what, reply) }
        guard let response = ReadReservationResponse.decode(reply.data) else { throw malformed(what) }
        return ReservationState(response)
    }

    /// nil when the device answers ILLEGAL REQUEST / INVALID FIELD IN CDB: it lacks the service action.
    public func readFullStatus() throws(ReservationDeviceError) -> FullStatus? {
        let what = "PERSISTENT RESERVE IN (READ FULL STATUS)"
        let reply = try persistentReserveIn(.readFullStatus, what: what)
        if reply.status == .checkCondition, let sense = reply.sense, sense.key == .illegalRequest,
           sense.additionalSense == .invalidFieldInCDB {
            return nil
        }
        guard reply.status == .good else { throw readFailure(what, reply) }
        guard let response = ReadFullStatusResponse.decode(reply.data) else { throw malformed(what) }
        return FullStatus(response)
    }

    public func reportCapabilities() throws(ReservationDeviceError) -> ReservationCapabilities {
        let what = "PERSISTENT RESERVE IN (REPORT CAPABILITIES)"
        let reply = try persistentReserveIn(.reportCapabilities, what: what)
        guard reply.status == .good else { throw readFailure(what, reply) }
        guard let response = ReportCapabilitiesResponse.decode(reply.data) else { throw malformed(what) }
        return ReservationCapabilities(response)
    }

    private func readFailure(_ what: String, _ reply: Reply) -> ReservationDeviceError {
        if reply.status == .reservationConflict {
            return ReservationDeviceError(.conflict, "\(path): \(what) refused with RESERVATION CONFLICT")
        }
        return failure(what, reply)
    }

    private func malformed(_ what: String) -> ReservationDeviceError {
        .failed(path, "\(what) returned data too short or malformed to decode")
    }

    // MARK: - PERSISTENT RESERVE OUT

    public func register(key: ReservationKey, serviceActionKey: ReservationKey, aptpl: Bool) throws(ReservationDeviceError) -> ReservationOutcome {
        try persistentReserveOut(.register, type: typeField, key: key, serviceActionKey: serviceActionKey, aptpl: aptpl)
    }

    public func registerAndIgnoreExistingKey(serviceActionKey: ReservationKey, aptpl: Bool) throws(ReservationDeviceError) -> ReservationOutcome {
        try persistentReserveOut(.registerAndIgnoreExistingKey, type: typeField, key: ReservationKey(0),
                                 serviceActionKey: serviceActionKey, aptpl: aptpl)
    }

    /// LIO's 2/08/00 for an unregistered nexus on a free LU is the conflict SPC specifies (D15).
    public func reserve(type: ReservationType, key: ReservationKey) throws(ReservationDeviceError) -> ReservationOutcome {
        try persistentReserveOut(.reserve, type: type, key: key,
                                 conflictSenses: [(.notReady, .logicalUnitCommunicationFailure)])
    }

    /// LIO's 2/08/00 for an unregistered nexus (no reservation, or one held by another session of this
    /// initiator name, which LIO's access check lets through) is the conflict SPC specifies (D15, L1).
    /// SPC answers a RELEASE of the wrong type with 5/26/04 where LIO says RESERVATION CONFLICT (D4):
    /// one outcome for both, so the caller can say which type the lock has.
    public func release(type: ReservationType, key: ReservationKey) throws(ReservationDeviceError) -> ReservationOutcome {
        try persistentReserveOut(.release, type: type, key: key,
                                 conflictSenses: [(.notReady, .logicalUnitCommunicationFailure),
                                                  (.illegalRequest, .invalidReleaseOfPersistentReservation)])
    }

    public func clear(key: ReservationKey) throws(ReservationDeviceError) -> ReservationOutcome {
        try persistentReserveOut(.clear, type: typeField, key: key)
    }

    public func preempt(key: ReservationKey, victim: ReservationKey, type: ReservationType, abort: Bool) throws(ReservationDeviceError) -> ReservationOutcome {
        try persistentReserveOut(abort ? .preemptAndAbort : .preempt, type: type, key: key, serviceActionKey: victim)
    }

    /// One PR OUT with the basic 24-byte parameter list (SPEC_I_PT and ALL_TG_PT clear, scope LU).
    /// `conflictSenses`: CHECK CONDITIONs (sense key, ASC/ASCQ) that mean RESERVATION CONFLICT for this
    /// service action on some device (docs/pr-rules.md §5).
    func persistentReserveOut(_ action: PersistentReserveOut.ServiceAction, type: ReservationType,
                              key: ReservationKey, serviceActionKey: ReservationKey = ReservationKey(0),
                              aptpl: Bool = false,
                              conflictSenses: [(SenseKey, AdditionalSense)] = []) throws(ReservationDeviceError) -> ReservationOutcome {
        let parameters = PersistentReserveOut.ParameterList(
            reservationKey: key, serviceActionReservationKey: serviceActionKey,
            specifyInitiatorPorts: false, allTargetPorts: false, activatePersistThroughPowerLoss: aptpl)
        let bytes = parameters.encode()
        let cdb = PersistentReserveOut.CDB(serviceAction: action, scope: 0, type: type,
                                           parameterListLength: UInt32(bytes.count)).encode()
        let reply = try send(cdb, dataOut: bytes, what: action.commandName)
        switch reply.status {
        case .good: return .done
        case .reservationConflict: return .conflict
        default:
            guard let sense = reply.sense else { throw failure(action.commandName, reply) }
            if conflictSenses.contains(where: { $0.0 == sense.key && $0.1 == sense.additionalSense }) { return .conflict }
            return Self.outcome(sense)
        }
    }
}
