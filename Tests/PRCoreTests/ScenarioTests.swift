// docs/pr-rules.md §6: every conformance scenario S1–S60, step by step, with the table's columns
// (Expect, Keys, Res, Gen, UA). Each setup starts from a fresh LU unless the scenario says otherwise.
import Testing
@testable import PRCore

@Suite("§6.1 Registration")
struct RegistrationScenarios {
    @Test("S1 REGISTER from an unregistered nexus, READ KEYS bytes")
    func s1() {
        var lu = LU()
        #expect(lu.send(A, REG(0, A1)) == .good)  // S1.1
        lu.expect(keys: [(A, A1)], res: .none, gen: 1, uas: [:])
        let keys = lu.run(A, RKEYS())  // S1.2
        #expect(keys.outcome == .good)
        #expect(keys.data == hex("00000001 00000008 00000000000000A1"))
        lu.expect(keys: [(A, A1)], res: .none, gen: 1, uas: [:])
    }

    @Test("S2 RIK ignores RK")
    func s2() {
        var lu = LU()
        #expect(lu.send(A, RIK(A1, rk: 0x1234)) == .good)  // S2.1
        lu.expect(keys: [(A, A1)], res: .none, gen: 1, uas: [:])
    }

    @Test("S3 REGISTER with RK≠0 from an unregistered nexus")
    func s3() {
        var lu = LU()
        #expect(lu.send(A, REG(A1, A1)) == .conflict)  // S3.1
        lu.expect(keys: [], res: .none, gen: 0, uas: [:])
    }

    @Test("S4 register, re-register fails, unregister (libiscsi test_prout_register_simple)")
    func s4() {
        var lu = LU()
        #expect(lu.send(A, RIK(A1)) == .good)  // S4.1
        lu.expect(keys: [(A, A1)], res: .none, gen: 1)
        #expect(lu.send(A, REG(0, A2)) == .conflict)  // S4.2
        lu.expect(keys: [(A, A1)], res: .none, gen: 1)
        #expect(lu.send(A, REG(A1, 0)) == .good)  // S4.3
        lu.expect(keys: [], res: .none, gen: 2)
        let keys = lu.run(A, RKEYS())  // S4.4
        #expect(keys.outcome == .good)
        #expect(ReadKeysResponse.decode(keys.data)?.additionalLength == 0)
        lu.expect(keys: [], res: .none, gen: 2, uas: [:])
    }

    @Test("S5 key change, stale key, RIK over a key")
    func s5() {
        var lu = LU()
        lu.rik(A)
        #expect(lu.send(A, REG(A1, A2)) == .good)  // S5.1
        lu.expect(keys: [(A, A2)], res: .none, gen: 2)
        #expect(lu.send(A, REG(A1, A3)) == .conflict)  // S5.2
        lu.expect(keys: [(A, A2)], res: .none, gen: 2)
        #expect(lu.send(A, RIK(A3, rk: 0xFFFF)) == .good)  // S5.3
        lu.expect(keys: [(A, A3)], res: .none, gen: 3, uas: [:])
    }

    @Test("S6 no-op REGISTER and RIK with SARK=0 still increment gen")
    func s6() {
        var lu = LU()
        #expect(lu.send(A, REG(0, 0)) == .good)  // S6.1
        lu.expect(keys: [], res: .none, gen: 1)
        #expect(lu.send(A, RIK(0)) == .good)  // S6.2
        lu.expect(keys: [], res: .none, gen: 2, uas: [:])
    }

    @Test("S7 two nexuses with the same key")
    func s7() {
        var lu = LU()
        #expect(lu.send(A, RIK(K1)) == .good)  // S7.1
        lu.expect(keys: [(A, K1)], res: .none, gen: 1)
        #expect(lu.send(B, RIK(K1)) == .good)  // S7.2
        lu.expect(keys: [(A, K1), (B, K1)], res: .none, gen: 2)
        let keys = ReadKeysResponse.decode(lu.run(B, RKEYS()).data)  // S7.3
        #expect(keys?.additionalLength == 16)
        #expect(keys?.keys == [ReservationKey(K1), ReservationKey(K1)])
        lu.expect(keys: [(A, K1), (B, K1)], res: .none, gen: 2, uas: [:])
    }

    @Test("S8 the holder changes its key; READ RESERVATION shows the new key")
    func s8() {
        var lu = LU()
        lu.rik(A)
        #expect(lu.send(A, RES(3, A1)) == .good)
        lu.expect(keys: [(A, A1)], res: .held(A, 3), gen: 1)
        #expect(lu.send(A, REG(A1, A2)) == .good)  // S8.1
        lu.expect(keys: [(A, A2)], res: .held(A, 3), gen: 2)
        let rres = lu.run(B, RRES())  // S8.2
        #expect(rres.outcome == .good)
        #expect(ReadReservationResponse.decode(rres.data)?.reservation?.key == ReservationKey(A2))
        #expect(rres.data[21] == 0x03)
        lu.expect(keys: [(A, A2)], res: .held(A, 3), gen: 2, uas: [:])
    }
}

@Suite("§6.2 RESERVE")
struct ReserveScenarios {
    @Test("S9 RESERVE from an unregistered nexus on a fresh LU")
    func s9() {
        var lu = LU()
        #expect(lu.send(A, RES(1, 0)) == .conflict)  // S9.1
        lu.expect(keys: [], res: .none, gen: 0, uas: [:])
    }

