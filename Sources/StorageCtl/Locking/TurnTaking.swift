import PRCore

/// A waiting `lock`'s place in line under `fairness=fifo` (Tickets.swift), kept between its polls.
struct TicketWaiter {
    /// Our ticket once we have taken one; kept (same place) until we hold the drive.
    var mine: TicketKey?
    /// What this nexus is registered with, as far as our own REGISTERs tell (nil: not known yet).
    var registeredAs: ReservationKey?
    var watch = TicketWatch()
    var pace = LinePace()
    /// `ticketExpiry` in nanoseconds.
    let expiry: Int64
    /// The live tickets ahead of ours at our last look.
    var ahead: [TicketKey] = []
    /// A waiter ahead of us whose ticket went while the drive stayed free (`steppingUp`), and since when.
    var stepping: (ticket: TicketKey, since: Int64)?
    /// How long (ns) a waiter stepping up keeps its turn: its REGISTER and RESERVE are two commands, and from
    /// the outside "it held the drive and released it between two of our looks" looks the same (RESERVE and
    /// RELEASE leave the PRgeneration alone), so the wait must be short: it is paid after every hold that
    /// ended unseen.
    var steppingGrace: Int64 = 250_000_000

    /// A waiter that stood ahead of us at our last look and whose ticket is gone, while the drive is free and
    /// its configured key registered: it may be between its REGISTER back to its key and its RESERVE (the order
    /// in `attemptInTurn`), so still its turn. Without this, a waiter behind it that looked in that instant saw
    /// nobody ahead and took the drive (seen once in a CI run, fifo arrival order, on a loaded machine). For
    /// `steppingGrace`, once.
    /// `wasAhead`: the tickets ahead of ours at the look before this one; `tickets`, `keys`: this look's.
    mutating func steppingUp(wasAhead: [TicketKey], tickets: [TicketKey], keys: [ReservationKey], now: Int64) -> TicketKey? {
        if let current = stepping {
            if keys.contains(current.ticket.owner), now - current.since < steppingGrace { return current.ticket }
            stepping = nil   // it held and released unseen, gave up or died; not ahead any more, it does not come back
        }
        guard let gone = wasAhead.first(where: { was in
            !tickets.contains { $0.place == was.place } && keys.contains(was.owner)
        }) else { return nil }
        stepping = (gone, now)
        return gone
    }
}

extension Locker {
    /// One poll of a `fairness=fifo` lock.
    enum TurnAttempt: Equatable {
        case acquired(generation: UInt32, wasHolding: Bool)
        /// Another key holds the drive; `place`: ours in line (nil: not in line, courtesy).
        case busy(Holder, place: LinePlace?)
        /// The drive is free, but `first` (and `place.ahead - 1` more) arrived before us: their turn.
        case behind(first: TicketKey, place: LinePlace)
        /// Nobody waits in line, and we owe the courtesy of our own release (LockRecord).
        case yielding(Duration)

        /// A plain attempt's result (the courtesy scheme's, or ours while we hold the drive).
        init(_ attempt: Attempt) {
            switch attempt {
            case .acquired(let generation, let wasHolding): self = .acquired(generation: generation, wasHolding: wasHolding)
            case .busy(let holder): self = .busy(holder, place: nil)
            case .yielding(let left): self = .yielding(left)
            }
        }
    }

    /// One look (READ FULL STATUS, or READ KEYS + READ RESERVATION), then: our turn and the drive free,
    /// RESERVE under our configured key (`attempt`); otherwise take a ticket, or move ours one heartbeat on,
    /// and remove tickets whose heartbeat stood still for `expiry` (their waiter is gone). `now`: the
    /// caller's monotonic clock in nanoseconds. A busy poll costs what a courtesy poll costs: one look and
    /// one REGISTER (plus a PREEMPT for each dead ticket, once).
    func attemptInTurn(_ waiter: inout TicketWaiter, now: Int64,
                       courtesy: ((_ generation: UInt32) -> Duration?)?) throws(StorageCtlError) -> TurnAttempt {
        let look = try lookAtLine()
        var others: [TicketKey] = []
        for ticket in look.keys.compactMap(TicketKey.init) where ticket.owner != key && !others.contains(ticket) {
            others.append(ticket)
        }
        waiter.watch.observe(others, now: now)
        let dead = others.filter { waiter.watch.isExpired($0, now: now, expiry: waiter.expiry) }
        let line = TicketLine(others: others.filter { !dead.contains($0) }, mine: waiter.mine)
        let aheadBefore = waiter.ahead
        waiter.ahead = line.ahead
        if let holder = look.holder, blocks(holder) {
            waiter.stepping = nil
            try takeTicket(&waiter, generation: look.generation, keys: look.keys)
            try removeDead(dead, &waiter, holder: holder)
            return .busy(holder, place: waiter.pace.place(in: line, now: now))
        }
        // Held under our own key (this nexus or another path of ours): never queue behind others while
        // holding; a REGISTER of a ticket here would rename the holder. `attempt` decides as it always did.
        if let holder = look.holder {
            return TurnAttempt(try attempt(registerWhenBusy: true, courtesy: nil, lookedAt: (holder, look.generation)))
        }
        if let first = line.ahead.first {
            try takeTicket(&waiter, generation: look.generation, keys: look.keys)
            try removeDead(dead, &waiter, holder: look.holder)
            return .behind(first: first, place: waiter.pace.place(in: line, now: now))
        }
        if let stepping = waiter.steppingUp(wasAhead: aheadBefore, tickets: others, keys: look.keys, now: now) {
            try takeTicket(&waiter, generation: look.generation, keys: look.keys)
            var place = waiter.pace.place(in: line, now: now)
            place.ahead = 1
            return .behind(first: stepping, place: place)
        }
        // Our turn, or nobody waits: hold under our configured key, as every other tool expects to see it.
        var lookedAt: (holder: Holder?, generation: UInt32)? = (look.holder, look.generation)
        if !dead.isEmpty {
            try removeDead(dead, &waiter, holder: look.holder)
            lookedAt = nil   // a PREEMPT moved the generation
        }
        if waiter.registeredAs != key, waiter.registeredAs != nil || look.keys.contains(where: { TicketKey($0)?.owner == key }) {
            try reregister(&waiter, to: key, keys: look.keys)
            lookedAt = nil   // the REGISTER moved the generation
        }
        // the courtesy of our own release is for waiters of the older scheme, who take no tickets
        let mayYield = waiter.mine == nil && others.isEmpty ? courtesy : nil
        switch try attempt(registerWhenBusy: false, courtesy: mayYield, lookedAt: lookedAt) {
        case .acquired(let generation, let wasHolding):
            waiter.registeredAs = key
            waiter.mine = nil
            return .acquired(generation: generation, wasHolding: wasHolding)
        case .yielding(let left):
            return .yielding(left)
        case .busy(let holder):
            // someone reserved between our look and our RESERVE: back in line at the same place
            try takeTicket(&waiter, generation: look.generation, keys: (try? device.readKeys().keys) ?? look.keys)
            return .busy(holder, place: LinePlace(ahead: 0, behind: line.behind.count))
        }
    }

