import PRCore

/// `regkeys`: READ KEYS, one key a line in device order, bare (`0xbac999`): exactly the original
/// script's output, which scripts and Bacula's shstore plugin parse, so names never appear here
/// (they are in `query`, `status` and `--json`).
struct RegKeysVerb: NoArgumentVerb {
    static let name = "regkeys"
    static let synopsis = "regkeys"
    static let summary = "list the registered keys (READ KEYS)"
    static let supportsJSON = true

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        let response = try context.device.readKeys()
        // a waiting host's ticket key (fairness=fifo) is its configured key, as the original would print it
        let keys = response.keys.map(TicketKey.configuredKey)
        if context.json {
            context.emit(.object([
                ("device", .string(context.path)),
                ("generation", .int(Int64(response.generation))),
                ("keys", .array(keys.map(context.keyJSON))),
            ]))
        } else {
            for key in keys { context.print(key.description) }
        }
        return .ok
    }
}

/// `wholocked`: READ RESERVATION: the holder's key; nothing when unreserved; for the
/// all-registrants types 7/8 (whose READ RESERVATION key is 0) every registered key. Bare keys, one
/// a line, as the original printed them (`[ "$(storage-ctl /dev/sg0 wholocked)" = 0xbac999 ]`).
struct WhoLockedVerb: NoArgumentVerb {
    static let name = "wholocked"
    static let synopsis = "wholocked"
    static let summary = "print the key holding the lock (READ RESERVATION)"
    static let supportsJSON = true

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        let response = try context.device.readReservation()
        var holders: [ReservationKey] = []
        if let reservation = response.reservation {
            holders = reservation.type.isAllRegistrants ? try context.device.readKeys().keys : [reservation.key]
        }
        if context.json {
            let reservation = response.reservation
            context.emit(.object([
                ("device", .string(context.path)),
                ("generation", .int(Int64(response.generation))),
                ("locked", .bool(reservation != nil)),
                ("type", reservation.map { .int(Int64($0.type.rawValue)) } ?? .null),
                ("type_name", .optional(reservation?.type.name)),
                ("holders", .array(holders.map(context.keyJSON))),
            ]))
        } else {
            for key in holders { context.print(key.description) }
        }
        return .ok
    }
}

/// `status`: one stable line for monitoring and the backup daemon's status report, in the form
/// Bacula's shstore plugin prints: `key=0xbac001 registered=1 locked=0 blockedby=0xbac999`.
/// Names, when configured, follow as `name=` and `blockedbyname=` so the first four fields
/// never move.
///
/// Our key registered through another initiator too (a configuration copied to two hosts) adds
/// `keyinitiators=N` at the end: N I_T nexuses are registered with our key. `registered` and
/// `locked` then speak for this initiator only: READ FULL STATUS shows which registration is
/// ours where the transport knows its nexus (the simulated LU); where it does not (SG_IO), a key
/// registered more than once makes `locked=0 blockedby=<our key>`, because we cannot tell that
/// the holder is us. (SG_IO cannot see a key registered once, elsewhere only.)
///
/// Where this host knows its own nexuses (docs/DESIGN.md "Several paths to one drive"), registrations of our
/// key through its other paths are not "another initiator": `paths=N` counts our key's registrations through
/// this host's live paths (this one included) when there are several, `stalepaths=N` those through paths of
/// this host that are gone (the next `lock` or `unlock` removes them), and `keyinitiators=N` is left for a
/// registration of our key that may be another host's.
///
/// Last, `heldfor=SECONDS` while we hold the drive and this host's lock record says since when
/// (`LockRecordStore.heldFor`; none when the record is missing or from another boot).
struct StatusVerb: NoArgumentVerb {
    static let name = "status"
    static let synopsis = "status"
    static let summary = "one line: key=... registered=0|1 locked=0|1 blockedby=KEY|no ..."