    @Test("S10 RESERVE with the wrong RK")
    func s10() {
        var lu = LU()
        lu.rik(A)
        #expect(lu.send(A, RES(1, A2)) == .conflict)  // S10.1
        lu.expect(keys: [(A, A1)], res: .none, gen: 1, uas: [:])
    }

    @Test("S11 RESERVE, READ RESERVATION bytes, repeat, type change, non-holder")
    func s11() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(1, A1)) == .good)  // S11.1
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 1), gen: 2)
        let rres = lu.run(C, RRES())  // S11.2
        #expect(rres.outcome == .good)
        #expect(rres.data == hex("00000002 00000010 00000000000000A1 00000000 00 01 0000"))
        #expect(lu.send(A, RES(1, A1)) == .good)  // S11.3
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 1), gen: 2)
        #expect(lu.send(A, RES(3, A1)) == .conflict)  // S11.4
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 1), gen: 2)
        #expect(lu.send(B, RES(1, B1)) == .conflict)  // S11.5
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 1), gen: 2, uas: [:])
    }

    @Test("S12 RESERVE with an invalid TYPE or SCOPE")
    func s12() {
        var lu = LU()
        lu.rik(A)
        #expect(lu.send(A, RES(2, A1)) == CC(5, 0x24, 0))  // S12.1
        #expect(lu.send(A, RES(0, A1)) == CC(5, 0x24, 0))  // S12.2
        #expect(lu.send(A, RES(1, A1, scope: 1)) == CC(5, 0x24, 0))  // S12.3
        lu.expect(keys: [(A, A1)], res: .none, gen: 1, uas: [:])
    }

    @Test("S13 RESERVE, READ RESERVATION, RELEASE for every type (libiscsi test_prout_reserve_simple)")
    func s13() {
        var lu = LU()
        lu.rik(A)
        for type: UInt8 in [1, 3, 5, 6, 7, 8] {  // S13.1
            #expect(lu.send(A, RES(type, A1)) == .good)
            let rres = lu.run(A, RRES())
            #expect(rres.outcome == .good)
            let reservation = ReadReservationResponse.decode(rres.data)?.reservation
            #expect(reservation?.key == ReservationKey(type <= 6 ? A1 : 0))
            #expect(reservation?.type == ReservationType(rawValue: type))
            #expect(lu.send(A, REL(type, A1)) == .good)
            lu.expect(keys: [(A, A1)], res: .none, gen: 1, uas: [:])
        }
        #expect(lu.send(A, REG(A1, 0)) == .good)  // S13.2
        lu.expect(keys: [], res: .none, gen: 2, uas: [:])
    }
}

@Suite("§6.3 RELEASE")
struct ReleaseScenarios {
    @Test("S14 RELEASE with the wrong type, then the right one")
    func s14() {
        var lu = LU()
        lu.rik(A)
        #expect(lu.send(A, RES(3, A1)) == .good)
        #expect(lu.send(A, REL(1, A1)) == CC(5, 0x26, 0x04))  // S14.1
        lu.expect(keys: [(A, A1)], res: .held(A, 3), gen: 1)
        #expect(lu.send(A, REL(3, A1)) == .good)  // S14.2
        lu.expect(keys: [(A, A1)], res: .none, gen: 1, uas: [:])
    }

    @Test("S15 RELEASE by a non-holder, an unregistered nexus, the holder, and with no reservation")
    func s15() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(3, A1)) == .good)
        #expect(lu.send(B, REL(3, B1)) == .good)  // S15.1
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 3), gen: 2)
        #expect(lu.send(C, REL(3, 0)) == .conflict)  // S15.2
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 3), gen: 2)
        #expect(lu.send(A, REL(3, A1)) == .good)  // S15.3
        lu.expect(keys: [(A, A1), (B, B1)], res: .none, gen: 2)
        #expect(lu.send(A, REL(3, A1)) == .good)  // S15.4
        lu.expect(keys: [(A, A1), (B, B1)], res: .none, gen: 2, uas: [:])
    }

    @Test("S16 RELEASE of type 5 gives the other registrant 2A/04, consumed once")
    func s16() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(5, A1)) == .good)
        #expect(lu.send(A, REL(5, A1)) == .good)  // S16.1
        lu.expect(keys: [(A, A1), (B, B1)], res: .none, gen: 2, uas: [B: [RA04]])
        #expect(lu.send(B, TUR) == CC(6, 0x2A, 0x04))  // S16.2
        lu.expect(keys: [(A, A1), (B, B1)], res: .none, gen: 2, uas: [:])
        #expect(lu.send(B, TUR) == .good)  // S16.3
        #expect(lu.send(C, TUR) == .good)  // S16.4
    }

    @Test("S17 any registrant releases an all-registrants reservation")
    func s17() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(7, A1)) == .good)
        let rres = ReadReservationResponse.decode(lu.run(B, RRES()).data)  // S17.1
        #expect(rres?.reservation == .init(key: 0, type: .writeExclusiveAllRegistrants))
        lu.expect(keys: [(A, A1), (B, B1)], res: .all(7), gen: 2, uas: [:])
        #expect(lu.send(B, REL(7, B1)) == .good)  // S17.2
        lu.expect(keys: [(A, A1), (B, B1)], res: .none, gen: 2, uas: [A: [RA04]])
        #expect(lu.send(A, TUR) == CC(6, 0x2A, 0x04))  // S17.3
        let after = ReadReservationResponse.decode(lu.run(A, RRES()).data)  // S17.4
        #expect(after?.additionalLength == 0)
        lu.expect(keys: [(A, A1), (B, B1)], res: .none, gen: 2, uas: [:])
    }

    @Test("S18 RELEASE with a wrong RK, by the holder and by a non-holder")
    func s18() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(1, A1)) == .good)
        #expect(lu.send(A, REL(1, A9)) == .conflict)  // S18.1
        #expect(lu.send(B, REL(1, B9)) == .conflict)  // S18.2
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 1), gen: 2, uas: [:])
    }
}

