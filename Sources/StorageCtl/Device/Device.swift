import PRCore

/// The device as the verbs, `Locker` and the survey use it: a backend's operations, with the device
/// layer's errors and outcomes turned into exit codes and messages here, once.
struct Device {
    let backend: any PersistentReservationDevice

    init(_ backend: any PersistentReservationDevice) { self.backend = backend }

    var path: String { backend.path }
    var knownNexus: Nexus? { backend.knownNexus }
    var ownNexuses: OwnNexuses { backend.ownNexuses }
    var resolutionNote: String? { backend.resolutionNote }
    var registersEveryPath: Bool { backend.registersEveryPath }

    /// The exit code of a device-layer failure: a refused read is busy (1), a wait past max_lock_wait
    /// timed out (4), anything else a device error (3).
    static func error(_ error: ReservationDeviceError) -> StorageCtlError {
        switch error.kind {
        case .failed: StorageCtlError(.device, error.message)
        case .conflict: StorageCtlError(.busy, error.message)
        case .gaveUp: StorageCtlError(.timedOut, error.message)
        }
    }

    private func run<T>(_ operation: () throws(ReservationDeviceError) -> T) throws(StorageCtlError) -> T {
        do { return try operation() } catch { throw Self.error(error) }
    }

    func inquiry() throws(StorageCtlError) -> StandardInquiryData { try run(backend.inquiry) }

    func register(key: ReservationKey, serviceActionKey: ReservationKey, aptpl: Bool) throws(StorageCtlError) -> ReservationOutcome {
        try run { () throws(ReservationDeviceError) in try backend.register(key: key, serviceActionKey: serviceActionKey, aptpl: aptpl) }
    }
    func registerAndIgnoreExistingKey(serviceActionKey: ReservationKey, aptpl: Bool) throws(StorageCtlError) -> ReservationOutcome {
        try run { () throws(ReservationDeviceError) in try backend.registerAndIgnoreExistingKey(serviceActionKey: serviceActionKey, aptpl: aptpl) }
    }
    func reserve(type: ReservationType, key: ReservationKey) throws(StorageCtlError) -> ReservationOutcome {
        try run { () throws(ReservationDeviceError) in try backend.reserve(type: type, key: key) }
    }
    func release(type: ReservationType, key: ReservationKey) throws(StorageCtlError) -> ReservationOutcome {
        try run { () throws(ReservationDeviceError) in try backend.release(type: type, key: key) }
    }
    func clear(key: ReservationKey) throws(StorageCtlError) -> ReservationOutcome {
        try run { () throws(ReservationDeviceError) in try backend.clear(key: key) }
    }
    func preempt(key: ReservationKey, victim: ReservationKey, type: ReservationType, abort: Bool) throws(StorageCtlError) -> ReservationOutcome {
        try run { () throws(ReservationDeviceError) in try backend.preempt(key: key, victim: victim, type: type, abort: abort) }
    }
    /// REGISTER with SARK 0: removes `key`'s registration from this nexus (done iff it held `key`).
    func unregister(key: ReservationKey, aptpl: Bool) throws(StorageCtlError) -> ReservationOutcome {
        try register(key: key, serviceActionKey: ReservationKey(0), aptpl: aptpl)
    }

    func readKeys() throws(StorageCtlError) -> Registrations { try run(backend.readKeys) }
    func readReservation() throws(StorageCtlError) -> ReservationState { try run(backend.readReservation) }
    func readFullStatus() throws(StorageCtlError) -> FullStatus? { try run(backend.readFullStatus) }
    func reportCapabilities() throws(StorageCtlError) -> ReservationCapabilities { try run(backend.reportCapabilities) }

    /// Our own registration in `status`, where the backend knows its nexus.
    func ownRegistration(in status: FullStatus) -> FullStatusDescriptor? {
        knownNexus.flatMap(status.registration(of:))
    }

    /// A change that must be done: a conflict is busy (exit 1) with `conflict` as the explanation;
    /// anything else a device error naming the operation.
    func require(_ outcome: ReservationOutcome, _ action: PersistentReserveOut.ServiceAction,
                 conflict: String = "") throws(StorageCtlError) {
        switch outcome {
        case .done:
            return
        case .conflict:
            throw StorageCtlError(.busy, "\(path): \(action.commandName) refused with RESERVATION CONFLICT\(conflict.isEmpty ? "" : " (\(conflict))")")
        case .unsupported, .failed:
            throw failure(action, outcome)
        }
    }

    /// The device error for an outcome that is neither done nor a conflict; an unsupported operation says so.
    func failure(_ action: PersistentReserveOut.ServiceAction, _ outcome: ReservationOutcome) -> StorageCtlError {
        switch outcome {
        case .unsupported(let reason):
            .device(path, "persistent reservations are not supported by this device (\(action.commandName): \(reason))")
        case .failed(let reason):
            .device(path, "\(action.commandName) failed: \(reason)")
        case .done, .conflict:
            .device(path, "\(action.commandName) failed: \(outcome)")
        }
    }
}
