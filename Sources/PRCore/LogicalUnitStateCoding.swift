/// A versioned binary encoding of `LogicalUnitState`, for the simulated LU's state file.
///
/// Version 1, all integers big-endian:
///
/// | Field | Size |
/// |---|---|
/// | magic `PRLU` | 4 |
/// | version = 1 | 2 |
/// | flags: bit 0 PTPL_A, bit 1 power-on UA outstanding (other bits 0) | 1 |
/// | PRgeneration | 4 |
/// | registration limit | 4 |
/// | registration count n, then n × (key 8, nexus) | 4 + … |
/// | reservation tag (0 none, 1 nexus holder, 2 all registrants), then type 1, scope 1, holder nexus if tag 1 | 1 + … |
/// | UA queue count m, then m × (nexus, entry count 2 (≥ 1), entries × (ASC 1, ASCQ 1)) | 4 + … |
/// | informed-of-power-on count k, then k × nexus | 4 + … |
///
/// nexus = RTPI (2), TransportID length (2), TransportID bytes. Nothing may follow the last field.
///
/// Decoding never trusts a length: every count is bounded by the bytes actually present, so a corrupt file
/// throws instead of trapping or allocating. The §1.1 invariants are checked too, so a decoded state is one
/// the engine could have produced.
public enum LogicalUnitStateDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input does not start with `PRLU`.
    case badMagic
    /// A version this code does not read.
    case unsupportedVersion(UInt16)
    /// The input ends inside a field.
    case truncated
    /// Bytes after the last field.
    case trailingBytes
    /// A field value that breaks the format or a §1.1 invariant; the text says which.
    case invalid(String)

    public var description: String {
        switch self {
        case .badMagic: return "not a PR state (bad magic)"
        case .unsupportedVersion(let version): return "unsupported PR state version \(version)"
        case .truncated: return "PR state is truncated"
        case .trailingBytes: return "PR state has trailing bytes"
        case .invalid(let what): return "PR state is invalid: \(what)"
        }
    }
}

extension LogicalUnitState {
    static let encodingMagic: [UInt8] = Array("PRLU".utf8)
    static let encodingVersion: UInt16 = 1

    /// The version-1 encoding (deterministic: maps and sets are written in a fixed order).
    public func encode() -> [UInt8] {
        var writer = ByteWriter()
        writer.writeBytes(LogicalUnitState.encodingMagic)
        writer.writeInteger(LogicalUnitState.encodingVersion)
        writer.writeInteger((ptplActive ? 0x01 : 0) | (powerOnUnitAttentionActive ? 0x02 : 0) as UInt8)
        writer.writeInteger(generation)
        writer.writeInteger(UInt32(clamping: registrationLimit))
        writer.writeInteger(UInt32(truncatingIfNeeded: registrations.count))
        for registration in registrations {
            writer.writeInteger(registration.key.rawValue)
            LogicalUnitState.write(registration.nexus, to: &writer)
        }
        switch reservation?.holder {
        case nil:
            writer.writeInteger(UInt8(0))
        case .nexus(let holder)?:
            writer.writeInteger(UInt8(1))
            writer.writeInteger(reservation!.type.rawValue)
            writer.writeInteger(reservation!.scope)
            LogicalUnitState.write(holder, to: &writer)
        case .allRegistrants?:
            writer.writeInteger(UInt8(2))
            writer.writeInteger(reservation!.type.rawValue)
            writer.writeInteger(reservation!.scope)
        }
        let queues = unitAttentionQueues.filter { !$0.value.isEmpty }.sorted { LogicalUnitState.nexusOrder($0.key, $1.key) }
        writer.writeInteger(UInt32(truncatingIfNeeded: queues.count))
        for (nexus, queue) in queues {
            LogicalUnitState.write(nexus, to: &writer)
            writer.writeInteger(UInt16(truncatingIfNeeded: queue.count))
            for sense in queue.prefix(Int(UInt16.max)) {
                writer.writeInteger(sense.asc)
                writer.writeInteger(sense.ascq)
            }
        }
        let informed = informedOfPowerOn.sorted(by: LogicalUnitState.nexusOrder)
        writer.writeInteger(UInt32(truncatingIfNeeded: informed.count))
        for nexus in informed { LogicalUnitState.write(nexus, to: &writer) }
        return writer.bytes
    }