@Suite("§6.4 Unregistering a holder")
struct UnregisterHolderScenarios {
    @Test("S19 the type 3 holder unregisters: silent implicit release")
    func s19() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(3, A1)) == .good)
        #expect(lu.send(A, REG(A1, 0)) == .good)  // S19.1
        lu.expect(keys: [(B, B1)], res: .none, gen: 3, uas: [:])
        #expect(lu.send(B, W10) == .good)  // S19.2
        lu.expect(keys: [(B, B1)], res: .none, gen: 3, uas: [:])
    }

    @Test("S20 the type 6 holder unregisters: 2A/04 to the remaining registrant (libiscsi ownership_earo)")
    func s20() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(6, A1)) == .good)
        #expect(lu.send(A, REG(A1, 0)) == .good)  // S20.1
        lu.expect(keys: [(B, B1)], res: .none, gen: 3, uas: [B: [RA04]])
        #expect(ReadReservationResponse.decode(lu.run(A, RRES()).data)?.additionalLength == 0)  // S20.2
        #expect(lu.send(B, TUR) == CC(6, 0x2A, 0x04))  // S20.3
        lu.expect(keys: [(B, B1)], res: .none, gen: 3, uas: [:])
    }

    @Test("S21 the reserving nexus of type 8 unregisters: the reservation persists (libiscsi ownership_eaar)")
    func s21() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(8, A1)) == .good)
        #expect(lu.send(A, REG(A1, 0)) == .good)  // S21.1
        lu.expect(keys: [(B, B1)], res: .all(8), gen: 3, uas: [:])
        let rres = ReadReservationResponse.decode(lu.run(A, RRES()).data)  // S21.2
        #expect(rres?.reservation == .init(key: 0, type: .exclusiveAccessAllRegistrants))
        #expect(lu.send(A, R10) == .conflict)  // S21.3
        lu.expect(keys: [(B, B1)], res: .all(8), gen: 3)
        #expect(lu.send(B, REL(8, B1)) == .good)  // S21.4
        lu.expect(keys: [(B, B1)], res: .none, gen: 3, uas: [:])
        #expect(lu.send(B, REG(B1, 0)) == .good)  // S21.5
        lu.expect(keys: [], res: .none, gen: 4, uas: [:])
    }

    @Test("S22 the last registrant of an all-registrants reservation unregisters")
    func s22() {
        var lu = LU()
        lu.rik(A)
        #expect(lu.send(A, RES(7, A1)) == .good)
        #expect(lu.send(A, REG(A1, 0)) == .good)  // S22.1
        lu.expect(keys: [], res: .none, gen: 2, uas: [:])
        #expect(ReadReservationResponse.decode(lu.run(A, RRES()).data)?.additionalLength == 0)  // S22.2
    }
}

@Suite("§6.5 Access checks")
struct AccessScenarios {
    /// S23–S28 flags: B registered R10/W10, B unregistered R10/W10 (libiscsi verify_persistent_reserve_access).
    static let cases: [(scenario: String, type: UInt8, flags: [Bool])] = [
        ("S23", 1, [true, false, true, false]),
        ("S24", 3, [false, false, false, false]),
        ("S25", 5, [true, true, true, false]),
        ("S26", 6, [true, true, false, false]),
        ("S27", 7, [true, true, true, false]),
        ("S28", 8, [true, true, false, false]),
    ]

