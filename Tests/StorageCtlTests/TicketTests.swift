import PRCore
import Testing
@testable import StorageCtl

/// The ticket rules of `fairness=fifo` (Tickets.swift): the key layout, the order of arrival, when a
/// ticket counts as dead, and who goes next. Pure: the clock is a number the test moves.
@Suite("Tickets")
struct TicketTests {
    @Test("layout: F1, 20-bit ticket, 4-bit beat, the configured key in the low 32 bits; decoded back exactly")
    func layout() {
        let t = TicketKey(owner: 0xbac001, ticket: 0xABCDE, beat: 0x7)
        #expect(t.key.rawValue == 0xF1AB_CDE7_00BA_C001)
        #expect(TicketKey(t.key) == t)
        #expect(t.description == "0xf1abcde700bac001")
        // ticket and beat are cut to their widths
        let wide = TicketKey(owner: 0xFFFF_FFFF, ticket: 0xFFF_FFFF, beat: 0xFF)
        #expect(wide.key.rawValue == 0xF1FF_FFFF_FFFF_FFFF && wide.ticket == 0xF_FFFF && wide.beat == 0xF)
        #expect(TicketKey(owner: 1, ticket: 0, beat: 0).key.rawValue == 0xF100_0000_0000_0001)
        // anything else is no ticket: another marker, no owner
        #expect(TicketKey(ReservationKey(0xbac001)) == nil)
        #expect(TicketKey(ReservationKey(0xF0AB_CDE7_00BA_C001)) == nil)
        #expect(TicketKey(ReservationKey(0xF1AB_CDE7_0000_0000)) == nil)
        #expect(TicketKey.configuredKey(t.key) == 0xbac001 && TicketKey.configuredKey(0xbac999) == 0xbac999)
        #expect(t.nextBeat == TicketKey(owner: 0xbac001, ticket: 0xABCDE, beat: 8))
        #expect(TicketKey(owner: 1, ticket: 5, beat: 15).nextBeat.beat == 0)
    }

    @Test("the line's pace: time per place moved up since the first look; started again when the line grows ahead")
    func pace() {
        func line(ahead: Int, behind: Int = 0) -> TicketLine {
            let mine = TicketKey(owner: ReservationKey(0xbac100), ticket: 100, beat: 0)
            let before = (0..<ahead).map { TicketKey(owner: ReservationKey(0xbac001 + UInt64($0)), ticket: UInt32(10 + $0), beat: 0) }
            let after = (0..<behind).map { TicketKey(owner: ReservationKey(0xbac200 + UInt64($0)), ticket: UInt32(200 + $0), beat: 0) }
            return TicketLine(others: before + after, mine: mine)
        }
        var pace = LinePace()
        #expect(pace.place(in: line(ahead: 6, behind: 2), now: 1_000) == LinePlace(ahead: 6, behind: 2))
        #expect(pace.place(in: line(ahead: 6), now: 50_000) == LinePlace(ahead: 6, behind: 0))
        #expect(pace.place(in: line(ahead: 2), now: 401_000) == LinePlace(ahead: 2, behind: 0, turn: .nanoseconds(100_000)))
        #expect(pace.place(in: line(ahead: 0), now: 601_000) == LinePlace(ahead: 0, behind: 0, turn: .nanoseconds(100_000)))
        // a waiter taken for dead registers again ahead of us: count from here
        #expect(pace.place(in: line(ahead: 1), now: 700_000) == LinePlace(ahead: 1, behind: 0))
        #expect(pace.place(in: line(ahead: 0), now: 900_000) == LinePlace(ahead: 0, behind: 0, turn: .nanoseconds(200_000)))
    }

    @Test("a waiter whose ticket went while the drive stayed free is stepping up: its turn until it holds, for a short grace")
    func steppingUp() {
        let b = TicketKey(owner: ReservationKey(0xbac002), ticket: 10, beat: 3)
        let bKey = ReservationKey(0xbac002)
        var waiter = TicketWaiter(expiry: 1_000_000, steppingGrace: 1_000)
        // b's ticket gone and its configured key registered: between its REGISTER and its RESERVE
        #expect(waiter.steppingUp(wasAhead: [b], tickets: [], keys: [bKey], now: 100) == b)
        #expect(waiter.steppingUp(wasAhead: [], tickets: [], keys: [bKey], now: 1_099) == b)
        // the grace passed (it held and released unseen, gave up or died): not again
        #expect(waiter.steppingUp(wasAhead: [], tickets: [], keys: [bKey], now: 1_100) == nil)
        // b's ticket only moved a beat: still in line, not stepping up
        var other = TicketWaiter(expiry: 1_000_000, steppingGrace: 1_000)
        #expect(other.steppingUp(wasAhead: [b], tickets: [b.nextBeat], keys: [b.nextBeat.key], now: 0) == nil)
        // no key of b registered any more: nobody to wait for
        #expect(other.steppingUp(wasAhead: [b], tickets: [], keys: [], now: 0) == nil)
        // stepping up, then its key goes (it unregistered): over at once
        var third = TicketWaiter(expiry: 1_000_000, steppingGrace: 1_000)
        #expect(third.steppingUp(wasAhead: [b], tickets: [], keys: [bKey], now: 0) == b)
        #expect(third.steppingUp(wasAhead: [], tickets: [], keys: [], now: 10) == nil)
    }

