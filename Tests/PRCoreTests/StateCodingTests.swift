// LogicalUnitState.encode() / init(decoding:): round trips, and corrupt or truncated input throws.
import Testing
@testable import PRCore

struct StateCodingTests {
    /// A state with registrations, a reservation, queued UAs and a partly reported power-on UA.
    static func busyState() -> LogicalUnitState {
        var lu = LU()
        lu.rik(A, B, C)
        _ = lu.send(A, RES(6, A1))
        _ = lu.send(B, REG(B1, 0, aptpl: true))  // keeps A/6, PTPL_A = 1
        lu.state.powerOn()
        _ = lu.send(A, TUR)  // A has seen the power-on UA
        _ = lu.send(A, REG(A1, A2))
        _ = lu.send(A, CLR(A2))
        _ = lu.send(A, RIK(A1))
        _ = lu.send(D, TUR)  // so has D
        _ = lu.send(D, RIK(D1))
        _ = lu.send(A, RES(8, A1))
        _ = lu.send(D, REG(D1, D1, aptpl: true))
        lu.state.establishUnitAttention(.commandsClearedByAnotherInitiator, for: C)
        return lu.state
    }

    @Test func roundTrips() throws {
        for state in [LogicalUnitState(), LogicalUnitState(registrationLimit: 7, generation: 0xFFFF_FFFF), Self.busyState()] {
            let bytes = state.encode()
            let decoded = try LogicalUnitState(decoding: bytes)
            #expect(decoded == state)
            #expect(decoded.encode() == bytes)
        }
        let busy = try LogicalUnitState(decoding: Self.busyState().encode())
        #expect(busy.reservation == .init(type: .exclusiveAccessAllRegistrants, holder: .allRegistrants))
        #expect(busy.pendingUnitAttentions(for: A) == [])
        #expect(busy.pendingUnitAttentions(for: B) == [.powerOnResetOrBusDeviceReset])
        #expect(busy.pendingUnitAttentions(for: C) == [.powerOnResetOrBusDeviceReset, RA03, .commandsClearedByAnotherInitiator])
        #expect(busy.ptplActive)
        #expect(busy.registrations.map(\.nexus) == [A, D])
    }

    @Test func freshEncodingLayout() {
        #expect(LogicalUnitState().encode() == Array("PRLU".utf8) + hex("0001 00 00000000 00000080 00000000 00 00000000 00000000"))
    }

    @Test func encodingIsDeterministic() {
        var first = LogicalUnitState()
        first.establishUnitAttention(RA03, for: B)
        first.establishUnitAttention(RA04, for: A)
        var second = LogicalUnitState()
        second.establishUnitAttention(RA04, for: A)
        second.establishUnitAttention(RA03, for: B)
        #expect(first.encode() == second.encode())
    }

    @Test func everyTruncationThrows() {
        let bytes = Self.busyState().encode()
        for length in 0..<bytes.count {
            #expect(throws: LogicalUnitStateDecodingError.self) { try LogicalUnitState(decoding: Array(bytes.prefix(length))) }
        }
    }

    @Test func headerErrors() {
        let bytes = LogicalUnitState().encode()
        #expect(throws: LogicalUnitStateDecodingError.badMagic) { try LogicalUnitState(decoding: Array("XXXX".utf8) + bytes.dropFirst(4)) }
        var version = bytes
        version[5] = 2
        #expect(throws: LogicalUnitStateDecodingError.unsupportedVersion(2)) { try LogicalUnitState(decoding: version) }
        #expect(throws: LogicalUnitStateDecodingError.trailingBytes) { try LogicalUnitState(decoding: bytes + [0]) }
        var flags = bytes
        flags[6] = 0x80
        #expect(throws: LogicalUnitStateDecodingError.self) { try LogicalUnitState(decoding: flags) }
        #expect(throws: LogicalUnitStateDecodingError.truncated) { try LogicalUnitState(decoding: []) }
    }

    @Test("A huge count fails fast instead of allocating")
    func hugeCounts() {
        var bytes = LogicalUnitState().encode()
        bytes.replaceSubrange(15..<19, with: [0xFF, 0xFF, 0xFF, 0xFF])  // registration count
        #expect(throws: LogicalUnitStateDecodingError.truncated) { try LogicalUnitState(decoding: bytes + [UInt8](repeating: 0, count: 64)) }
        var queues = LogicalUnitState().encode()
        queues.replaceSubrange(20..<24, with: [0xFF, 0xFF, 0xFF, 0xFF])  // UA queue count
        #expect(throws: LogicalUnitStateDecodingError.truncated) { try LogicalUnitState(decoding: queues) }
    }

    /// Encodes a one-registration state by hand, with a reservation section supplied by the test.
    static func handmade(key: UInt64 = A1, reservation: [UInt8]) -> [UInt8] {
        var writer = ByteWriter()
        writer.writeBytes(Array("PRLU".utf8) + hex("0001 00 00000001 00000080 00000001"))
        writer.writeInteger(key)
        writer.writeInteger(A.relativeTargetPortIdentifier)
        writer.writeInteger(UInt16(A.transportID.bytes.count))
        writer.writeBytes(A.transportID.bytes)
        writer.writeBytes(reservation)
        writer.writeBytes(hex("00000000 00000000"))
        return writer.bytes
    }

    @Test("Invariant violations are rejected")
    func invariants() throws {
        let holderA = hex("01 03 00") + hex("0001") + [0, UInt8(A.transportID.bytes.count)] + A.transportID.bytes
        let holderB = hex("01 03 00") + hex("0002") + [0, UInt8(B.transportID.bytes.count)] + B.transportID.bytes
        #expect(try LogicalUnitState(decoding: Self.handmade(reservation: holderA)).reservationHolder == A)
        #expect(try LogicalUnitState(decoding: Self.handmade(reservation: hex("02 07 00"))).reservation?.holder == .allRegistrants)
        let invalid: [[UInt8]] = [
            Self.handmade(reservation: holderB),  // holder not registered (I1)
            Self.handmade(key: 0, reservation: [0]),  // key 0
            Self.handmade(reservation: hex("02 03 00")),  // type 3 held by all
            Self.handmade(reservation: hex("01 07 00") + Array(holderA.dropFirst(3))),  // type 7 with one holder
            Self.handmade(reservation: hex("02 02 00")),  // undefined type
            Self.handmade(reservation: hex("02 07 01")),  // scope 1
            Self.handmade(reservation: hex("03 07 00")),  // unknown tag
        ]
        for bytes in invalid {
            #expect(throws: LogicalUnitStateDecodingError.self) { try LogicalUnitState(decoding: bytes) }
        }
        // A TransportID that is not in canonical form (upper-case) is rejected.
        var upper = Self.handmade(reservation: [0])
        upper[29] = UInt8(ascii: "I")
        #expect(throws: LogicalUnitStateDecodingError.self) { try LogicalUnitState(decoding: upper) }
    }

    @Test("Every single-byte corruption throws or decodes to a state that round-trips")
    func singleByteCorruption() {
        let bytes = Self.busyState().encode()
        for index in bytes.indices {
            for value: UInt8 in [0x00, 0x01, 0x7F, 0xFF, bytes[index] ^ 0x20] {
                var corrupt = bytes
                corrupt[index] = value
                if let state = try? LogicalUnitState(decoding: corrupt) {
                    #expect((try? LogicalUnitState(decoding: state.encode())) == state)
                }
            }
        }
    }
}