    @Test("S23–S28 READ(10)/WRITE(10) access per type (libiscsi test_prout_reserve_access_*)", arguments: cases)
    func s23to28(scenario: String, type: UInt8, flags: [Bool]) {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(type, A1)) == .good)
        lu.expect(keys: [(A, A1), (B, B1)], res: type >= 7 ? .all(type) : .held(A, type), gen: 2)
        // 1. The holder reads and writes.
        #expect(lu.send(A, R10) == .good, "\(scenario) A R10")
        #expect(lu.send(A, W10) == .good, "\(scenario) A W10")
        // 2. B registered.
        #expect(lu.send(B, R10) == (flags[0] ? .good : .conflict), "\(scenario) B registered R10")
        #expect(lu.send(B, W10) == (flags[1] ? .good : .conflict), "\(scenario) B registered W10")
        // 3. B unregisters: GOOD, gen 3, no UA.
        #expect(lu.send(B, REG(B1, 0)) == .good)
        lu.expect(keys: [(A, A1)], res: type >= 7 ? .all(type) : .held(A, type), gen: 3, uas: [:])
        // 4. B unregistered.
        #expect(lu.send(B, R10) == (flags[2] ? .good : .conflict), "\(scenario) B unregistered R10")
        #expect(lu.send(B, W10) == (flags[3] ? .good : .conflict), "\(scenario) B unregistered W10")
        // 5. A releases: no UA (B is unregistered).
        #expect(lu.send(A, REL(type, A1)) == .good)
        lu.expect(keys: [(A, A1)], res: .none, gen: 3, uas: [:])
        // 6. A unregisters.
        #expect(lu.send(A, REG(A1, 0)) == .good)
        lu.expect(keys: [], res: .none, gen: 4, uas: [:])
    }

    @Test("S29 an unregistered nexus under EA: always-allowed commands, conflicts, REGISTER passes")
    func s29() {
        var lu = LU()
        lu.rik(A)
        #expect(lu.send(A, RES(3, A1)) == .good)
        for command in [INQUIRY, TUR, REPORT_LUNS, READ_CAPACITY_10, RKEYS(), RRES(), RCAP(), RFS()] {  // S29.1
            #expect(lu.send(C, command) == .good)
        }
        lu.expect(keys: [(A, A1)], res: .held(A, 3), gen: 1)
        for command in [R10, W10, SYNC_CACHE_10] { #expect(lu.send(C, command) == .conflict) }  // S29.2
        for command in [CLR(0), PRE(3, 0, A1), RES(3, 0), REL(3, 0)] { #expect(lu.send(C, command) == .conflict) }  // S29.3
        lu.expect(keys: [(A, A1)], res: .held(A, 3), gen: 1)
        #expect(lu.send(C, REG(0, C1)) == .good)  // S29.4
        lu.expect(keys: [(A, A1), (C, C1)], res: .held(A, 3), gen: 2)
        #expect(lu.send(C, R10) == .conflict)  // S29.5
        #expect(lu.send(C, MODE_SENSE_6) == .conflict)
        lu.expect(keys: [(A, A1), (C, C1)], res: .held(A, 3), gen: 2, uas: [:])
    }

    @Test("S30 Write Exclusive: reads and MODE SENSE pass, writes and SYNCHRONIZE CACHE conflict")
    func s30() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(1, A1)) == .good)
        #expect(lu.send(C, R10) == .good)  // S30.1
        #expect(lu.send(C, MODE_SENSE_6) == .good)
        #expect(lu.send(C, W10) == .conflict)  // S30.2
        #expect(lu.send(C, SYNC_CACHE_10) == .conflict)
        #expect(lu.send(B, SYNC_CACHE_10) == .conflict)  // S30.3
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 1), gen: 2, uas: [:])
    }
}

@Suite("§6.6 CLEAR")
struct ClearScenarios {
    @Test("S31 CLEAR increments gen once, RESERVE does not (libiscsi test_prout_clear_simple)")
    func s31() {
        var lu = LU()
        lu.rik(A)
        let before = ReadKeysResponse.decode(lu.run(A, RKEYS()).data)  // S31.1
        #expect(before?.generation == 1)
        #expect(before?.keys.count == 1)
        #expect(lu.send(A, RES(3, A1)) == .good)  // S31.2
        lu.expect(keys: [(A, A1)], res: .held(A, 3), gen: 1)
        #expect(lu.send(A, CLR(A1)) == .good)  // S31.3
        lu.expect(keys: [], res: .none, gen: 2)
        #expect(ReadReservationResponse.decode(lu.run(A, RRES()).data)?.reservation == nil)  // S31.4
        let after = ReadKeysResponse.decode(lu.run(A, RKEYS()).data)
        #expect(after?.generation == 2)
        #expect(after?.keys == [])
        lu.expect(keys: [], res: .none, gen: 2, uas: [:])
    }

    @Test("S32 CLEAR by a registered non-holder: 2A/03 to the others")
    func s32() {
        var lu = LU()
        lu.rik(A, B, C)
        #expect(lu.send(A, RES(1, A1)) == .good)
        lu.expect(keys: [(A, A1), (B, B1), (C, C1)], res: .held(A, 1), gen: 3)
        #expect(lu.send(B, CLR(B1)) == .good)  // S32.1
        lu.expect(keys: [], res: .none, gen: 4, uas: [A: [RA03], C: [RA03]])
        #expect(lu.send(A, W10) == CC(6, 0x2A, 0x03))  // S32.2
        #expect(lu.send(A, W10) == .good)  // S32.3
        lu.expect(keys: [], res: .none, gen: 4, uas: [C: [RA03]])
    }

    @Test("S33 CLEAR from an unregistered nexus and with a wrong RK")
    func s33() {
        var lu = LU()
        lu.rik(A)
        #expect(lu.send(A, RES(3, A1)) == .good)
        #expect(lu.send(C, CLR(0)) == .conflict)  // S33.1
        #expect(lu.send(A, CLR(A9)) == .conflict)  // S33.2
        lu.expect(keys: [(A, A1)], res: .held(A, 3), gen: 1, uas: [:])
    }
}

