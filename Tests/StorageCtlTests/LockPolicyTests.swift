#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import StorageCtl
import ProcessSupport
import PRCore

/// A clock that only moves when the policy sleeps: the wait is tested without waiting.
final class ManualClock: Clock, @unchecked Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
    }
    var now = Instant(offset: .zero)
    var minimumResolution: Duration { .nanoseconds(1) }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws { now = deadline }
    func advance(_ d: Duration) { now = now.advanced(by: d) }
}

@Suite("Lock policy")
struct LockPolicyTests {
    let policy = LockPolicy(initialDelay: .milliseconds(50), maxDelay: .seconds(1), maxWait: .seconds(100))

    @Test("delays: first retry <= 50 ms, doubling, capped at 1 s, jittered within [step/2, step]")
    func delays() {
        var random = SplitMix64(seed: 1)
        for retry in 0..<40 {
            let step = min(Duration.milliseconds(50) * (1 << min(retry, 30)), .seconds(1))
            for _ in 0..<20 {
                let d = policy.delay(forRetry: retry, using: &random)
                #expect(d <= step && d >= step / 2, "retry \(retry): \(d)")
            }
        }
    }

    /// fairness=fifo: a waiter moving up to the front of the line (one waiter ahead, then none) starts its
    /// backoff again each time, so it notices its turn soon; staying where it is, or busy, continues it.
    /// The sleeps `policy` takes through `script`, on a manual clock.
    static func sleeps(_ policy: LockPolicy, _ script: [LockPolicy.AttemptResult<String>], seed: UInt64) -> [Duration] {
        let clock = ManualClock()
        var random = SplitMix64(seed: seed)
        var index = 0
        var sleeps: [Duration] = []
        _ = policy.run(clock: clock, random: &random,
                       attempt: { (_: Bool) -> LockPolicy.AttemptResult<String> in defer { index += 1 }; return script[index] },
                       sleep: { sleeps.append($0); clock.advance($0); return nil }, progress: { _ in })
        return sleeps
    }

