import Testing
@testable import StorageCtl
import ProcessSupport
import PRCore

/// A boot clock the test sets by hand, counting its readings.
final class ManualBootClock: @unchecked Sendable {
    var now: Int64
    private(set) var readings = 0
    init(_ now: Int64) { self.now = now }
    func read() -> Int64 { readings += 1; return now }
}

/// The fairness state machine driven by scripted attempt results and hand-set clocks: no device, no process.
@Suite("Lock wait: a waiting lock's state between polls")
struct LockWaitTests {
    static let boot = BootID(high: 1, low: 2)
    static let max = Duration.seconds(1)   // lock_retry_max: a 1.27 s courtesy window, a 4 s ticket expiry
    static let a = Holder(key: ReservationKey(0xbac001), type: .exclusiveAccess)
    static let b = Holder(key: ReservationKey(0xbac002), type: .exclusiveAccess)
    static let c = Holder(key: ReservationKey(0xbac003), type: .exclusiveAccess)

    static func wait(after state: LockRecord.State?, releasedAt since: Int64 = 1_000_000_000,
                     boot clock: ManualBootClock = ManualBootClock(0)) -> LockWait {
        LockWait(previous: state.map { LockRecord(state: $0, since: since, boot: boot) }, lockRetryMax: max,
                 bootClock: clock.read, clock: { 0 })
    }

    /// What `Locker.attempt` does with the courtesy on a free drive at `generation`: yield while it says so, else take it.
    static func freeDrive(_ courtesy: ((UInt32) -> Duration?)?, generation: UInt32) -> Locker.TurnAttempt {
        if let courtesy, let left = courtesy(generation) { return .yielding(left) }
        return .acquired(generation: generation, wasHolding: false)
    }

    @Test("after our own release that others waited for: the free drive is yielded for the rest of the window, then taken")
    func courtesyThenTake() {
        let clock = ManualClock()
        let boot = ManualBootClock(1_000_000_000 + 200_000_000)   // 200 ms after our release
        var wait = Self.wait(after: .released(generation: 7, waiters: true), boot: boot)
        var random = SplitMix64(seed: 3)
        var effects: [LockWait.Effect?] = [], sleeps: [Duration] = []
        let policy = LockPolicy(initialDelay: .milliseconds(50), maxDelay: Self.max, maxWait: .seconds(100))
        let outcome = policy.run(
            clock: clock, random: &random,
            attempt: { (mayYield: Bool) -> LockPolicy.AttemptResult<LockWait.Blocker> in
                let (result, effect) = wait.observe(Self.freeDrive(wait.courtesy(mayYield: mayYield), generation: 7))
                effects.append(effect)
                return result
            },
            sleep: { d in sleeps.append(d); clock.advance(d); boot.now += d.nanoseconds; return nil },
            progress: { _ in Issue.record("a yield is no wait: no progress line") })
        guard case .acquired(let waited) = outcome else { Issue.record("\(outcome)"); return }
        #expect(sleeps == [.milliseconds(1070)] && waited == .milliseconds(1070))
        #expect(effects == [.startedYielding(.milliseconds(1070)), nil])
        #expect(wait.yielded && !wait.hasWaited && wait.polls == 0 && wait.lastHolder == nil)
        #expect(wait.taken == 7 && boot.readings == 2)
    }

    @Test("the courtesy as documented: after a release others waited for, or once the generation moved since, within the window")
    func courtesyRules() {
        let boot = ManualBootClock(1_000_000_000)
        let waited = Self.wait(after: .released(generation: 7, waiters: true), boot: boot)
        #expect(waited.courtesyLeft(generation: 7) == .milliseconds(1270))
        boot.now = 2_270_000_000 - 1
        #expect(waited.courtesyLeft(generation: 7) == .nanoseconds(1))
        boot.now = 2_270_000_000
        #expect(waited.courtesyLeft(generation: 7) == nil)
        // nobody waited while we held it: no courtesy, unless a waiter heartbeated since (the generation moved)
        boot.now = 1_500_000_000
        let alone = Self.wait(after: .released(generation: 7, waiters: false), boot: boot)
        #expect(alone.courtesyLeft(generation: 7) == nil)
        #expect(alone.courtesyLeft(generation: 8) == .milliseconds(770))
        // no release record, or none at all: nothing owed, and the boot clock is not read
        let before = boot.readings
        #expect(Self.wait(after: .held(generation: 7), boot: boot).courtesyLeft(generation: 8) == nil)
        #expect(Self.wait(after: nil, boot: boot).courtesy(mayYield: true)?(8) == nil)
        #expect(boot.readings == before + 1)
        // the policy's last attempt before max_lock_wait is never told to yield
        #expect(waited.courtesy(mayYield: false) == nil && waited.courtesy(mayYield: true)?(7) == .milliseconds(770))
    }