    /// Decodes the version-1 encoding; throws on anything else.
    public init(decoding bytes: [UInt8]) throws(LogicalUnitStateDecodingError) {
        var reader = ByteReader(bytes)
        guard let magic = reader.readBytes(4) else { throw .truncated }
        guard magic == LogicalUnitState.encodingMagic else { throw .badMagic }
        let version: UInt16 = try LogicalUnitState.read(&reader)
        guard version == LogicalUnitState.encodingVersion else { throw .unsupportedVersion(version) }
        let flags: UInt8 = try LogicalUnitState.read(&reader)
        guard flags & ~0x03 == 0 else { throw .invalid("unknown flags") }
        let generation: UInt32 = try LogicalUnitState.read(&reader)
        let limit: UInt32 = try LogicalUnitState.read(&reader)

        var state = LogicalUnitState(registrationLimit: Int(limit), generation: generation)
        state.setPTPLActive(flags & 0x01 != 0)
        state.powerOnUnitAttentionActive = flags & 0x02 != 0

        // Counts are checked against the bytes left before looping, so a huge count fails fast.
        let registrationCount: UInt32 = try LogicalUnitState.read(&reader)
        guard UInt64(registrationCount) * 12 <= UInt64(reader.remaining) else { throw .truncated }
        for _ in 0..<registrationCount {
            let key = ReservationKey(try LogicalUnitState.read(&reader) as UInt64)
            let nexus = try LogicalUnitState.readNexus(&reader)
            guard !key.isZero else { throw .invalid("registration with key 0") }
            guard state.registrationIndex(of: nexus) == nil else { throw .invalid("two registrations for one nexus") }
            state.addRegistration(nexus, key: key)
        }

        let tag: UInt8 = try LogicalUnitState.read(&reader)
        if tag != 0 {
            let type = ReservationType(rawValue: try LogicalUnitState.read(&reader))
            let scope: UInt8 = try LogicalUnitState.read(&reader)
            guard type.isDefined else { throw .invalid("reservation type \(type.rawValue)") }
            guard scope == 0 else { throw .invalid("reservation scope \(scope)") }
            switch tag {
            case 1:
                let holder = try LogicalUnitState.readNexus(&reader)
                guard !type.isAllRegistrants else { throw .invalid("all-registrants reservation with one holder") }
                guard state.registrationIndex(of: holder) != nil else { throw .invalid("holder is not registered") }
                state.setReservation(Reservation(type: type, scope: scope, holder: .nexus(holder)))
            case 2:
                guard type.isAllRegistrants else { throw .invalid("type \(type.rawValue) held by all registrants") }
                guard !state.registrations.isEmpty else { throw .invalid("all-registrants reservation without registrants") }
                state.setReservation(Reservation(type: type, scope: scope, holder: .allRegistrants))
            default:
                throw .invalid("reservation tag \(tag)")
            }
        }

        let queueCount: UInt32 = try LogicalUnitState.read(&reader)
        guard UInt64(queueCount) * 8 <= UInt64(reader.remaining) else { throw .truncated }
        for _ in 0..<queueCount {
            let nexus = try LogicalUnitState.readNexus(&reader)
            let entries: UInt16 = try LogicalUnitState.read(&reader)
            guard entries > 0 else { throw .invalid("empty unit attention queue") }
            guard state.unitAttentionQueues[nexus] == nil else { throw .invalid("two unit attention queues for one nexus") }
            guard Int(entries) * 2 <= reader.remaining else { throw .truncated }
            var queue: [AdditionalSense] = []
            for _ in 0..<entries {
                let asc: UInt8 = try LogicalUnitState.read(&reader)
                let ascq: UInt8 = try LogicalUnitState.read(&reader)
                queue.append(AdditionalSense(asc: asc, ascq: ascq))
            }
            state.unitAttentionQueues[nexus] = queue
        }

        let informedCount: UInt32 = try LogicalUnitState.read(&reader)
        guard UInt64(informedCount) * 4 <= UInt64(reader.remaining) else { throw .truncated }
        for _ in 0..<informedCount {
            let nexus = try LogicalUnitState.readNexus(&reader)
            guard state.informedOfPowerOn.insert(nexus).inserted else { throw .invalid("nexus informed twice") }
        }
        guard state.powerOnUnitAttentionActive || state.informedOfPowerOn.isEmpty else {
            throw .invalid("informed nexuses without a power-on unit attention")
        }
        guard reader.isAtEnd else { throw .trailingBytes }
        self = state
    }

    private static func write(_ nexus: Nexus, to writer: inout ByteWriter) {
        writer.writeInteger(nexus.relativeTargetPortIdentifier)
        writer.writeInteger(UInt16(truncatingIfNeeded: nexus.transportID.bytes.count))
        writer.writeBytes(nexus.transportID.bytes)
    }

    private static func read<T: FixedWidthInteger & UnsignedInteger>(_ reader: inout ByteReader) throws(LogicalUnitStateDecodingError) -> T {
        guard let value = reader.readInteger(as: T.self) else { throw .truncated }
        return value
    }

    /// A nexus whose TransportID is well formed and already in the engine's canonical form.
    private static func readNexus(_ reader: inout ByteReader) throws(LogicalUnitStateDecodingError) -> Nexus {
        let rtpi: UInt16 = try read(&reader)
        let length: UInt16 = try read(&reader)
        guard let bytes = reader.readBytes(Int(length)) else { throw .truncated }
        guard let tid = TransportID.decode(atStartOf: bytes), tid.bytes.count == bytes.count else {
            throw .invalid("malformed TransportID")
        }
        let nexus = Nexus(transportID: tid, relativeTargetPortIdentifier: rtpi)
        guard nexus.normalized == nexus else { throw .invalid("TransportID not in canonical form") }
        return nexus
    }
}
