import PRCore
import ProcessSupport
import Transports

/// `PersistentReservationDevice` over the Linux block layer's PR ioctls (`IOC_PR_*`) on a block node:
/// `/dev/sdX`, a dm-multipath map (`/dev/dm-N`, `/dev/mapper/*`), `/dev/disk/by-id/*`.
///
/// Why a second backend: SG_IO on a dm-multipath map reaches one path per command, so a REGISTER through
/// it registers one path only; the kernel's own `IOC_PR_REGISTER` on the map registers every path
/// (dm sends it down each), and its other operations go down a path that works. What the kernel does on
/// its own: sd sets APTPL on every REGISTER it sends (the `aptpl` setting cannot turn it off), and it
/// offers no READ FULL STATUS nor REPORT CAPABILITIES.
///
/// The changes go through the ioctls. The reads go through `IOC_PR_READ_KEYS`/`IOC_PR_READ_RESERVATION`
/// where the running kernel has them (Linux 6.19; ENOTTY, or EINVAL through dm: absent), otherwise, like INQUIRY, REPORT
/// CAPABILITIES and READ FULL STATUS, through SG_IO on the same node (`scsi`); `caps` and the debug log
/// say which.
public final class BlockReservationDevice: PersistentReservationDevice {
    /// The open block node: the ioctls go to it.
    let node: SGIOTransport
    /// SG_IO on the same node, for what the block layer does not offer.
    let scsi: SCSIReservationDevice
    let tracer: CommandTracer?
    public let resolutionNote: String?
    /// The node is a map over several paths (dm-multipath), not one SCSI disk.
    let isMap: Bool
    /// Whether the kernel has the block layer's reads; nil until the first read asked.
    private var kernelReads: Bool?

    init(node: SGIOTransport, scsi: SCSIReservationDevice, tracer: CommandTracer?, resolutionNote: String?, isMap: Bool) {
        self.isMap = isMap
        self.node = node
        self.scsi = scsi
        self.tracer = tracer
        self.resolutionNote = resolutionNote
    }

    public var path: String { scsi.path }
    public var knownNexus: Nexus? { scsi.knownNexus }
    public var ownNexuses: OwnNexuses { scsi.ownNexuses }
    public var registersEveryPath: Bool { isMap }

    public func inquiry() throws(ReservationDeviceError) -> StandardInquiryData { try scsi.inquiry() }

    // MARK: - Changes

    public func register(key: ReservationKey, serviceActionKey: ReservationKey, aptpl: Bool) throws(ReservationDeviceError) -> ReservationOutcome {
        try change(.register(key: key, newKey: serviceActionKey, ignoreExisting: false), .register)
    }

    public func registerAndIgnoreExistingKey(serviceActionKey: ReservationKey, aptpl: Bool) throws(ReservationDeviceError) -> ReservationOutcome {
        try change(.register(key: ReservationKey(0), newKey: serviceActionKey, ignoreExisting: true), .registerAndIgnoreExistingKey)
    }

    public func reserve(type: ReservationType, key: ReservationKey) throws(ReservationDeviceError) -> ReservationOutcome {
        try unregisteredIsConflict(change(.reserve(key: key, type: type), .reserve, type: type), key: key)
    }

    /// On a map, RELEASE goes down one path, and the holder may be another (the kernel sends RESERVE down
    /// whichever path it picks then, and a path may have failed since): SPC answers GOOD and leaves the
    /// reservation held. When every registration of our key is this host's, unregistering it (which the
    /// kernel sends down every path) releases it, as the holder's unregistration does for a single-holder
    /// type; registering again (every path) keeps the registrations storage-ctl expects after unlock.
    public func release(type: ReservationType, key: ReservationKey) throws(ReservationDeviceError) -> ReservationOutcome {
        let outcome = try unregisteredIsConflict(change(.release(key: key, type: type), .release, type: type), key: key)
        guard outcome == .done, isMap, !type.isAllRegistrants, let held = try readReservation().reservation,
              held.key == key, held.type == type, try everyRegistrationIsOurs(key) else { return outcome }
        tracer?.note("RELEASE went down a path of the map that does not hold the reservation: unregistering on every path releases it")
        let unregistered = try change(.register(key: key, newKey: ReservationKey(0), ignoreExisting: false), .register)
        guard unregistered == .done else { return unregistered }
        return try change(.register(key: ReservationKey(0), newKey: key, ignoreExisting: false), .register)
    }

    /// Whether every registration of `key` is through a port of this host (READ FULL STATUS; false where
    /// the device cannot say).
    private func everyRegistrationIsOurs(_ key: ReservationKey) throws(ReservationDeviceError) -> Bool {
        guard let status = try readFullStatus() else { return false }
        let own = ownNexuses
        return status.descriptors.allSatisfy { $0.key != key || own.standing(of: $0.nexus) != .foreign }
    }

    /// The kernel passes no sense data back: a RESERVE or RELEASE that failed while our key is not
    /// registered is the RESERVATION CONFLICT SPC specifies (LIO's 2/08/00 for it, docs/pr-rules.md D15,
    /// comes back as a bare CHECK CONDITION status).
    private func unregisteredIsConflict(_ outcome: ReservationOutcome, key: ReservationKey) throws(ReservationDeviceError) -> ReservationOutcome {
        guard case .failed = outcome, !(try readKeys().keys.contains(key)) else { return outcome }
        return .conflict
    }