    @Test("no courtesy once another host held the drive while we waited: we are an ordinary waiter")
    func noCourtesyAfterWaiting() {
        let boot = ManualBootClock(1_000_000_000)
        var wait = Self.wait(after: .released(generation: 7, waiters: true), boot: boot)
        #expect(wait.courtesy(mayYield: true)?(7) == .milliseconds(1270))
        _ = wait.observe(.busy(Self.a, place: nil))
        let readings = boot.readings
        #expect(wait.courtesy(mayYield: true) == nil)
        #expect(Self.freeDrive(wait.courtesy(mayYield: true), generation: 8) == .acquired(generation: 8, wasHolding: false))
        #expect(boot.readings == readings)
    }

    @Test("the same holder at all polls", arguments: [1, 2, 14])
    func sameHolder(polls: Int) {
        var wait = Self.wait(after: nil)
        for _ in 0..<polls {
            #expect(wait.observe(.busy(Self.a, place: nil)).result == .busy(.held(Self.a)))
        }
        #expect(wait.polls == polls && wait.changes == 0 && wait.lastHolder == Self.a)
        #expect(LockVerb.seen(changes: wait.changes, polls: wait.polls) == (polls == 1 ? "polled once" : "the same holder at all \(polls) polls"))
    }

    @Test("each change of holder between two polls counts once; the line's polls count, but see no holder")
    func holderChanges() {
        var wait = Self.wait(after: nil)
        let first = TicketKey(owner: ReservationKey(0xbac009), ticket: 5, beat: 0)
        let script: [Locker.TurnAttempt] = [.busy(Self.a, place: nil), .busy(Self.a, place: nil), .busy(Self.b, place: nil),
                                            .behind(first: first, place: LinePlace(ahead: 1, behind: 0)), .busy(Self.c, place: nil),
                                            .busy(Self.c, place: nil), .busy(Self.a, place: nil)]
        for result in script { _ = wait.observe(result) }
        #expect(wait.polls == 7 && wait.changes == 3)
        #expect(LockVerb.seen(changes: wait.changes, polls: wait.polls) == "the holder changed 3 times in 7 polls")
        #expect(wait.taken == nil)
        _ = wait.observe(.acquired(generation: 40, wasHolding: false))
        #expect(wait.taken == 40 && wait.polls == 7 && wait.changes == 3)
    }

    @Test("being kept out is remembered once, at the first time; yielding is said once")
    func effectsOnce() {
        var wait = Self.wait(after: nil)
        let first = TicketKey(owner: ReservationKey(0xbac009), ticket: 5, beat: 0)
        let effects = [Locker.TurnAttempt.yielding(.milliseconds(900)), .yielding(.milliseconds(400)), .busy(Self.a, place: nil),
                       .behind(first: first, place: LinePlace(ahead: 1, behind: 0)), .busy(Self.b, place: nil)].map { wait.observe($0).effect }
        #expect(effects == [.startedYielding(.milliseconds(900)), nil, .startedWaiting, nil, nil])
        #expect(wait.hasWaited && wait.yielded && wait.polls == 3 && wait.changes == 1)
        // the first sighting after a yield is no change: we were not waiting yet
        var fresh = Self.wait(after: nil)
        _ = fresh.observe(.yielding(.milliseconds(1)))
        #expect(fresh.observe(.busy(Self.a, place: nil)).effect == .startedWaiting)
        #expect(fresh.changes == 0 && fresh.polls == 1)
    }

    @Test("fairness=fifo: a place in line reaches the policy as .inLine with that place")
    func lineStates() {
        var wait = Self.wait(after: nil)
        let first = TicketKey(owner: ReservationKey(0xbac009), ticket: 5, beat: 3)
        #expect(wait.observe(.busy(Self.a, place: LinePlace(ahead: 2, behind: 1))).result
                == .inLine(.held(Self.a), LinePlace(ahead: 2, behind: 1)))
        #expect(wait.observe(.behind(first: first, place: LinePlace(ahead: 3, behind: 0))).result
                == .inLine(.behind(first, count: 3), LinePlace(ahead: 3, behind: 0)))
        #expect(wait.observe(.busy(Self.a, place: LinePlace(ahead: 0, behind: 4))).result
                == .inLine(.held(Self.a), LinePlace(ahead: 0, behind: 4)))
        // not in line (held under our own key's branch, or courtesy): a plain busy
        #expect(wait.observe(.busy(Self.b, place: nil)).result == .busy(.held(Self.b)))
        #expect(wait.observe(.acquired(generation: 9, wasHolding: true)).result == .acquired)
        #expect(wait.taken == nil && wait.polls == 4 && wait.changes == 1)
        // the line's tickets expire on the injected clock: 3 x lock_retry_max + 1 s
        #expect(wait.line.expiry == 4_000_000_000 && wait.line.mine == nil)
    }
}
