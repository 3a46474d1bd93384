import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `fairness=fifo` (docs/DESIGN.md "First come, first served"): waiting hosts register ticket keys and are
/// served in the order they arrived, whoever polls first. Real processes on one simulated drive; every
/// step waits for a condition (a line on stderr, a process that ended), never for a time.
@Suite("First come, first served", .serialized)
struct FifoTests {
    static let fifo = "fairness=fifo\nlock_retry_initial=0.01"

    /// Polls until one of `waiters` has ended (it got the drive: `lock` exits when it holds it).
    static func firstToEnd(_ waiters: [Background], timeout: Double = 20) -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let index = waiters.firstIndex(where: { !$0.process.isRunning }) { return index }
            usleep(2_000)
        }
        return nil
    }

    /// Three waiters arrive one after the other while a fourth host holds the drive; the youngest polls
    /// fastest (its backoff has just started), so under the courtesy scheme it usually wins. Each release
    /// must go to the oldest waiter still waiting.
    @Test("three waiters are served in the order they arrived, in every trial")
    func arrivalOrder() throws {
        let trials = Int(ProcessInfo.processInfo.environment["STORAGE_CTL_FIFO_TRIALS"] ?? "") ?? 5
        let site = try Site("fifo-order")
        let holder = try site.host("cibou", key: "bac001", extra: Self.fifo)
        let hosts = try ["b": "bac002", "c": "bac003", "d": "bac004"].sorted { $0.key < $1.key }
            .map { try site.host($0.key, key: $0.value, extra: Self.fifo) }
        var inOrder = 0
        for trial in 0..<trials {
            #expect(try holder.run("lock").status == 0)
            var waiters: [Background] = []
            for host in hosts {
                let waiter = try host.start("lock")
                #expect(waiter.waitForStderr(containing: "waiting up to"), "trial \(trial) \(host.name): \(waiter.stderrSoFar)")
                waiters.append(waiter)
            }
            // who waits, in which order, as status shows it (oldest first)
            #expect(try holder.run("status").stdout.contains(" waiters=0xbac002,0xbac003,0xbac004 "), "trial \(trial)")
            #expect(try holder.run("unlock").status == 0)
            var order: [String] = []
            var pending = Array(zip(hosts, waiters))
            while !pending.isEmpty {
                guard let first = Self.firstToEnd(pending.map(\.1)) else { Issue.record("trial \(trial): nobody got the drive"); return }
                let (host, waiter) = pending.remove(at: first)
                let r = waiter.finish()
                #expect(r.status == 0, "\(r)")
                order.append(host.name)
                #expect(try host.run("wholocked").stdout == "0x\(host.name == "b" ? "bac002" : host.name == "c" ? "bac003" : "bac004")\n")
                #expect(try host.run("unlock").status == 0)
            }
            if order == ["b", "c", "d"] { inOrder += 1 } else { Issue.record("trial \(trial): served \(order)") }
            // nothing left in line: every waiter registered under its own key again
            #expect(try holder.run("regkeys").stdout == "0xbac001\n0xbac002\n0xbac003\n0xbac004\n")
            #expect(!(try CLI.run(["persist", "--no-inquiry", "-k", site.drive]).stdout.contains("0xf1")))
        }
        print("fifo arrival order: \(inOrder) of \(trials) trials served b, c, d")
    }

    /// The storage daemon runs `lock` again while it holds the drive (contention-run's probe does): with others
    /// in line it must return at once holding, never take a ticket, which would rename the holder's key (the
    /// first version did, and every host then waited forever).
    @Test("lock while holding, with others in line: exit 0 at once, still held under the configured key")
    func lockWhileHolding() throws {
        let site = try Site("fifo-holding")
        let a = try site.host("cibou", key: "bac001", extra: Self.fifo)
        let b = try site.host("b", key: "bac002", extra: Self.fifo)
        #expect(try a.run("lock").status == 0)
        let waiter = try b.start("lock")
        #expect(waiter.waitForStderr(containing: "waiting up to"))
        let r = try a.run("lock", "-w", "1")
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")
        #expect(try a.run("wholocked").stdout == "0xbac001\n")
        #expect(try a.run("status").stdout.hasPrefix("key=0xbac001 registered=1 locked=1 blockedby=no name=cibou waiters=0xbac002 "))
        #expect(try a.run("unlock").status == 0)
        #expect(waiter.finish().status == 0)
        #expect(try b.run("wholocked").stdout == "0xbac002\n")
        #expect(try b.run("unlock").status == 0)
    }

    /// Who waits, in which order, for every output that shows a drive; a waiting host's ticket is that host
    /// (its configured key) for regkeys, audit, drives and check, never an unknown key.
    @Test("a waiter in line: regkeys, status, audit, drives, drives --json and check show it as its host")
    func waitersShown() throws {
        let site = try Site("fifo-shown")
        let a = try site.host("cibou", key: "bac001", extra: Self.fifo)
        let dir = try site.host("dir", key: "bac999", extra: Self.fifo)
        #expect(try a.run("lock").status == 0)
        let waiter = try dir.start("lock")
        #expect(waiter.waitForStderr(containing: "waiting up to"))
        #expect(try a.run("regkeys").stdout == "0xbac001\n0xbac999\n")
        #expect(try dir.run("status").stdout == "key=0xbac999 registered=1 locked=0 blockedby=0xbac001 name=dir blockedbyname=cibou waiting=1 waiters=0xbac999\n")
        let audit = try a.run("audit")
        #expect(audit.status == 0, "\(audit)")
        let sd = site.path("bacula-sd.conf")
        try "Storage {\n  Name = sd\n  Working Directory = /tmp\n}\nDevice {\n  Name = Drive0\n  Archive Device = /dev/nst0\n  Control Device = \"\(site.drive)\"\n}\n"
            .write(toFile: sd, atomically: false, encoding: .utf8)
        let env = ["STORAGE_CTL_RUN_DIR": site.runDirectory]
        var r = try CLI.run(["-c", a.conf, "-C", sd, "drives"], env: env)
        #expect(r.status == 0 && r.stdout.contains("\n  waiting         0xbac999 (dir)  (in line, oldest first)\n"), "\(r)")
        r = try CLI.run(["-c", a.conf, "-C", sd, "drives", "--json"], env: env)
        #expect(r.stdout.contains(#""waiters":[{"key":"0xbac999","name":"dir"}]"#), "\(r)")
        r = try CLI.run(["-c", a.conf, "-C", sd, "check"], env: env)
        #expect(r.status == 0 && r.stdout.contains("Drive0: 2 keys, locked by 0xbac001 (cibou), held by this host for ") && r.stdout.contains(" s, 1 waiting"), "\(r)")
        #expect(try a.run("unlock").status == 0)
        #expect(waiter.finish().status == 0)
        #expect(try dir.run("unlock").status == 0)
    }

    /// `status --json` says which scheme this host's `lock` uses, and why not fifo when fifo was asked for
    /// but the key or the type leaves no room for it.
    @Test("status --json: fairness in effect and why courtesy (key too wide, shared type)")
    func fairnessInEffect() throws {
        let site = try Site("fifo-effect")
        let cases: [(key: String, extra: String, fairness: String, note: String?)] = [
            ("bac001", Self.fifo, "fifo", nil),
            ("bac001", "fairness=courtesy", "courtesy", nil),
            ("123456789", Self.fifo, "courtesy", "fairness=fifo needs a key of at most 8 hex digits (a ticket takes the upper 32 bits); 0x123456789 is wider: courtesy instead"),
            ("bac001", Self.fifo + "\ntype=7", "courtesy", "fairness=fifo is for exclusive locks (type 1 or 3); type 7 is shared: courtesy instead"),
        ]
        for (index, c) in cases.enumerated() {
            let host = try site.host("h\(index)", key: c.key, extra: c.extra)
            let r = try host.run("status", "--json")
            let note = c.note.map { "\"\($0)\"" } ?? "null"
            #expect(r.status == 0 && r.stdout.hasSuffix(#","fairness":"\#(c.fairness)","fairness_note":\#(note)}"# + "\n"), "\(c) \(r)")
        }
    }

    /// A waiter killed with SIGKILL leaves its ticket: the next waiter removes it once its heartbeat has
    /// stood still for the expiry (3 x lock_retry_max + 1 s = 1.6 s here), then takes its turn.
    @Test("a waiter killed while waiting costs the next one a bounded delay, once; its host recovers its registration")
    func killedWaiter() throws {
        let site = try Site("fifo-killed")
        let a = try site.host("cibou", key: "bac001", extra: Self.fifo)
        let b = try site.host("b", key: "bac002", extra: Self.fifo)
        let c = try site.host("c", key: "bac003", extra: Self.fifo)
        #expect(try a.run("lock").status == 0)
        let first = try b.start("lock")
        #expect(first.waitForStderr(containing: "waiting up to"))
        let second = try c.start("lock")
        #expect(second.waitForStderr(containing: "waiting up to"))
        kill(first.process.processIdentifier, SIGKILL)
        _ = first.finish()
        // b's ticket is still there, under b's configured key for every output
        #expect(try a.run("regkeys").stdout == "0xbac001\n0xbac002\n0xbac003\n")
        let freed = Date()
        #expect(try a.run("unlock").status == 0)
        let r = second.finish()
        let took = Date().timeIntervalSince(freed)
        #expect(r.status == 0, "\(r)")
        #expect(r.stderrLines.contains { $0.hasPrefix("storage-ctl: \(site.drive): removed the ticket 0xf1") && $0.hasSuffix(" of 0xbac002: its lock stopped polling") }, "\(r)")
        #expect(took < 1.6 + 2, "the dead ticket cost \(took) s")
        print("fifo: a waiter killed with SIGKILL cost the next one \(String(format: "%.2f", took)) s from the release (expiry 1.6 s)")
        #expect(try a.run("regkeys").stdout == "0xbac001\n0xbac003\n")
        #expect(try c.run("unlock").status == 0)
        // b's host: unregistered by the removal; its next lock registers and takes the drive at once
        #expect(try b.run("status").stdout == "key=0xbac002 registered=0 locked=0 blockedby=no\n")
        #expect(try b.run("lock").status == 0)
        #expect(try b.run("unlock").status == 0)
    }

    /// A killed waiter's own host is not shut out of its nexus by the ticket it left (before anyone removed
    /// it): register, trylock and unregister move from the ticket to the configured key.
    @Test("after a killed fifo lock, its host's register, trylock and unregister still work (no exit 6)")
    func ownTicketLeftBehind() throws {
        let site = try Site("fifo-own")
        let a = try site.host("cibou", key: "bac001", extra: Self.fifo)
        let b = try site.host("b", key: "bac002", extra: Self.fifo)
        #expect(try a.run("lock").status == 0)
        let waiter = try b.start("lock")
        #expect(waiter.waitForStderr(containing: "waiting up to"))
        kill(waiter.process.processIdentifier, SIGKILL)
        _ = waiter.finish()
        #expect(try CLI.run(["persist", "--no-inquiry", "-k", site.drive]).stdout.contains("0xf1"))
        // registered (under its ticket), and in line, as status says
        #expect(try b.run("status").stdout == "key=0xbac002 registered=1 locked=0 blockedby=0xbac001 blockedbyname=cibou waiters=0xbac002\n")
        var r = try b.run("trylock")
        #expect(r.status == 1, "\(r)")
        #expect(!(try CLI.run(["persist", "--no-inquiry", "-k", site.drive]).stdout.contains("0xf1")), "the ticket is our key again")
        #expect(try a.run("regkeys").stdout == "0xbac001\n0xbac002\n")
        r = try b.run("unregister")
        #expect(r.status == 0, "\(r)")
        #expect(try a.run("regkeys").stdout == "0xbac001\n")
        #expect(try a.run("unlock").status == 0)
    }

    /// Hosts that know nothing of tickets (plain sg_persist, the original script, a courtesy host) take a
    /// free drive when they see it: unfair to the line, but nothing breaks and nobody hangs.
    @Test("an sg_persist host and a courtesy host in the mix: they may cut in, every lock still ends holding")
    func othersInTheMix() throws {
        let site = try Site("fifo-mix")
        let a = try site.host("cibou", key: "bac001", extra: Self.fifo)
        let b = try site.host("b", key: "bac002", extra: Self.fifo)
        let courtesy = try site.host("dir", key: "bac999")
        let sg = ["STORAGE_CTL_INITIATOR": "iqn.2024-01.com.example:sg"]
        #expect(try a.run("lock").status == 0)
        let waiter = try b.start("lock")
        #expect(waiter.waitForStderr(containing: "waiting up to"))
        let plain = try courtesy.start("lock")
        #expect(plain.waitForStderr(containing: "waiting up to"))
        // the sg_persist host registers and reserves the moment the drive is free
        #expect(try CLI.run(["persist", "--out", "--register", "--param-sark=0xabc", site.drive], env: sg).status == 0)
        #expect(try a.run("unlock").status == 0)
        var sgHeld = false
        for _ in 0..<200 where !sgHeld {
            sgHeld = try CLI.run(["persist", "--out", "--reserve", "--param-rk=0xabc", "--prout-type=3", site.drive], env: sg).status == 0
            if !sgHeld { usleep(1_000) }
        }
        if sgHeld {
            #expect(try CLI.run(["persist", "--out", "--release", "--param-rk=0xabc", "--prout-type=3", site.drive], env: sg).status == 0)
        }
        // b and dir both get the drive in turn; neither hangs
        var pending = [(b, waiter), (courtesy, plain)]
        while !pending.isEmpty {
            guard let first = Self.firstToEnd(pending.map(\.1)) else { Issue.record("nobody got the drive"); return }
            let (host, bg) = pending.remove(at: first)
            #expect(bg.finish().status == 0)
            #expect(try host.run("unlock").status == 0)
        }
        print("fifo with others: the sg_persist host \(sgHeld ? "cut in once" : "never found the drive free")")
        #expect(try a.run("regkeys").stdout.split(separator: "\n").sorted() == ["0xabc", "0xbac001", "0xbac002", "0xbac999"])
    }
}