@Suite("§6.7 PREEMPT and PREEMPT AND ABORT")
struct PreemptScenarios {
    @Test("S34 PREEMPT with no reservation removes a registration (libiscsi test_prout_preempt_rm_reg)")
    func s34() {
        var lu = LU()
        #expect(lu.send(A, RIK(A1)) == .good)
        #expect(lu.send(A, CLR(A1)) == .good)
        #expect(lu.send(A, RIK(A1)) == .good)
        #expect(lu.send(B, RIK(B1)) == .good)
        let keys = ReadKeysResponse.decode(lu.run(A, RKEYS()).data)  // S34.1
        #expect(keys?.keys.count == 2)
        #expect(keys?.generation == 4)
        #expect(lu.send(B, PRE(3, B1, A1)) == .good)  // S34.2
        lu.expect(keys: [(B, B1)], res: .none, gen: 5, uas: [A: [RA05]])
        #expect(lu.send(A, TUR) == CC(6, 0x2A, 0x05))  // S34.3
        #expect(lu.send(A, TUR) == .good)
        let after = ReadKeysResponse.decode(lu.run(A, RKEYS()).data)  // S34.4
        #expect(after?.keys == [ReservationKey(B1)])
        #expect(after?.generation == 5)
        #expect(lu.send(B, REG(B1, 0)) == .good)  // S34.5
        lu.expect(keys: [], res: .none, gen: 6, uas: [:])
    }

    @Test("S35 PREEMPT of a type 3 holder")
    func s35() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(3, A1)) == .good)
        #expect(lu.send(B, PRE(3, B1, A1)) == .good)  // S35.1
        lu.expect(keys: [(B, B1)], res: .held(B, 3), gen: 3, uas: [A: [RA05]])
        #expect(lu.send(A, R10) == CC(6, 0x2A, 0x05))  // S35.2: UA before conflict
        #expect(lu.send(A, R10) == .conflict)  // S35.3
        #expect(lu.send(B, W10) == .good)  // S35.4
        lu.expect(keys: [(B, B1)], res: .held(B, 3), gen: 3, uas: [:])
    }

    @Test("S36 PREEMPT changes the type: 2A/05 to the preempted, 2A/04 to the other registrant")
    func s36() {
        var lu = LU()
        lu.rik(A, B, C)
        #expect(lu.send(A, RES(1, A1)) == .good)
        lu.expect(keys: [(A, A1), (B, B1), (C, C1)], res: .held(A, 1), gen: 3)
        #expect(lu.send(B, PRE(3, B1, A1)) == .good)  // S36.1
        lu.expect(keys: [(B, B1), (C, C1)], res: .held(B, 3), gen: 4, uas: [A: [RA05], C: [RA04]])
    }

    @Test("S37 PREEMPT with the type unchanged: only 2A/05")
    func s37() {
        var lu = LU()
        lu.rik(A, B, C)
        #expect(lu.send(A, RES(1, A1)) == .good)
        #expect(lu.send(B, PRE(1, B1, A1)) == .good)  // S37.1
        lu.expect(keys: [(B, B1), (C, C1)], res: .held(B, 1), gen: 4, uas: [A: [RA05]])
    }

    @Test("S38 PREEMPT with SARK=0 under a type 1 reservation (P4)")
    func s38() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(1, A1)) == .good)
        #expect(lu.send(B, PRE(1, B1, 0)) == CC(5, 0x26, 0))  // S38.1
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 1), gen: 2, uas: [:])
    }

    @Test("S39 PREEMPT with SARK=0 and no reservation (P6)")
    func s39() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(B, PRE(1, B1, 0)) == CC(5, 0x26, 0))  // S39.1
        lu.expect(keys: [(A, A1), (B, B1)], res: .none, gen: 2, uas: [:])
    }

    @Test("S40 PREEMPT of an all-registrants reservation with SARK=0 (P1)")
    func s40() {
        var lu = LU()
        lu.rik(A, B, C)
        #expect(lu.send(A, RES(7, A1)) == .good)
        lu.expect(keys: [(A, A1), (B, B1), (C, C1)], res: .all(7), gen: 3)
        #expect(lu.send(B, PRE(3, B1, 0)) == .good)  // S40.1
        lu.expect(keys: [(B, B1)], res: .held(B, 3), gen: 4, uas: [A: [RA05], C: [RA05]])
        let rres = ReadReservationResponse.decode(lu.run(B, RRES()).data)  // S40.2
        #expect(rres?.reservation == .init(key: ReservationKey(B1), type: .exclusiveAccess))
    }

    @Test("S41 PREEMPT with a SARK that matches nobody")
    func s41() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(3, A1)) == .good)
        #expect(lu.send(B, PRE(3, B1, DEAD)) == .conflict)  // S41.1
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 3), gen: 2)
        #expect(lu.send(A, REL(3, A1)) == .good)  // S41.2
        lu.expect(keys: [(A, A1), (B, B1)], res: .none, gen: 2)
        #expect(lu.send(B, PRE(3, B1, DEAD)) == .conflict)  // S41.3
        lu.expect(keys: [(A, A1), (B, B1)], res: .none, gen: 2, uas: [:])
    }

    @Test("S42 self-preempt changes the type; the holder keeps its registration")
    func s42() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(1, A1)) == .good)
        #expect(lu.send(A, PRE(3, A1, A1)) == .good)  // S42.1
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 3), gen: 3, uas: [B: [RA04]])
    }

    @Test("S43 PREEMPT removing non-holder registrations ignores TYPE (P5)")
    func s43() {
        var lu = LU()
        lu.rik(A, B, C, D)
        #expect(lu.send(A, RES(5, A1)) == .good)
        lu.expect(keys: [(A, A1), (B, B1), (C, C1), (D, D1)], res: .held(A, 5), gen: 4)
        #expect(lu.send(C, PRE(3, C1, B1)) == .good)  // S43.1
        lu.expect(keys: [(A, A1), (C, C1), (D, D1)], res: .held(A, 5), gen: 5, uas: [B: [RA05]])
        #expect(lu.send(C, PRE(0, C1, D1)) == .good)  // S43.2: invalid TYPE ignored
        lu.expect(keys: [(A, A1), (C, C1)], res: .held(A, 5), gen: 6, uas: [B: [RA05], D: [RA05]])
    }

    @Test("S44 PREEMPT under EA-AR with SARK≠0 only removes registrations (P2)")
    func s44() {
        var lu = LU()
        lu.rik(A, B, C)
        #expect(lu.send(A, RES(8, A1)) == .good)
        #expect(lu.send(C, PRE(3, C1, B1)) == .good)  // S44.1
        lu.expect(keys: [(A, A1), (C, C1)], res: .all(8), gen: 4, uas: [B: [RA05]])
        #expect(lu.send(C, PRE(3, C1, A1)) == .good)  // S44.2: A reserved originally; still P2
        lu.expect(keys: [(C, C1)], res: .all(8), gen: 5, uas: [A: [RA05], B: [RA05]])
    }

    @Test("S45 PREEMPT from an unregistered nexus and with a wrong RK")
    func s45() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(3, A1)) == .good)
        #expect(lu.send(C, PRE(3, 0, A1)) == .conflict)  // S45.1
        #expect(lu.send(B, PRE(3, B9, A1)) == .conflict)  // S45.2
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 3), gen: 2, uas: [:])
    }

    @Test("S46 PREEMPT removal of a shared key removes the caller too (P5)")
    func s46() {
        var lu = LU()
        #expect(lu.send(A, RIK(K1)) == .good)
        #expect(lu.send(B, RIK(K1)) == .good)
        #expect(lu.send(C, RIK(C1)) == .good)
        #expect(lu.send(C, RES(1, C1)) == .good)
        lu.expect(keys: [(A, K1), (B, K1), (C, C1)], res: .held(C, 1), gen: 3)
        #expect(lu.send(A, PRE(1, K1, K1)) == .good)  // S46.1
        lu.expect(keys: [(C, C1)], res: .held(C, 1), gen: 4, uas: [B: [RA05]])
    }

    @Test("S47 PREEMPT with no reservation removes the caller's shared key too (P7)")
    func s47() {
        var lu = LU()
        #expect(lu.send(A, RIK(K1)) == .good)
        #expect(lu.send(B, RIK(K1)) == .good)
        #expect(lu.send(A, PRE(1, K1, K1)) == .good)  // S47.1
        lu.expect(keys: [], res: .none, gen: 3, uas: [B: [RA05]])
    }

    @Test("S48 PREEMPT AND ABORT aborts the preempted holder's queued command")
    func s48() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(3, A1)) == .good)
        // One WRITE(10) from A is queued at the LU; PAA reports A as a nexus whose commands must be aborted.
        let paa = lu.run(B, PAA(3, B1, A1))  // S48.1
        #expect(paa.outcome == .good)
        #expect(paa.aborted.contains(A))
        #expect(!paa.aborted.contains(B))
        lu.expect(keys: [(B, B1)], res: .held(B, 3), gen: 3, uas: [A: [RA05]])
        // With TAS=0 the LU, having aborted A's WRITE, establishes 2F/00 for A.
        lu.state.establishUnitAttention(.commandsClearedByAnotherInitiator, for: A)
        lu.expect(keys: [(B, B1)], res: .held(B, 3), gen: 3, uas: [A: [RA05, .commandsClearedByAnotherInitiator]])
        #expect(lu.send(A, W10) == CC(6, 0x2A, 0x05))
        #expect(lu.send(A, W10) == CC(6, 0x2F, 0x00))
        #expect(lu.send(A, W10) == .conflict)
    }
}

