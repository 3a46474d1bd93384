/// The persistent-reservation state of one logical unit (`docs/pr-rules.md` §1.1) and the only code that changes it.
///
/// ```
/// regs:   ordered list<Registration>   # creation order; a key change keeps the position; one per nexus
/// res:    None | { type, scope: 0, holder: NexusId | ALL }   # holder = ALL iff type in {7,8}
/// gen:    u32 wrapping
/// ptpl_a: bool                         # APTPL of the last successful REGISTER/RAIEK/RAM
/// ua:     map<NexusId, fifo<(asc,ascq)>>
/// ```
///
/// A value type: the engine is `(state, command, nexus) -> (state', response)` with no I/O and no clock.
/// Invariants kept by the transitions below: **I1** a type 1/3/5/6 holder is registered, and removing it releases
/// the reservation; **I2** a type 7/8 reservation exists only while a registration does; **I3** scope is 0.
public struct LogicalUnitState: Hashable, Sendable {
    /// One registration: an I_T nexus and its (non-zero) key. Keys need not be unique.
    public struct Registration: Hashable, Sendable {
        public var nexus: Nexus
        public var key: ReservationKey
        public init(nexus: Nexus, key: ReservationKey) {
            self.nexus = nexus
            self.key = key
        }
    }

    /// Who holds the reservation.
    public enum Holder: Hashable, Sendable {
        /// Types 1, 3, 5, 6: one nexus.
        case nexus(Nexus)
        /// Types 7, 8: every registered nexus.
        case allRegistrants
    }

    /// The persistent reservation.
    public struct Reservation: Hashable, Sendable {
        public var type: ReservationType
        public var scope: UInt8
        public var holder: Holder
        public init(type: ReservationType, scope: UInt8 = 0, holder: Holder) {
            self.type = type
            self.scope = scope
            self.holder = holder
        }
    }

    /// Default registration limit; one more registration gets 5/55/04 (R8).
    public static let defaultRegistrationLimit = 128

    /// Registrations in creation order.
    public private(set) var registrations: [Registration] = []
    /// The persistent reservation, if any.
    public private(set) var reservation: Reservation?
    /// PRgeneration (§1.2).
    public private(set) var generation: UInt32 = 0
    /// PTPL_A: registrations and reservation survive `powerOn()`.
    public private(set) var ptplActive: Bool = false
    /// At most this many registrations (R8).
    public var registrationLimit: Int

    /// Queued PR unit attentions per nexus, oldest first.
    var unitAttentionQueues: [Nexus: [AdditionalSense]] = [:]
    /// True after `powerOn()`: every nexus not in `informedOfPowerOn` still has a 29/00 to see.
    var powerOnUnitAttentionActive: Bool = false
    /// Nexuses that have seen the power-on unit attention since the last `powerOn()`.
    var informedOfPowerOn: Set<Nexus> = []

    /// A fresh LU: no registrations, no reservation, generation 0, no pending unit attention.
    public init(registrationLimit: Int = LogicalUnitState.defaultRegistrationLimit) {
        self.registrationLimit = max(0, registrationLimit)
    }

    /// Test hook: a fresh LU whose PRgeneration starts at `generation` (S60.9 wraps from FFFFFFFFh).
    init(registrationLimit: Int = LogicalUnitState.defaultRegistrationLimit, generation: UInt32) {
        self.init(registrationLimit: registrationLimit)
        self.generation = generation
    }

    // MARK: Queries (§1.1 predicates)

    /// `registered(N)`.
    public func isRegistered(_ nexus: Nexus) -> Bool { registrationIndex(of: nexus.normalized) != nil }

    /// `key(N)`, or `nil` when N is not registered.
    public func key(of nexus: Nexus) -> ReservationKey? {
        registrationIndex(of: nexus.normalized).map { registrations[$0].key }
    }

    /// `is_holder(N)`: for types 7/8 every registrant, otherwise the holder nexus.
    public func isHolder(_ nexus: Nexus) -> Bool {
        holds(nexus.normalized)
    }

    /// The holding nexus of a type 1/3/5/6 reservation, `nil` for none or for types 7/8.
    public var reservationHolder: Nexus? {
        if case .nexus(let holder)? = reservation?.holder { return holder }
        return nil
    }

    /// The reservation type, if reserved.
    public var reservationType: ReservationType? { reservation?.type }

    /// The unit attentions `nexus` will be shown, in order (the power-on 29/00 first when still due).
    public func pendingUnitAttentions(for nexus: Nexus) -> [AdditionalSense] {
        let nexus = nexus.normalized
        var pending = unitAttentionQueues[nexus] ?? []
        if powerOnUnitAttentionActive, !informedOfPowerOn.contains(nexus) {
            pending.insert(.powerOnResetOrBusDeviceReset, at: 0)
        }
        return pending
    }

