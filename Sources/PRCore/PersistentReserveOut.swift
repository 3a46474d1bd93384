/// PERSISTENT RESERVE OUT (5Fh): CDB and parameter lists (`docs/pr-rules.md` §2.0, §4.7, §4.8).
///
/// CDB (10 bytes):
///
/// | Byte | Field |
/// |---|---|
/// | 0 | 5Fh |
/// | 1 | bits 4–0 SERVICE ACTION |
/// | 2 | bits 7–4 SCOPE, bits 3–0 TYPE |
/// | 3–4 | reserved |
/// | 5–8 | PARAMETER LIST LENGTH (32-bit) |
/// | 9 | CONTROL |
///
/// Basic parameter list (SA ≠ 07h), 24 bytes (§4.7):
///
/// | Offset | Len | Field |
/// |---|---|---|
/// | 0 | 8 | RESERVATION KEY |
/// | 8 | 8 | SERVICE ACTION RESERVATION KEY |
/// | 16 | 4 | obsolete (scope-specific address) = 0 |
/// | 20 | 1 | bit 3 SPEC_I_PT, bit 2 ALL_TG_PT, bit 0 APTPL |
/// | 21 | 1 | reserved |
/// | 22 | 2 | obsolete = 0 |
/// | 24 | 4 | only if SPEC_I_PT=1: TRANSPORTID PARAMETER DATA LENGTH, then TransportIDs |
///
/// REGISTER AND MOVE parameter list (SA 07h, §4.8):
///
/// | Offset | Len | Field |
/// |---|---|---|
/// | 0 | 8 | RESERVATION KEY |
/// | 8 | 8 | SERVICE ACTION RESERVATION KEY (destination's key, ≠ 0) |
/// | 16 | 1 | reserved |
/// | 17 | 1 | bit 1 UNREG, bit 0 APTPL |
/// | 18 | 2 | RELATIVE TARGET PORT IDENTIFIER of the destination |
/// | 20 | 4 | TRANSPORTID PARAMETER DATA LENGTH; PLL must equal 24 + this |
/// | 24 | … | TransportID of the destination initiator port |
public enum PersistentReserveOut {
    /// SERVICE ACTION (CDB byte 1 bits 4–0).
    public struct ServiceAction: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// REGISTER (00h).
        public static let register = ServiceAction(rawValue: 0x00)
        /// RESERVE (01h).
        public static let reserve = ServiceAction(rawValue: 0x01)
        /// RELEASE (02h).
        public static let release = ServiceAction(rawValue: 0x02)
        /// CLEAR (03h).
        public static let clear = ServiceAction(rawValue: 0x03)
        /// PREEMPT (04h).
        public static let preempt = ServiceAction(rawValue: 0x04)
        /// PREEMPT AND ABORT (05h).
        public static let preemptAndAbort = ServiceAction(rawValue: 0x05)
        /// REGISTER AND IGNORE EXISTING KEY (06h).
        public static let registerAndIgnoreExistingKey = ServiceAction(rawValue: 0x06)
        /// REGISTER AND MOVE (07h).
        public static let registerAndMove = ServiceAction(rawValue: 0x07)
        /// REPLACE LOST RESERVATION (08h, SPC-5; the engine answers 5/24/00).
        public static let replaceLostReservation = ServiceAction(rawValue: 0x08)

