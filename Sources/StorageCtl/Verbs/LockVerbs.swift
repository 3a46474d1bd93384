import PRCore
import ProcessSupport

/// `trylock`: one attempt; busy (exit 1) names the holder. No courtesy: an explicit one-shot
/// takes a free drive at once.
struct TryLockVerb: NoArgumentVerb {
    static let name = "trylock"
    static let synopsis = "trylock"
    static let summary = "take the lock now or exit 1 naming the holder"
    static let changesState = true
    static let takesLock = true

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        switch try context.locker().attempt() {
        case .acquired(let generation, let wasHolding):
            if !wasHolding { context.lockRecords?.rememberTaken(generation: generation) }
            return .ok
        case .busy(let holder): throw context.busy(holder)
        case .yielding: preconditionFailure("trylock never yields")
        }
    }
}

/// `lock`: as trylock, then waits (LockPolicy) until we hold it, `max_lock_wait` passes (exit 4)
/// or a stop signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) arrives (exit 5).
///
/// Fair hand-off (docs/DESIGN.md "Fairness"): every poll of a waiting lock re-registers our key (a
/// heartbeat the holder sees as a moving PRgeneration), and a lock that follows our own release
/// of a drive others were waiting for yields it for one courtesy window first (LockRecord). What the wait
/// knows between polls, and what each poll changes, is `LockWait`'s; this sends the commands and prints.
///
/// A signal is only acted on between attempts: if the attempt that raced with it acquired the
/// reservation we report success (exit 0 = we hold it) rather than release a lock we may have
/// held before this call; so we never exit non-zero holding a reservation we took.
struct LockVerb: NoArgumentVerb {
    static let name = "lock"
    static let ownOptions: [Invocation.Option] = [.wait]
    static let synopsis = "lock"
    static let summary = "take the lock, waiting up to max_lock_wait seconds (-w)"
    static let changesState = true
    static let takesLock = true

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        let settings = context.settings
        let locker = context.locker()
        let policy = LockPolicy(initialDelay: Duration(seconds: settings.lockRetryInitial),
                                maxDelay: Duration(seconds: settings.lockRetryMax),
                                maxWait: Duration(seconds: settings.maxLockWait))
        var random = SystemRandomNumberGenerator()
        let sleep = context.sleeperFactory()
        let limit = Self.seconds(policy.maxWait)
        let records = context.lockRecords
        let previous = records?.load()
        let (fairness, fairnessNote) = settings.effectiveFairness
        if let fairnessNote { context.tracer?.note(fairnessNote) }
        let clock = ContinuousClock(), start = clock.now
        // the boot clock is only read with a previous record, which only a record store gives
        var wait = LockWait(previous: previous, lockRetryMax: policy.maxDelay,
                            bootClock: { records?.clock() ?? 0 },
                            clock: { start.duration(to: clock.now).nanoseconds })
        let outcome = try policy.run(
            clock: clock, random: &random,
            attempt: { (mayYield: Bool) throws(StorageCtlError) -> LockPolicy.AttemptResult<LockWait.Blocker> in
                let courtesy = wait.courtesy(mayYield: mayYield)
                let result: Locker.TurnAttempt
                if fairness == .fifo {
                    let now = wait.clock()
                    result = try locker.attemptInTurn(&wait.line, now: now, courtesy: courtesy)
                } else {
                    result = Locker.TurnAttempt(try locker.attempt(registerWhenBusy: true, courtesy: courtesy))
                }
                let (answer, effect) = wait.observe(result)
                switch effect {
                case .startedWaiting: records?.rememberWaiting()
                case .startedYielding(let left):
                    context.tracer?.note("yielding the drive for up to \(Self.tenths(left)) s: we released it while others waited")
                case nil: break
                }
                return answer
            },
            sleep: sleep,
            progress: { event in
                switch event {
                case .started(let blocker):
                    context.note("\(blocker.describe(locker)); waiting up to \(limit) s")
                case .stillWaiting(let blocker, let waited):
                    context.note("\(blocker.describe(locker)); waited \(waited.wholeSeconds) s of \(limit) s")
                }
            })
        if case .acquired = outcome {} else { locker.leaveLine(&wait.line) }
        switch outcome {
        case .acquired(let waited):
            if let generation = wait.taken { records?.rememberTaken(generation: generation) }
            if wait.hasWaited {
                let (changes, polls) = (wait.changes, wait.polls)
                context.note("lock acquired after waiting \(Self.tenths(waited)) s" + (changes == 0 ? "" : " (\(Self.seen(changes: changes, polls: polls)))"))
            }
            return .ok
        case .timedOut(let waited, let holder):
            records?.remove()
            // waited >= max_lock_wait: say the limit the admin set (-w 0.3 -> "0.3 s"), unless the last
            // attempt overran it by a tenth of a second or more (a slow device): then the time it took
            let shown = waited - policy.maxWait < .milliseconds(100) ? limit : Self.tenths(waited)
            throw StorageCtlError(.timedOut, "\(context.path): gave up after \(shown) s: \(holder.describe(locker)); \(Self.seen(changes: wait.changes, polls: wait.polls))")
        case .interrupted(let signal, let waited, let holder):
            records?.remove()
            throw StorageCtlError(.interrupted, "\(context.path): interrupted by \(ProcessSignals.name(signal)) after \(Self.tenths(waited)) s waiting; \(holder.describe(locker))")
        case .interruptedWhileYielding(let signal, let waited):
            throw StorageCtlError(.interrupted, "\(context.path): interrupted by \(ProcessSignals.name(signal)) after \(Self.tenths(waited)) s yielding the free drive to waiting hosts; not locked")
        }
    }

    /// What our polls saw of the holders while we waited. Only changes of holder between two polls can be
    /// seen: a holder that releases and reserves again in between leaves no trace on the device (RESERVE and
    /// RELEASE do not move the PRgeneration), so this never claims how many holds there were.
    static func seen(changes: Int, polls: Int) -> String {
        switch changes {
        case 0: return polls <= 1 ? "polled once" : "the same holder at all \(polls) polls"
        case 1: return "the holder changed once in \(polls) polls"
        default: return "the holder changed \(changes) times in \(polls) polls"
        }
    }

    /// A waited time for messages, to a tenth of a second (`0.3`, `12.0`): whole seconds said
    /// "gave up after 0 s" of a 0.3 s wait.
    static func tenths(_ d: Duration) -> String {
        let tenths = (d.nanoseconds + 50_000_000) / 100_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func seconds(_ d: Duration) -> String {
        let ms = d.nanoseconds / 1_000_000
        if ms % 1000 == 0 { return String(ms / 1000) }
        let frac = String(ms % 1000)
        var digits = String(repeating: "0", count: 3 - frac.count) + frac
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(ms / 1000).\(digits)"
    }
}