    /// Every nexus with a queued PR unit attention (the power-on one, owed to every nexus, is not listed).
    public var nexusesWithQueuedUnitAttentions: [Nexus] {
        unitAttentionQueues.keys.sorted(by: LogicalUnitState.nexusOrder)
    }

    func registrationIndex(of nexus: Nexus) -> Int? {
        registrations.firstIndex { $0.nexus == nexus }
    }

    func holds(_ nexus: Nexus) -> Bool {
        guard let reservation else { return false }
        switch reservation.holder {
        case .allRegistrants: return registrationIndex(of: nexus) != nil
        case .nexus(let holder): return holder == nexus
        }
    }

    // MARK: Power and externally established unit attentions

    /// Power cycle (§2.8): gen := 0; registrations and reservation kept iff PTPL_A; queued unit attentions are
    /// replaced by one 29/00 for every nexus.
    public mutating func powerOn() {
        generation = 0
        if !ptplActive {
            registrations = []
            reservation = nil
        }
        unitAttentionQueues = [:]
        powerOnUnitAttentionActive = true
        informedOfPowerOn = []
    }

    /// Queues a unit attention the LU itself establishes (e.g. 2F/00 for a nexus whose commands it aborted).
    public mutating func establishUnitAttention(_ sense: AdditionalSense, for nexus: Nexus) {
        queueUnitAttention(sense, for: nexus.normalized)
    }

    /// Removes and returns the next unit attention for `nexus` (power-on first), or `nil`.
    mutating func takeUnitAttention(for nexus: Nexus) -> AdditionalSense? {
        if powerOnUnitAttentionActive, !informedOfPowerOn.contains(nexus) {
            informedOfPowerOn.insert(nexus)
            return .powerOnResetOrBusDeviceReset
        }
        guard var queue = unitAttentionQueues[nexus], !queue.isEmpty else { return nil }
        let first = queue.removeFirst()
        unitAttentionQueues[nexus] = queue.isEmpty ? nil : queue
        return first
    }

    // MARK: State transitions — every change to regs/res/gen/ptpl_a/ua goes through these.

    /// gen += 1 mod 2^32 (§1.2: once per GOOD REGISTER, RAIEK, CLEAR, PREEMPT, PAA, RAM).
    mutating func incrementGeneration() { generation &+= 1 }

    mutating func setPTPLActive(_ value: Bool) { ptplActive = value }

    /// Most unit attentions one nexus can have pending.
    static let unitAttentionQueueLimit = 8

    /// Queues a UA unless the same condition is already pending for that nexus: a UA says an event
    /// happened, and a second copy says nothing more (SAM lets a device server coalesce them).
    /// Without that, an idle registrant under an all-registrants reservation would collect one
    /// 2A/04 per RELEASE of the others, until its queue no longer fit a state slot and every
    /// PR OUT failed. Beyond the limit, new conditions are dropped (the oldest are reported first).
    mutating func queueUnitAttention(_ sense: AdditionalSense, for nexus: Nexus) {
        var queue = unitAttentionQueues[nexus, default: []]
        guard !queue.contains(sense), queue.count < LogicalUnitState.unitAttentionQueueLimit else { return }
        queue.append(sense)
        unitAttentionQueues[nexus] = queue
    }

    /// Appends a registration (caller checked N is unregistered and the limit).
    mutating func addRegistration(_ nexus: Nexus, key: ReservationKey) {
        registrations.append(Registration(nexus: nexus, key: key))
    }

    /// Changes N's key in place (position kept).
    mutating func changeKey(of nexus: Nexus, to key: ReservationKey) {
        guard let index = registrationIndex(of: nexus) else { return }
        registrations[index].key = key
    }

    /// Removes one registration and applies I1/I2 (no unit attentions: callers decide those).
    /// Returns the reservation released as a consequence, if any.
    @discardableResult
    mutating func removeRegistration(of nexus: Nexus) -> Reservation? {
        guard let index = registrationIndex(of: nexus) else { return nil }
        registrations.remove(at: index)
        guard let current = reservation else { return nil }
        switch current.holder {
        case .nexus(let holder) where holder == nexus:
            reservation = nil  // I1: implicit release
            return current
        case .allRegistrants where registrations.isEmpty:
            reservation = nil  // I2: last registrant gone
            return current
        default:
            return nil
        }
    }

    mutating func removeAllRegistrations() { registrations = [] }

    mutating func setReservation(_ newValue: Reservation?) { reservation = newValue }

    /// Deterministic order for encoding and listing: TransportID bytes, then RTPI.
    static func nexusOrder(_ lhs: Nexus, _ rhs: Nexus) -> Bool {
        if lhs.transportID.bytes != rhs.transportID.bytes {
            return lhs.transportID.bytes.lexicographicallyPrecedes(rhs.transportID.bytes)
        }
        return lhs.relativeTargetPortIdentifier < rhs.relativeTargetPortIdentifier
    }
}
