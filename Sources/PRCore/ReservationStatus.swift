/// The persistent reservation state of one logical unit at reservation level: what every backend
/// can say, whatever carries it (a PERSISTENT RESERVE IN, the kernel's `IOC_PR_READ_*` ioctls, an NVMe
/// Reservation Report). No lengths, no wire fields: the SPC replies are decoded into these once, by
/// the backend that read them (the shape of the kernel's `struct pr_ops` read_keys/read_reservation).

/// The reservation held on the LU: its holder's key (0 for the all-registrants types), type and scope.
public typealias Reservation = ReadReservationResponse.Reservation

/// Every registration's key, one entry per registration (a key registered through two nexuses is
/// listed twice), and the PRgeneration they were read at.
public struct Registrations: Hashable, Sendable {
    public var generation: UInt32
    public var keys: [ReservationKey]

    public init(generation: UInt32, keys: [ReservationKey]) {
        self.generation = generation
        self.keys = keys
    }
}

/// The reservation, if any, and the PRgeneration it was read at.
public struct ReservationState: Hashable, Sendable {
    public var generation: UInt32
    public var reservation: Reservation?

    public init(generation: UInt32, reservation: Reservation?) {
        self.generation = generation
        self.reservation = reservation
    }
}

/// Every registration with its nexus and whether it holds the reservation (SPC's READ FULL STATUS;
/// the kernel's ioctls have no equivalent).
public struct FullStatus: Hashable, Sendable {
    public var generation: UInt32
    /// One entry per registration: key, holder, type and scope, initiator TransportID, relative target
    /// port, all-target-ports.
    public var descriptors: [FullStatusDescriptor]

    public init(generation: UInt32, descriptors: [FullStatusDescriptor]) {
        self.generation = generation
        self.descriptors = descriptors
    }

    /// The registration made through `nexus`, if any: the one place "which registration is ours" is
    /// answered (a nexus is compared normalized: iSCSI names are case-insensitive).
    public func registration(of nexus: Nexus) -> FullStatusDescriptor? {
        let own = nexus.normalized
        return descriptors.first { $0.nexus.normalized == own }
    }
}

/// What the device supports, at reservation level.
public struct ReservationCapabilities: Hashable, Sendable {
    /// The reservation types the device supports; nil where it does not say.
    public var types: [ReservationType]?
    /// ATP_C: a registration may be made through all target ports at once.
    public var allTargetPortsCapable: Bool
    /// SIP_C: a registration may name other initiator ports.
    public var specifyInitiatorPortsCapable: Bool
    /// PTPL_C: registrations may persist through power loss.
    public var persistThroughPowerLossCapable: Bool
    /// PTPL_A: they do now.
    public var persistThroughPowerLossActivated: Bool
    /// The REPORT CAPABILITIES reply these were read from, where there was one: `caps` prints sg_persist's
    /// layout of all of it (RLR_C, CRH, ALLOW COMMANDS too); nil for a backend that reads no SCSI.
    public var report: ReportCapabilitiesResponse?

    public init(types: [ReservationType]?, allTargetPortsCapable: Bool = false, specifyInitiatorPortsCapable: Bool = false,
                persistThroughPowerLossCapable: Bool = false, persistThroughPowerLossActivated: Bool = false,
                report: ReportCapabilitiesResponse? = nil) {
        self.types = types
        self.allTargetPortsCapable = allTargetPortsCapable
        self.specifyInitiatorPortsCapable = specifyInitiatorPortsCapable
        self.persistThroughPowerLossCapable = persistThroughPowerLossCapable
        self.persistThroughPowerLossActivated = persistThroughPowerLossActivated
        self.report = report
    }
}

// MARK: - From and to the SPC replies

extension Registrations {
    public init(_ response: ReadKeysResponse) { self.init(generation: response.generation, keys: response.keys) }
    /// As READ KEYS would have answered (sg_persist's `-k` layout prints it).
    public var response: ReadKeysResponse { ReadKeysResponse(generation: generation, keys: keys) }
}

extension ReservationState {
    public init(_ response: ReadReservationResponse) {
        self.init(generation: response.generation, reservation: response.reservation)
    }
    /// As READ RESERVATION would have answered (sg_persist's `-r` layout prints it).
    public var response: ReadReservationResponse { ReadReservationResponse(generation: generation, reservation: reservation) }
}

extension FullStatus {
    public init(_ response: ReadFullStatusResponse) {
        self.init(generation: response.generation, descriptors: response.descriptors)
    }
    /// As READ FULL STATUS would have answered (sg_persist's `-s` layout prints it).
    public var response: ReadFullStatusResponse { ReadFullStatusResponse(generation: generation, descriptors: descriptors) }
}

extension ReservationCapabilities {
    public init(_ report: ReportCapabilitiesResponse) {
        self.init(types: report.typeMaskValid ? report.supportedTypes : nil,
                  allTargetPortsCapable: report.allTargetPortsCapable,
                  specifyInitiatorPortsCapable: report.specifyInitiatorPortsCapable,
                  persistThroughPowerLossCapable: report.persistThroughPowerLossCapable,
                  persistThroughPowerLossActivated: report.persistThroughPowerLossActivated,
                  report: report)
    }

    /// The REPORT CAPABILITIES reply read, or one built from these values (what sg_persist's layout shows).
    public var asReport: ReportCapabilitiesResponse {
        if let report { return report }
        let mask = (types ?? []).reduce(UInt16(0)) { $0 | ReportCapabilitiesResponse.typeMaskBit(for: $1) }
        return ReportCapabilitiesResponse(specifyInitiatorPortsCapable: specifyInitiatorPortsCapable,
                                          allTargetPortsCapable: allTargetPortsCapable,
                                          persistThroughPowerLossCapable: persistThroughPowerLossCapable,
                                          typeMaskValid: types != nil, persistThroughPowerLossActivated: persistThroughPowerLossActivated,
                                          typeMask: mask)
    }
}
