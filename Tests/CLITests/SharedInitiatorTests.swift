import Foundation
import Testing

/// Two storage daemons on one host sharing one initiator: cibou (key bac001)
/// and dir (key bac999) both reach the drive through the I_T nexus `...:shared`, as with the
/// simulated drive's host-derived initiator or one HBA port. The second key must never replace
/// the first one's registration: every command that would register, unregister or release
/// through that nexus refuses with exit 6 and one line, and the drive is left exactly as it was.
@Suite("Two keys on one initiator", .serialized)
struct SharedInitiatorTests {
    static let shared = "initiator=iqn.2024-01.com.example:shared"

    /// cibou and dir on the shared nexus.
    static func hosts(_ site: Site) throws -> (Host, Host) {
        (try site.host("cibou", key: "bac001", extra: shared), try site.host("dir", key: "bac999", extra: shared))
    }

    static func refusal(_ site: Site, _ prefix: String) -> String {
        "storage-ctl: \(site.drive): \(prefix)this initiator is registered under another key, 0xbac001 (cibou), left as it is. "
            + "Two storage daemons sharing one initiator (one HBA port; on a simulated drive, the one derived from the host name)? "
            + "give each its own (initiator= or --initiator on a simulated drive). "
            + "Changed key= on this host? move over with: storage-ctl -k 0xbac001 \(site.drive) unregister\n"
    }

    /// The whole PR state as `query` prints it (PR generation included): a refused command must
    /// leave every byte of it unchanged.
    static func snapshot(_ host: Host) throws -> String {
        let r = try host.run("query")
        #expect(r.status == 0, "\(r)")
        return r.stdout
    }

    @Test("cibou holds the lock: lock, trylock, unlock, register, unregister, clear and preempt by dir exit 6, drive unchanged",
          arguments: [["lock"], ["trylock"], ["unlock"], ["register"], ["unregister"], ["clear"], ["preempt", "bac001"], ["preempt", "bac001", "--abort"]])
    func secondKeyRefusedWhileHeld(_ command: [String]) throws {
        let site = try Site("shared-held")
        let (cibou, dir) = try Self.hosts(site)
        #expect(try cibou.run("lock").status == 0)
        let before = try Self.snapshot(cibou)
        #expect(before.contains("<< Reservation holder >>") && before.contains("Key=0xbac001 (cibou)"), "\(before)")

        let start = Date()
        let r = try CLI.run(["-c", dir.conf, site.drive] + command)
        let took = Date().timeIntervalSince(start)
        let prefix = switch command[0] {
        case "unlock": "nothing released: "
        case "unregister": "nothing unregistered: "
        default: "refusing to register 0xbac999 (dir): "
        }
        #expect(r.status == 6, "\(r)")
        #expect(r.stdout.isEmpty, "\(r)")
        #expect(r.stderr == Self.refusal(site, prefix), "\(r)")
        #expect(took < 5, "\(command) took \(took) s: a refusal, not a wait")

        #expect(try Self.snapshot(cibou) == before)
        let status = try dir.run("status")
        #expect(status.stdout == "key=0xbac999 registered=0 locked=0 blockedby=0xbac001 name=dir blockedbyname=cibou\n", "\(status)")
        // cibou still holds it, and its unlock really releases it
        var u = try cibou.run("unlock")
        #expect(u.status == 0 && u.stderr.isEmpty, "\(u)")
        u = try dir.run("wholocked")
        #expect(u.status == 0 && u.stdout.isEmpty, "\(u)")
    }

    @Test("cibou registered, drive free: trylock, lock, register, unregister, clear by dir exit 6, drive unchanged",
          arguments: [["trylock"], ["lock"], ["register"], ["unregister"], ["clear"]])
    func secondKeyRefusedWhileRegistered(_ command: [String]) throws {
        let site = try Site("shared-reg")
        let (cibou, dir) = try Self.hosts(site)
        #expect(try cibou.run("register").status == 0)
        let before = try Self.snapshot(cibou)
        let r = try CLI.run(["-c", dir.conf, site.drive] + command)
        let prefix = command[0] == "unregister" ? "nothing unregistered: " : "refusing to register 0xbac999 (dir): "
        #expect(r.status == 6 && r.stdout.isEmpty && r.stderr == Self.refusal(site, prefix), "\(r)")
        #expect(try Self.snapshot(cibou) == before)
        #expect(try cibou.run("regkeys").stdout == "0xbac001\n")
    }