    /// The fields of the line, in their order: the first four always, the others where they apply.
    /// The line is built from these alone; `--help` lists them and DocsInStepTests the documents.
    enum Field: String, CaseIterable {
        case key, registered, locked, blockedby, name, blockedbyname, keyinitiators, paths, stalepaths, waiting, waiters, heldfor
    }
    static let supportsJSON = true
    // Needs our key to say anything, though it changes nothing.
    static let changesState = false

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        guard let key = context.settings.key else { throw SettingsLoader.missingKey(Self.name, context.settings) }
        let own = try OwnState.read(context.locker())
        let (reservation, keyRegistrations, registered, locked, elsewhere) =
            (own.reservation, own.keyRegistrations, own.registered, own.locked, own.elsewhere)
        var blocker: ReservationKey? = nil
        var blockedByAll = false
        // Only this host can know that one of its `lock`s is waiting (LockRecord).
        let waiting = !locked && (context.lockRecords?.isWaiting() ?? false)
        // And since when it holds the drive: other hosts see only the holder's key (LockRecordStore.heldFor).
        let heldFor = locked ? context.lockRecords?.heldFor() : nil
        if let reservation, !locked {
            if reservation.type.isAllRegistrants { blockedByAll = true } else { blocker = reservation.key }
        }
        if context.json {
            let (fairness, fairnessNote) = context.settings.effectiveFairness
            context.emit(.object([
                ("device", .string(context.path)),
                ("key", .string(key.description)),
                ("name", .optional(context.settings.name(of: key))),
                ("registered", .bool(registered)),
                ("locked", .bool(locked)),
                ("blocked_by", blocker.map(context.keyJSON) ?? (blockedByAll ? .string("all-registrants") : .null)),
                ("waiting", .bool(waiting)),
                ("key_initiators", .int(Int64(keyRegistrations))),
                ("key_elsewhere", .bool(elsewhere)),
                ("held_for", heldFor.map { .int($0) } ?? .null),
                ("paths", .int(Int64(own.pathsWithOurKey))),
                ("stale_paths", .array(own.stalePaths.map { .string($0.description) })),
                ("waiters", .array(own.waiters.map { context.keyJSON($0.owner) })),
                // The scheme this host's `lock` uses, and why not the one asked for (Settings.effectiveFairness).
                ("fairness", .string(fairness.rawValue)),
                ("fairness_note", .optional(fairnessNote)),
            ]))
            return .ok
        }
        var fields: [(Field, String)] = [(.key, key.description), (.registered, registered ? "1" : "0"),
                                         (.locked, locked ? "1" : "0"),
                                         (.blockedby, blocker?.description ?? (blockedByAll ? "all-registrants" : "no"))]
        if let name = context.settings.name(of: key) { fields.append((.name, Self.field(name))) }
        if let blocker, let name = context.settings.name(of: blocker) { fields.append((.blockedbyname, Self.field(name))) }
        if elsewhere { fields.append((.keyinitiators, "\(keyRegistrations)")) }
        if !own.livePaths.isEmpty { fields.append((.paths, "\(own.pathsWithOurKey)")) }
        if !own.stalePaths.isEmpty { fields.append((.stalepaths, "\(own.stalePaths.count)")) }
        if waiting { fields.append((.waiting, "1")) }
        if !own.waiters.isEmpty { fields.append((.waiters, own.waiters.map(\.owner.description).joined(separator: ","))) }
        if let heldFor { fields.append((.heldfor, "\(heldFor)")) }
        // a loop, not map + joined(separator:): that generic costs ~90K instructions at its first use
        var line = ""
        for (field, value) in fields {
            if !line.isEmpty { line += " " }
            line += field.rawValue + "=" + value
        }
        context.print(line)
        return .ok
    }

    /// A name as one `key=value` field: escaped, and spaces (which would split the field) too.
    static func field(_ name: String) -> String {
        OutputText.escaped(name).replacingOccurrences(" ", "_")
    }
}

