/// What a waiting `lock` knows between its polls, and how each poll's result changes it: the fairness of
/// docs/DESIGN.md "Fairness" and "First come, first served" as one state machine.
///
/// The verb does the SCSI (`Locker.attempt`, `Locker.attemptInTurn`) and the printing; this decides, from
/// what each attempt found, what `LockPolicy` hears and what the verb must record or say. Both clocks are
/// injected, so the courtesy window and the ticket expiry are tested without processes or waiting.
struct LockWait {
    /// What keeps a waiting lock out: a holder, or (`fairness=fifo`) hosts that arrived first, waiting for the
    /// free drive in turn.
    enum Blocker: Equatable {
        case held(Holder)
        case behind(TicketKey, count: Int)

        /// `lock held by 0xbac999 (dir)`, `in line behind 0xbac999 (dir) and 2 more`.
        func describe(_ locker: Locker) -> String {
            switch self {
            case .held(let holder): return "lock held by \(locker.describe(holder))"
            case .behind(let first, let count):
                return "in line behind \(locker.settings.label(first.owner))" + (count > 1 ? " and \(count - 1) more" : "")
            }
        }
    }

    /// What the verb does besides answering the policy: each happens at most once per wait.
    enum Effect: Equatable {
        /// Kept out for the first time: a `waiting` lock record, for `status ... waiting=1`.
        case startedWaiting
        /// Yielding the free drive for the first time, for up to this long: one line for `-v`.
        case startedYielding(Duration)
    }

    /// A holder (or, fifo, the line) has kept us out at least once: from then on we are an ordinary waiter and
    /// never yield.
    private(set) var hasWaited = false
    private(set) var yielded = false
    /// Attempts that found us kept out.
    private(set) var polls = 0
    /// Of those, the ones that found another holder than the one before.
    private(set) var changes = 0
    /// The holder our last kept-out poll saw, for counting changes of holder (nil: none seen yet).
    private(set) var lastHolder: Holder?
    /// Where we took the drive: the fairness baseline, and whether it was ours already.
    private(set) var acquired: (generation: UInt32, wasHolding: Bool)?
    /// Our place in line under `fairness=fifo` (`Locker.attemptInTurn` moves it on).
    var line: TicketWaiter

    /// This host's record of the drive as the wait began (nil: none, or no record store).
    let previous: LockRecord?
    let lockRetryMax: Duration
    /// Boot-clock nanoseconds, the clock lock records are written on (`LockRecordStore.clock`).
    let bootClock: () -> Int64
    /// Monotonic nanoseconds since the wait began: when ticket heartbeats were seen to change.
    let clock: () -> Int64

    init(previous: LockRecord?, lockRetryMax: Duration, bootClock: @escaping () -> Int64, clock: @escaping () -> Int64) {
        self.previous = previous
        self.lockRetryMax = lockRetryMax
        self.bootClock = bootClock
        self.clock = clock
        line = TicketWaiter(expiry: ticketExpiry(lockRetryMax: lockRetryMax).nanoseconds)
    }

    /// How long, at this instant, to leave the free drive to waiters, given the generation the drive shows:
    /// the rest of the courtesy after our own release (`LockRecord.courtesyLeft`), or nil to take it.
    func courtesyLeft(generation: UInt32) -> Duration? {
        guard let previous else { return nil }
        return previous.courtesyLeft(now: bootClock(), generation: generation, lockRetryMax: lockRetryMax)
    }

    /// The courtesy an attempt may pay: none once we have waited (the waiters had their chance while we did)
    /// or when the policy says a yield would outlast `max_lock_wait`. The boot clock is read only when the
    /// attempt finds the drive free, as late as it can be.
    func courtesy(mayYield: Bool) -> ((_ generation: UInt32) -> Duration?)? {
        guard !hasWaited, mayYield else { return nil }
        let wait = self   // what the courtesy depends on is constant for the wait
        return { generation in wait.courtesyLeft(generation: generation) }
    }

    /// One attempt's result: what the policy hears, and what the verb must do first.
    mutating func observe(_ result: Locker.TurnAttempt) -> (result: LockPolicy.AttemptResult<Blocker>, effect: Effect?) {
        switch result {
        case .acquired(let generation, let wasHolding):
            acquired = (generation, wasHolding)
            return (.acquired, nil)
        case .busy(let holder, let place):
            let effect = keptOut(by: .held(holder))
            guard let place else { return (.busy(.held(holder)), effect) }
            return (.inLine(.held(holder), place), effect)
        case .behind(let first, let place):
            let blocker = Blocker.behind(first, count: place.ahead)
            return (.inLine(blocker, place), keptOut(by: blocker))
        case .yielding(let left):
            if yielded { return (.yielding(left), nil) }
            yielded = true
            return (.yielding(left), .startedYielding(left))
        }
    }

    /// A holder kept us out (or, fifo, waiters that came first): counted, and the first time remembered.
    private mutating func keptOut(by blocker: Blocker) -> Effect? {
        if case .held(let holder) = blocker {
            if hasWaited, let lastHolder, lastHolder != holder { changes += 1 }
            lastHolder = holder
        }
        polls += 1
        if hasWaited { return nil }
        hasWaited = true
        return .startedWaiting
    }

    /// The generation to record as our hold's baseline (`LockRecordStore.rememberTaken`): nil unless we took
    /// the drive in this wait (one we held already keeps its record).
    var taken: UInt32? {
        guard let acquired, !acquired.wasHolding else { return nil }
        return acquired.generation
    }
}
