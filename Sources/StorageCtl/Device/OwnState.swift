import PRCore

/// Where this host stands on a drive under its key, as `status` says it (and `drives` shows it).
///
/// READ KEYS lists one key per registration, so it counts our key's registrations too; READ FULL STATUS
/// is only worth it where we can pick out our own (the transport knows its nexus). Where we cannot
/// (SG_IO), our key registered more than once leaves unknown which registration holds the drive, so
/// `locked` does not claim it.
struct OwnState {
    /// Every registration's key, in device order; a waiting host's ticket as its configured key (TicketKey).
    var keys: [ReservationKey]
    /// Hosts waiting in line (`fairness=fifo`), oldest first.
    var waiters: [TicketKey] = []
    var reservation: Reservation?
    /// Registrations with our key (through any initiator).
    var keyRegistrations: Int
    var registered: Bool
    var locked: Bool
    /// Our key is registered through another initiator that is not known to be this host's (another host
    /// with our key=, or, where this host cannot tell its own nexuses, any other initiator).
    var elsewhere: Bool
    /// READ FULL STATUS, where it was read (the backend knows its nexus).
    var descriptors: [FullStatusDescriptor]?
    /// Our key through this host's other nexuses: live paths, and paths that are gone (OwnNexuses.Standing).
    var livePaths: [Nexus] = []
    var stalePaths: [Nexus] = []
    /// This host knows its nexuses (OwnNexuses.isKnown): registrations of our key could be sorted.
    var ownKnown = false

    /// Our key's registrations through this host's live paths, this one included (`paths=`).
    var pathsWithOurKey: Int { livePaths.count + (registered ? 1 : 0) }

    static func read(_ locker: Locker) throws(StorageCtlError) -> OwnState {
        let device = locker.device, key = locker.key
        let full = device.knownNexus != nil ? try device.readFullStatus() : nil
        var rawKeys = full?.descriptors.map(\.key) ?? []
        if full == nil { rawKeys = try device.readKeys().keys }
        let keys = rawKeys.map(TicketKey.configuredKey)
        let reservation = try device.readReservation().reservation
        let keyRegistrations = keys.filter { $0 == key }.count
        var registered = keyRegistrations > 0
        var holdsIt = reservation?.key == key
        var elsewhere = keyRegistrations > 1
        var livePaths: [Nexus] = [], stalePaths: [Nexus] = []
        if let full, device.knownNexus != nil {
            let own = device.ownRegistration(in: full)
            registered = own.map { TicketKey.configuredKey($0.key) } == key
            holdsIt = registered && own?.isReservationHolder == true
            // our key through other nexuses: this host's own paths, or possibly another host's
            let nexuses = device.ownNexuses
            var foreign = 0
            for d in full.descriptors where TicketKey.configuredKey(d.key) == key {
                let nexus = d.nexus
                switch nexuses.standing(of: nexus) {
                case .this: break
                case .livePath: livePaths.append(nexus)
                case .stale: stalePaths.append(nexus)
                case .foreign: foreign += 1
                }
            }
            elsewhere = foreign > 0
        } else if elsewhere {
            // Our key through several nexuses, ours unknown. A map registers every path: all of them this
            // host's ports, the holder is this host. Otherwise which one holds it is unknown.
            let nexuses = device.ownNexuses
            if device.registersEveryPath, let full = try device.readFullStatus(),
               full.descriptors.allSatisfy({ TicketKey.configuredKey($0.key) != key || nexuses.standing(of: $0.nexus) != .foreign }) {
                elsewhere = false
            } else {
                holdsIt = false   // which registration with our key holds it is unknown: do not claim it
            }
        }
        let locked = reservation.map { $0.type.isAllRegistrants ? registered : holdsIt } ?? false
        return OwnState(keys: keys, waiters: TicketKey.line(in: rawKeys), reservation: reservation,
                        keyRegistrations: keyRegistrations, registered: registered, locked: locked, elsewhere: elsewhere,
                        descriptors: full?.descriptors, livePaths: livePaths, stalePaths: stalePaths,
                        ownKnown: device.ownNexuses.isKnown)
    }
}

extension Array where Element == FullStatusDescriptor {
    /// Whether every registration of `key` is one host's: iSCSI ports under one initiator name are one
    /// host's sessions (several ISIDs: several paths, or a re-login's old ISID). Fibre Channel and SAS ports
    /// carry no host name: several of them under one key may be one host's HBAs or two hosts, and are not
    /// taken as one host (docs/DESIGN.md "Several paths to one drive").
    func isOneHost(_ key: ReservationKey) -> Bool {
        var names: Set<String> = []
        for d in self where d.key == key {
            switch d.transportID.decoded {
            case .iscsiPort(let name, _), .iscsiName(let name): names.insert(name.lowercased())
            default: return false
            }
        }
        return names.count == 1
    }
}

extension OwnState {
    /// Keys registered through more than one initiator that may be more than one host (`audit`, `check`):
    /// READ KEYS' repeats, less a key whose registrations READ FULL STATUS shows to be one host's sessions,
    /// and less our own key where this host knows its nexuses, unless a registration of it may be another
    /// host's (`elsewhere`): its other registrations are this host's paths.
    func keysOnSeveralHosts(ourKey: ReservationKey?) -> [(key: ReservationKey, count: Int)] {
        keys.registeredMoreThanOnce.filter { entry in
            if ownKnown, entry.key == ourKey, descriptors != nil { return elsewhere }
            return !(descriptors?.isOneHost(entry.key) ?? false)
        }
    }
}

extension Array where Element == ReservationKey {
    /// Keys READ KEYS lists more than once (one entry per registration), with how many times, in device
    /// order: one key registered through several initiators (one `key=` on two hosts, or two paths of
    /// one host). `audit` lists them; `check` makes them CRITICAL.
    var registeredMoreThanOnce: [(key: ReservationKey, count: Int)] {
        var shared: [(key: ReservationKey, count: Int)] = []
        for key in self where !shared.contains(where: { $0.key == key }) {
            let count = filter { $0 == key }.count
            if count > 1 { shared.append((key, count)) }
        }
        return shared
    }
}