    /// Each sleep is its step with "equal jitter": in [step/2, step].
    static func expect(_ sleeps: [Duration], steps: [Duration]) {
        #expect(sleeps.count == steps.count)
        for (sleep, step) in zip(sleeps, steps) { #expect(sleep <= step && sleep >= step / 2, "\(sleeps)") }
    }

    @Test("next in line: each move up to the front restarts the backoff at the first retry's delay")
    func nextRestartsBackoff() {
        let script: [LockPolicy.AttemptResult<String>] = [.busy("h"), .busy("h"), .busy("h"), .busy("h"), .busy("h"),
                                                          .inLine("h", LinePlace(ahead: 1, behind: 0)), .inLine("h", LinePlace(ahead: 1, behind: 0)),
                                                          .inLine("h", LinePlace(ahead: 0, behind: 0)), .inLine("h", LinePlace(ahead: 0, behind: 0)),
                                                          .busy("h"), .inLine("h", LinePlace(ahead: 1, behind: 0)), .acquired]
        let sleeps = Self.sleeps(policy, script, seed: 9)
        // the step of each sleep: 50 ms doubling per retry, capped at 1 s; a restart is back at 50 ms
        let steps: [Duration] = [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                                 .milliseconds(50), .milliseconds(100), .milliseconds(50), .milliseconds(100),
                                 .milliseconds(200), .milliseconds(50)]
        Self.expect(sleeps, steps: steps)
    }

    @Test("in line: the front polls the faster the longer the line, the others as courtesy waiters")
    func inLineCaps() {
        #expect(policy.inLineCap(LinePlace(ahead: 0, behind: 0)) == .seconds(1))
        #expect(policy.inLineCap(LinePlace(ahead: 0, behind: 2)) == .milliseconds(500))
        #expect(policy.inLineCap(LinePlace(ahead: 0, behind: 14)) == .milliseconds(125))
        #expect(policy.inLineCap(LinePlace(ahead: 0, behind: 78)) == .milliseconds(50))   // never below initialDelay
        #expect(policy.inLineCap(LinePlace(ahead: 1, behind: 9)) == .seconds(1))
        #expect(policy.inLineCap(LinePlace(ahead: 5, behind: 5)) == .seconds(1))
        // a line moving a place every 100 ms: poll when the turn can come, the front at half a turn
        #expect(policy.inLineCap(LinePlace(ahead: 3, behind: 5, turn: .milliseconds(100))) == .milliseconds(300))
        #expect(policy.inLineCap(LinePlace(ahead: 0, behind: 5, turn: .milliseconds(300))) == .milliseconds(150))
        #expect(policy.inLineCap(LinePlace(ahead: 1, behind: 0, turn: .milliseconds(10))) == .milliseconds(50))   // initialDelay
        // a slow line changes nothing
        #expect(policy.inLineCap(LinePlace(ahead: 3, behind: 5, turn: .seconds(60))) == .seconds(1))
        #expect(policy.inLineCap(LinePlace(ahead: 0, behind: 2, turn: .seconds(60))) == .milliseconds(500))
        let far = LockPolicy.AttemptResult<String>.inLine("h", LinePlace(ahead: 3, behind: 0))
        let front = LockPolicy.AttemptResult<String>.inLine("h", LinePlace(ahead: 0, behind: 6))
        let script: [LockPolicy.AttemptResult<String>] = Array(repeating: far, count: 7) + Array(repeating: front, count: 4) + [.acquired]
        let sleeps = Self.sleeps(policy, script, seed: 11)
        // far back: doubling up to 1 s; at the front (7 waiters): from 50 ms again, capped at 250 ms
        let steps: [Duration] = [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                                 .seconds(1), .seconds(1), .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(250)]
        Self.expect(sleeps, steps: steps)
    }

    @Test("acquires at once without sleeping or progress")
    func immediate() throws {
        let clock = ManualClock()
        var random = SplitMix64(seed: 2)
        var sleeps = 0, events = 0
        let outcome = policy.run(clock: clock, random: &random,
                                 attempt: { (_: Bool) -> LockPolicy.AttemptResult<String> in .acquired },
                                 sleep: { _ in sleeps += 1; return nil }, progress: { _ in events += 1 })
        guard case .acquired(let waited) = outcome else { Issue.record("\(outcome)"); return }
        #expect(waited == .zero && sleeps == 0 && events == 0)
    }

    @Test("waits, reports progress at start and at most every 30 s, acquires when free")
    func waitsThenAcquires() {
        let clock = ManualClock()
        var random = SplitMix64(seed: 3)
        var attempts = 0
        var progress: [String] = []
        let outcome = policy.run(
            clock: clock, random: &random,
            attempt: { (_: Bool) -> LockPolicy.AttemptResult<String> in
                attempts += 1
                return clock.now.offset >= .seconds(75) ? .acquired : .busy("0xbac999")
            },
            sleep: { d in clock.advance(d); return nil },
            progress: { event in
                switch event {
                case .started(let h): progress.append("start \(h) at \(clock.now.offset.components.seconds)")
                case .stillWaiting(let h, let w): progress.append("still \(h) \(w.components.seconds)")
                }
            })
        guard case .acquired(let waited) = outcome else { Issue.record("\(outcome)"); return }
        #expect(waited >= .seconds(75) && waited < .seconds(76))
        #expect(progress == ["start 0xbac999 at 0", "still 0xbac999 30", "still 0xbac999 60"])
        // 50 ms doubling to 1 s takes ~5 retries to reach the cap, then ~1 per 0.5-1 s
        #expect(attempts > 75 && attempts < 160, "\(attempts)")
    }

    @Test("gives up exactly at max_lock_wait, never sleeping past it")
    func timesOut() {
        let clock = ManualClock()
        var random = SplitMix64(seed: 4)
        let short = LockPolicy(initialDelay: .milliseconds(50), maxDelay: .seconds(1), maxWait: .milliseconds(2500))
        var lastAttemptAt = Duration.zero
        let outcome = short.run(clock: clock, random: &random,
                                attempt: { (_: Bool) -> LockPolicy.AttemptResult<String> in lastAttemptAt = clock.now.offset; return .busy("h") },
                                sleep: { d in clock.advance(d); return nil }, progress: { _ in })
        guard case .timedOut(let waited, let holder) = outcome else { Issue.record("\(outcome)"); return }
        #expect(waited == .milliseconds(2500))
        #expect(lastAttemptAt == .milliseconds(2500))
        #expect(holder == "h")
    }

    @Test("max_lock_wait 0: one attempt, then timed out")
    func zeroWait() {
        let clock = ManualClock()
        var random = SplitMix64(seed: 5)
        let none = LockPolicy(initialDelay: .milliseconds(50), maxDelay: .seconds(1), maxWait: .zero)
        var attempts = 0
        let outcome = none.run(clock: clock, random: &random,
                               attempt: { (_: Bool) -> LockPolicy.AttemptResult<String> in attempts += 1; return .busy("h") },
                               sleep: { _ in Issue.record("must not sleep"); return nil }, progress: { _ in })
        guard case .timedOut = outcome else { Issue.record("\(outcome)"); return }
        #expect(attempts == 1)
    }

    @Test("a signal during a sleep ends the wait")
    func interrupted() {
        let clock = ManualClock()
        var random = SplitMix64(seed: 6)
        var sleeps = 0
        let outcome = policy.run(clock: clock, random: &random,
                                 attempt: { (_: Bool) -> LockPolicy.AttemptResult<String> in .busy("h") },
                                 sleep: { d in sleeps += 1; clock.advance(d); return sleeps == 3 ? 15 : nil },
                                 progress: { _ in })
        guard case .interrupted(let signal, _, let holder) = outcome else { Issue.record("\(outcome)"); return }
        #expect(signal == 15 && holder == "h" && sleeps == 3)
    }
}

@Suite("Lock policy: the courtesy after our own release")
struct LockPolicyYieldTests {
    let policy = LockPolicy(initialDelay: .milliseconds(50), maxDelay: .seconds(1), maxWait: .seconds(100))

