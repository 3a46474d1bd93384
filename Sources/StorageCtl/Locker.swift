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
        /// We hold the reservation. `generation`: the PRgeneration after our last REGISTER of this
        /// attempt (the fairness baseline, LockRecord); `wasHolding`: it was ours before this attempt.
        case acquired(generation: UInt32, wasHolding: Bool)
        case busy(Holder)
        /// The drive is free but we owe the waiters a courtesy (LockRecord): ask again after this.
        case yielding(Duration)
    }

    /// REGISTER AND IGNORE EXISTING KEY with our key: idempotent, whatever this nexus had before.
    func register() throws(StorageCtlError) {
        try device.requirePersistentReserveOut(.registerAndIgnoreExistingKey, type: type, key: ReservationKey(0),
                                               serviceActionKey: key, aptpl: aptpl)
    }

    /// The current holder, or nil when the LU is not reserved.
    func holder() throws(StorageCtlError) -> Holder? {
        try readReservation().holder
    }

    /// READ RESERVATION: the holder and the PRgeneration it was read at.
    func readReservation() throws(StorageCtlError) -> (holder: Holder?, generation: UInt32) {
        let response = try device.readReservation()
        return (response.reservation.map { Holder(key: $0.key, type: $0.type) }, response.generation)
    }

    /// Whether `holder` keeps us out: another key's reservation that RESERVE from us cannot join
    /// (an all-registrants reservation of our type is joined by registering, SPC V5/V7).
    private func blocks(_ holder: Holder) -> Bool {
        holder.key != key && !(holder.isAllRegistrants && holder.type == type)
    }

    /// One try at the lock: READ RESERVATION first, RESERVE only when nothing keeps us out.
    ///
    /// Busy: with `registerWhenBusy` (trylock, and every poll of a waiting lock) we REGISTER our key,
    /// so a waiting host shows as registered (`status`), as Bacula's storage daemons expect, and,
    /// each REGISTER raising the PRgeneration, the holder can tell that someone is waiting (the
    /// heartbeat of docs/DESIGN.md "Fairness").
    /// Free: `courtesy` (a waiting lock's) may ask us to yield for a while after our own release.
    /// Otherwise RESERVE, which succeeds when we are registered and the LU is free or already ours
    /// with this type (SPC V5/V7); on RESERVATION CONFLICT we look again and, when nothing but our
    /// missing registration stands in the way, register and RESERVE once more. LIO answers RESERVE
    /// from an unregistered nexus on a free LU with CHECK CONDITION 2/08/00 instead of the
    /// conflict (pr-semantics.md D15), which is handled the same way.
    func attempt(registerWhenBusy: Bool = true,
                 courtesy: ((_ generation: UInt32) -> Duration?)? = nil) throws(StorageCtlError) -> Attempt {
        let before = try readReservation()
        if let current = before.holder, blocks(current) {
            if registerWhenBusy { try register() }
            return .busy(current)
        }
        if before.holder == nil, let courtesy, let left = courtesy(before.generation) {
            return .yielding(left)
        }
        let wasHolding = before.holder != nil
        if try reserve() { return .acquired(generation: before.generation, wasHolding: wasHolding) }
        // Not registered, or someone reserved it since we looked.
        if let current = try holder(), blocks(current) {
            if registerWhenBusy { try register() }
            return .busy(current)
        }
        try register()
        if try reserve() {
            return .acquired(generation: try readReservation().generation, wasHolding: false)
        }
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