/// `unlock`: afterwards we do not hold the reservation. It releases with the type the
/// reservation actually has (READ RESERVATION first), so a lock taken with another `-t` is still
/// released instead of failing with INVALID RELEASE; not holding is success, with a note naming
/// the holder.
///
/// Two exceptions, where success would hide a broken setup:
/// - the lock stays held under our own key through another initiator (our `key=` configured on
///   two hosts): exit 1 naming it. RELEASE from a registered non-holder answers GOOD without
///   releasing anything, so after GOOD one READ RESERVATION checks the lock is really gone;
/// - not holding, and this nexus is registered under another key (two storage daemons on one
///   initiator): exit 6, as `register` (only where the transport knows its nexus: the simulated LU).
struct UnlockVerb: NoArgumentVerb {
    static let name = "unlock"
    static let synopsis = "unlock"
    static let summary = "release the lock if we hold it (not holding is success)"
    static let changesState = true

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        let locker = context.locker()
        let (current, generation) = try locker.readReservation()
        guard let holder = current else {
            try refuseIfInitiatorShared(locker)
            context.note("not locked; nothing to release")
            return .ok
        }
        guard holder.key == context.key || holder.isAllRegistrants else {
            try refuseIfInitiatorShared(locker)
            context.note("not holding the lock; it is held by \(locker.describe(holder))")
            return .ok
        }
        let released = try context.device.release(type: holder.type, key: context.key)
        switch released {
        case .done:
            guard !holder.isAllRegistrants, let after = try locker.holder(), after.key == context.key,
                  !after.isAllRegistrants, try locker.heldUnderOurKeyElsewhere() else {
                context.lockRecords?.rememberReleased(generation: generation)
                return .ok
            }
            // Held under our key through another nexus; if it is one of this host's own, move it here and release.
            guard context.device.ownNexuses.isKnown else { throw heldElsewhere(context, locker, after) }
            if try releaseFromOwnNexus(context, locker) { return .ok }
            return try notOursToRelease(context, locker)
        case .conflict:
            // We are not registered: the holder is all registrants (we are none), or another initiator with our key.
            if holder.isAllRegistrants {
                context.note("not holding the lock; it is held by \(locker.describe(holder))")
                return .ok
            }
            // A path of ours that is gone (or another live one) may hold it: register here, then as above.
            if context.device.ownNexuses.isKnown {
                try locker.register(likelyRegistered: false)
                if try releaseFromOwnNexus(context, locker) { return .ok }
                // not ours to release: leave nothing of this attempt behind
                _ = try? locker.registerOnce(reservationKey: context.key, serviceActionKey: ReservationKey(0))
                return try notOursToRelease(context, locker)
            }
            throw heldElsewhere(context, locker, holder)
        case .unsupported, .failed:
            throw context.device.failure(.release, released)
        }
    }

    /// The lock is held under our key through another nexus of this host (a path that is gone, or another
    /// live one): takes it over here (Locker.takeOverFromOwnNexus, one PREEMPT) and releases it. False when
    /// that nexus may be another host's: nothing was changed.
    private func releaseFromOwnNexus(_ context: VerbContext, _ locker: Locker) throws(StorageCtlError) -> Bool {
        guard let takeover = try locker.takeOverFromOwnNexus() else { return false }
        try context.device.require(try context.device.release(type: locker.type, key: context.key), .release)
        context.lockRecords?.rememberReleased(generation: takeover.generation)
        return true
    }

    /// A takeover that did not happen: the drive as it is now. Free, or held by another key: we do not hold
    /// it, success with a note (it may have changed hands while we looked); still our key elsewhere: exit 1.
    private func notOursToRelease(_ context: VerbContext, _ locker: Locker) throws(StorageCtlError) -> ExitCode {
        guard let now = try locker.holder() else {
            context.note("not locked; nothing to release")
            return .ok
        }
        if now.key == context.key && !now.isAllRegistrants { throw heldElsewhere(context, locker, now) }
        context.note("not holding the lock; it is held by \(locker.describe(now))")
        return .ok
    }

    private func refuseIfInitiatorShared(_ locker: Locker) throws(StorageCtlError) {
        let registration = try locker.nexusRegistration()
        if case .other = registration { throw locker.initiatorShared(registration, refusing: "nothing released: ") }
    }

    private func heldElsewhere(_ context: VerbContext, _ locker: Locker, _ holder: Holder) -> StorageCtlError {
        StorageCtlError(.busy, "\(context.path): nothing released: the lock is held by \(locker.describe(holder))")
    }
}