    @Test("a free drive we owe the waiters is yielded for the window the attempt names, then taken; no progress line")
    func yieldsThenAcquires() {
        let clock = ManualClock()
        var random = SplitMix64(seed: 7)
        var sleeps: [Duration] = [], events = 0
        let outcome = policy.run(
            clock: clock, random: &random,
            attempt: { (_: Bool) -> LockPolicy.AttemptResult<String> in
                let left = Duration.milliseconds(1270) - clock.now.offset
                return left > .zero ? .yielding(left) : .acquired
            },
            sleep: { d in sleeps.append(d); clock.advance(d); return nil }, progress: { _ in events += 1 })
        guard case .acquired(let waited) = outcome else { Issue.record("\(outcome)"); return }
        #expect(sleeps == [.milliseconds(1270)] && waited == .milliseconds(1270) && events == 0)
    }

    @Test("a waiter that takes the drive while we yield makes us an ordinary waiter")
    func yieldsThenWaits() {
        let clock = ManualClock()
        var random = SplitMix64(seed: 8)
        var calls = 0
        var progress: [String] = []
        let outcome = policy.run(
            clock: clock, random: &random,
            attempt: { (_: Bool) -> LockPolicy.AttemptResult<String> in
                calls += 1
                if calls == 1 { return .yielding(.milliseconds(1270)) }
                return clock.now.offset >= .seconds(10) ? .acquired : .busy("0xbac999")
            },
            sleep: { d in clock.advance(d); return nil },
            progress: { event in if case .started(let h) = event { progress.append("start \(h) at \(clock.now.offset)") } })
        guard case .acquired = outcome else { Issue.record("\(outcome)"); return }
        #expect(progress == ["start 0xbac999 at 1.27 seconds"])
    }

    @Test("the courtesy never outlasts max_lock_wait: at the deadline the attempt is told not to yield")
    func courtesyBoundedByWait() {
        let clock = ManualClock()
        var random = SplitMix64(seed: 9)
        let short = LockPolicy(initialDelay: .milliseconds(50), maxDelay: .seconds(1), maxWait: .milliseconds(300))
        var asked: [Bool] = []
        let outcome = short.run(
            clock: clock, random: &random,
            attempt: { (mayYield: Bool) -> LockPolicy.AttemptResult<String> in
                asked.append(mayYield)
                return mayYield ? .yielding(.seconds(1)) : .acquired
            },
            sleep: { d in clock.advance(d); return nil }, progress: { _ in })
        guard case .acquired(let waited) = outcome else { Issue.record("\(outcome)"); return }
        #expect(asked == [true, true, false] && waited == .milliseconds(300))
    }

