import Foundation
import Testing
import Transports

private func sh(_ command: String) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try? p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

private let isRoot = getuid() == 0
private let faketimeLibrary = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

/// What happens when things go wrong around the lock (issue 4 "Faults").
@Suite("Faults", .serialized)
struct FaultTests {
    @Test("a holder killed with SIGKILL keeps the lock; status, audit and preempt recover it")
    func killedHolder() throws {
        let site = try Site("killed")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")
        // dir's storage daemon takes the drive and dies (kill -9) without unlocking; its waiter too.
        #expect(try dir.run("lock").status == 0)
        let waiter = try cibou.start("lock")
        #expect(waiter.waitForStderr(containing: "waiting up to"))
        kill(waiter.process.processIdentifier, SIGKILL)
        _ = waiter.finish()
        #expect(try cibou.run("wholocked").stdout == "0xbac999\n", "the lock stays")
        #expect(try cibou.run("status").stdout == "key=0xbac001 registered=1 locked=0 blockedby=0xbac999 name=cibou blockedbyname=dir\n")
        // an admin on cibou whose configuration does not name dir sees it in audit
        let lone = try site.host("admin", key: "bac001", extra: "")
        try "key=bac001\ninitiator=iqn.2024-01.com.example:cibou\n".write(toFile: lone.conf, atomically: true, encoding: .utf8)
        let audit = try lone.run("audit")
        #expect(audit.status == 1 && audit.stdout == "0xbac999 holds the lock\n", "\(audit)")
        // and preempt recovers the drive
        let r = try cibou.run("preempt", "bac999")
        #expect(r.status == 0, "\(r)")
        #expect(try cibou.run("wholocked").stdout == "0xbac001\n")
        #expect(try SimulatedLU.verify(path: site.drive).currentState != nil)
    }

    @Test("sim file on a full file system: one line, exit 3, state unchanged",
          .enabled(if: isRoot, "needs root to mount a small tmpfs"))
    func fullFileSystem() throws {
        let site = try Site("full")
        let mnt = site.path("mnt")
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        guard sh("mount -t tmpfs -o size=512k tmpfs '\(mnt)'") == 0 else {
            Issue.record("cannot mount tmpfs here"); return
        }
        defer { _ = sh("umount '\(mnt)'") }
        // A drive reserves all its space when first set up (SimFormat), so one that exists keeps
        // working on a full file system; a new one cannot be set up, and says so in one line.
        let drive = mnt + "/drive0"
        #expect(try CLI.run([drive, "create"]).status == 0)
        let conf = try site.host("cibou", key: "bac001").conf
        #expect(try CLI.run(["-c", conf, drive, "register"]).status == 0)
        _ = sh("dd if=/dev/zero of='\(mnt)/filler' bs=4k 2>/dev/null; sync")
        #expect(try CLI.run(["-c", conf, drive, "lock"]).status == 0)
        #expect(try CLI.run(["-c", conf, drive, "unlock"]).status == 0)

        let fresh = mnt + "/drive1"
        let r = try CLI.run(["-c", conf, fresh, "create"])
        r.expectOneErrorLine(3, contains: "\(fresh): ")
        // nothing half made: an empty file, which create makes a drive once there is room
        #expect(try Data(contentsOf: URL(fileURLWithPath: fresh)).isEmpty)
        _ = sh("rm -f '\(mnt)/filler'")
        #expect(try CLI.run(["-c", conf, fresh, "create"]).status == 0)
        let after = try CLI.run(["-c", conf, fresh, "regkeys"])
        #expect(after.status == 0 && after.stdout.isEmpty, "\(after)")
        #expect(try CLI.run(["-c", conf, fresh, "lock"]).status == 0)
        #expect(try SimulatedLU.verify(path: drive).currentState != nil)
    }