    @Test("a key fits when it has 1 to 32 bits")
    func fits() {
        #expect(TicketKey.fits(0xbac001) && TicketKey.fits(0xFFFF_FFFF) && TicketKey.fits(1))
        #expect(!TicketKey.fits(0) && !TicketKey.fits(0x1_0000_0000) && !TicketKey.fits(0x123456789abcdef0))
        var settings = Settings()
        settings.fairness = .fifo
        settings.key = 0x1_0000_0000
        #expect(settings.effectiveFairness.0 == .courtesy && settings.effectiveFairness.note?.contains("0x100000000 is wider") == true)
        settings.key = 0xbac001
        #expect(settings.effectiveFairness.0 == .fifo && settings.effectiveFairness.note == nil)
        settings.fairness = .courtesy
        #expect(settings.effectiveFairness.0 == .courtesy)
    }

    @Test("order of arrival: the earlier ticket first, across the 20-bit wrap; the same ticket by the smaller key")
    func order() {
        func t(_ owner: UInt64, _ ticket: UInt32) -> TicketKey { TicketKey(owner: ReservationKey(owner), ticket: ticket, beat: 0) }
        #expect(t(2, 10).precedes(t(1, 11)) && !t(1, 11).precedes(t(2, 10)))
        #expect(t(1, 0xF_FFFF).precedes(t(2, 0)) && !t(2, 0).precedes(t(1, 0xF_FFFF)))   // wrapped
        #expect(t(1, 7).precedes(t(2, 7)) && !t(2, 7).precedes(t(1, 7)))                 // one instant
        #expect(!t(1, 7).precedes(t(1, 7)))
        // the beat does not change the place
        #expect(TicketKey(owner: 1, ticket: 7, beat: 3).precedes(TicketKey(owner: 2, ticket: 7, beat: 0)))
        let line = TicketKey.line(in: [t(3, 12).key, 0xbac001, t(1, 11).key, TicketKey(owner: 1, ticket: 11, beat: 4).key, t(2, 12).key])
        #expect(line.map(\.owner) == [1, 2, 3])
    }

    @Test("who goes next: nobody alive ahead; without a ticket every ticket is ahead")
    func nextInLine() {
        let a = TicketKey(owner: 0xa, ticket: 100, beat: 0), b = TicketKey(owner: 0xb, ticket: 101, beat: 0)
        let c = TicketKey(owner: 0xc, ticket: 102, beat: 0)
        var line = TicketLine(others: [c, a], mine: b)
        #expect(line.ahead == [a] && line.behind == [c] && !line.ours)
        line = TicketLine(others: [c], mine: b)
        #expect(line.ours)
        line = TicketLine(others: [c, b], mine: nil)
        #expect(line.ahead == [b, c] && !line.ours)
        #expect(TicketLine(others: [], mine: nil).ours)
    }

    @Test("a ticket is dead once its heartbeat stood still for the expiry; a new beat or a first sight is alive")
    func expiry() {
        var watch = TicketWatch()
        let t0 = TicketKey(owner: 0xa, ticket: 5, beat: 0)
        let expiry: Int64 = 4_000_000_000
        watch.observe([t0], now: 1_000_000_000)
        #expect(!watch.isExpired(t0, now: 4_999_999_999, expiry: expiry))
        #expect(watch.isExpired(t0, now: 5_000_000_000, expiry: expiry))
        // it beat: alive again, counted from the look that saw the change
        watch.observe([t0.nextBeat], now: 6_000_000_000)
        #expect(!watch.isExpired(t0.nextBeat, now: 9_999_999_999, expiry: expiry))
        #expect(watch.isExpired(t0.nextBeat, now: 10_000_000_000, expiry: expiry))
        // a ticket the look no longer shows is forgotten: seen again, it is new
        watch.observe([], now: 11_000_000_000)
        watch.observe([t0.nextBeat], now: 12_000_000_000)
        #expect(!watch.isExpired(t0.nextBeat, now: 15_999_999_999, expiry: expiry))
        // never seen: not expired
        #expect(!watch.isExpired(TicketKey(owner: 0xb, ticket: 5, beat: 0), now: 99_000_000_000, expiry: expiry))
        #expect(ticketExpiry(lockRetryMax: .seconds(1)) == .seconds(4))
    }

    @Test("the fairness setting: courtesy or fifo, nothing else")
    func setting() throws {
        var settings = Settings()
        try settings.apply(.fairness, "fifo")
        #expect(settings.fairness == .fifo)
        try settings.apply(.fairness, "courtesy")
        #expect(settings.fairness == .courtesy)
        #expect(throws: StorageCtlError.self) { try settings.apply(.fairness, "FIFO") }
    }

    @Test("a ticket of a configured host is not an unknown key")
    func ticketsAreKnown() {
        var settings = Settings()
        settings.key = 0xbac001
        settings.hostNames = [0xbac002: "dir"]
        let waiting = TicketKey(owner: 0xbac002, ticket: 9, beat: 1).key
        let stranger = TicketKey(owner: 0xbac777, ticket: 9, beat: 1).key
        #expect(settings.unknownKeys(among: [0xbac001, waiting, stranger, 0xbac777]) == [0xbac777])
    }
}
