/// PERSISTENT RESERVE IN (5Eh): CDB and the four responses (`docs/pr-rules.md` §4.1–§4.5).
///
/// CDB (§4.1): byte 0 = 5Eh; byte 1 bits 4–0 SERVICE ACTION (00h READ KEYS, 01h READ RESERVATION, 02h REPORT
/// CAPABILITIES, 03h READ FULL STATUS); bytes 2–6 reserved; bytes 7–8 ALLOCATION LENGTH; byte 9 CONTROL.
///
/// Allocation-length rule: the device transfers `min(ALLOCATION LENGTH, full length)` bytes and the ADDITIONAL
/// LENGTH (LENGTH) field always describes the untruncated data. So `encode()` here is always the full response,
/// and every `decode` accepts a truncated one, decodes what is present, and keeps the length the device claimed.
public enum PersistentReserveIn {
    /// SERVICE ACTION (CDB byte 1 bits 4–0).
    public struct ServiceAction: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// READ KEYS (00h).
        public static let readKeys = ServiceAction(rawValue: 0x00)
        /// READ RESERVATION (01h).
        public static let readReservation = ServiceAction(rawValue: 0x01)
        /// REPORT CAPABILITIES (02h).
        public static let reportCapabilities = ServiceAction(rawValue: 0x02)
        /// READ FULL STATUS (03h).
        public static let readFullStatus = ServiceAction(rawValue: 0x03)

        /// sg3_utils' name ("read keys").
        public var name: String {
            switch rawValue {
            case 0: return "read keys"
            case 1: return "read reservation"
            case 2: return "report capabilities"
            case 3: return "read full status"
            default: return "service action 0x" + Hex.twoDigits(rawValue)
            }
        }
        public var description: String { name }
    }

    /// The 10-byte CDB.
    public struct CDB: Hashable, Sendable {
        public var serviceAction: ServiceAction
        public var allocationLength: UInt16
        public var control: UInt8

        public init(serviceAction: ServiceAction, allocationLength: UInt16 = 8192, control: UInt8 = 0) {
            self.serviceAction = serviceAction
            self.allocationLength = allocationLength
            self.control = control
        }

        public func encode() -> [UInt8] {
            var writer = ByteWriter(capacity: 10)
            writer.writeInteger(OperationCode.persistentReserveIn.rawValue)
            writer.writeInteger(serviceAction.rawValue & 0x1F)
            writer.writeZeros(5)
            writer.writeInteger(allocationLength)
            writer.writeInteger(control)
            return writer.bytes
        }

        /// `nil` if shorter than 10 bytes or not opcode 5Eh.
        public static func decode(_ bytes: [UInt8]) -> CDB? {
            guard bytes.count >= 10, bytes[0] == OperationCode.persistentReserveIn.rawValue,
                  let length = bytes.bigEndianInteger(at: 7, as: UInt16.self) else { return nil }
            return CDB(serviceAction: ServiceAction(rawValue: bytes[1] & 0x1F), allocationLength: length, control: bytes[9])
        }
    }

    public typealias ReadKeys = ReadKeysResponse
    public typealias ReadReservation = ReadReservationResponse
    public typealias ReportCapabilities = ReportCapabilitiesResponse
    public typealias ReadFullStatus = ReadFullStatusResponse
}

/// READ KEYS parameter data (§4.2).
///
/// | Offset | Len | Field |
/// |---|---|---|
/// | 0 | 4 | PRGENERATION |
/// | 4 | 4 | ADDITIONAL LENGTH = 8 × n (duplicates included) |
/// | 8 + 8i | 8 | RESERVATION KEY of registration i, in registration order |
///
/// Example, gen 1 and one key A1: `00 00 00 01  00 00 00 08  00 00 00 00 00 00 00 A1`.
public struct ReadKeysResponse: Hashable, Sendable {
    public var generation: UInt32
    public var keys: [ReservationKey]
    /// ADDITIONAL LENGTH as claimed by the device (decode) or 8 × keys (init).
    public var additionalLength: UInt32