/// `preempt KEY [--abort]`: breaks a stale lock held by KEY. Registers our key, then PREEMPT
/// (or PREEMPT AND ABORT) with our type: KEY's registrations are gone and, if KEY held the
/// reservation, we hold it now (SPC P3). If KEY held none, the LU is then locked as trylock does.
struct PreemptVerb: Verb {
    static let name = "preempt"
    static let ownOptions: [Invocation.Option] = [.abort]
    static let synopsis = "preempt KEY [--abort]"
    static let summary = "break a stale lock held by KEY and take it (PREEMPT; --abort: PREEMPT AND ABORT)"
    static let changesState = true
    static let takesLock = true
    static let argumentCount: ClosedRange<Int> = 1...1

    let victim: ReservationKey
    let abort: Bool

    init(arguments: [String], invocation: Invocation) throws(StorageCtlError) {
        victim = try SettingValue.key(arguments[0]).get()
        abort = invocation.abort
    }

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        if victim == context.key {
            throw .usage("\(context.path): refusing to preempt our own key \(context.settings.label(victim)); use unlock or unregister")
        }
        let locker = context.locker()
        let before = try locker.holder()
        try locker.register()
        let action: PersistentReserveOut.ServiceAction = abort ? .preemptAndAbort : .preempt
        let preempted = try context.device.preempt(key: context.key, victim: victim, type: context.settings.type, abort: abort)
        switch preempted {
        case .done:
            break
        case .conflict:
            if !(try context.device.readKeys().keys.contains(victim)) {
                // the device's state, not a mistake in the command line: exit 1, as for any conflict
                throw StorageCtlError(.busy, "\(context.path): \(context.settings.label(victim)) is not registered; nothing to preempt")
            }
            throw StorageCtlError(.busy, "\(context.path): \(action.commandName) refused with RESERVATION CONFLICT")
        case .unsupported, .failed:
            throw context.device.failure(action, preempted)
        }
        let victimLabel = context.settings.label(victim)
        if let before, before.key == victim, !before.isAllRegistrants {
            // The PREEMPT gave us the reservation only if KEY still held it: KEY may have released
            // since we looked, and another host reserved (then PREEMPT only removed KEY's
            // registration). Look again; a look that fails keeps the PREEMPT's word (never exit
            // non-zero holding the lock).
            let looked: Holder?? = try? locker.holder()
            if case .some(let now) = looked, now?.key != context.key {
                // fall through: take the lock as trylock does, or name who holds it
            } else {
                context.lockRecords?.remove()   // a hold of its own, with no age (not an earlier hold's record)
                context.note("preempted \(victimLabel): its registration is gone and we hold the lock")
                return .ok
            }
        }
        // KEY held no (single-holder) reservation: its registrations are gone; now take the lock.
        switch try locker.attempt() {
        case .acquired:
            context.lockRecords?.remove()
            context.note("removed the registration of \(victimLabel); we hold the lock")
            return .ok
        case .busy(let holder):
            throw StorageCtlError(.busy, "\(context.path): removed the registration of \(victimLabel), but the lock is held by \(locker.describe(holder))")
        case .yielding: preconditionFailure("preempt never yields")
        }
    }
}

