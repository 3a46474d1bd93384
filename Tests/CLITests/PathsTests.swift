import Foundation
import Testing

/// One host, several paths: host cibou reaches the simulated drive through iSCSI sessions of
/// one initiator name with different ISIDs (its paths); a session that is gone is a port its configuration
/// no longer names (`initiator_ports=`); a re-login is a new ISID. dir (another key) is the other host,
/// and copy is another host configured with cibou's key by mistake.
final class PathSite {
    let site: Site
    static let name = "iqn.2024-01.com.example:cibou"

    init(_ label: String) throws { site = try Site(label) }

    static func port(_ isid: Int) -> String { "\(name),i,0x00023d00000\(isid)" }

    /// cibou through the session with ISID …0`isid`, with `others` as its other live sessions.
    func path(_ isid: Int, others: [Int] = [], extra: String = "") throws -> Host {
        let conf = site.path("cibou-\(isid)-\(others.map(String.init).joined()).conf")
        let ports = others.map { Self.port($0) }.joined(separator: " ")
        try """
        key=bac001
        host_bac001=cibou
        host_bac999=dir
        initiator=\(Self.port(isid))
        initiator_ports="\(ports)"
        max_lock_wait=30
        lock_retry_max=0.2
        \(extra)
        """.write(toFile: conf, atomically: true, encoding: .utf8)
        return Host(site: site, name: "cibou", conf: conf)
    }

    /// The PR state as READ FULL STATUS shows it (the sg_persist personality, as another initiator).
    func fullStatus() throws -> String {
        try CLI.run(["persist", "--no-inquiry", "-s", site.drive], env: ["STORAGE_CTL_INITIATOR": "iqn.2024-01.com.example:observer"]).stdout
    }
}

@Suite("several paths of one host: a lost path, a re-login, another host with our key")
struct PathsTests {
    @Test("status through a second path speaks for that path; lock through it moves the reservation there")
    func secondLivePath() throws {
        let s = try PathSite("paths-live")
        let p1 = try s.path(1, others: [2]), p2 = try s.path(2, others: [1])
        let dir = try s.site.host("dir", key: "bac999")
        #expect(try p1.run("lock").status == 0)
        #expect(try p2.run("status").stdout == "key=0xbac001 registered=0 locked=0 blockedby=0xbac001 name=cibou blockedbyname=cibou paths=1\n")
        #expect(try p1.run("status").stdout.hasPrefix("key=0xbac001 registered=1 locked=1 blockedby=no name=cibou"))
        let r = try p2.run("lock", "-w", "5")
        #expect(r.status == 0, "\(r)")
        #expect(r.stderrLines == ["storage-ctl: \(s.site.drive): moved the reservation to this path from our own key's registration through \(PathSite.port(1)) (RTPI 1) (another live path); removed by one PREEMPT of our own key"], "\(r)")
        #expect(try p2.run("status").stdout.hasPrefix("key=0xbac001 registered=1 locked=1 blockedby=no name=cibou"))
        #expect(try dir.run("trylock").status == 1)
        // the old path's registration went with the PREEMPT: one registration of our key, dir's
        #expect(try p2.run("regkeys").stdout == "0xbac001\n0xbac999\n")
        #expect(try p2.run("unlock").status == 0)
        #expect(try dir.run("trylock").status == 0)
    }