    public init(generation: UInt32, keys: [ReservationKey]) {
        self.generation = generation
        self.keys = keys
        self.additionalLength = UInt32(truncatingIfNeeded: keys.count * 8)
    }

    /// True when the device has more keys than the transferred bytes held.
    public var isTruncated: Bool { Int(additionalLength) / 8 > keys.count }

    /// Full response; ADDITIONAL LENGTH is computed from `keys`.
    public func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: 8 + 8 * keys.count)
        writer.writeInteger(generation)
        writer.writeInteger(UInt32(truncatingIfNeeded: keys.count * 8))
        for key in keys { writer.writeInteger(key.rawValue) }
        return writer.bytes
    }

    /// Needs the 8-byte header; decodes the whole keys present (at most ADDITIONAL LENGTH / 8).
    public static func decode(_ bytes: [UInt8]) -> ReadKeysResponse? {
        var reader = ByteReader(bytes)
        guard let generation = reader.readInteger(as: UInt32.self), let length = reader.readInteger(as: UInt32.self) else { return nil }
        var keys: [ReservationKey] = []
        let claimed = Int(length / 8)
        while keys.count < claimed, let key = reader.readInteger(as: UInt64.self) { keys.append(ReservationKey(key)) }
        var response = ReadKeysResponse(generation: generation, keys: keys)
        response.additionalLength = length
        return response
    }
}

/// READ RESERVATION parameter data (§4.3).
///
/// | Offset | Len | Field |
/// |---|---|---|
/// | 0 | 4 | PRGENERATION |
/// | 4 | 4 | ADDITIONAL LENGTH: 0 (no reservation, 8 bytes) or 16 (24 bytes) |
/// | 8 | 8 | RESERVATION KEY: the holder's key; 0 for types 7/8 |
/// | 16 | 4 | obsolete |
/// | 20 | 1 | reserved |
/// | 21 | 1 | SCOPE (bits 7–4), TYPE (bits 3–0) |
/// | 22 | 2 | obsolete |
///
/// Example (S11.2): `00000002 00000010 00000000000000A1 00000000 00 01 0000`.
public struct ReadReservationResponse: Hashable, Sendable {
    /// The reservation descriptor.
    public struct Reservation: Hashable, Sendable {
        public var key: ReservationKey
        public var scope: UInt8
        public var type: ReservationType
        public init(key: ReservationKey, scope: UInt8 = 0, type: ReservationType) {
            self.key = key
            self.scope = scope
            self.type = type
        }
    }

    public var generation: UInt32
    public var reservation: Reservation?
    /// ADDITIONAL LENGTH as claimed by the device (decode) or 0/16 (init).
    public var additionalLength: UInt32

    public init(generation: UInt32, reservation: Reservation?) {
        self.generation = generation
        self.reservation = reservation
        self.additionalLength = reservation == nil ? 0 : 16
    }

    /// The device reports a reservation that the transferred bytes did not hold.
    public var isTruncated: Bool { additionalLength > 0 && reservation == nil }

    public func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: 24)
        writer.writeInteger(generation)
        guard let reservation else {
            writer.writeInteger(UInt32(0))
            return writer.bytes
        }
        writer.writeInteger(UInt32(16))
        writer.writeInteger(reservation.key.rawValue)
        writer.writeZeros(5)
        writer.writeInteger((reservation.scope & 0x0F) << 4 | (reservation.type.rawValue & 0x0F))
        writer.writeZeros(2)
        return writer.bytes
    }

    /// Needs the 8-byte header; the reservation is decoded when ADDITIONAL LENGTH > 0 and byte 21 is present.
    public static func decode(_ bytes: [UInt8]) -> ReadReservationResponse? {
        guard let generation = bytes.bigEndianInteger(at: 0, as: UInt32.self),
              let length = bytes.bigEndianInteger(at: 4, as: UInt32.self) else { return nil }
        var reservation: Reservation?
        if length > 0, let key = bytes.bigEndianInteger(at: 8, as: UInt64.self), let scopeType = bytes.byte(at: 21) {
            reservation = Reservation(key: ReservationKey(key), scope: scopeType >> 4, type: ReservationType(rawValue: scopeType & 0x0F))
        }
        var response = ReadReservationResponse(generation: generation, reservation: reservation)
        response.additionalLength = length
        return response
    }
}

