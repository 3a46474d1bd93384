import Testing
@testable import StorageCtl
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

    @Test("acquires at once without sleeping or progress")
    func immediate() throws {
        let clock = ManualClock()
        var random = SplitMix64(seed: 2)
        var sleeps = 0, events = 0
        let outcome = policy.run(clock: clock, random: &random,
                                 attempt: { () -> LockPolicy.AttemptResult<String> in .acquired },
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
            attempt: { () -> LockPolicy.AttemptResult<String> in
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
                                attempt: { () -> LockPolicy.AttemptResult<String> in lastAttemptAt = clock.now.offset; return .busy("h") },
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
                               attempt: { () -> LockPolicy.AttemptResult<String> in attempts += 1; return .busy("h") },
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
                                 attempt: { () -> LockPolicy.AttemptResult<String> in .busy("h") },
                                 sleep: { d in sleeps += 1; clock.advance(d); return sleeps == 3 ? 15 : nil },
                                 progress: { _ in })
        guard case .interrupted(let signal, _, let holder) = outcome else { Issue.record("\(outcome)"); return }
        #expect(signal == 15 && holder == "h" && sleeps == 3)
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