    @Test("a lost path: lock and unlock through the surviving one take the reservation over in one call")
    func lostPath() throws {
        let s = try PathSite("paths-lost")
        let p1 = try s.path(1, others: [2])
        let survivor = try s.path(2)          // session 1 is gone: the configuration no longer names it
        let dir = try s.site.host("dir", key: "bac999")
        #expect(try p1.run("lock").status == 0)
        #expect(try dir.run("register").status == 0)
        // status and audit name the dead path before anything is done about it
        #expect(try survivor.run("status").stdout == "key=0xbac001 registered=0 locked=0 blockedby=0xbac001 name=cibou blockedbyname=cibou stalepaths=1\n")
        var r = try survivor.run("audit")
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout == "0xbac001 (cibou) is registered through 1 path of this host that is gone: \(PathSite.port(1)) (RTPI 1) (the next lock or unlock removes it)\n", "\(r)")
        let started = Date()
        r = try survivor.run("lock", "-w", "20")
        #expect(r.status == 0, "\(r)")
        #expect(Date().timeIntervalSince(started) < 5, "took the whole wait")
        #expect(r.stderr.contains("(RTPI 1) (gone); removed by one PREEMPT of our own key"), "\(r)")
        #expect(try dir.run("trylock").status == 1)
        #expect(try survivor.run("audit").status == 0)
        // the same loss while holding, then unlock through the survivor: released, the other host gets it
        #expect(try survivor.run("unlock").status == 0)
        #expect(try p1.run("lock").status == 0)
        r = try survivor.run("unlock")
        #expect(r.status == 0, "\(r)")
        #expect(try dir.run("trylock").status == 0)
        #expect(try survivor.run("regkeys").stdout == "0xbac999\n0xbac001\n")
    }

    @Test("re-logins with new ISIDs: each lock through the new session moves the reservation; no stale registration left (20 cycles)")
    func relogins() throws {
        let s = try PathSite("paths-relogin")
        let dir = try s.site.host("dir", key: "bac999")
        #expect(try dir.run("register").status == 0)
        #expect(try s.path(1).run("lock").status == 0)
        // a third host polls trylock in a tight loop for the whole test: it must never get the drive
        let stop = Atomic(false), trials = Atomic(0), wins = Atomic(0)
        let group = DispatchGroup()
        group.enter()
        let dirArgs = ["-c", dir.conf, s.site.drive], env = ["STORAGE_CTL_RUN_DIR": s.site.runDirectory]
        Thread.detachNewThread {
            while !stop.value {
                if let r = try? CLI.run(dirArgs + ["trylock"], env: env) {
                    trials.value += 1
                    if r.status == 0 { wins.value += 1; _ = try? CLI.run(dirArgs + ["unlock"], env: env) }
                }
            }
            group.leave()
        }
        for cycle in 0..<20 {
            let isid = cycle % 2 == 0 ? 2 : 1      // log out, log in again: the other ISID, the old one gone
            let r = try s.path(isid).run("lock", "-w", "20")
            #expect(r.status == 0, "cycle \(cycle): \(r)")
            #expect(r.stderr.contains("(gone); removed by one PREEMPT of our own key"), "cycle \(cycle): \(r)")
            #expect(try s.path(isid).run("regkeys").stdout == "0xbac999\n0xbac001\n", "cycle \(cycle)")
        }
        stop.value = true
        group.wait()
        let (dirTrials, dirWins) = (trials.value, wins.value)
        #expect(dirTrials > 0)
        #expect(dirWins == 0, "the other host got the drive \(dirWins) times in \(dirTrials) trylocks")
        print("paths: 20 re-login takeovers; the other host's trylock in a loop: \(dirTrials) trials, \(dirWins) got the drive")
    }

    @Test("initiator= and initiator_ports= take an iSCSI session the same way: a mistyped one is refused, not taken for a name")
    func mistypedSessions() throws {
        let s = try PathSite("paths-typo")
        let bad = try s.path(1, extra: "initiator=\(PathSite.name),i,0x0000000000000002")
        var r = try bad.run("status")
        #expect(r.status == 2 && r.stderrLines.count == 1 && r.stderr.contains("an iSCSI session is NAME,i,0xISID, with 1 to 12 hex digits"), "\(r)")
        let list = try s.path(1, extra: "initiator_ports=\"\(PathSite.port(2)),\(PathSite.port(3))\"")
        r = try list.run("status")
        #expect(r.status == 2 && r.stderr.contains("invalid initiator port"), "\(r)")
    }

    @Test("our key on another host (another initiator name): never preempted; lock waits and says so, unlock refuses and leaves nothing")
    func ourKeyOnAnotherHost() throws {
        let s = try PathSite("paths-foreign")
        let copy = try s.site.host("copy", key: "bac001")
        let p1 = try s.path(1, others: [2])
        #expect(try copy.run("lock").status == 0)
        var r = try p1.run("lock", "-w", "0.3")
        #expect(r.status == 4, "\(r)")
        #expect(r.stderrLines.last.map(CLI.pollCountsMasked) == "storage-ctl: \(s.site.drive): gave up after 0.3 s: lock held by 0xbac001 (cibou) through another initiator (is this key configured on two hosts?); the same holder at all N polls", "\(r)")
        #expect(try copy.run("status").stdout.hasPrefix("key=0xbac001 registered=1 locked=1 blockedby=no name=cibou keyinitiators=2"))
        #expect(try p1.run("unregister").status == 0)
        r = try p1.run("unlock")
        #expect(r.status == 1, "\(r)")
        #expect(try p1.run("regkeys").stdout == "0xbac001\n", "the refused unlock left a registration behind")
        // a stale path of ours and the other host's registration with our key: nothing is preempted either
        let p2 = try s.path(2)
        #expect(try copy.run("unlock").status == 0)
        #expect(try p1.run("lock").status == 0)
        #expect(try copy.run("register").status == 0)
        r = try p2.run("lock", "-w", "0.3")
        #expect(r.status == 4, "\(r)")
        #expect(try s.fullStatus().contains(PathSite.port(1)))
    }
}

/// A flag shared with a background thread.
final class Atomic<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