/// REPORT CAPABILITIES parameter data (§4.4).
///
/// | Byte | Contents |
/// |---|---|
/// | 0–1 | LENGTH = 0008h |
/// | 2 | bit 7 RLR_C, bit 4 CRH, bit 3 SIP_C, bit 2 ATP_C, bit 0 PTPL_C |
/// | 3 | bit 7 TMV, bits 6–4 ALLOW COMMANDS, bit 0 PTPL_A |
/// | 4 | bit 7 WR_EX_AR (7), bit 6 EX_AC_RO (6), bit 5 WR_EX_RO (5), bit 3 EX_AC (3), bit 1 WR_EX (1) |
/// | 5 | bit 0 EX_AC_AR (8) |
/// | 6–7 | reserved |
///
/// Engine values (S55.1): `00 08 01 90 EA 01 00 00` (PTPL_A = 0).
public struct ReportCapabilitiesResponse: Hashable, Sendable {
    /// LENGTH as claimed (8).
    public var length: UInt16
    /// RLR_C: REPLACE LOST RESERVATION supported.
    public var replaceLostReservationCapable: Bool
    /// CRH: compatible reservation handling (SPC-2 RESERVE exceptions).
    public var compatibleReservationHandling: Bool
    /// SIP_C: SPEC_I_PT supported.
    public var specifyInitiatorPortsCapable: Bool
    /// ATP_C: ALL_TG_PT supported.
    public var allTargetPortsCapable: Bool
    /// PTPL_C: APTPL supported.
    public var persistThroughPowerLossCapable: Bool
    /// TMV: the type mask is valid.
    public var typeMaskValid: Bool
    /// ALLOW COMMANDS (3 bits).
    public var allowCommands: UInt8
    /// PTPL_A: persist through power loss is active.
    public var persistThroughPowerLossActivated: Bool
    /// PERSISTENT RESERVATION TYPE MASK, bytes 4–5 big-endian (engine EA01h).
    public var typeMask: UInt16

    public init(length: UInt16 = 8, replaceLostReservationCapable: Bool = false, compatibleReservationHandling: Bool = false,
                specifyInitiatorPortsCapable: Bool = false, allTargetPortsCapable: Bool = false,
                persistThroughPowerLossCapable: Bool = false, typeMaskValid: Bool = false, allowCommands: UInt8 = 0,
                persistThroughPowerLossActivated: Bool = false, typeMask: UInt16 = 0) {
        self.length = length
        self.replaceLostReservationCapable = replaceLostReservationCapable
        self.compatibleReservationHandling = compatibleReservationHandling
        self.specifyInitiatorPortsCapable = specifyInitiatorPortsCapable
        self.allTargetPortsCapable = allTargetPortsCapable
        self.persistThroughPowerLossCapable = persistThroughPowerLossCapable
        self.typeMaskValid = typeMaskValid
        self.allowCommands = allowCommands
        self.persistThroughPowerLossActivated = persistThroughPowerLossActivated
        self.typeMask = typeMask
    }

    /// The type-mask bit for a reservation type (0 for undefined types).
    public static func typeMaskBit(for type: ReservationType) -> UInt16 {
        switch type.rawValue {
        case 7: return 0x8000
        case 6: return 0x4000
        case 5: return 0x2000
        case 3: return 0x0800
        case 1: return 0x0200
        case 8: return 0x0001
        default: return 0
        }
    }

