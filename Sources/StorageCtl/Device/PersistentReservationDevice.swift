import PRCore

/// One logical unit as the verbs and `Locker` see it: the persistent reservation operations
/// (register, reserve, release, preempt, clear, and the reads), at reservation level, whatever
/// carries them. The shape is the kernel's own `struct pr_ops`: operations and values, no commands.
///
/// This is the seam a backend plugs into. `SCSIReservationDevice` implements it with CDBs over any
/// `SCSITransport` (SG_IO, the simulated LU); `BlockReservationDevice` with the kernel's `IOC_PR_*`
/// ioctls on a block node; `ReservationDevices.open` is the one place that chooses one
/// (docs/DESIGN.md "Adding a backend").
///
/// Conventions every implementation keeps, so the verbs need not know which one they talk to:
/// - a change returns its `ReservationOutcome`: the verbs decide what a conflict means;
/// - events that do not concern this operation (a SCSI UNIT ATTENTION, BUSY) are retried inside;
/// - a device's known deviations from the standard become the standard's outcome inside, once each;
/// - anything else (transport failure, malformed reply, a status nobody expects) is thrown as a
///   `ReservationDeviceError`; `Device` turns it into an exit code.
public protocol PersistentReservationDevice: AnyObject {
    /// The DEVICE the user named, for messages.
    var path: String { get }
    /// This I_T nexus as READ FULL STATUS shows it, where the backend knows it (the simulated LU
    /// does; SG_IO does not): lets `status`, `unlock` and `register` pick out our own registration.
    var knownNexus: Nexus? { get }
    /// This host's nexuses to the LU (`knownNexus`, other live paths, the host's initiator ports), as far
    /// as the backend can tell: lets `lock` and `unlock` move the reservation off a dead path of ours.
    var ownNexuses: OwnNexuses { get }
    /// One line for `-v` saying how DEVICE led to the node used (a tape node's sg node, the backend
    /// chosen); nil when there is nothing to say.
    var resolutionNote: String? { get }
    /// REGISTER goes down every path of a map (dm-multipath through the kernel's ioctls): our key is then
    /// registered once a path, and those registrations are all this host's.
    var registersEveryPath: Bool { get }

    /// Vendor, product, revision and device type, for `query` and `caps`.
    func inquiry() throws(ReservationDeviceError) -> StandardInquiryData

    // Changes

    /// REGISTER: RK `key`, SARK `serviceActionKey` (SARK 0 unregisters).
    func register(key: ReservationKey, serviceActionKey: ReservationKey, aptpl: Bool) throws(ReservationDeviceError) -> ReservationOutcome
    /// REGISTER AND IGNORE EXISTING KEY: registers `serviceActionKey` whatever this nexus held.
    func registerAndIgnoreExistingKey(serviceActionKey: ReservationKey, aptpl: Bool) throws(ReservationDeviceError) -> ReservationOutcome
    /// RESERVE with `type`, as the registrant `key`.
    func reserve(type: ReservationType, key: ReservationKey) throws(ReservationDeviceError) -> ReservationOutcome
    /// RELEASE of a reservation of `type`, as the registrant `key`. Releasing with a type other than the
    /// reservation's is a conflict, whichever way the device says it.
    func release(type: ReservationType, key: ReservationKey) throws(ReservationDeviceError) -> ReservationOutcome
    /// CLEAR: every registration and the reservation go, as the registrant `key`.
    func clear(key: ReservationKey) throws(ReservationDeviceError) -> ReservationOutcome
    /// PREEMPT (`abort`: PREEMPT AND ABORT) of `victim`'s registrations, taking its reservation with `type`.
    func preempt(key: ReservationKey, victim: ReservationKey, type: ReservationType, abort: Bool) throws(ReservationDeviceError) -> ReservationOutcome

    // Reads

    func readKeys() throws(ReservationDeviceError) -> Registrations
    func readReservation() throws(ReservationDeviceError) -> ReservationState
    /// Every registration with its nexus, or nil where the device or backend does not offer it (tgt,
    /// old tape drives): callers fall back to `readKeys` + `readReservation`.
    func readFullStatus() throws(ReservationDeviceError) -> FullStatus?
    func reportCapabilities() throws(ReservationDeviceError) -> ReservationCapabilities
}

/// What a change came to, once retries are done.
public enum ReservationOutcome: Equatable, Sendable {
    case done
    /// Refused by the reservation state (SPC's RESERVATION CONFLICT, or a device's own way of saying it).
    case conflict
    /// The device or the path to it does not offer this operation; `reason` says how it said so.
    case unsupported(reason: String)
    /// Anything else the device answered; `reason` names it (`Not Ready: Logical unit not ready`).
    case failed(reason: String)
}

/// A failure of the device layer: the operation did not come to an outcome. It knows no exit codes;
/// `Device` maps it to one, in one place.
public struct ReservationDeviceError: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The device or the way to it failed (transport error, malformed reply, unexpected status).
        case failed
        /// A read was refused by the reservation state (a device that fences reads too).
        case conflict
        /// A wait for the drive outlasted `lock`'s budget (max_lock_wait).
        case gaveUp
    }
    public var kind: Kind
    /// The whole line after "storage-ctl: ", naming the device.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func failed(_ path: String, _ message: String) -> ReservationDeviceError {
        ReservationDeviceError(.failed, "\(path): \(message)")
    }
}

extension PersistentReservationDevice {
    /// A backend that knows no more than its own nexus (or not even that).
    public var ownNexuses: OwnNexuses { OwnNexuses(this: knownNexus) }
    /// One path, one registration.
    public var registersEveryPath: Bool { false }
}

extension PersistentReserveOut.ServiceAction {
    /// `PERSISTENT RESERVE OUT (RESERVE)`: the operation's name in messages and traces, whatever the backend.
    public var commandName: String { "PERSISTENT RESERVE OUT (\(name.uppercased()))" }
}