        /// sg3_utils' name ("register and ignore existing key").
        public var name: String {
            switch rawValue {
            case 0: return "register"
            case 1: return "reserve"
            case 2: return "release"
            case 3: return "clear"
            case 4: return "preempt"
            case 5: return "preempt and abort"
            case 6: return "register and ignore existing key"
            case 7: return "register and move"
            case 8: return "replace lost reservation"
            default: return "service action 0x" + Hex.twoDigits(rawValue)
            }
        }
        public var description: String { name }
    }

    /// The 10-byte CDB.
    public struct CDB: Hashable, Sendable {
        public var serviceAction: ServiceAction
        /// SCOPE, 4 bits (0 = LU_SCOPE).
        public var scope: UInt8
        /// TYPE, 4 bits.
        public var type: ReservationType
        public var parameterListLength: UInt32
        public var control: UInt8

        public init(serviceAction: ServiceAction, scope: UInt8 = 0, type: ReservationType = ReservationType(rawValue: 0),
                    parameterListLength: UInt32 = 24, control: UInt8 = 0) {
            self.serviceAction = serviceAction
            self.scope = scope
            self.type = type
            self.parameterListLength = parameterListLength
            self.control = control
        }

        public func encode() -> [UInt8] {
            var writer = ByteWriter(capacity: 10)
            writer.writeInteger(OperationCode.persistentReserveOut.rawValue)
            writer.writeInteger(serviceAction.rawValue & 0x1F)
            writer.writeInteger((scope & 0x0F) << 4 | (type.rawValue & 0x0F))
            writer.writeZeros(2)
            writer.writeInteger(parameterListLength)
            writer.writeInteger(control)
            return writer.bytes
        }

        /// `nil` if shorter than 10 bytes or not opcode 5Fh.
        public static func decode(_ bytes: [UInt8]) -> CDB? {
            guard bytes.count >= 10, bytes[0] == OperationCode.persistentReserveOut.rawValue,
                  let length = bytes.bigEndianInteger(at: 5, as: UInt32.self) else { return nil }
            return CDB(serviceAction: ServiceAction(rawValue: bytes[1] & 0x1F), scope: bytes[2] >> 4,
                       type: ReservationType(rawValue: bytes[2] & 0x0F), parameterListLength: length, control: bytes[9])
        }
    }

    /// The basic 24-byte parameter list (every SA except REGISTER AND MOVE).
    public struct ParameterList: Hashable, Sendable {
        public var reservationKey: ReservationKey
        public var serviceActionReservationKey: ReservationKey
        public var specifyInitiatorPorts: Bool
        public var allTargetPorts: Bool
        public var activatePersistThroughPowerLoss: Bool

        public init(reservationKey: ReservationKey = .zero, serviceActionReservationKey: ReservationKey = .zero,
                    specifyInitiatorPorts: Bool = false, allTargetPorts: Bool = false,
                    activatePersistThroughPowerLoss: Bool = false) {
            self.reservationKey = reservationKey
            self.serviceActionReservationKey = serviceActionReservationKey
            self.specifyInitiatorPorts = specifyInitiatorPorts
            self.allTargetPorts = allTargetPorts
            self.activatePersistThroughPowerLoss = activatePersistThroughPowerLoss
        }

        /// Byte 20.
        var flagsByte: UInt8 {
            (specifyInitiatorPorts ? 0x08 : 0) | (allTargetPorts ? 0x04 : 0) | (activatePersistThroughPowerLoss ? 0x01 : 0)
        }

        /// 24 bytes.
        public func encode() -> [UInt8] {
            var writer = ByteWriter(capacity: 24)
            writer.writeInteger(reservationKey.rawValue)
            writer.writeInteger(serviceActionReservationKey.rawValue)
            writer.writeZeros(4)
            writer.writeInteger(flagsByte)
            writer.writeZeros(3)
            return writer.bytes
        }

        /// Decodes the first 24 bytes (anything after them, e.g. SPEC_I_PT TransportIDs, is left to the caller).
        /// `nil` if fewer than 24 bytes.
        public static func decode(_ bytes: [UInt8]) -> ParameterList? {
            var reader = ByteReader(bytes)
            guard let rk = reader.readInteger(as: UInt64.self), let sark = reader.readInteger(as: UInt64.self),
                  reader.skip(4), let flags = reader.readInteger(as: UInt8.self), reader.skip(3) else { return nil }
            return ParameterList(reservationKey: ReservationKey(rk), serviceActionReservationKey: ReservationKey(sark),
                                 specifyInitiatorPorts: flags & 0x08 != 0, allTargetPorts: flags & 0x04 != 0,
                                 activatePersistThroughPowerLoss: flags & 0x01 != 0)
        }
    }

    /// The REGISTER AND MOVE parameter list: 24-byte header + destination TransportID.
    public struct RegisterAndMoveParameterList: Hashable, Sendable {
        public var reservationKey: ReservationKey
        public var serviceActionReservationKey: ReservationKey
        public var unregister: Bool
        public var activatePersistThroughPowerLoss: Bool
        public var relativeTargetPortIdentifier: UInt16
        /// The destination's TransportID bytes (its length is TRANSPORTID PARAMETER DATA LENGTH).
        public var transportID: [UInt8]

        public init(reservationKey: ReservationKey, serviceActionReservationKey: ReservationKey, unregister: Bool = false,
                    activatePersistThroughPowerLoss: Bool = false, relativeTargetPortIdentifier: UInt16,
                    transportID: [UInt8]) {
            self.reservationKey = reservationKey
            self.serviceActionReservationKey = serviceActionReservationKey
            self.unregister = unregister
            self.activatePersistThroughPowerLoss = activatePersistThroughPowerLoss
            self.relativeTargetPortIdentifier = relativeTargetPortIdentifier
            self.transportID = transportID
        }

        /// 24 + transportID.count bytes; use that as the CDB's PARAMETER LIST LENGTH.
        public func encode() -> [UInt8] {
            var writer = ByteWriter(capacity: 24 + transportID.count)
            writer.writeInteger(reservationKey.rawValue)
            writer.writeInteger(serviceActionReservationKey.rawValue)
            writer.writeZeros(1)
            writer.writeInteger((unregister ? 0x02 : 0) | (activatePersistThroughPowerLoss ? 0x01 : 0) as UInt8)
            writer.writeInteger(relativeTargetPortIdentifier)
            writer.writeInteger(UInt32(truncatingIfNeeded: transportID.count))
            writer.writeBytes(transportID)
            return writer.bytes
        }

        /// The TRANSPORTID PARAMETER DATA LENGTH field of `bytes`, or `nil` if the header is short.
        public static func transportIDParameterDataLength(in bytes: [UInt8]) -> UInt32? {
            bytes.count >= 24 ? bytes.bigEndianInteger(at: 20, as: UInt32.self) : nil
        }

        /// `nil` if the header is short or the TransportID is shorter than its declared length.
        /// Bytes after the declared TransportID are ignored.
        public static func decode(_ bytes: [UInt8]) -> RegisterAndMoveParameterList? {
            var reader = ByteReader(bytes)
            guard let rk = reader.readInteger(as: UInt64.self), let sark = reader.readInteger(as: UInt64.self),
                  reader.skip(1), let flags = reader.readInteger(as: UInt8.self),
                  let rtpi = reader.readInteger(as: UInt16.self), let length = reader.readInteger(as: UInt32.self),
                  length <= UInt32(reader.remaining), let tid = reader.readBytes(Int(length)) else { return nil }
            return RegisterAndMoveParameterList(reservationKey: ReservationKey(rk), serviceActionReservationKey: ReservationKey(sark),
                                                unregister: flags & 0x02 != 0, activatePersistThroughPowerLoss: flags & 0x01 != 0,
                                                relativeTargetPortIdentifier: rtpi, transportID: tid)
        }
    }
}