    /// Whether the type mask advertises `type` (only meaningful when `typeMaskValid`).
    public func supports(_ type: ReservationType) -> Bool {
        let bit = ReportCapabilitiesResponse.typeMaskBit(for: type)
        return bit != 0 && typeMask & bit != 0
    }

    /// The defined types the mask advertises, in code order.
    public var supportedTypes: [ReservationType] { ReservationType.allDefined.filter(supports) }

    /// 8 bytes.
    public func encode() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 8)
        bytes[0] = 0
        bytes[1] = 8
        bytes[2] = (replaceLostReservationCapable ? 0x80 : 0) | (compatibleReservationHandling ? 0x10 : 0)
            | (specifyInitiatorPortsCapable ? 0x08 : 0) | (allTargetPortsCapable ? 0x04 : 0)
            | (persistThroughPowerLossCapable ? 0x01 : 0)
        bytes[3] = (typeMaskValid ? 0x80 : 0) | (allowCommands & 0x07) << 4 | (persistThroughPowerLossActivated ? 0x01 : 0)
        bytes[4] = UInt8(typeMask >> 8)
        bytes[5] = UInt8(truncatingIfNeeded: typeMask)
        return bytes
    }

    /// Needs the 2-byte LENGTH; bytes not transferred decode as zero.
    public static func decode(_ bytes: [UInt8]) -> ReportCapabilitiesResponse? {
        guard let length = bytes.bigEndianInteger(at: 0, as: UInt16.self) else { return nil }
        let b2 = bytes.byte(at: 2) ?? 0, b3 = bytes.byte(at: 3) ?? 0
        let mask = UInt16(bytes.byte(at: 4) ?? 0) << 8 | UInt16(bytes.byte(at: 5) ?? 0)
        return ReportCapabilitiesResponse(
            length: length, replaceLostReservationCapable: b2 & 0x80 != 0, compatibleReservationHandling: b2 & 0x10 != 0,
            specifyInitiatorPortsCapable: b2 & 0x08 != 0, allTargetPortsCapable: b2 & 0x04 != 0,
            persistThroughPowerLossCapable: b2 & 0x01 != 0, typeMaskValid: b3 & 0x80 != 0, allowCommands: (b3 >> 4) & 0x07,
            persistThroughPowerLossActivated: b3 & 0x01 != 0, typeMask: mask)
    }
}

/// One READ FULL STATUS descriptor (§4.5).
///
/// | Offset | Len | Field |
/// |---|---|---|
/// | 0 | 8 | RESERVATION KEY |
/// | 8 | 4 | reserved |
/// | 12 | 1 | bit 1 ALL_TG_PT, bit 0 R_HOLDER |
/// | 13 | 1 | SCOPE (bits 7–4) / TYPE (bits 3–0) if R_HOLDER, else 00h |
/// | 14 | 4 | reserved |
/// | 18 | 2 | RELATIVE TARGET PORT IDENTIFIER |
/// | 20 | 4 | ADDITIONAL DESCRIPTOR LENGTH = TransportID length |
/// | 24 | n | TransportID (§4.6) |
public struct FullStatusDescriptor: Hashable, Sendable {
    public var key: ReservationKey
    public var allTargetPorts: Bool
    public var isReservationHolder: Bool
    public var scope: UInt8
    public var type: ReservationType
    public var relativeTargetPortIdentifier: UInt16
    public var transportID: TransportID

    public init(key: ReservationKey, allTargetPorts: Bool = false, isReservationHolder: Bool, scope: UInt8 = 0,
                type: ReservationType, relativeTargetPortIdentifier: UInt16, transportID: TransportID) {
        self.key = key
        self.allTargetPorts = allTargetPorts
        self.isReservationHolder = isReservationHolder
        self.scope = scope
        self.type = type
        self.relativeTargetPortIdentifier = relativeTargetPortIdentifier
        self.transportID = transportID
    }