@Suite("§6.8 CDB, parameter-list and capability errors")
struct ErrorScenarios {
    @Test("S49 PARAMETER LIST LENGTH other than 24")
    func s49() {
        var lu = LU()
        lu.rik(A)
        let list = RES(1, A1).dataOut
        #expect(lu.send(A, prOut(1, type: 1, pll: 0, data: [])) == CC(5, 0x1A, 0))  // S49.1
        #expect(lu.send(A, prOut(1, type: 1, pll: 20, data: Array(list.prefix(20)))) == CC(5, 0x1A, 0))  // S49.2
        #expect(lu.send(A, prOut(1, type: 1, pll: 32, data: list + [UInt8](repeating: 0, count: 8))) == CC(5, 0x1A, 0))  // S49.3
        let reg = REG(A1, A2).dataOut
        #expect(lu.send(A, prOut(0, pll: 28, data: reg + [0, 0, 0, 0])) == CC(5, 0x1A, 0))  // S49.4
        lu.expect(keys: [(A, A1)], res: .none, gen: 1, uas: [:])
    }

    @Test("S50 service action ranges of PR OUT and PR IN")
    func s50() {
        var lu = LU()
        lu.rik(A)
        #expect(lu.send(A, prOut(0x08, rk: A1)) == CC(5, 0x24, 0))  // S50.1
        #expect(lu.send(A, prOut(0x1F, rk: A1)) == CC(5, 0x24, 0))
        lu.expect(keys: [(A, A1)], res: .none, gen: 1)
        for sa: UInt8 in 0...3 { #expect(lu.send(A, prIn(sa)) == .good) }  // S50.2
        for sa: UInt8 in 4...0x1F { #expect(lu.send(A, prIn(sa)) == CC(5, 0x24, 0)) }  // S50.3
        lu.expect(keys: [(A, A1)], res: .none, gen: 1, uas: [:])
    }

    @Test("S51 SPEC_I_PT rejected; ALL_TG_PT and APTPL ignored outside registration")
    func s51() {
        var lu = LU()
        lu.rik(A)
        #expect(lu.send(A, prOut(1, type: 1, rk: A1, specI: true)) == CC(5, 0x26, 0))  // S51.1
        lu.expect(keys: [(A, A1)], res: .none, gen: 1)
        #expect(lu.send(A, prOut(1, type: 1, rk: A1, allTg: true)) == .good)  // S51.2
        lu.expect(keys: [(A, A1)], res: .held(A, 1), gen: 1)
        #expect(lu.send(A, prOut(2, type: 1, rk: A1, aptpl: true)) == .good)  // S51.3
        lu.expect(keys: [(A, A1)], res: .none, gen: 1, uas: [:])
        #expect(!lu.state.ptplActive)
    }

    @Test("S52 APTPL: state survives a power cycle, gen resets; without APTPL everything is lost")
    func s52() {
        var lu = LU()
        #expect(lu.send(A, REG(0, A1, aptpl: true)) == .good)  // S52.1
        #expect(lu.state.ptplActive)
        lu.expect(keys: [(A, A1)], res: .none, gen: 1)
        let caps = lu.run(A, RCAP())  // S52.2
        #expect(caps.data[3] & 0x01 == 1)
        #expect(caps.data == hex("00 08 01 91 EA 01 00 00"))
        #expect(lu.send(A, RES(3, A1)) == .good)  // S52.3
        lu.expect(keys: [(A, A1)], res: .held(A, 3), gen: 1)
        lu.state.powerOn()  // S52.4
        let powerOn = [AdditionalSense.powerOnResetOrBusDeviceReset]
        lu.expect(keys: [(A, A1)], res: .held(A, 3), gen: 0, uas: [A: powerOn, B: powerOn, C: powerOn, D: powerOn])
        #expect(lu.send(A, TUR) == CC(6, 0x29, 0x00))  // clearing the UA
        #expect(lu.send(A, REG(A1, A1, aptpl: false)) == .good)  // S52.5
        #expect(!lu.state.ptplActive)
        lu.expect(keys: [(A, A1)], res: .held(A, 3), gen: 1, uas: [B: powerOn, C: powerOn, D: powerOn])
        lu.state.powerOn()  // S52.6
        lu.expect(keys: [], res: .none, gen: 0, uas: [A: powerOn, B: powerOn, C: powerOn, D: powerOn])
        // Each nexus sees the power-on UA once; INQUIRY neither reports nor consumes it.
        #expect(lu.send(B, INQUIRY) == .good)
        #expect(lu.send(B, RKEYS()) == CC(6, 0x29, 0x00))
        #expect(lu.send(B, RKEYS()) == .good)
    }
}

@Suite("§6.9 PR IN data formats")
struct PersistentReserveInScenarios {
    @Test("S53 READ KEYS truncated by the allocation length (libiscsi test_prin_read_keys_truncate)")
    func s53() {
        var lu = LU()
        lu.rik(A, B)
        let eight = lu.run(A, RKEYS(alloc: 8))  // S53.1
        #expect(eight.outcome == .good)
        #expect(eight.data == hex("00000002 00000010"))
        #expect(lu.run(A, RKEYS(alloc: 12)).data == hex("00000002 00000010 00000000"))  // S53.2
        let four = lu.run(A, RKEYS(alloc: 4))  // S53.3
        #expect(four.outcome == .good)
        #expect(four.data == hex("00000002"))
        let zero = lu.run(A, RKEYS(alloc: 0))  // S53.4
        #expect(zero.outcome == .good)
        #expect(zero.data == [])
        lu.expect(keys: [(A, A1), (B, B1)], res: .none, gen: 2, uas: [:])
    }

    @Test("S54 READ RESERVATION and READ KEYS on a fresh LU")
    func s54() {
        var lu = LU()
        #expect(lu.run(A, RRES()).data == hex("00000000 00000000"))  // S54.1
        #expect(lu.run(A, RKEYS()).data == hex("00000000 00000000"))
        lu.expect(keys: [], res: .none, gen: 0, uas: [:])
    }

    @Test("S55 REPORT CAPABILITIES on a fresh LU")
    func s55() {
        var lu = LU()
        let caps = lu.run(A, RCAP())  // S55.1
        #expect(caps.outcome == .good)
        #expect(caps.data == hex("00 08 01 90 EA 01 00 00"))
    }

    @Test("S56 READ FULL STATUS: descriptors, holder bits, all-registrants")
    func s56() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(1, A1)) == .good)
        let full = lu.run(C, RFS())  // S56.1
        #expect(full.outcome == .good)
        let tidA = hex("45 00 00 2C") + Array("iqn.1994-05.com.redhat:a,i,0x400001370000".utf8) + [0, 0, 0]
        let tidB = hex("45 00 00 2C") + Array("iqn.1994-05.com.redhat:b,i,0x400001370001".utf8) + [0, 0, 0]
        #expect(full.data == hex("00000002 00000090")
            + hex("00000000000000A1 00000000 01 01 00000000 0001 00000030") + tidA
            + hex("00000000000000B1 00000000 00 00 00000000 0002 00000030") + tidB)
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 1), gen: 2)
        #expect(lu.send(A, REL(1, A1)) == .good)  // S56.2
        #expect(lu.send(A, RES(7, A1)) == .good)
        let all = ReadFullStatusResponse.decode(lu.run(C, RFS()).data)
        #expect(all?.descriptors.count == 2)
        for descriptor in all?.descriptors ?? [] {
            #expect(descriptor.isReservationHolder)
            #expect(descriptor.type == .writeExclusiveAllRegistrants)
        }
        let raw = lu.run(C, RFS()).data
        #expect(raw[8 + 12] == 0x01 && raw[8 + 13] == 0x07)
        #expect(raw[8 + 72 + 12] == 0x01 && raw[8 + 72 + 13] == 0x07)
        lu.expect(keys: [(A, A1), (B, B1)], res: .all(7), gen: 2, uas: [:])
    }
}