    @Test("a signal while yielding ends the wait with nothing held")
    func interruptedWhileYielding() {
        let clock = ManualClock()
        var random = SplitMix64(seed: 10)
        let outcome = policy.run(
            clock: clock, random: &random,
            attempt: { (_: Bool) -> LockPolicy.AttemptResult<String> in .yielding(.seconds(1)) },
            sleep: { d in clock.advance(d / 2); return 2 }, progress: { _ in })
        guard case .interruptedWhileYielding(let signal, let waited) = outcome else { Issue.record("\(outcome)"); return }
        #expect(signal == 2 && waited == .milliseconds(500))
    }
}

@Suite("Lock record")
struct LockRecordTests {
    static let boot = BootID(high: 0x0123_4567_89ab_cdef, low: 0xfeed_0000_0000_0001)
    static let id = "0123456789abcdeffeed000000000001"

    @Test("encodes and decodes each state exactly", arguments: [
        (LockRecord(state: .held(generation: 12), since: 123, boot: boot), "held gen=12 since=123 boot=\(id)\n"),
        (LockRecord(state: .released(generation: 4294967295, waiters: true), since: 9, boot: boot),
         "released gen=4294967295 waiters=1 since=9 boot=\(id)\n"),
        (LockRecord(state: .released(generation: 0, waiters: false), since: 0, boot: BootID(high: 0, low: 0)),
         "released gen=0 waiters=0 since=0 boot=00000000000000000000000000000000\n"),
        (LockRecord(state: .waiting(ProcessIdentity(pid: 42, startTicks: 18446744073709551615)), since: 77, boot: boot),
         "waiting pid=42 start=18446744073709551615 since=77 boot=\(id)\n"),
    ])
    func roundTrip(record: LockRecord, text: String) {
        #expect(record.encoded == text)
        #expect(LockRecord(decoding: text) == record)
    }

    @Test("anything else is no record", arguments: [
        "", "held gen=12 since=123 boot=\(id)", "held gen=12 since=123 boot=\(id)\n\n", "held gen=-1 since=1 boot=\(id)\n",
        "held gen=4294967296 since=1 boot=\(id)\n", "held gen=1 gen=2 since=1 boot=\(id)\n", "held since=1 boot=\(id)\n",
        "released gen=1 waiters=2 since=1 boot=\(id)\n", "waiting pid=0 start=1 since=1 boot=\(id)\n",
        "waiting pid=1 start=1 since=1 boot=\(id) extra=2\n", "HELD gen=1 since=1 boot=\(id)\n", "held gen=+1 since=1 boot=\(id)\n",
        "held gen= since=1 boot=\(id)\n", "held  gen=1 since=1 boot=\(id)\n", String(repeating: "x", count: 300) + "\n",
        // since past Int64, and past UInt64 (no wrap-around); a name without its '='; a non-ASCII digit
        "held gen=1 since=9223372036854775808 boot=\(id)\n", "held gen=1 since=18446744073709551616 boot=\(id)\n",
        "held gen1 since=1 boot=\(id)\n", "held gen=\u{0661} since=1 boot=\(id)\n", "held gen=1 since=1 boot=\(id) \n",
        "waiting pid=2147483648 start=1 since=1 boot=\(id)\n", "waiting pid=1 start=18446744073709551616 since=1 boot=\(id)\n",
        // a record of an earlier version: no boot id, no start time
        "held gen=12 since=123\n", "waiting pid=42 since=77\n", "waiting pid=42 start=5 since=77\n",
        // the boot id: 32 lower-case hex digits, nothing else (not the kernel's dashed form, not upper case, no sign)
        "held gen=1 since=1 boot=\(id.dropLast())\n", "held gen=1 since=1 boot=\(id)0\n", "held gen=1 since=1 boot=\(id.uppercased())\n",
        "held gen=1 since=1 boot=01234567-89ab-cdef-feed-000000000001\n", "held gen=1 since=1 boot=+123456789abcdef+eed000000000001\n",
        "held gen=1 since=1 boot=\n", "held gen=1 since=1 bool=\(id)\n", "held gen=1 boot=\(id) since=1\n",
    ])
    func rejects(text: String) {
        #expect(LockRecord(decoding: text) == nil)
    }