    /// The I_T nexus this registration belongs to (with ALL_TG_PT set, the RTPI is not defined: SPC).
    public var nexus: Nexus { Nexus(transportID: transportID, relativeTargetPortIdentifier: relativeTargetPortIdentifier) }

    /// 24 + TransportID length.
    public var encodedLength: Int { 24 + transportID.bytes.count }

    public func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: encodedLength)
        writer.writeInteger(key.rawValue)
        writer.writeZeros(4)
        writer.writeInteger((allTargetPorts ? 0x02 : 0) | (isReservationHolder ? 0x01 : 0) as UInt8)
        writer.writeInteger((scope & 0x0F) << 4 | (type.rawValue & 0x0F))
        writer.writeZeros(4)
        writer.writeInteger(relativeTargetPortIdentifier)
        writer.writeInteger(UInt32(truncatingIfNeeded: transportID.bytes.count))
        writer.writeBytes(transportID.bytes)
        return writer.bytes
    }
}

/// READ FULL STATUS parameter data (§4.5): PRGENERATION (4), ADDITIONAL LENGTH (4) = Σ(24 + TransportID length),
/// then one `FullStatusDescriptor` per registration in registration order.
public struct ReadFullStatusResponse: Hashable, Sendable {
    public var generation: UInt32
    public var descriptors: [FullStatusDescriptor]
    /// ADDITIONAL LENGTH as claimed (decode) or computed (init).
    public var additionalLength: UInt32

    public init(generation: UInt32, descriptors: [FullStatusDescriptor]) {
        self.generation = generation
        self.descriptors = descriptors
        self.additionalLength = UInt32(truncatingIfNeeded: descriptors.reduce(0) { $0 + $1.encodedLength })
    }

    /// True when the claimed length covers more than the descriptors decoded.
    public var isTruncated: Bool { Int(additionalLength) > descriptors.reduce(0) { $0 + $1.encodedLength } }

    public func encode() -> [UInt8] {
        var writer = ByteWriter()
        writer.writeInteger(generation)
        writer.writeInteger(UInt32(truncatingIfNeeded: descriptors.reduce(0) { $0 + $1.encodedLength }))
        for descriptor in descriptors { writer.writeBytes(descriptor.encode()) }
        return writer.bytes
    }

    /// Needs the 8-byte header; decodes every complete descriptor inside both the transferred bytes and
    /// ADDITIONAL LENGTH, stopping at the first incomplete one.
    public static func decode(_ bytes: [UInt8]) -> ReadFullStatusResponse? {
        guard let generation = bytes.bigEndianInteger(at: 0, as: UInt32.self),
              let length = bytes.bigEndianInteger(at: 4, as: UInt32.self) else { return nil }
        let end = 8 + min(Int(length), bytes.count - 8)
        var descriptors: [FullStatusDescriptor] = []
        var reader = ByteReader(Array(bytes[8..<end]))
        while let key = reader.readInteger(as: UInt64.self) {
            guard reader.skip(4), let flags = reader.readInteger(as: UInt8.self), let scopeType = reader.readInteger(as: UInt8.self),
                  reader.skip(4), let rtpi = reader.readInteger(as: UInt16.self),
                  let tidLength = reader.readInteger(as: UInt32.self), tidLength <= UInt32(reader.remaining),
                  let tid = reader.readBytes(Int(tidLength)) else { break }
            descriptors.append(FullStatusDescriptor(
                key: ReservationKey(key), allTargetPorts: flags & 0x02 != 0, isReservationHolder: flags & 0x01 != 0,
                scope: scopeType >> 4, type: ReservationType(rawValue: scopeType & 0x0F),
                relativeTargetPortIdentifier: rtpi, transportID: TransportID(bytes: tid)))
        }
        var response = ReadFullStatusResponse(generation: generation, descriptors: descriptors)
        response.additionalLength = length
        return response
    }
}
