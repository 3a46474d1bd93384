import PRCore

/// First come, first served among waiting hosts (`fairness=fifo`, docs/DESIGN.md "First come, first served").
///
/// SCSI-3 PR has no queue, but every registration's key is a value that its own host writes (REGISTER) and
/// every host reads (READ KEYS, READ FULL STATUS): a register in the sense of Lamport's bakery. A waiting
/// `lock` registers a **ticket key** instead of its configured key: the configured key in the low 32 bits,
/// above it its place in line (the PRgeneration it saw when it arrived) and a heartbeat counter, under a
/// marker byte. The oldest live ticket goes next; younger waiters leave a free drive to it. A ticket whose
/// heartbeat stops (its `lock` was killed) is removed by a younger waiter after `expiry`, so a dead waiter
/// costs a bounded delay, once. The holder always holds under its configured key, so `wholocked` and every
/// tool reading the reservation see what they always saw.
///
/// Layout, most significant byte first: `F1 tt tt tb kk kk kk kk` (t: 20-bit ticket, b: 4-bit beat, k: the
/// configured key). Configured keys wider than 32 bits leave no room: such a host keeps the courtesy scheme.
public struct TicketKey: Hashable, Sendable, CustomStringConvertible {
    /// The marker byte of a ticket key.
    public static let marker: UInt64 = 0xF1
    /// Tickets are the low 20 bits of a PRgeneration; compared in serial-number order (RFC 1982), so a
    /// wrap-around keeps the order as long as two waiters arrived less than 2^19 registrations apart.
    public static let ticketBits = 20
    static let ticketMask: UInt32 = (1 << 20) - 1
    static let beatMask: UInt8 = 0x0F

    /// The waiting host's configured key.
    public let owner: ReservationKey
    /// Its place in line: the PRgeneration after which it arrived, low 20 bits.
    public let ticket: UInt32
    /// Changes with every poll of the waiting `lock`: other waiters see it alive.
    public let beat: UInt8

    public init(owner: ReservationKey, ticket: UInt32, beat: UInt8) {
        precondition(Self.fits(owner), "a ticket needs a configured key of 1 to 32 bits")
        self.owner = owner
        self.ticket = ticket & Self.ticketMask
        self.beat = beat & Self.beatMask
    }

    /// The ticket a key carries, or nil for any other key.
    public init?(_ key: ReservationKey) {
        let raw = key.rawValue
        guard raw >> 56 == Self.marker, raw & 0xFFFF_FFFF != 0 else { return nil }
        owner = ReservationKey(raw & 0xFFFF_FFFF)
        ticket = UInt32(truncatingIfNeeded: raw >> 36) & Self.ticketMask
        beat = UInt8(truncatingIfNeeded: raw >> 32) & Self.beatMask
    }

    /// Whether `key` leaves room for a ticket: 1 to 32 bits.
    public static func fits(_ key: ReservationKey) -> Bool { key.rawValue != 0 && key.rawValue >> 32 == 0 }

    /// The configured key behind `key`: the owner of a ticket, else the key itself. What `regkeys`, `status`,
    /// `audit` and the surveys show and compare: a waiting host is registered as far as they are concerned.
    public static func configuredKey(_ key: ReservationKey) -> ReservationKey { TicketKey(key)?.owner ?? key }

    public var key: ReservationKey {
        ReservationKey(Self.marker << 56 | UInt64(ticket) << 36 | UInt64(beat) << 32 | owner.rawValue)
    }

    /// Every ticket among `keys` (a READ KEYS or READ FULL STATUS list), once each, oldest first: who waits in
    /// which order, as `status`, `drives` and `--json` show it.
    public static func line(in keys: [ReservationKey]) -> [TicketKey] {
        var tickets: [TicketKey] = []
        for ticket in keys.compactMap(TicketKey.init) where !tickets.contains(where: { $0.place == ticket.place }) {
            tickets.append(ticket)
        }
        return tickets.sorted { $0.precedes($1) }
    }

    /// The same place in line, one heartbeat later.
    public var nextBeat: TicketKey { TicketKey(owner: owner, ticket: ticket, beat: beat &+ 1) }

    /// A place in line, whatever the heartbeat.
    public struct Place: Hashable, Sendable {
        public let owner: ReservationKey
        public let ticket: UInt32
    }

    public var place: Place { Place(owner: owner, ticket: ticket) }

    /// Whether this ticket is served before `other`: it arrived earlier (serial order of the 20-bit
    /// tickets), or at the same generation with the smaller configured key (two arrivals at one instant).
    public func precedes(_ other: TicketKey) -> Bool {
        let distance = (other.ticket &- ticket) & Self.ticketMask
        if distance == 0 { return owner < other.owner }
        return distance < 1 << (Self.ticketBits - 1)
    }