    /// Under `fairness=fifo` a waiting lock registers a ticket key; refused on a shared nexus, it says what a
    /// courtesy lock says, naming the configured key (not the ticket), and changes nothing.
    @Test("fairness=fifo: dir's lock on cibou's nexus is refused as under courtesy, naming dir's key, drive unchanged")
    func secondKeyRefusedInLine() throws {
        let site = try Site("shared-fifo")
        let cibou = try site.host("cibou", key: "bac001", extra: Self.shared + "\nfairness=fifo")
        let dir = try site.host("dir", key: "bac999", extra: Self.shared + "\nfairness=fifo")
        #expect(try cibou.run("lock").status == 0)
        let before = try Self.snapshot(cibou)
        let r = try CLI.run(["-c", dir.conf, site.drive, "lock"])
        #expect(r.status == 6 && r.stdout.isEmpty && r.stderr == Self.refusal(site, "refusing to register 0xbac999 (dir): "), "\(r)")
        #expect(try Self.snapshot(cibou) == before)
        #expect(try cibou.run("unlock").status == 0)
    }

    @Test("key= changed on this host: the old key's unregister moves over, then the new key locks")
    func changedKeyMovesOver() throws {
        let site = try Site("shared-rekey")
        let (cibou, dir) = try Self.hosts(site)   // dir's file stands for the same host with a new key=
        #expect(try cibou.run("lock").status == 0)
        var r = try dir.run("lock")
        #expect(r.status == 6, "\(r)")
        r = try CLI.run(["-c", dir.conf, "-k", "0xbac001", site.drive, "unregister"])   // as the line says
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r)")
        r = try dir.run("lock")
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")
        #expect(try dir.run("wholocked").stdout == "0xbac999\n")
        #expect(try dir.run("regkeys").stdout == "0xbac999\n")
    }

    /// Both daemons start `trylock` at the same moment on a fresh drive through the shared nexus:
    /// whatever the interleaving, exactly one takes the lock (exit 0) and the other is refused
    /// (exit 6); one registration remains, the winner's, holding the lock. 40 rounds.
    @Test("race: two keys trylock at once through one initiator, 40 rounds: one wins, the other exits 6")
    func raceTwoKeys() throws {
        let site = try Site("shared-race")
        let (cibou, dir) = try Self.hosts(site)
        var winners: [String: Int] = [:]
        for round in 0..<40 {
            try? FileManager.default.removeItem(atPath: site.drive)   // a fresh LU each round
            #expect(try CLI.run([site.drive, "create"]).status == 0)
            let a = try cibou.start("trylock")
            let b = try dir.start("trylock")
            let ra = a.finish(), rb = b.finish()
            let statuses = [ra.status, rb.status].sorted()
            #expect(statuses == [0, 6], "round \(round): cibou \(ra) / dir \(rb)")
            let winner = ra.status == 0 ? "cibou" : "dir"
            let key = winner == "cibou" ? "0xbac001" : "0xbac999"
            winners[winner, default: 0] += 1
            let keys = try cibou.run("regkeys").stdout
            #expect(keys == "\(key)\n", "round \(round): \(keys)")
            #expect(try cibou.run("wholocked").stdout == "\(key)\n", "round \(round)")
        }
        #expect(winners.values.reduce(0, +) == 40, "\(winners)")
    }

    /// The check must not misfire on one key used by several processes on one nexus (one daemon's
    /// concurrent calls): register, unregister and trylock racing with the same key never exit 6.
    /// 30 rounds of 4 processes.
    @Test("race: one key, one initiator, register/unregister/trylock at once, 30 rounds: never exit 6")
    func raceOneKeyNeverRefused() throws {
        let site = try Site("shared-self")
        let cibou = try site.host("cibou", key: "bac001", extra: Self.shared)
        for round in 0..<30 {
            let runs = try [cibou.start("register"), cibou.start("unregister"), cibou.start("trylock"), cibou.start("unregister")]
            for (i, bg) in runs.enumerated() {
                let r = bg.finish()
                // trylock may lose its registration to a racing unregister (exit 1); nothing is ever refused
                #expect(r.status == 0 || (i == 2 && r.status == 1), "round \(round), process \(i): \(r)")
            }
        }
    }
}