/// `reserve`: the raw RESERVE service action with our key and `--type` (no registration).
struct ReserveVerb: NoArgumentVerb {
    static let name = "reserve"
    static let synopsis = "reserve"
    static let summary = "raw RESERVE with our key and --type"
    static let changesState = true
    static let takesLock = true

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        // (LIO's 2/08/00 for an unregistered nexus on a free LU, D15, arrives as the conflict)
        let reserved = try context.device.reserve(type: context.settings.type, key: context.key)
        switch reserved {
        case .done:
            context.lockRecords?.remove()   // a raw reservation is a hold with no record: no age from an earlier one
            return .ok
        case .conflict:
            if let holder = try context.locker().holder(), holder.key != context.key || holder.type != context.settings.type {
                throw context.busy(holder, "RESERVE refused: locked by")
            }
            throw StorageCtlError(.busy, "\(context.path): \(PersistentReserveOut.ServiceAction.reserve.commandName) refused with RESERVATION CONFLICT (is our key registered?)")
        case .unsupported, .failed:
            throw context.device.failure(.reserve, reserved)
        }
    }
}

/// `release`: the raw RELEASE service action with our key and `--type`.
struct ReleaseVerb: NoArgumentVerb {
    static let name = "release"
    static let synopsis = "release"
    static let summary = "raw RELEASE with our key and --type"
    static let changesState = true

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        let type = context.settings.type
        // a RELEASE of the wrong type is a conflict (the backend reads the device's way of saying it):
        // it leads to saying which type the lock has, rather than guessing.
        let result = try context.device.release(type: type, key: context.key)
        switch result {
        case .done:
            return .ok
        case .conflict:
            if let holder = try context.locker().holder(), holder.key == context.key, holder.type != type {
                throw .usage("\(context.path): the lock is held with type \(holder.type.rawValue) (\(holder.type.name)), not \(type.rawValue); use -t \(holder.type.rawValue), or unlock")
            }
            throw StorageCtlError(.busy, "\(context.path): \(PersistentReserveOut.ServiceAction.release.commandName) refused with RESERVATION CONFLICT (our key is not registered through this initiator)")
        case .unsupported, .failed:
            throw context.device.failure(.release, result)
        }
    }
}
