import PRCore

/// One logical unit as the verbs and `Locker` see it: the persistent reservation operations of
/// SPC (PERSISTENT RESERVE OUT and IN, by service action) and INQUIRY, whatever carries them.
///
/// This is the seam a backend plugs into. `SCSIReservationDevice` implements it over any
/// `SCSITransport` (SG_IO, the simulated LU); a backend that works per operation rather than
/// per CDB (Linux block-layer `IOC_PR_*` ioctls, NVMe reservations) implements it directly, and
/// `ReservationDevices.open` is the one place that chooses it (docs/DESIGN.md "Adding a backend").
///
/// Conventions every implementation keeps, so the verbs need not know which one they talk to:
/// - a PR OUT returns its `ReservationOutcome`: the verbs decide what a conflict means;
/// - events that do not concern this command (UNIT ATTENTION, BUSY) are retried inside;
/// - a device's known deviations from SPC are turned into the SPC outcome inside, once each;
/// - anything else (transport failure, malformed reply, status nobody expects) is thrown as a
///   `StorageCtlError` naming `path`, exit 3, or exit 1 for RESERVATION CONFLICT on a PR IN.
public protocol PersistentReservationDevice: AnyObject {
    /// The DEVICE the user named, for messages.
    var path: String { get }
    /// This I_T nexus as READ FULL STATUS shows it, where the backend knows it (the simulated LU
    /// does; SG_IO does not): lets `status`, `unlock` and `register` pick out our own registration.
    var knownNexus: Nexus? { get }
    /// This host's nexuses to the LU (`knownNexus`, other live paths, the host's initiator ports), as far
    /// as the backend can tell: lets `lock` and `unlock` move the reservation off a dead path of ours.
    var ownNexuses: OwnNexuses { get }
    /// One line for `-v` saying how DEVICE led to the node used (a tape node's sg node); nil when
    /// there is nothing to say.
    var resolutionNote: String? { get }

    /// Standard INQUIRY data (vendor, product, revision, device type) for `query` and `caps`.
    func inquiry() throws(StorageCtlError) -> StandardInquiryData

    // PERSISTENT RESERVE OUT

    /// REGISTER: RK `key`, SARK `serviceActionKey` (SARK 0 unregisters).
    func register(key: ReservationKey, serviceActionKey: ReservationKey, aptpl: Bool) throws(StorageCtlError) -> ReservationOutcome
    /// REGISTER AND IGNORE EXISTING KEY: registers `serviceActionKey` whatever this nexus held.
    func registerAndIgnoreExistingKey(serviceActionKey: ReservationKey, aptpl: Bool) throws(StorageCtlError) -> ReservationOutcome
    /// RESERVE with `type`, as the registrant `key`.
    func reserve(type: ReservationType, key: ReservationKey) throws(StorageCtlError) -> ReservationOutcome
    /// RELEASE of a reservation of `type`, as the registrant `key`.
    func release(type: ReservationType, key: ReservationKey) throws(StorageCtlError) -> ReservationOutcome
    /// CLEAR: every registration and the reservation go, as the registrant `key`.
    func clear(key: ReservationKey) throws(StorageCtlError) -> ReservationOutcome
    /// PREEMPT (`abort`: PREEMPT AND ABORT) of `victim`'s registrations, taking its reservation with `type`.
    func preempt(key: ReservationKey, victim: ReservationKey, type: ReservationType, abort: Bool) throws(StorageCtlError) -> ReservationOutcome

    // PERSISTENT RESERVE IN

    func readKeys() throws(StorageCtlError) -> ReadKeysResponse
    func readReservation() throws(StorageCtlError) -> ReadReservationResponse
    /// READ FULL STATUS, or nil where the device or backend does not offer it (tgt, old tape
    /// drives, the kernel's PR ioctls): callers fall back to READ KEYS + READ RESERVATION.
    func readFullStatus() throws(StorageCtlError) -> ReadFullStatusResponse?
    func reportCapabilities() throws(StorageCtlError) -> ReportCapabilitiesResponse
}

/// What a PERSISTENT RESERVE OUT came to, once retries are done.
public enum ReservationOutcome: Equatable, Sendable {
    case good
    /// RESERVATION CONFLICT (or a device's own way of saying it, already translated).
    case conflict
    /// CHECK CONDITION with its decoded sense; the caller decides whether it is expected.
    case checkCondition(SenseData)

    /// This outcome with one CHECK CONDITION (sense key + ASC/ASCQ) read as RESERVATION CONFLICT,
    /// where one command means the same situation by either (docs/pr-rules.md §5).
    func treatingAsConflict(_ key: SenseKey, _ additionalSense: AdditionalSense) -> ReservationOutcome {
        if case .checkCondition(let sense) = self, sense.key == key, sense.additionalSense == additionalSense {
            return .conflict
        }
        return self
    }
}

extension PersistentReservationDevice {
    /// A backend that knows no more than its own nexus (or not even that).
    public var ownNexuses: OwnNexuses { OwnNexuses(this: knownNexus) }

    /// REGISTER with SARK 0: removes `key`'s registration from this nexus (GOOD iff it held `key`).
    public func unregister(key: ReservationKey, aptpl: Bool) throws(StorageCtlError) -> ReservationOutcome {
        try register(key: key, serviceActionKey: ReservationKey(0), aptpl: aptpl)
    }

    /// A PR OUT that must complete: GOOD returns; RESERVATION CONFLICT is busy (exit 1) with
    /// `conflict` as the explanation; CHECK CONDITION is a device error naming the sense.
    public func require(_ outcome: ReservationOutcome, _ action: PersistentReserveOut.ServiceAction,
                        conflict: String = "") throws(StorageCtlError) {
        switch outcome {
        case .good:
            return
        case .conflict:
            throw StorageCtlError(.busy, "\(path): \(action.commandName) refused with RESERVATION CONFLICT\(conflict.isEmpty ? "" : " (\(conflict))")")
        case .checkCondition(let sense):
            throw failure(action, sense)
        }
    }

    /// The device error for an unexpected CHECK CONDITION on a PR OUT.
    public func failure(_ action: PersistentReserveOut.ServiceAction, _ sense: SenseData) -> StorageCtlError {
        Self.failure(path: path, action.commandName, sense)
    }

    /// The error for a CHECK CONDITION nobody expected; an unsupported command says so.
    static func failure(path: String, _ what: String, _ sense: SenseData) -> StorageCtlError {
        if sense.key == .illegalRequest, sense.additionalSense == .invalidCommandOperationCode {
            return .device(path, "persistent reservations are not supported by this device (\(what): \(sense.additionalSense.description))")
        }
        return .device(path, "\(what) failed: \(sense.key.name): \(sense.additionalSense.description)")
    }
}

extension PersistentReserveOut.ServiceAction {
    /// `PERSISTENT RESERVE OUT (RESERVE)`: the operation's name in messages and traces, whatever the backend.
    public var commandName: String { "PERSISTENT RESERVE OUT (\(name.uppercased()))" }
}