    /// Leaves the line (a `lock` that gave up or was stopped): this nexus registered under our configured key
    /// again, as a courtesy lock leaves it. Best effort: a ticket left behind expires at the other waiters.
    func leaveLine(_ waiter: inout TicketWaiter) {
        guard let registered = waiter.registeredAs, TicketKey(registered) != nil else { return }
        try? reregister(&waiter, to: key, keys: [])
    }

    /// Registers a ticket: ours one heartbeat on, or a new one at the generation we found on arrival.
    private func takeTicket(_ waiter: inout TicketWaiter, generation: UInt32, keys: [ReservationKey]) throws(StorageCtlError) {
        let next = waiter.mine?.nextBeat ?? TicketKey(owner: key, ticket: generation &+ 1, beat: 0)
        try reregister(&waiter, to: next.key, keys: keys)
        waiter.mine = next
    }

    /// REGISTER from whatever this nexus holds of ours (what we registered last, our configured key, a ticket
    /// of ours a killed `lock` left, or nothing) to `new`: the first that answers GOOD. Never from another key:
    /// a nexus another key holds is refused with exit 6, as `register` refuses it.
    func reregister(_ waiter: inout TicketWaiter, to new: ReservationKey, keys: [ReservationKey]) throws(StorageCtlError) {
        var candidates: [ReservationKey] = []
        for candidate in [waiter.registeredAs, key].compactMap({ $0 }) + keys.filter({ TicketKey($0)?.owner == key })
            + [ReservationKey.zero] where !candidates.contains(candidate) {
            candidates.append(candidate)
        }
        for candidate in candidates where try registerOnce(reservationKey: candidate, serviceActionKey: new) {
            waiter.registeredAs = new
            return
        }
        waiter.registeredAs = nil
        // named by its configured key, as a courtesy lock's refusal names it: a ticket is our key waiting
        throw initiatorShared(try nexusRegistration(), refusing: "refusing to register \(settings.label(TicketKey.configuredKey(new))): ")
    }

    /// PREEMPT (no reservation taken) of each ticket whose waiter stopped heartbeating, as the registrant we
    /// are now. Never a key that holds the reservation, and nothing under an all-registrants reservation
    /// (every registrant holds it there). A conflict means the ticket moved meanwhile: alive after all.
    private func removeDead(_ dead: [TicketKey], _ waiter: inout TicketWaiter, holder: Holder?) throws(StorageCtlError) {
        guard let registered = waiter.registeredAs, holder?.isAllRegistrants != true else { return }
        for ticket in dead where holder?.key != ticket.key {
            switch try device.preempt(key: registered, victim: ticket.key, type: type, abort: false) {
            case .done: note("removed the ticket \(ticket) of \(settings.label(ticket.owner)): its lock stopped polling")
            case .conflict, .unsupported, .failed: break
            }
        }
    }

    /// The keys, the holder and the PRgeneration in one look: READ FULL STATUS where the device has it.
    private func lookAtLine() throws(StorageCtlError) -> (keys: [ReservationKey], holder: Holder?, generation: UInt32) {
        if let full = try device.readFullStatus() {
            let holder = full.descriptors.first(where: \.isReservationHolder).map {
                Holder(key: $0.type.isAllRegistrants ? ReservationKey.zero : $0.key, type: $0.type)
            }
            return (full.descriptors.map(\.key), holder, full.generation)
        }
        let keys = try device.readKeys()
        let reservation = try readReservation()
        return (keys.keys, reservation.holder, reservation.generation)
    }
}