@Suite("§6.10 REGISTER AND MOVE")
struct RegisterAndMoveScenarios {
    @Test("S57 REGISTER AND MOVE to a registered nexus")
    func s57() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(3, A1)) == .good)
        #expect(lu.send(A, RAM(A1, B2, dest: B)) == .good)  // S57.1
        lu.expect(keys: [(A, A1), (B, B2)], res: .held(B, 3), gen: 3, uas: [:])
        #expect(lu.send(B, W10) == .good)  // S57.2
        #expect(lu.send(A, W10) == .conflict)  // S57.3
        lu.expect(keys: [(A, A1), (B, B2)], res: .held(B, 3), gen: 3, uas: [:])
    }

    @Test("S58 REGISTER AND MOVE with UNREG to a new nexus")
    func s58() {
        var lu = LU()
        lu.rik(A)
        #expect(lu.send(A, RES(1, A1)) == .good)
        #expect(lu.send(A, RAM(A1, C1, unreg: true, dest: C)) == .good)  // S58.1
        lu.expect(keys: [(C, C1)], res: .held(C, 1), gen: 2, uas: [:])
    }

    @Test("S59 REGISTER AND MOVE errors: no reservation, non-holder, SARK=0, itself, wrong RK, all-registrants")
    func s59() {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RAM(A1, B2, dest: B)) == CC(5, 0x24, 0))  // S59.1
        lu.expect(keys: [(A, A1), (B, B1)], res: .none, gen: 2)
        #expect(lu.send(A, RES(3, A1)) == .good)  // S59.2
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 3), gen: 2)
        #expect(lu.send(B, RAM(B1, A2, dest: A)) == .conflict)  // S59.3
        #expect(lu.send(A, RAM(A1, 0, dest: B)) == CC(5, 0x26, 0))  // S59.4
        #expect(lu.send(A, RAM(A1, A2, dest: A, rtpi: 1)) == CC(5, 0x26, 0))  // S59.5
        #expect(lu.send(A, RAM(A9, B2, dest: B)) == .conflict)  // S59.6
        lu.expect(keys: [(A, A1), (B, B1)], res: .held(A, 3), gen: 2)
        #expect(lu.send(A, REL(3, A1)) == .good)  // S59.7
        #expect(lu.send(A, RES(7, A1)) == .good)
        #expect(lu.send(A, RAM(A1, B2, dest: B)) == .conflict)
        lu.expect(keys: [(A, A1), (B, B1)], res: .all(7), gen: 2, uas: [:])
    }
}