/// One key configured on two hosts (a copied storage-ctl.conf): cibou's key
/// bac001 on the initiators `...:cibou` and `...:copy`. The copy must not believe it holds the
/// lock, nor report an unlock it did not do, and audit must flag the key.
@Suite("One key on two initiators", .serialized)
struct KeyOnTwoInitiatorsTests {
    @Test("status, --json status, unlock and audit on the host that does not hold the lock")
    func copiedConfiguration() throws {
        let site = try Site("samekey")
        let cibou = try site.host("cibou", key: "bac001")
        let copy = try site.host("copy", key: "bac001")
        #expect(try cibou.run("lock").status == 0)
        let drive = site.drive

        // the copy is not registered yet: our key is registered through cibou's initiator only
        var r = try copy.run("status")
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")
        #expect(r.stdout == "key=0xbac001 registered=0 locked=0 blockedby=0xbac001 name=cibou blockedbyname=cibou keyinitiators=1\n", "\(r)")
        r = try copy.run("--json", "status")
        #expect(r.stdout == #"{"device":"\#(drive)","key":"0xbac001","name":"cibou","registered":false,"locked":false,"blocked_by":{"key":"0xbac001","name":"cibou"},"waiting":false,"key_initiators":1,"key_elsewhere":true,"held_for":null,"paths":0,"stale_paths":[],"waiters":[],"fairness":"courtesy","fairness_note":null}"# + "\n", "\(r)")
        r = try copy.run("unlock")
        #expect(r.status == 1 && r.stdout.isEmpty, "\(r)")
        #expect(r.stderr == "storage-ctl: \(drive): nothing released: the lock is held by 0xbac001 (cibou) through another initiator (is this key configured on two hosts?)\n", "\(r)")
        #expect(try cibou.run("wholocked").stdout == "0xbac001\n")

        // a trylock registers the copy (busy): now the key is registered through two initiators
        r = try copy.run("trylock")
        #expect(r.status == 1 && r.stderr == "storage-ctl: \(drive): locked by 0xbac001 (cibou) through another initiator (is this key configured on two hosts?)\n", "\(r)")
        r = try copy.run("status")
        #expect(r.stdout == "key=0xbac001 registered=1 locked=0 blockedby=0xbac001 name=cibou blockedbyname=cibou keyinitiators=2\n", "\(r)")
        r = try copy.run("--json", "status")
        #expect(r.stdout == #"{"device":"\#(drive)","key":"0xbac001","name":"cibou","registered":true,"locked":false,"blocked_by":{"key":"0xbac001","name":"cibou"},"waiting":false,"key_initiators":2,"key_elsewhere":true,"held_for":null,"paths":1,"stale_paths":[],"waiters":[],"fairness":"courtesy","fairness_note":null}"# + "\n", "\(r)")
        r = try cibou.run("status")
        // heldfor: cibou holds the drive since its lock, by its lock record (whole seconds: 0 unless the machine is slow)
        #expect(r.stdout.wholeMatch(of: /key=0xbac001 registered=1 locked=1 blockedby=no name=cibou keyinitiators=2 heldfor=\d+\n/) != nil, "\(r)")

        // RELEASE from a registered non-holder is GOOD and releases nothing: unlock must say so
        r = try copy.run("unlock")
        #expect(r.status == 1 && r.stdout.isEmpty, "\(r)")
        #expect(r.stderr == "storage-ctl: \(drive): nothing released: the lock is held by 0xbac001 (cibou) through another initiator (is this key configured on two hosts?)\n", "\(r)")
        #expect(try cibou.run("wholocked").stdout == "0xbac001\n")

        r = try copy.run("audit")
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout == "0xbac001 (cibou) is registered through 2 initiators and holds the lock\n", "\(r)")
        #expect(r.stderr == "storage-ctl: \(drive): 1 key is registered through more than one initiator (one key= on two hosts?)\n", "\(r)")
        r = try copy.run("--json", "audit")
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout == #"{"device":"\#(drive)","registered":[{"key":"0xbac001","name":"cibou"},{"key":"0xbac001","name":"cibou"}],"unknown":[],"shared":[{"key":"0xbac001","name":"cibou","initiators":2,"holds_lock":true}],"own_paths":[],"stale_paths":[]}"# + "\n", "\(r)")

        // the holder's own unlock releases it
        r = try cibou.run("unlock")
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")
        #expect(try copy.run("wholocked").stdout.isEmpty)
        r = try cibou.run("status")
        #expect(r.stdout == "key=0xbac001 registered=1 locked=0 blockedby=no name=cibou keyinitiators=2\n", "\(r)")
    }
}