/// `audit`: every registered key that is not named in the configuration (`key`, `host_*`):
/// registrations made outside the cluster, to be understood before anyone runs `clear`; and
/// every key registered through more than one initiator (READ KEYS lists each registration):
/// one key configured on two hosts, or two paths of one host. Exits 1 when there is any.
struct AuditVerb: NoArgumentVerb {
    static let name = "audit"
    static let synopsis = "audit"
    static let summary = "list keys not in the configuration or on several initiators; exit 1 if any"
    static let supportsJSON = true

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        // With our key, this host's standing too: which registrations of our key are this host's own paths
        // (fine), paths of ours that are gone (to be cleaned up), or another host's (one key= on two hosts).
        var own: OwnState? = nil
        if context.settings.key != nil { own = try OwnState.read(context.locker()) }
        let keys: [ReservationKey], reservation: Reservation?
        if let own {
            (keys, reservation) = (own.keys, own.reservation)
        } else {
            keys = try context.device.readKeys().keys
            reservation = try context.device.readReservation().reservation
        }
        let unknown = context.settings.unknownKeys(among: keys)
        var shared = keys.registeredMoreThanOnce
        if let own, let key = context.settings.key {
            shared = own.keysOnSeveralHosts(ourKey: key)
        }
        let stale = own?.stalePaths ?? []
        let livePaths = own?.livePaths ?? []
        func holds(_ key: ReservationKey) -> Bool {
            guard let reservation else { return false }
            return reservation.type.isAllRegistrants || reservation.key == key
        }
        if context.json {
            context.emit(.object([
                ("device", .string(context.path)),
                ("registered", .array(keys.map(context.keyJSON))),
                // the key object every output uses ({"key", "name"}; an unknown key has no name) plus holds_lock
                ("unknown", .array(unknown.map {
                    .object([("key", .string($0.description)), ("name", .optional(context.settings.name(of: $0))),
                             ("holds_lock", .bool(holds($0)))])
                })),
                ("shared", .array(shared.map { .object([("key", .string($0.key.description)), ("name", .optional(context.settings.name(of: $0.key))),
                                                        ("initiators", .int(Int64($0.count))), ("holds_lock", .bool(holds($0.key)))]) })),
                ("own_paths", .array(livePaths.map { .string($0.description) })),
                ("stale_paths", .array(stale.map { .string($0.description) })),
            ]))
        } else {
            for key in unknown { context.print(holds(key) ? "\(key) holds the lock" : key.description) }
            for (key, count) in shared {
                context.print("\(context.settings.label(key)) is registered through \(count) initiators\(holds(key) ? " and holds the lock" : "")")
            }
            if let key = context.settings.key {
                if !livePaths.isEmpty {
                    context.print("\(context.settings.label(key)) is also registered through \(livePaths.count) other live path\(livePaths.count == 1 ? "" : "s") of this host: \(livePaths.map(\.description).joined(separator: ", "))")
                }
                if !stale.isEmpty {
                    context.print("\(context.settings.label(key)) is registered through \(stale.count) path\(stale.count == 1 ? "" : "s") of this host that \(stale.count == 1 ? "is" : "are") gone: \(stale.map(\.description).joined(separator: ", ")) (the next lock or unlock removes \(stale.count == 1 ? "it" : "them"))")
                }
            }
        }
        var findings: [String] = []
        if !unknown.isEmpty {
            findings.append("\(unknown.count) registered key\(unknown.count == 1 ? " is" : "s are") not in the configuration")
        }
        if !shared.isEmpty {
            findings.append("\(shared.count) key\(shared.count == 1 ? " is" : "s are") registered through more than one initiator (one key= on two hosts?)")
        }
        if !stale.isEmpty {
            findings.append("our key is registered through \(stale.count) path\(stale.count == 1 ? "" : "s") of this host that \(stale.count == 1 ? "is" : "are") gone")
        }
        if !findings.isEmpty {
            context.note(findings.joined(separator: "; "))
            return .busy
        }
        return .ok
    }
}