@Suite("§6.11 PRgeneration bookkeeping")
struct GenerationScenarios {
    @Test("S60 the generation counts exactly the GOOD REGISTER/RAIEK/CLEAR/PREEMPT, and wraps")
    func s60() {
        var lu = LU()
        #expect(lu.send(A, RIK(A1)) == .good)  // S60.1
        lu.expect(keys: [(A, A1)], res: .none, gen: 1)
        #expect(lu.send(A, RES(1, A1)) == .good)  // S60.2
        #expect(lu.send(A, RKEYS()) == .good)
        #expect(lu.send(A, REL(1, A1)) == .good)
        lu.expect(keys: [(A, A1)], res: .none, gen: 1)
        #expect(lu.send(A, RES(2, A1)) == CC(5, 0x24, 0))  // S60.3
        lu.expect(keys: [(A, A1)], res: .none, gen: 1)
        #expect(lu.send(B, REG(5, B1)) == .conflict)  // S60.4
        lu.expect(keys: [(A, A1)], res: .none, gen: 1)
        #expect(lu.send(A, REG(A1, A2)) == .good)  // S60.5
        lu.expect(keys: [(A, A2)], res: .none, gen: 2)
        #expect(lu.send(B, RIK(B1)) == .good)  // S60.6
        lu.expect(keys: [(A, A2), (B, B1)], res: .none, gen: 3, uas: [:])
        #expect(lu.send(B, PRE(1, B1, A2)) == .good)  // S60.7
        lu.expect(keys: [(B, B1)], res: .none, gen: 4, uas: [A: [RA05]])
        #expect(lu.send(B, CLR(B1)) == .good)  // S60.8: A is unregistered, so no 2A/03 for it
        lu.expect(keys: [], res: .none, gen: 5, uas: [A: [RA05]])

        var wrapping = LU(generation: 0xFFFF_FFFF)  // S60.9
        #expect(wrapping.state.generation == 0xFFFF_FFFF)
        #expect(wrapping.send(A, REG(0, A1)) == .good)
        wrapping.expect(keys: [(A, A1)], res: .none, gen: 0, uas: [:])
    }
}