    @Test("the boot id as the kernel prints it (dashed, one newline) or as records store it; nothing else")
    func bootIDText() {
        #expect(BootID(text: Array("01234567-89ab-cdef-feed-000000000001\n".utf8)) == Self.boot)
        #expect(BootID(text: Array("01234567-89AB-CDEF-FEED-000000000001".utf8)) == Self.boot)
        #expect(BootID(text: Array(Self.id.utf8)) == Self.boot)
        #expect(Self.boot.description == Self.id)
        for bad in ["", "01234567-89ab-cdef-feed-00000000000", "01234567+89ab-cdef-feed-000000000001", "0123456789abcdeffeed00000000000g",
                    "01234567-89ab-cdef-feed-000000000001\n\n", "-1234567-89ab-cdef-feed-000000000001", " 0123456789abcdeffeed000000000001"] {
            #expect(BootID(text: Array(bad.utf8)) == nil, "\(bad)")
        }
        // this machine has one, and reading it twice gives the same
        #expect(BootID.current != nil)
    }

    @Test("a process's start time: field 22 of /proc/PID/stat, counted after the command name's last ')'")
    func processStartTicks() {
        let fields = (4...21).map(String.init).joined(separator: " ")
        #expect(ProcessIdentity.startTicks(statLine: Array("42 (a) b) c) S \(fields) 987654 23 24\n".utf8)) == 987654)
        #expect(ProcessIdentity.startTicks(statLine: Array("42 (sleep) S \(fields) 5".utf8)) == 5)
        #expect(ProcessIdentity.startTicks(statLine: Array("42 (sleep) S \(fields)".utf8)) == nil)
        #expect(ProcessIdentity.startTicks(statLine: Array("42 (sleep) S \(fields) -5 x".utf8)) == nil)
        #expect(ProcessIdentity.startTicks(statLine: Array("42 sleep S \(fields) 5".utf8)) == nil)
        // this process: the same identity at every look
        let me = ProcessIdentity.current
        #expect(me != nil && me == ProcessIdentity.of(pid: getpid()))
        #expect(ProcessIdentity.of(pid: 0) == nil && ProcessIdentity.of(pid: -1) == nil)
    }

    @Test("courtesy: only after a release that others waited for (or a generation that moved since), within the window")
    func courtesy() {
        let max = Duration.seconds(1)
        let window = LockRecord.courtesyWindow(lockRetryMax: max)
        #expect(window == .milliseconds(1270))
        // a huge lock_retry_max does not make one stale record a long, silent wait
        #expect(LockRecord.courtesyWindow(lockRetryMax: .seconds(100)) == .seconds(10))
        let waited = LockRecord(state: .released(generation: 7, waiters: true), since: 1_000_000_000, boot: Self.boot)
        #expect(waited.courtesyLeft(now: 1_000_000_000, generation: 7, lockRetryMax: max) == window)
        #expect(waited.courtesyLeft(now: 1_270_000_000 + 1_000_000_000 - 1, generation: 7, lockRetryMax: max) == .nanoseconds(1))
        #expect(waited.courtesyLeft(now: 2_270_000_000, generation: 7, lockRetryMax: max) == nil)
        let alone = LockRecord(state: .released(generation: 7, waiters: false), since: 0, boot: Self.boot)
        #expect(alone.courtesyLeft(now: 10, generation: 7, lockRetryMax: max) == nil)
        #expect(alone.courtesyLeft(now: 10, generation: 8, lockRetryMax: max) == window - .nanoseconds(10))
        #expect(LockRecord(state: .held(generation: 7), since: 0, boot: Self.boot).courtesyLeft(now: 1, generation: 8, lockRetryMax: max) == nil)
        #expect(LockRecord(state: .waiting(ProcessIdentity(pid: 1, startTicks: 1)), since: 0, boot: Self.boot).courtesyLeft(now: 1, generation: 8, lockRetryMax: max) == nil)
        // a release later than now: no courtesy. (Counting it as "no time
        // elapsed" gave a full window on every attempt, so a free drive was yielded for all of max_lock_wait.)
        #expect(waited.courtesyLeft(now: 0, generation: 7, lockRetryMax: max) == nil)
        #expect(waited.courtesyLeft(now: 999_999_999, generation: 8, lockRetryMax: max) == nil)
    }
}

@Suite("JSON")
struct JSONTests {
    @Test("escapes every string")
    func escaping() {
        let doc = JSON.object([("a\"b", .string("x\n\u{1}\u{7f}\\y\u{2028}")), ("n", .int(-3)), ("t", .bool(true)), ("z", .null),
                              ("l", .array([.int(1), .string("é")]))])
        #expect(doc.serialized() == #"{"a\"b":"x\n\u0001\u007f\\y\u2028","n":-3,"t":true,"z":null,"l":[1,"é"]}"#)
    }
}
