import PRCore

/// What `SimulatedLU.verify(path:)` found in a simulated LU's file.
public struct SimFileReport: Sendable, Equatable, CustomStringConvertible {
    /// One state slot.
    public enum SlotStatus: Sendable, Equatable {
        /// Never written.
        case empty
        /// A complete state: its sequence number and payload size.
        case valid(sequence: UInt64, length: Int)
        /// Damaged or torn (a torn slot is normal after a crash while the other slot is valid).
        case invalid(reason: String)
    }

    /// False for an empty file: a fresh LU whose header is not written yet (the identity fields are then nil).
    public var isInitialised: Bool
    /// FORMAT VERSION of the header.
    public var formatVersion: UInt16?
    public var deviceType: PeripheralDeviceType?
    public var vendor: String?
    public var product: String?
    public var revision: String?
    /// VPD 80h PRODUCT SERIAL NUMBER.
    public var unitSerialNumber: String?
    /// Slot 0, slot 1.
    public var slots: [SlotStatus]
    /// The slot holding the current state; nil when nothing was ever committed (a fresh LU).
    public var currentSlot: Int?
    /// The current state's sequence number (0 when fresh). It grows by one per recorded state change.
    public var sequence: UInt64
    /// The current state, decoded (a fresh LU's when nothing was ever committed).
    public var state: LogicalUnitState
    /// The state a slot holds, or nil when nothing was ever committed (the LU is fresh).
    public var currentState: LogicalUnitState? { currentSlot == nil ? nil : state }

    /// One line for the state: `generation=0x2 registrations=2 reservation=type 3 (Exclusive Access) holder=iqn...`.
    public var stateSummary: String {
        var parts = ["generation=0x" + String(state.generation, radix: 16),
                     "registrations=\(state.registrations.count)"]
        if let reservation = state.reservation {
            parts.append("reservation=type \(reservation.type.rawValue) (\(reservation.type.name))")
            switch reservation.holder {
            case .nexus(let holder):
                let key = state.key(of: holder).map { $0.description } ?? "?"
                parts.append("holder=\(key) \(holder)")
            case .allRegistrants:
                parts.append("holder=all registrants")
            }
        } else {
            parts.append("reservation=none")
        }
        parts.append("aptpl=\(state.ptplActive ? 1 : 0)")
        return parts.joined(separator: " ")
    }

    /// Several lines, for a person: header, each slot, the state and its registrations.
    public var description: String {
        var lines: [String] = []
        if isInitialised, let formatVersion, let deviceType {
            lines.append("format version \(formatVersion), \(deviceType.name), \(vendor ?? "") \(product ?? "") "
                         + "\(revision ?? ""), serial \(unitSerialNumber ?? "")")
        } else {
            lines.append("empty file: a fresh LU (header not written yet)")
        }
        for (index, slot) in slots.enumerated() {
            let current = index == currentSlot ? " (current)" : ""
            switch slot {
            case .empty: lines.append("slot \(index): empty")
            case .valid(let sequence, let length): lines.append("slot \(index): valid, sequence \(sequence), \(length) bytes\(current)")
            case .invalid(let reason): lines.append("slot \(index): invalid (\(reason))")
            }
        }
        lines.append("state: \(stateSummary)")
        for registration in state.registrations {
            lines.append("  key \(registration.key) \(registration.nexus)")
        }
        return lines.joined(separator: "\n")
    }
}

extension SimulatedLU {
    /// Checks a simulated LU's file completely without changing it: header, both slots, and the current state
    /// decoded by the PR engine. Opens the file read-only and holds the shared lock while reading, so it sees
    /// a state some command left, never one being written.
    ///
    /// - Throws: the errors `init` throws for the same file (`.open`, `.notSCSIDevice`, `.corruptState`, `.io`,
    ///   `.timeout`), so a file `verify` accepts is one `SimulatedLU` accepts.
    public static func verify(path: String, timeout: Duration = .seconds(60)) throws(TransportError) -> SimFileReport {
        let file = try SimStateFile.open(path: path, readOnly: true)
        defer { file.close() }
        try file.lock(timeout: timeout)
        defer { file.unlock() }
        let snapshot = try file.readSnapshot(allSlots: true)
        let state = try SimulatedLU.decodeState(snapshot)
        let identity = snapshot.header.map { SimLUIdentity(header: $0, relativeTargetPortIdentifier: 0) }
        let slots = snapshot.slots.map { slot -> SimFileReport.SlotStatus in
            switch slot {
            case .empty: return .empty
            case .valid(let sequence, let payload): return .valid(sequence: sequence, length: payload.count)
            case .invalid(let reason, _): return .invalid(reason: reason)
            }
        }
        return SimFileReport(isInitialised: snapshot.header != nil, formatVersion: snapshot.header?.formatVersion,
                             deviceType: identity?.deviceType, vendor: identity?.vendorText,
                             product: identity?.productText, revision: identity?.revisionText,
                             unitSerialNumber: identity?.unitSerialNumber, slots: slots,
                             currentSlot: snapshot.currentSlot, sequence: snapshot.sequence, state: state)
    }
}
