// Engine behaviour beyond the §6 tables: limits, truncation, UA exemptions, malformed input, invariants.
import Testing
@testable import PRCore

struct EngineTests {
    @Test("R8: the registration limit gives 5/55/04 and changes nothing")
    func registrationLimit() {
        var lu = LU()
        lu.state.registrationLimit = 2
        lu.rik(A, B)
        #expect(lu.send(C, RIK(C1)) == CC(5, 0x55, 0x04))
        lu.expect(keys: [(A, A1), (B, B1)], res: .none, gen: 2, uas: [:])
        // A key change and an unregistration still work at the limit.
        #expect(lu.send(A, REG(A1, A2)) == .good)
        #expect(lu.send(B, REG(B1, 0)) == .good)
        #expect(lu.send(C, RIK(C1)) == .good)
        lu.expect(keys: [(A, A2), (C, C1)], res: .none, gen: 5)
        // REGISTER AND MOVE to a new nexus needs a registration too.
        #expect(lu.send(A, RES(1, A2)) == .good)
        #expect(lu.send(A, RAM(A2, D1, dest: D)) == CC(5, 0x55, 0x04))
        #expect(LogicalUnitState().registrationLimit == 128)
    }

    @Test("INQUIRY, REPORT LUNS and REQUEST SENSE neither report nor consume a unit attention")
    func unitAttentionExemptCommands() {
        var lu = LU()
        lu.state.establishUnitAttention(.reservationsPreempted, for: A)
        for command in [INQUIRY, REPORT_LUNS, REQUEST_SENSE] { #expect(lu.send(A, command) == .good) }
        #expect(lu.state.pendingUnitAttentions(for: A) == [.reservationsPreempted])
        // Every other command reports it, PR IN and PR OUT included, before anything else.
        #expect(lu.send(A, RIK(A1)) == CC(6, 0x2A, 0x03))
        lu.expect(keys: [], res: .none, gen: 0, uas: [:])
    }

    @Test("Unit attentions are a FIFO per nexus")
    func unitAttentionOrder() {
        var lu = LU()
        lu.rik(A, B, C)
        #expect(lu.send(A, RES(5, A1)) == .good)
        #expect(lu.send(A, REL(5, A1)) == .good)  // B, C: 2A/04
        #expect(lu.send(A, CLR(A1)) == .good)  // B, C: 2A/03
        lu.expect(keys: [], res: .none, gen: 4, uas: [B: [RA04, RA03], C: [RA04, RA03]])
        #expect(lu.send(B, TUR) == CC(6, 0x2A, 0x04))
        #expect(lu.send(B, TUR) == CC(6, 0x2A, 0x03))
        #expect(lu.send(B, TUR) == .good)
        #expect(lu.state.nexusesWithQueuedUnitAttentions == [C])
    }

    @Test("PR IN data is cut to min(ALLOCATION LENGTH, data-in buffer)")
    func persistentReserveInTruncation() {
        var lu = LU()
        lu.rik(A, B)
        var command = RKEYS(alloc: 100)
        command.dataInLength = 12
        #expect(lu.run(A, command).data == hex("00000002 00000010 00000000"))
        #expect(lu.run(A, RFS(alloc: 30)).data.count == 30)
        #expect(ReadFullStatusResponse.decode(lu.run(A, RFS(alloc: 30)).data)?.additionalLength == 144)
        #expect(lu.run(A, RCAP(alloc: 2)).data == hex("00 08"))
    }

    @Test("A nexus is identified by its port however its TransportID is padded or cased")
    func nexusNormalization() {
        var lu = LU()
        let text = Array("iqn.1994-05.com.redhat:A,i,0x400001370000".utf8) + [UInt8](repeating: 0, count: 7)
        let sameAsA = Nexus(transportID: TransportID(bytes: [0x45, 0, 0, UInt8(text.count)] + text), relativeTargetPortIdentifier: 1)
        #expect(lu.send(sameAsA, RIK(A1)) == .good)
        #expect(lu.state.isRegistered(A))
        #expect(lu.state.key(of: A) == ReservationKey(A1))
        #expect(lu.send(A, RES(3, A1)) == .good)
        #expect(lu.state.isHolder(sameAsA))
        #expect(lu.state.reservationHolder == A)
        // Another RTPI is another nexus.
        let otherPort = Nexus(transportID: A.transportID, relativeTargetPortIdentifier: 2)
        #expect(!lu.state.isRegistered(otherPort))
        #expect(lu.send(otherPort, R10) == .conflict)
    }

    @Test("Byte 20: SPEC_I_PT and ALL_TG_PT on registration are rejected; APTPL is accepted")
    func registrationFlags() {
        var lu = LU()
        #expect(lu.send(A, prOut(0, sark: A1, specI: true)) == CC(5, 0x26, 0))
        #expect(lu.send(A, prOut(6, sark: A1, specI: true, pll: 28, data: prOut(6, sark: A1, specI: true).dataOut + [0, 0, 0, 0])) == CC(5, 0x26, 0))
        #expect(lu.send(A, prOut(0, sark: A1, allTg: true)) == CC(5, 0x26, 0))
        #expect(lu.send(A, prOut(6, sark: A1, allTg: true)) == CC(5, 0x26, 0))
        lu.expect(keys: [], res: .none, gen: 0)
        #expect(lu.send(A, prOut(6, sark: A1, aptpl: true)) == .good)
        #expect(lu.state.ptplActive)
        // R7: a registered nexus with SPEC_I_PT.
        #expect(lu.send(A, prOut(0, rk: A1, sark: A2, specI: true)) == CC(5, 0x26, 0))
        // A no-op REGISTER does not change PTPL_A (R2 changes nothing but gen).
        #expect(lu.send(B, prOut(0, aptpl: false)) == .good)
        #expect(lu.state.ptplActive)
        lu.expect(keys: [(A, A1)], res: .none, gen: 2)
    }

    @Test("REGISTER AND MOVE sets PTPL_A from its APTPL bit")
    func registerAndMoveAPTPL() {
        var lu = LU()
        lu.rik(A)
        #expect(lu.send(A, RES(1, A1)) == .good)
        #expect(lu.send(A, RAM(A1, B1, aptpl: true, dest: B)) == .good)
        #expect(lu.state.ptplActive)
        #expect(lu.run(A, RCAP()).data[3] == 0x91)
    }

    @Test("REGISTER AND MOVE: bad lengths and destinations get 5/26/00")
    func registerAndMoveMalformed() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(3, A1)) == .good)
        let good = RAM(A1, B2, dest: B).dataOut
        // M2: PLL ≠ 24 + TRANSPORTID PARAMETER DATA LENGTH.
        #expect(lu.send(A, prOut(7, pll: UInt32(good.count + 4), data: good + [0, 0, 0, 0])) == CC(5, 0x26, 0))
        #expect(lu.send(A, prOut(7, pll: 24, data: Array(good.prefix(24)))) == CC(5, 0x26, 0))
        // PLL < 24 is step 4.
        #expect(lu.send(A, prOut(7, pll: 20, data: Array(good.prefix(20)))) == CC(5, 0x1A, 0))
        // PLL larger than the data actually sent.
        #expect(lu.send(A, prOut(7, pll: 200, data: good)) == CC(5, 0x1A, 0))
        // M8: a TransportID of an unknown protocol, one shorter than it claims, RTPI 0.
        var unknown = good
        unknown[24] = 0x0F
        #expect(lu.send(A, prOut(7, data: unknown)) == CC(5, 0x26, 0))
        var inconsistent = good
        inconsistent[27] = 0x40
        #expect(lu.send(A, prOut(7, data: inconsistent)) == CC(5, 0x26, 0))
        #expect(lu.send(A, RAM(A1, B2, dest: B, rtpi: 0)) == CC(5, 0x26, 0))
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 3), gen: 2, uas: [:])
        // A destination on another target port is another nexus: registered anew.
        #expect(lu.send(A, RAM(A1, B2, dest: B, rtpi: 1)) == .good)
        let bOnPort1 = Nexus(transportID: B.transportID, relativeTargetPortIdentifier: 1)
        #expect(lu.state.reservationHolder == bOnPort1)
        #expect(lu.state.registrations.count == 3)
    }

    @Test("PREEMPT AND ABORT of an all-registrants reservation aborts every other registrant")
    func preemptAndAbortAllRegistrants() {
        var lu = LU()
        lu.rik(A, B, C)
        #expect(lu.send(A, RES(8, A1)) == .good)
        let paa = lu.run(B, PAA(3, B1, 0))
        #expect(paa.outcome == .good)
        #expect(Set(paa.aborted) == [A, C])
        // PREEMPT (no abort) reports nothing.
        var other = LU()
        other.rik(A, B)
        #expect(other.send(A, RES(3, A1)) == .good)
        #expect(other.run(B, PRE(3, B1, A1)).aborted == [])
    }

    @Test("P-val applies to P1 and P3 only")
    func preemptValidation() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(3, A1)) == .good)
        #expect(lu.send(B, PRE(0, B1, A1)) == CC(5, 0x24, 0))  // P3, TYPE 0
        #expect(lu.send(B, prOut(4, type: 3, scope: 1, rk: B1, sark: A1)) == CC(5, 0x24, 0))  // P3, SCOPE 1
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 3), gen: 2, uas: [:])
        var all = LU()
        all.rik(A, B)
        #expect(all.send(A, RES(7, A1)) == .good)
        #expect(all.send(B, PRE(2, B1, 0)) == CC(5, 0x24, 0))  // P1, TYPE 2
        #expect(all.send(B, PRE(2, B1, A1)) == .good)  // P2 ignores TYPE
        all.expect(keys: [(B, B1)], res: .all(7), gen: 3, uas: [A: [RA05]])
    }

    @Test("Malformed CDBs and parameter data never trap")
    func malformedInput() {
        var lu = LU()
        #expect(lu.send(A, Command(cdb: [])) == CC(5, 0x20, 0))
        #expect(lu.send(A, Command(cdb: [0x5F, 0x00, 0x00])) == CC(5, 0x24, 0))
        #expect(lu.send(A, Command(cdb: [0x5E, 0x00])) == CC(5, 0x24, 0))
        #expect(lu.send(A, prOut(0, pll: 24, data: [1, 2, 3])) == CC(5, 0x1A, 0))
        #expect(lu.send(A, prOut(0, pll: 0xFFFF_FFFF, data: REG(0, A1).dataOut)) == CC(5, 0x1A, 0))
        var negative = RKEYS()
        negative.dataInLength = -5
        #expect(lu.run(A, negative).data == [])
        lu.expect(keys: [], res: .none, gen: 0, uas: [:])
    }

    @Test("Random command streams keep the §1.1 invariants and the state encoding round-trips")
    func randomCommandStreams() throws {
        var rng = SplitMix64(seed: 0x5EED)
        let keys: [UInt64] = [0, A1, B1, C1, K1]
        for _ in 0..<40 {
            var lu = LU()
            lu.state.registrationLimit = 3
            for _ in 0..<150 {
                let nexus = allNexuses[Int(rng.next() % 4)]
                let command: Command
                switch rng.next() % 10 {
                case 0: command = prOut(UInt8(rng.next() % 9), type: UInt8(rng.next() % 10), scope: UInt8(rng.next() % 2),
                                        rk: keys[Int(rng.next() % 5)], sark: keys[Int(rng.next() % 5)],
                                        aptpl: rng.next() % 4 == 0)
                case 1: command = RAM(keys[Int(rng.next() % 5)], keys[Int(rng.next() % 5)], unreg: rng.next() % 2 == 0,
                                      dest: allNexuses[Int(rng.next() % 4)])
                case 2: command = prIn(UInt8(rng.next() % 5), alloc: UInt16(rng.next() % 200))
                case 3: command = [R10, W10, TUR, INQUIRY, MODE_SENSE_6][Int(rng.next() % 5)]
                case 4:
                    let cdb = (0..<Int(rng.next() % 12)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    let data = (0..<Int(rng.next() % 80)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    command = Command(cdb: cdb, dataOut: data, dataInLength: Int(rng.next() % 300))
                case 5:
                    lu.state.powerOn()
                    continue
                default: command = prOut([0, 1, 2, 3, 4, 5, 6][Int(rng.next() % 7)], type: [1, 3, 5, 6, 7, 8][Int(rng.next() % 6)],
                                         rk: keys[Int(rng.next() % 5)], sark: keys[Int(rng.next() % 5)])
                }
                lu.run(nexus, command)
                try checkInvariants(lu.state)
            }
        }
    }

    func checkInvariants(_ state: LogicalUnitState, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let nexuses = state.registrations.map(\.nexus)
        #expect(Set(nexuses).count == nexuses.count, "one registration per nexus", sourceLocation: sourceLocation)
        #expect(!state.registrations.contains { $0.key.isZero }, "no zero keys", sourceLocation: sourceLocation)
        #expect(state.registrations.count <= state.registrationLimit, sourceLocation: sourceLocation)
        if let reservation = state.reservation {
            #expect(reservation.type.isDefined && reservation.scope == 0, "I3", sourceLocation: sourceLocation)
            switch reservation.holder {
            case .nexus(let holder):
                #expect(!reservation.type.isAllRegistrants, sourceLocation: sourceLocation)
                #expect(nexuses.contains(holder), "I1", sourceLocation: sourceLocation)
            case .allRegistrants:
                #expect(reservation.type.isAllRegistrants, sourceLocation: sourceLocation)
                #expect(!nexuses.isEmpty, "I2", sourceLocation: sourceLocation)
            }
        }
        let decoded = try LogicalUnitState(decoding: state.encode())
        #expect(decoded == state, "encoding round-trips", sourceLocation: sourceLocation)
    }
}



@Suite("Unit attention queues stay bounded")
struct UnitAttentionBoundTests {
    @Test("an idle registrant under type 7 keeps one 2A/04, however many RELEASEs the others make")
    func coalesced() {
        var lu = LogicalUnitState()
        let a = Nexus(transportID: .iscsi(name: "iqn.1994-05.com.redhat:a"), relativeTargetPortIdentifier: 1)
        let b = Nexus(transportID: .iscsi(name: "iqn.1994-05.com.redhat:b"), relativeTargetPortIdentifier: 2)
        func out(_ sa: PersistentReserveOut.ServiceAction, _ type: ReservationType, rk: UInt64, sark: UInt64, from n: Nexus) -> ScsiStatus {
            let params = PersistentReserveOut.ParameterList(reservationKey: ReservationKey(rk), serviceActionReservationKey: ReservationKey(sark),
                                                            specifyInitiatorPorts: false, allTargetPorts: false,
                                                            activatePersistThroughPowerLoss: false).encode()
            let cdb = PersistentReserveOut.CDB(serviceAction: sa, scope: 0, type: type, parameterListLength: 24).encode()
            guard case .response(let r) = lu.process(cdb: cdb, dataOut: params, dataInLength: 0, from: n) else { return .good }
            return r.status
        }
        #expect(out(.registerAndIgnoreExistingKey, .writeExclusiveAllRegistrants, rk: 0, sark: 0xA1, from: a) == .good)
        #expect(out(.registerAndIgnoreExistingKey, .writeExclusiveAllRegistrants, rk: 0, sark: 0xB1, from: b) == .good)
        for _ in 0..<1000 {
            #expect(out(.reserve, .writeExclusiveAllRegistrants, rk: 0xA1, sark: 0, from: a) == .good)
            #expect(out(.release, .writeExclusiveAllRegistrants, rk: 0xA1, sark: 0, from: a) == .good)
        }
        #expect(lu.pendingUnitAttentions(for: b) == [.reservationsReleased])
        #expect(lu.encode().count < 1024)
        // distinct conditions still queue in order
        #expect(out(.preempt, .exclusiveAccess, rk: 0xA1, sark: 0xB1, from: a) == .good)
        #expect(lu.pendingUnitAttentions(for: b) == [.reservationsReleased, .registrationsPreempted])
    }
}
