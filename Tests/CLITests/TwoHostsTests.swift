import Foundation
import Testing

/// Two storage daemons sharing one simulated drive, as in Bacula's shared-storage guide:
/// cibou (key bac001) and dir (key bac999), each with its own initiator.
@Suite("Two hosts on one drive", .serialized)
struct TwoHostsTests {
    @Test("register, lock, busy trylock naming the holder, unlock handoff, status and wholocked")
    func lockCycle() throws {
        let site = try Site("cycle")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")

        var r = try cibou.run("register")
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r)")
        r = try dir.run("regkeys")   // bare keys, as the original printed them, names configured or not
        #expect(r.status == 0 && r.stdout == "0xbac001\n" && r.stderr.isEmpty, "\(r)")

        r = try dir.run("lock")
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r)")
        r = try dir.run("lock")   // already holding = success at once
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")

        r = try cibou.run("trylock")
        r.expectOneErrorLine(1, contains: "\(site.drive): locked by 0xbac999 (dir)")

        r = try cibou.run("wholocked")
        #expect(r.status == 0 && r.stdout == "0xbac999\n" && r.stderr.isEmpty, "\(r)")
        r = try cibou.run("regkeys")
        #expect(r.status == 0 && r.stdout == "0xbac001\n0xbac999\n" && r.stderr.isEmpty, "\(r)")

        r = try cibou.run("status")
        #expect(r.status == 0 && r.stdout == "key=0xbac001 registered=1 locked=0 blockedby=0xbac999 name=cibou blockedbyname=dir\n", "\(r)")
        r = try dir.run("status")
        #expect(r.stdout.wholeMatch(of: /key=0xbac999 registered=1 locked=1 blockedby=no name=dir heldfor=\d+\n/) != nil, "\(r)")

        // unlock by the non-holder: success, with a note naming the holder
        r = try cibou.run("unlock")
        #expect(r.status == 0 && r.stdout.isEmpty, "\(r)")
        #expect(r.stderr == "storage-ctl: \(site.drive): not holding the lock; it is held by 0xbac999 (dir)\n", "\(r)")

        r = try dir.run("unlock")
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")
        r = try cibou.run("wholocked")
        #expect(r.status == 0 && r.stdout.isEmpty, "\(r)")
        r = try cibou.run("trylock")
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")
        r = try dir.run("status")
        #expect(r.stdout == "key=0xbac999 registered=1 locked=0 blockedby=0xbac001 name=dir blockedbyname=cibou\n", "\(r)")
        r = try dir.run("unlock")   // not holding, the note names cibou
        #expect(r.status == 0 && r.stderr.contains("held by 0xbac001 (cibou)"), "\(r)")
    }

    @Test("query: sg_persist -s layout with names, empty and with a holder")
    func queryLayout() throws {
        let site = try Site("query")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")
        var r = try cibou.run("query")
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")
        #expect(r.stdout == """
          STORCTL   SIM TAPE          1.0\u{20}
          Peripheral device type: tape
          PR generation=0x0
          No full status descriptors

        """, "\(r)")
        #expect(try cibou.run("register").status == 0)
        #expect(try dir.run("lock").status == 0)
        r = try cibou.run("query")
        #expect(r.stdout == """
          STORCTL   SIM TAPE          1.0\u{20}
          Peripheral device type: tape
          PR generation=0x2
            Key=0xbac001 (cibou)
              All target ports bit clear
              Relative port address: 0x1
              not reservation holder
              Transport Id of initiator:
                iSCSI name: iqn.2024-01.com.example:cibou
            Key=0xbac999 (dir)
              All target ports bit clear
              Relative port address: 0x1
              << Reservation holder >>
              scope: LU_SCOPE,  type: Exclusive Access
              Transport Id of initiator:
                iSCSI name: iqn.2024-01.com.example:dir

        """, "\(r)")
    }

    @Test("a waiting lock acquires after the holder unlocks; progress line on stderr")
    func waitingLock() throws {
        let site = try Site("wait")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")
        #expect(try dir.run("lock").status == 0)

        let waiter = try cibou.start("lock")
        #expect(waiter.waitForStderr(containing: "lock held by 0xbac999 (dir); waiting up to 30 s"), "\(waiter.stderrSoFar)")
        #expect(waiter.process.isRunning)
        let unlockedAt = Date()
        #expect(try dir.run("unlock").status == 0)
        let result = waiter.finish()
        let handoff = Date().timeIntervalSince(unlockedAt)
        #expect(result.status == 0, "\(result)")
        let lines = result.stderrLines
        #expect(lines.count == 2 && lines.first == "storage-ctl: \(site.drive): lock held by 0xbac999 (dir); waiting up to 30 s", "\(result)")
        // one closing line: how long it waited (tenths of a second); nobody else took the drive meanwhile
        let closing = lines.last ?? ""
        let prefix = "storage-ctl: \(site.drive): lock acquired after waiting "
        #expect(closing.hasPrefix(prefix) && closing.hasSuffix(" s"), "\(result)")
        let seconds = closing.dropFirst(prefix.count).dropLast(2)
        #expect(seconds.split(separator: ".").map(\.count) == [seconds.split(separator: ".")[0].count, 1], "\(result)")
        #expect(handoff < 5, "handoff took \(handoff) s")
        #expect(try dir.run("wholocked").stdout == "0xbac001\n")
    }

    @Test("lock gives up after max_lock_wait with exit 4")
    func lockTimesOut() throws {
        let site = try Site("timeout")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")
        #expect(try dir.run("lock").status == 0)
        let start = Date()
        let r = try cibou.run("lock", "-w", "0.5")
        let took = Date().timeIntervalSince(start)
        #expect(r.status == 4, "\(r)")
        let lines = r.stderrLines
        #expect(lines.count == 2, "\(r)")
        #expect(lines.first == "storage-ctl: \(site.drive): lock held by 0xbac999 (dir); waiting up to 0.5 s", "\(r)")
        #expect(lines.last.map(CLI.pollCountsMasked) == "storage-ctl: \(site.drive): gave up after 0.5 s: lock held by 0xbac999 (dir); the same holder at all N polls", "\(r)")
        #expect(took >= 0.5 && took < 5, "\(took)")
        #expect(try dir.run("wholocked").stdout == "0xbac999\n")
    }

    @Test("SIGTERM during a wait: exit 5, nothing held")
    func interrupted() throws {
        let site = try Site("sigterm")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")
        #expect(try dir.run("lock").status == 0)
        let waiter = try cibou.start("lock")
        #expect(waiter.waitForStderr(containing: "waiting up to"))
        kill(waiter.process.processIdentifier, SIGTERM)
        let r = waiter.finish()
        #expect(r.status == 5, "\(r)")
        #expect(r.stderrLines.last?.hasPrefix("storage-ctl: \(site.drive): interrupted by SIGTERM after ") == true, "\(r)")
        #expect(r.stderrLines.last?.hasSuffix("waiting; lock held by 0xbac999 (dir)") == true, "\(r)")
        #expect(try dir.run("wholocked").stdout == "0xbac999\n")
        #expect(try cibou.run("status").stdout.hasPrefix("key=0xbac001 registered=1 locked=0 blockedby=0xbac999"))
    }

    @Test("preempt breaks a stale lock; refuses our own key; clear records what it removed")
    func preemptAndClear() throws {
        let site = try Site("preempt")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")
        #expect(try dir.run("lock").status == 0)   // dir "crashes" holding the drive

        var r = try cibou.run("preempt", "bac001")
        r.expectOneErrorLine(2, contains: "refusing to preempt our own key 0xbac001 (cibou)")
        r = try cibou.run("preempt", "dead")
        #expect(r.status == 1 && r.stdout.isEmpty && r.stderr == "storage-ctl: \(site.drive): 0xdead is not registered; nothing to preempt\n", "\(r)")

        r = try cibou.run("preempt", "bac999")
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr == "storage-ctl: \(site.drive): preempted 0xbac999 (dir): its registration is gone and we hold the lock\n", "\(r)")
        #expect(try cibou.run("wholocked").stdout == "0xbac001\n")
        #expect(try cibou.run("regkeys").stdout == "0xbac001\n")
        // dir's next command sees the unit attention (2A/05) and retries it transparently
        r = try dir.run("status")
        #expect(r.status == 0 && r.stdout == "key=0xbac999 registered=0 locked=0 blockedby=0xbac001 name=dir blockedbyname=cibou\n", "\(r)")

        #expect(try dir.run("register").status == 0)
        r = try dir.run("clear")
        #expect(r.status == 0 && r.stdout.isEmpty, "\(r)")
        #expect(r.stderr == "storage-ctl: \(site.drive): cleared: removed registrations 0xbac001 (cibou), 0xbac999 (dir); removed the lock held by 0xbac001 (cibou) (Exclusive Access)\n", "\(r)")
        r = try cibou.run("regkeys")
        #expect(r.status == 0 && r.stdout.isEmpty, "\(r)")
        r = try cibou.run("status")
        #expect(r.stdout == "key=0xbac001 registered=0 locked=0 blockedby=no name=cibou\n", "\(r)")
    }

    @Test("clear by the holder names it plainly; -v shows each note once")
    func clearByHolder() throws {
        let site = try Site("clearholder")
        let dir = try site.host("dir", key: "bac999")
        #expect(try dir.run("lock").status == 0)
        let r = try dir.run("clear", "-v")
        #expect(r.status == 0, "\(r)")
        let notes = r.stderrLines.filter { !$0.contains("cdb [") }
        #expect(notes == ["storage-ctl: \(site.drive): cleared: removed registrations 0xbac999 (dir); removed the lock held by 0xbac999 (dir) (Exclusive Access)"], "\(r)")
    }

    @Test("audit lists registrations made outside the configuration and exits 1")
    func audit() throws {
        let site = try Site("audit")
        let cibou = try site.host("cibou", key: "bac001")
        let stranger = try site.host("stranger", key: "dead01")
        var r = try cibou.run("audit")
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "\(r)")
        #expect(try cibou.run("register").status == 0)
        #expect(try stranger.run("lock").status == 0)
        r = try cibou.run("audit")
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout == "0xdead01 holds the lock\n", "\(r)")
        #expect(r.stderr == "storage-ctl: \(site.drive): 1 registered key is not in the configuration\n", "\(r)")
    }

    @Test("unregister releases our lock; unregister when not registered is fine")
    func unregister() throws {
        let site = try Site("unreg")
        let cibou = try site.host("cibou", key: "bac001")
        #expect(try cibou.run("lock").status == 0)
        #expect(try cibou.run("unregister").status == 0)
        #expect(try cibou.run("wholocked").stdout.isEmpty)
        #expect(try cibou.run("regkeys").stdout.isEmpty)
        #expect(try cibou.run("unregister").status == 0)
    }

    @Test("raw reserve/release with --type, and a lock of another type")
    func rawReserveRelease() throws {
        let site = try Site("raw")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")
        var r = try cibou.run("reserve")
        r.expectOneErrorLine(1, contains: "RESERVE) refused with RESERVATION CONFLICT (is our key registered?)")
        #expect(try cibou.run("register").status == 0)
        #expect(try cibou.run("reserve", "-t", "wr-ex").status == 0)
        r = try cibou.run("release", "-t", "3")
        r.expectOneErrorLine(2, contains: "the lock is held with type 1 (Write Exclusive), not 3; use -t 1, or unlock")
        #expect(try dir.run("wholocked").stdout == "0xbac001\n")
        r = try dir.run("trylock", "-t", "1")
        r.expectOneErrorLine(1, contains: "locked by 0xbac001 (cibou)")
        // unlock uses the type the reservation has, so it works whatever -t says
        #expect(try cibou.run("unlock").status == 0)
        #expect(try dir.run("wholocked").stdout.isEmpty)
    }

    @Test("type 7/8 makes lock shared: refused with one line, the drive untouched, unless allow_shared_lock=1")
    func sharedTypeRefused() throws {
        let site = try Site("sharedlock")
        let cibou = try site.host("cibou", key: "bac001", extra: "type=8")
        let before = try Data(contentsOf: URL(fileURLWithPath: site.drive))
        for verb in ["lock", "trylock"] {
            let r = try cibou.run(verb)
            #expect(r.status == 2 && r.stdout.isEmpty && r.stderr == "storage-ctl: \(verb) with type 8 (Exclusive Access, "
                    + "all registrants) is not exclusive: every host registered on the drive, a waiting lock's included, "
                    + "would use it too; use type 1 or 3 (set allow_shared_lock=1 to take a shared lock on purpose)\n", "\(r)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: site.drive)) == before)
        let dir = try site.host("dir", key: "bac999", extra: "type=8")
        #expect(try dir.run("-t", "3", "trylock").status == 0)   // -t wins over type=
        #expect(try dir.run("unlock").status == 0)
    }

    @Test("all-registrants type with allow_shared_lock=1: wholocked lists every registrant")
    func allRegistrants() throws {
        let site = try Site("allreg")
        let cibou = try site.host("cibou", key: "bac001", extra: "type=7\nallow_shared_lock=1")
        let dir = try site.host("dir", key: "bac999", extra: "type=7\nallow_shared_lock=1")
        #expect(try cibou.run("lock").status == 0)
        #expect(try dir.run("lock").status == 0)   // joins the all-registrants reservation
        #expect(try dir.run("wholocked").stdout == "0xbac001\n0xbac999\n")
        #expect(try dir.run("status").stdout.wholeMatch(of: /key=0xbac999 registered=1 locked=1 blockedby=no name=dir heldfor=\d+\n/) != nil)
    }
}
