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
    let device: Device
    let key: ReservationKey
    let type: ReservationType
    let aptpl: Bool
    let settings: Settings
    /// A line on stderr that is not a failure (`VerbContext.note`): what a takeover moved.
    var note: (String) -> Void = { _ in }

    enum Attempt: Equatable {
        /// We hold the reservation. `generation`: the PRgeneration after our last REGISTER of this
        /// attempt (the fairness baseline, LockRecord); `wasHolding`: it was ours before this attempt.
        case acquired(generation: UInt32, wasHolding: Bool)
        case busy(Holder)
        /// The drive is free but we owe the waiters a courtesy (LockRecord): ask again after this.
        case yielding(Duration)
    }

    /// Registers our key on this nexus, or finds it already is; never replaces another key.
    ///
    /// REGISTER AND IGNORE EXISTING KEY would overwrite whatever key this I_T nexus holds, and
    /// two storage daemons can share one nexus (one HBA port; a simulated drive's initiator derived
    /// from the host name): the second would silently take over the first one's registration and
    /// lock. So plain REGISTER (docs/pr-rules.md §2.1), which says which case we are in:
    /// - RK = our key, SARK = our key: GOOD iff the nexus is registered with our key (R5: the key
    ///   stays, PRgeneration + 1, as RAIEK did); RESERVATION CONFLICT if unregistered (R1) or
    ///   registered with another key (R4);
    /// - RK = 0, SARK = our key: GOOD iff the nexus was unregistered (R3, now registered, gen + 1);
    ///   CONFLICT if it is registered with any key (R4).
    /// A conflict on both means another key holds this nexus: refused with exit 6
    /// (`initiatorShared`) naming it, the LU unchanged. Neither REGISTER establishes a unit
    /// attention (§2.10); a conflict changes nothing, not even PRgeneration.
    ///
    /// Cheap enough to repeat (a waiting `lock` may use it as a heartbeat): one command when
    /// `likelyRegistered` guessed right, two otherwise. Pass `likelyRegistered: false` where we
    /// know we are not registered with our key (RESERVE just failed on a free LU), so RK = 0 goes
    /// first. A conflict on both may also be another process on this same nexus registering or
    /// unregistering our key between the two commands: tried up to three times.
    func register(likelyRegistered: Bool = true) throws(StorageCtlError) {
        let order = likelyRegistered ? [key, ReservationKey(0)] : [ReservationKey(0), key]
        var other: NexusRegistration = .unknown
        for _ in 0..<3 {
            for reservationKey in order where try registerOnce(reservationKey: reservationKey, serviceActionKey: key) {
                return
            }
            other = try nexusRegistration()
            if case .other = other { break }
        }
        let keys: [ReservationKey]? = other == .unknown ? try device.readKeys().keys : nil
        if try fromOwnTicket(other, keys: keys ?? [], to: key) { return }
        throw initiatorShared(other, keys: keys, refusing: "refusing to register \(settings.label(key)): ")
    }

    /// Removes our key's registration from this nexus (releasing a type 1/3/5/6 lock it holds,
    /// docs/pr-rules.md §2.1.1); never another key's. REGISTER RK = our key, SARK = 0: GOOD iff the
    /// nexus was registered with our key (R6). On conflict, REGISTER RK = 0, SARK = 0: GOOD iff
    /// the nexus is not registered (R2, a no-op; PRgeneration + 1 on SPC devices, not on LIO, D1):
    /// nothing to do, success. Conflict on both: another key holds this nexus, exit 6.
    func unregister() throws(StorageCtlError) {
        var other: NexusRegistration = .unknown
        for _ in 0..<3 {
            if try registerOnce(reservationKey: key, serviceActionKey: ReservationKey(0)) { return }
            if try registerOnce(reservationKey: ReservationKey(0), serviceActionKey: ReservationKey(0)) { return }
            other = try nexusRegistration()
            if case .other = other { break }
        }
        let keys: [ReservationKey]? = other == .unknown ? try device.readKeys().keys : nil
        if try fromOwnTicket(other, keys: keys ?? [], to: ReservationKey(0)) { return }
        throw initiatorShared(other, keys: keys, refusing: "nothing unregistered: ")
    }

    /// This nexus may hold a ticket of ours (TicketKey) that a `fairness=fifo` lock left when it was killed while
    /// waiting: REGISTER from it to `serviceActionKey`; true on GOOD. Where the nexus is known, `registration`
    /// says whether it is one; where not, each ticket of our key among `keys` (READ KEYS, read once for this
    /// and for the refusal that may follow).
    private func fromOwnTicket(_ registration: NexusRegistration, keys: [ReservationKey],
                               to serviceActionKey: ReservationKey) throws(StorageCtlError) -> Bool {
        let tickets: [ReservationKey]
        switch registration {
        case .other(let k): tickets = [k]
        case .unknown: tickets = keys
        case .ours, .unregistered: return false
        }
        for ticket in tickets where TicketKey(ticket)?.owner == key {
            if try registerOnce(reservationKey: ticket, serviceActionKey: serviceActionKey) { return true }
        }
        return false
    }

    /// One REGISTER (not RAIEK): true on GOOD, false on RESERVATION CONFLICT.
    func registerOnce(reservationKey: ReservationKey, serviceActionKey: ReservationKey) throws(StorageCtlError) -> Bool {
        switch try device.register(key: reservationKey, serviceActionKey: serviceActionKey, aptpl: aptpl) {
        case .done: return true
        case .conflict: return false
        case let other: throw device.failure(.register, other)
        }
    }

    /// What this nexus is registered with, as far as the LU tells without changing anything.
    enum NexusRegistration: Equatable {
        case ours
        case unregistered
        case other(ReservationKey)
        /// The transport does not know its own nexus (SG_IO) or the device lacks READ FULL STATUS.
        case unknown
    }

    /// READ FULL STATUS, and our own registration in it where the transport knows its nexus.
    func nexusRegistration() throws(StorageCtlError) -> NexusRegistration {
        guard device.knownNexus != nil, let status = try device.readFullStatus() else { return .unknown }
        return nexusRegistration(in: status)
    }

    func nexusRegistration(in status: FullStatus) -> NexusRegistration {
        guard device.knownNexus != nil else { return .unknown }
        guard let d = device.ownRegistration(in: status) else { return .unregistered }
        return d.key == key ? .ours : .other(d.key)
    }

    /// After a RELEASE answered GOOD, the reservation still held under our key: RELEASE from a
    /// registered non-holder is GOOD and does nothing (SPC), so is the holder another initiator
    /// registered with our key (a configuration copied to two hosts)? READ FULL STATUS tells:
    /// the holder's nexus is not ours (where we know ours), or our key is registered more than
    /// once (SG_IO). Otherwise another process on this nexus took it again meanwhile.
    func heldUnderOurKeyElsewhere() throws(StorageCtlError) -> Bool {
        guard let status = try device.readFullStatus() else {
            return try device.readKeys().keys.filter { $0 == key }.count > 1
        }
        if device.knownNexus != nil {
            let own = device.ownRegistration(in: status)
            return status.descriptors.contains { $0.key == key && $0.isReservationHolder } && own?.isReservationHolder != true
        }
        return status.descriptors.filter { $0.key == key }.count > 1
    }

    /// Exit 6: this nexus holds another key's registration, which we leave alone. One line naming
    /// that key (or the candidates, where we cannot tell which registration is ours) and the two
    /// likely causes, with the way to move over after a changed `key=`.
    func initiatorShared(_ registration: NexusRegistration, keys known: [ReservationKey]? = nil,
                         refusing prefix: String) -> StorageCtlError {
        var other = "another key"
        var oldKey = "OLD"
        if case .other(let k) = registration {
            other = "another key, \(settings.label(k))"
            oldKey = k.description
        } else if let keys = known ?? (try? device.readKeys().keys) {
            var candidates: [ReservationKey] = []
            for k in keys where k != key && !candidates.contains(k) { candidates.append(k) }
            if candidates.count == 1 {
                other = "another key, \(settings.label(candidates[0]))"
                oldKey = candidates[0].description
            } else if !candidates.isEmpty {
                other = "another key (one of \(candidates.map(settings.label).joined(separator: ", ")))"
            }
        }
        return StorageCtlError(.initiatorShared, "\(device.path): \(prefix)this initiator is registered under \(other), "
            + "left as it is. Two storage daemons sharing one initiator (one HBA port; on a simulated drive, the one "
            + "derived from the host name)? give each its own (initiator= or --initiator on a simulated drive). "
            + "Changed key= on this host? move over with: storage-ctl -k \(oldKey) \(device.path) unregister")
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
    func blocks(_ holder: Holder) -> Bool {
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
    /// missing registration stands in the way, register and RESERVE once more. (LIO's CHECK
    /// CONDITION 2/08/00 for that case, docs/pr-rules.md D15, arrives here as the conflict.)
    /// `lookedAt`: the reservation as the caller just read it (a `fairness=fifo` poll reads it with the keys
    /// in one READ FULL STATUS), so it is not read again.
    func attempt(registerWhenBusy: Bool = true,
                 courtesy: ((_ generation: UInt32) -> Duration?)? = nil,
                 lookedAt: (holder: Holder?, generation: UInt32)? = nil) throws(StorageCtlError) -> Attempt {
        let before: (holder: Holder?, generation: UInt32)
        if let lookedAt { before = lookedAt } else { before = try readReservation() }
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
        let current = try holder()
        if let current, blocks(current) {
            if registerWhenBusy { try register() }
            return .busy(current)
        }
        // RESERVE failed with nobody (or our key) holding it: we are most likely not registered
        try register(likelyRegistered: current?.key == key)
        if try reserve() {
            // The lock is ours now: a failed look after it must not turn that into a failure (exit 3
            // holding the lock we took). The generation is only the fairness baseline; without the
            // look, ours is the REGISTER's (+1).
            let generation = (try? readReservation().generation) ?? before.generation &+ 1
            return .acquired(generation: generation, wasHolding: false)
        }
        guard let after = try holder() else {
            // Released between our RESERVE and READ RESERVATION: report busy; a waiting lock retries.
            return .busy(Holder(key: ReservationKey(0), type: type))
        }
        if after.key == key, !after.isAllRegistrants {
            if let takeover = try takeOverFromOwnNexus() { return .acquired(generation: takeover.generation, wasHolding: false) }
            // no takeover (not ours to move, or the drive changed meanwhile): name who holds it now
            return .busy(try holder() ?? Holder(key: ReservationKey(0), type: type))
        }
        return .busy(after)
    }

    /// What a takeover did: the PRgeneration after it, and the registrations of our key it removed.
    struct Takeover {
        var generation: UInt32
        var removed: [(nexus: Nexus, standing: OwnNexuses.Standing)]
    }

    /// Our key holds the reservation through another I_T nexus, and we are registered through this one.
    /// When that nexus, and every other registration of our key, is this host's own (another live path,
    /// or one that is gone: a logged-out iSCSI session, the old ISID of a re-login, a path of a replaced
    /// HBA), move the reservation here with one PREEMPT of our own key (SPC P3, docs/pr-rules.md §2.6):
    /// the device releases it, removes every other registration of our key and reserves for this nexus in
    /// one command, so no other host can reserve in between. Registrations that may be another host's
    /// (a port we do not know as ours) are never preempted: then nil, and the caller keeps its refusal.
    /// nil too where the backend does not know its nexus or the device lacks READ FULL STATUS.
    func takeOverFromOwnNexus() throws(StorageCtlError) -> Takeover? {
        let own = device.ownNexuses
        guard own.isKnown, let status = try device.readFullStatus() else { return nil }
        var removed: [(nexus: Nexus, standing: OwnNexuses.Standing)] = []
        var holderFound = false, thisRegistered = false
        for d in status.descriptors where d.key == key {
            let nexus = d.nexus
            let standing = own.standing(of: nexus)
            switch standing {
            case .this: thisRegistered = true
            case .livePath, .stale: removed.append((nexus, standing))
            case .foreign: return nil
            }
            if d.isReservationHolder {
                // our own key with another type (type= changed, -t): refused as a plain RESERVE would be
                guard standing != .this, d.type == type else { return nil }
                holderFound = true
            }
        }
        guard holderFound, thisRegistered else { return nil }
        switch try device.preempt(key: key, victim: key, type: type, abort: false) {
        case .done: break
        case .conflict: return nil   // the state changed under us: the caller looks again
        case let other: throw device.failure(.preempt, other)
        }
        // GOOD does not mean we hold it: had our other path released meanwhile (or another key reserved), the
        // PREEMPT only removed registrations of our key, ours included (SPC P5/P7). Look again; a look that
        // fails keeps the PREEMPT's word (never exit non-zero holding the lock).
        var generation = status.generation &+ 1
        if let after = try? device.readFullStatus() {
            guard let mine = device.ownRegistration(in: after), mine.key == key, mine.isReservationHolder else { return nil }
            generation = after.generation
        }
        let takeover = Takeover(generation: generation, removed: removed)
        note(Self.describe(takeover))
        return takeover
    }

    /// `moved the reservation to this path from our own key's registration through X (gone); ...`: one line
    /// for stderr and the debug log.
    static func describe(_ takeover: Takeover) -> String {
        let names = takeover.removed.map { "\($0.nexus) (\($0.standing == .stale ? "gone" : "another live path"))" }
        return "moved the reservation to this path from our own key's registration\(names.count == 1 ? "" : "s") through "
            + names.joined(separator: ", ") + "; removed by one PREEMPT of our own key"
    }

    /// RESERVE with our key and type: true on GOOD, false on conflict (LIO's D15 already read as one).
    private func reserve() throws(StorageCtlError) -> Bool {
        switch try device.reserve(type: type, key: key) {
        case .done: return true
        case .conflict: return false
        case let other: throw device.failure(.reserve, other)
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
        if holder.key == key && holder.type != type {
            // our own key with another type (type= changed, or -t): RESERVE of another type is refused
            return "our own key \(settings.label(holder.key)) with type \(holder.type.rawValue) (\(holder.type.name)), not \(type.rawValue): use -t \(holder.type.rawValue), or unlock first"
        }
        if holder.key == key {
            return "\(settings.label(holder.key)) through another initiator (is this key configured on two hosts?)"
        }
        return settings.label(holder.key)
    }
}