    public func clear(key: ReservationKey) throws(ReservationDeviceError) -> ReservationOutcome {
        try change(.clear(key: key), .clear)
    }

    public func preempt(key: ReservationKey, victim: ReservationKey, type: ReservationType, abort: Bool) throws(ReservationDeviceError) -> ReservationOutcome {
        try change(.preempt(key: key, victim: victim, type: type, abort: abort), abort ? .preemptAndAbort : .preempt, type: type)
    }

    /// One ioctl, traced, and what it came to. RESERVATION CONFLICT is 0x18 in the status the kernel
    /// returns (PR_STS_RESERVATION_CONFLICT; on older kernels the SCSI result, whose status byte it is);
    /// an ioctl the node or its driver lacks is `unsupported`; any other failure of the ioctl is thrown.
    private func change(_ change: BlockPR.Change, _ action: PersistentReserveOut.ServiceAction,
                        type: ReservationType? = nil) throws(ReservationDeviceError) -> ReservationOutcome {
        let what = BlockPR.name(change)
        if let type, BlockPR.kernelType(type) == nil {
            return .unsupported(reason: "the kernel's PR ioctls have no reservation type \(type.rawValue)")
        }
        let start = ContinuousClock.now
        let reply = node.perform(change)
        tracer?.trace(what: "\(action.commandName) as \(what)", ioctl: BlockPR.requestNumber(change),
                      argument: BlockPR.argumentBytes(change), outcome: Self.describe(reply), elapsed: ContinuousClock.now - start)
        switch reply {
        case .done:
            return .done
        case .status(let status):
            if status & 0xFF == BlockPR.reservationConflict { return .conflict }
            return .failed(reason: Self.describe(reply))
        case .failed(let error) where error == .inappropriateIOCTLForDevice || error == .notSupported:
            return .unsupported(reason: "\(what): \(error.name)")
        case .failed(let error):
            throw .failed(path, "\(action.commandName) (\(what)) failed: \(error) (\(error.name))")
        }
    }

    static func describe(_ reply: BlockPR.Reply) -> String {
        switch reply {
        case .done: "done"
        case .status(let status) where status & 0xFF == BlockPR.reservationConflict: "RESERVATION CONFLICT"
        case .status(let status): "the kernel returned status 0x\(String(status, radix: 16))"
        case .failed(let error): "\(error) (\(error.name))"
        }
    }

    // MARK: - Reads

    public func readKeys() throws(ReservationDeviceError) -> Registrations {
        try read("IOC_PR_READ_KEYS", node.readKeysThroughBlockLayer, else: scsi.readKeys)
    }

    public func readReservation() throws(ReservationDeviceError) -> ReservationState {
        try read("IOC_PR_READ_RESERVATION", node.readReservationThroughBlockLayer, else: scsi.readReservation)
    }

    /// One read through the block layer while the kernel has it (nil from `ioctl`: it has not), else SG_IO.
    private func read<T>(_ what: String, _ ioctl: () -> Result<T?, BlockPR.Reply>,
                         else sgio: () throws(ReservationDeviceError) -> T) throws(ReservationDeviceError) -> T {
        if kernelReads != false {
            switch ioctl() {
            case .success(let value?): return usingKernelReads(value, what)
            case .success(nil): noteNoKernelReads()
            case .failure(let reply): throw .failed(path, "\(what) failed: \(Self.describe(reply))")
            }
        }
        return try sgio()
    }

    public func readFullStatus() throws(ReservationDeviceError) -> FullStatus? { try scsi.readFullStatus() }

    public func reportCapabilities() throws(ReservationDeviceError) -> ReservationCapabilities {
        if kernelReads == nil { _ = try readReservation() }   // finds out which way reads go, for the note
        tracer?.note(readsNote)
        return try scsi.reportCapabilities()
    }

    /// How this backend reads, for `caps` and the debug log.
    var readsNote: String {
        let reads = switch kernelReads {
        case true?: "through IOC_PR_READ_KEYS/IOC_PR_READ_RESERVATION"
        case false?: "through SG_IO on the same node (this kernel has no IOC_PR_READ_KEYS)"
        case nil: "through IOC_PR_READ_* where the kernel has them, else SG_IO on the same node"
        }
        return "backend block: changes through the kernel's IOC_PR_* ioctls; reads \(reads); "
            + "REPORT CAPABILITIES and READ FULL STATUS through SG_IO"
    }

    private func usingKernelReads<T>(_ value: T, _ what: String) -> T {
        if kernelReads == nil {
            kernelReads = true
            tracer?.note("reads through \(what) (the kernel's block-layer reads)")
        }
        return value
    }

    private func noteNoKernelReads() {
        guard kernelReads == nil else { return }
        kernelReads = false
        tracer?.note("this kernel has no IOC_PR_READ_KEYS/IOC_PR_READ_RESERVATION (ENOTTY or EINVAL): reads through SG_IO on the same node")
    }
}
