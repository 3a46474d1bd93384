import PRCore

/// Who holds a reservation, as far as READ RESERVATION can tell.
public struct Holder: Equatable, Sendable {
    /// The holder's key; 0 for the all-registrants types 7/8, where every registrant holds it.
    public var key: ReservationKey
    public var type: ReservationType
    public var isAllRegistrants: Bool { type.isAllRegistrants }
}

/// The acquire and release steps every locking verb shares (trylock, lock, preempt, unlock),
/// written once so the SCSI they send is the same everywhere.
struct Locker {
    let device: PRDevice
    let key: ReservationKey
    let type: ReservationType
    let aptpl: Bool
    let settings: Settings

    enum Attempt: Equatable {
        case acquired
        case busy(Holder)
    }

    /// REGISTER AND IGNORE EXISTING KEY with our key: idempotent, whatever this nexus had before.
    func register() throws(StorageCtlError) {
        try device.requirePersistentReserveOut(.registerAndIgnoreExistingKey, type: type, key: ReservationKey(0),
                                               serviceActionKey: key, aptpl: aptpl)
    }

    /// The current holder, or nil when the LU is not reserved.
    func holder() throws(StorageCtlError) -> Holder? {
        guard let reservation = try device.readReservation().reservation else { return nil }
        return Holder(key: reservation.key, type: reservation.type)
    }

    /// One RESERVE, registering first where that is what stands in the way.
    ///
    /// RESERVE alone succeeds when we are registered and the LU is free or already ours with this
    /// type (SPC V5/V7). On RESERVATION CONFLICT, READ RESERVATION tells why: nobody holds it
    /// (we are not registered, V1), it is held under our own key, or an all-registrants
    /// reservation we can join by registering; in those cases we register and try once more.
    /// LIO answers RESERVE from an unregistered nexus on a free LU with CHECK CONDITION 2/08/00
    /// instead of the conflict (pr-semantics.md D15), which is handled the same way.
    /// With `registerWhenBusy` (the first attempt of trylock and lock) we also register when
    /// another key holds the drive, so a waiting host shows as registered (`status`), as Bacula's
    /// storage daemons expect; later polls of a waiting lock skip that command.
    func attempt(registerWhenBusy: Bool = true) throws(StorageCtlError) -> Attempt {
        if try reserve() { return .acquired }
        let current = try holder()
        if let current, current.key != key, !(current.isAllRegistrants && current.type == type) {
            if registerWhenBusy { try register() }
            return .busy(current)
        }
        try register()
        if try reserve() { return .acquired }
        guard let after = try holder() else {
            // Released between our RESERVE and READ RESERVATION: report busy; a waiting lock retries.
            return .busy(Holder(key: ReservationKey(0), type: type))
        }
        return .busy(after)
    }

    /// RESERVE with our key and type: true on GOOD, false on conflict.
    private func reserve() throws(StorageCtlError) -> Bool {
        switch try device.persistentReserveOut(.reserve, type: type, key: key)
            .treatingAsConflict(.notReady, .logicalUnitCommunicationFailure) {
        case .good: return true
        case .conflict: return false
        case .checkCondition(let sense): throw device.failure(.reserve, sense)
        }
    }

    /// `0xbac999 (dir)`, `all registrants (type 7)`, or a remark when our own key holds it elsewhere.
    func describe(_ holder: Holder) -> String {
        if holder.isAllRegistrants && holder.key.rawValue == 0 {
            return "all registrants (\(holder.type.name))"
        }
        if holder.key.rawValue == 0 {
            return "another initiator"
        }
        if holder.key == key {
            return "\(settings.label(holder.key)) through another initiator (is this key configured on two hosts?)"
        }
        return settings.label(holder.key)
    }
}
