/// How `lock` waits: poll with jittered exponential backoff until the reservation is ours,
/// `maxWait` passes, or a signal asks us to stop. The clock, the sleeper and the random source are
/// injected, so the policy is tested without waiting and measured against a monotonic clock
/// (a wall-clock jump must not change when we give up).
public struct LockPolicy: Sendable {
    /// Delay before the first retry; doubles per retry up to `maxDelay`.
    public var initialDelay: Duration
    public var maxDelay: Duration
    /// How long we may wait in all.
    public var maxWait: Duration
    /// How often a progress line may be printed while waiting.
    public var progressInterval: Duration = .seconds(30)

    public init(initialDelay: Duration, maxDelay: Duration, maxWait: Duration, progressInterval: Duration = .seconds(30)) {
        self.initialDelay = initialDelay
        self.maxDelay = max(maxDelay, initialDelay)
        self.maxWait = maxWait
        self.progressInterval = progressInterval
    }

    /// The delay before retry number `retry` (0-based): an exponential step with "equal jitter",
    /// i.e. uniformly in [step/2, step], so waiters spread out but never spin.
    /// `cap`: the longest step (`maxDelay`, or a waiter's in line: `inLineCap`).
    public func delay(forRetry retry: Int, cap: Duration? = nil, using random: inout some RandomNumberGenerator) -> Duration {
        let exponent = min(retry, 30)
        let cap = cap ?? maxDelay
        var step = initialDelay * (1 << exponent)
        if step > cap { step = cap }
        let nanos = step.nanoseconds
        let jittered = nanos / 2 + Int64.random(in: 0...(nanos - nanos / 2), using: &random)
        return .nanoseconds(jittered)
    }

    public enum AttemptResult<Holder> {
        case acquired
        case busy(Holder)
        /// Waiting in line (`fairness=fifo`), at `place`: each move up to the front or next to it
        /// (TicketLine.soon) starts the backoff again from `initialDelay`, so the waiters at the front of the
        /// line poll soonest, not the one that arrived last; the step is capped by `inLineCap`.
        case inLine(Holder, LinePlace)
        /// The drive is free, but we yield it to waiters for up to this long (the courtesy after our
        /// own release, docs/DESIGN.md "Fairness"); the policy asks again after at most that.
        case yielding(Duration)
    }

    /// The longest step between the polls of a waiter in line. Only the waiter at the front may take the
    /// drive, and it learns that the drive is free only at its own poll; so it polls as often as all the
    /// waiters together poll under courtesy, where the first of them to poll takes the drive: a step of
    /// 2 x `maxDelay` / (waiters + 1) (`maxDelay` when it waits alone). A waiter further back need not poll
    /// before its turn can come: when the line moves faster than `maxDelay` a place (holds shorter than the
    /// backoff), `ahead` turns from now, and the front half a turn; otherwise it would sleep through its turn.
    /// Never below `initialDelay`; never above `maxDelay` but at the front (slower far back is tempting, but
    /// measured: at 2 x `maxDelay` there, the idle gap p50 with 8 daemons holding 25-75 ms went from 76 to 279 ms).
    public func inLineCap(_ place: LinePlace) -> Duration {
        var cap = place.ahead == 0 ? maxDelay * 2 / (place.behind + 2) : maxDelay
        if let turn = place.turn { cap = min(cap, place.ahead == 0 ? turn / 2 : turn * place.ahead) }
        return max(initialDelay, cap)
    }

    public enum Outcome<Holder> {
        case acquired(waited: Duration)
        case timedOut(waited: Duration, holder: Holder)
        case interrupted(signal: Int32, waited: Duration, holder: Holder)
        /// A signal came while we were yielding a free drive to waiters (nobody held it for us to name).
        case interruptedWhileYielding(signal: Int32, waited: Duration)
    }

    public enum Progress<Holder> {
        /// Waiting starts: printed once, on the first conflict.
        case started(holder: Holder)
        /// Still waiting, at most once per `progressInterval`.
        case stillWaiting(holder: Holder, waited: Duration)
    }

    /// Runs the wait. `attempt` tries once (`mayYield` false once yielding would outlast `maxWait`:
    /// a courtesy never makes us give up); `sleep` waits up to the given time and returns the
    /// number of a signal that interrupted it, or nil.
    public func run<Holder, C: Clock, E: Error>(
        clock: C,
        random: inout some RandomNumberGenerator,
        attempt: (_ mayYield: Bool) throws(E) -> AttemptResult<Holder>,
        sleep: (Duration) -> Int32?,
        progress: (Progress<Holder>) -> Void
    ) throws(E) -> Outcome<Holder> where C.Duration == Duration {
        let start = clock.now
        var retry = 0
        var lastProgress: C.Instant? = nil
        var mayYield = true
        var lastHolder: Holder? = nil
        var rank = Int.max        // waiters ahead of us at the last `.inLine`; Int.max: not in line
        var cap = maxDelay
        while true {
            let holder: Holder
            switch try attempt(mayYield) {
            case .acquired:
                return .acquired(waited: start.duration(to: clock.now))
            case .busy(let h):
                holder = h
                rank = Int.max
                cap = maxDelay
            case .inLine(let h, let place):
                holder = h
                if TicketLine.soon(ahead: place.ahead), place.ahead < rank { retry = 0 }
                rank = place.ahead
                cap = inLineCap(place)
            case .yielding(let left):
                let remaining = maxWait - start.duration(to: clock.now)
                if remaining <= .zero { mayYield = false; continue }
                if let signal = sleep(min(left, remaining)) {
                    if let lastHolder {
                        return .interrupted(signal: signal, waited: start.duration(to: clock.now), holder: lastHolder)
                    }
                    return .interruptedWhileYielding(signal: signal, waited: start.duration(to: clock.now))
                }
                continue
            }
            lastHolder = holder
            let now = clock.now
            let waited = start.duration(to: now)
            if waited >= maxWait {
                return .timedOut(waited: waited, holder: holder)
            }
            if lastProgress == nil {
                progress(.started(holder: holder))
                lastProgress = now
            } else if let last = lastProgress, last.duration(to: now) >= progressInterval {
                progress(.stillWaiting(holder: holder, waited: waited))
                lastProgress = now
            }
            // Never sleep past the deadline: the last attempt happens at maxWait, not after it.
            let pause = min(delay(forRetry: retry, cap: cap, using: &random), maxWait - waited)
            retry += 1
            if let signal = sleep(pause) {
                return .interrupted(signal: signal, waited: start.duration(to: clock.now), holder: holder)
            }
        }
    }
}

/// Results compare by value, so a script of attempts (LockWait's tests) can say exactly what the policy hears.
extension LockPolicy.AttemptResult: Equatable where Holder: Equatable {}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Whole seconds, rounded down, for messages (`waited 30 s`).
    var wholeSeconds: Int64 { components.seconds }

    init(seconds value: Double) {
        self = .nanoseconds(Int64((value * 1e9).rounded()))
    }
}