    @Test("read-only sim file: reads work, changes fail with one line and leave the file unchanged",
          .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv to act as an unprivileged user"))
    func readOnlyFile() throws {
        let site = try Site("ro")
        chmod(site.dir.path, 0o755)
        let cibou = try site.host("cibou", key: "bac001")
        #expect(try cibou.run("lock").status == 0)
        chmod(site.drive, 0o444)
        let before = try Data(contentsOf: URL(fileURLWithPath: site.drive))
        func asNobody(_ args: [String]) throws -> CLI.Result {
            try CLI.run(["--reuid=65534", "--regid=65534", "--clear-groups", CLI.binary, "-k", "bac002",
                         "--initiator", "iqn.2024-01.com.example:nobody"] + args, executable: "/usr/bin/setpriv")
        }
        var r = try asNobody([site.drive, "regkeys"])
        #expect(r.status == 0 && r.stdout == "0xbac001\n", "\(r)")
        r = try asNobody([site.drive, "register"])
        r.expectOneErrorLine(3, contains: "\(site.drive): ")
        #expect(try Data(contentsOf: URL(fileURLWithPath: site.drive)) == before)
    }

    /// A hold's age is on the boot clock, and the record says which boot by its boot id: a wall clock stepped
    /// forward (NTP after a long suspend, an admin's `date -s`) changes nothing. Before boot ids, a record
    /// whose file was written earlier than "wall clock now minus uptime" counted as another boot's, so a
    /// step forward by more than the record's age after boot hid every hold's age from `check --held-*`.
    @Test("a wall clock stepped a day forward or back: status still says heldfor, from the boot clock",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/faketime"), "needs faketime (apt-get install faketime)"))
    func wallClockStepKeepsHeldFor() throws {
        let site = try Site("clock-step")
        let cibou = try site.host("cibou", key: "bac001")
        #expect(try cibou.run("lock").status == 0)
        for step in ["+1d", "-1d", "+3650d"] {
            let r = try CLI.run(["--exclude-monotonic", "-f", step, CLI.binary, "-c", cibou.conf, site.drive, "status"],
                                env: ["STORAGE_CTL_RUN_DIR": site.runDirectory], executable: "/usr/bin/faketime")
            let age = try #require(r.stdout.wholeMatch(of: /key=0xbac001 registered=1 locked=1 blockedby=no name=cibou heldfor=(\d+)\n/), "\(step): \(r)")
            #expect(Int(age.output.1)! < 60, "\(step): \(r)")
        }
        #expect(try cibou.run("unlock").status == 0)
    }

    /// libfaketime (`faketime --exclude-monotonic -f "+0 x100"`) runs the wall clock 100 times too
    /// fast for the process and leaves the monotonic clocks alone: a wait measured on the wall clock
    /// would give up after 20 ms of a 2 s max_lock_wait.
    @Test("a wall clock that jumps ahead during a wait does not change when max_lock_wait expires",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/faketime"), "needs faketime (apt-get install faketime)"))
    func wallClockJump() throws {
        // the harness really moves the wall clock: 0.5 s of monotonic time is ~50 s of wall time
        let probe = try CLI.run(["--exclude-monotonic", "-f", "+0 x100", "/usr/bin/python3", "-c",
                                 "import time\nr,m=time.time(),time.monotonic()\nwhile time.monotonic()-m<0.5: pass\nprint(int(time.time()-r))"],
                                executable: "/usr/bin/faketime")
        #expect((Int(probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 20, "\(probe)")

        let site = try Site("clock")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")
        #expect(try dir.run("lock").status == 0)
        let started = Date()
        let r = try CLI.run(["--exclude-monotonic", "-f", "+0 x100", CLI.binary, "-c", cibou.conf, site.drive, "lock", "-w", "2"],
                            executable: "/usr/bin/faketime")
        let took = Date().timeIntervalSince(started)
        #expect(r.status == 4, "\(r)")
        #expect(r.stderrLines.last.map(CLI.pollCountsMasked) == "storage-ctl: \(site.drive): gave up after 2 s: lock held by 0xbac999 (dir); the same holder at all N polls", "\(r)")
        #expect(took >= 1.9 && took < 6, "gave up after \(took) s instead of ~2 s")
    }
}