    public var description: String { key.description }
}

/// What a waiting `lock` has seen of the other tickets, poll after poll: when each last changed its
/// heartbeat, on the caller's clock (nanoseconds; monotonic). A ticket seen for the first time counts as
/// alive now; one whose heartbeat has not changed for `expiry` is taken for a dead waiter's.
public struct TicketWatch: Sendable {
    private var seen: [TicketKey.Place: (beat: UInt8, changedAt: Int64)] = [:]

    public init() {}

    /// Records one look at the device's tickets; forgets places no longer there.
    public mutating func observe(_ tickets: [TicketKey], now: Int64) {
        var next: [TicketKey.Place: (beat: UInt8, changedAt: Int64)] = [:]
        for ticket in tickets {
            if let earlier = seen[ticket.place], earlier.beat == ticket.beat {
                next[ticket.place] = earlier
            } else {
                next[ticket.place] = (ticket.beat, now)
            }
        }
        seen = next
    }

    /// Whether `ticket`'s heartbeat has stood still for `expiry` nanoseconds or more.
    public func isExpired(_ ticket: TicketKey, now: Int64, expiry: Int64) -> Bool {
        guard let entry = seen[ticket.place], entry.beat == ticket.beat else { return false }
        return now - entry.changedAt >= expiry
    }
}

/// The line as one look at the device shows it, from the point of view of one waiting host.
public struct TicketLine: Sendable, Equatable {
    /// Other hosts' live tickets, oldest first.
    public var ahead: [TicketKey]
    /// Other hosts' live tickets behind ours.
    public var behind: [TicketKey]

    /// Sorts `others` (live tickets of other hosts) around `mine`; without a ticket of our own every
    /// live ticket is ahead of us.
    public init(others: [TicketKey], mine: TicketKey?) {
        let sorted = others.sorted { $0.precedes($1) }
        guard let mine else {
            ahead = sorted
            behind = []
            return
        }
        ahead = sorted.filter { $0.precedes(mine) }
        behind = sorted.filter { !$0.precedes(mine) }
    }

    /// Our turn: nobody alive is ahead of us.
    public var ours: Bool { ahead.isEmpty }

    /// How many live tickets stand before and after ours.
    public var place: LinePlace { LinePlace(ahead: ahead.count, behind: behind.count) }

    /// Whether `ahead` waiters before us is near enough the front to poll soon: our turn, or the next but one.
    /// A waiter learns that it has become next only at its own poll, and one far back in line polls at its
    /// slowest; so the waiter behind the next one polls as the next one does, and each move up restarts the
    /// backoff (LockPolicy.AttemptResult.inLine): it notices its turn as soon as the drive passes on.
    public static func soon(ahead: Int) -> Bool { ahead <= 1 }
}

/// Where a waiting host stands in line: the live tickets before and after its own, and how fast the line
/// has moved as this waiter saw it (`turn`: time per place moved up; nil until it has moved).
public struct LinePlace: Sendable, Equatable {
    public var ahead: Int
    public var behind: Int
    public var turn: Duration?
    public init(ahead: Int, behind: Int, turn: Duration? = nil) { self.ahead = ahead; self.behind = behind; self.turn = turn }
}

/// The line's pace as one waiter sees it: where it stood when it started to count, and when.
public struct LinePace: Sendable {
    var start: (at: Int64, ahead: Int)?
    var last: Int?

    public init() {}

    /// `line` seen at `now` (nanoseconds, monotonic) as a place with the time per place moved up since the
    /// first look (counted again from here when more stand ahead than at the last look: a waiter taken for
    /// dead came back).
    public mutating func place(in line: TicketLine, now: Int64) -> LinePlace {
        var place = line.place
        defer { last = place.ahead }
        if let start, let last, place.ahead <= last {
            if place.ahead < start.ahead { place.turn = .nanoseconds((now - start.at) / Int64(start.ahead - place.ahead)) }
        } else {
            start = (now, place.ahead)
        }
        return place
    }
}

/// How long a ticket's heartbeat may stand still before younger waiters remove it: three of the longest
/// poll intervals (every host sharing a drive should have the same `lock_retry_max`) and a second for
/// the commands, so a live waiter in its slowest backoff is never taken for a dead one (only its own
/// interval counts, not the observer's).
public func ticketExpiry(lockRetryMax: Duration) -> Duration {
    lockRetryMax * 3 + .seconds(1)
}
