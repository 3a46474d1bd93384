import Foundation
import Testing

/// Issue 9: hostile files and paths around a drive: a foreign lock on the drive file, planted debug files,
/// configurations swapped under us, path bytes and messages.
@Suite("Hostile files and paths", .serialized)
struct HostileFilesTests {
    /// Another process (any user who can read the file) holds the drive file's flock until `finish`.
    func holdFlock(_ path: String, shared: Bool = true) throws -> Background {
        // One process from the lock to the end (sh execs sleep), so terminating it releases the lock.
        let script = "exec 9<\"$1\" && /usr/bin/flock \(shared ? "-s" : "-x") 9 && echo held >&2 && exec sleep 60"
        let (p, out, err) = CLI.process(["-c", script, "sh", path], executable: "/bin/sh")
        let holder = Background(process: p, stdout: out, stderr: err)
        try p.run()
        holder.startReading()
        #expect(holder.waitForStderr(containing: "held"))
        return holder
    }

    @Test("a foreign flock on the drive file: lock -w gives up on time (exit 4), others wait command_timeout (exit 3)",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/flock"), "needs flock(1)"))
    func foreignFlock() throws {
        let site = try Site("flock")
        let cibou = try site.host("cibou", key: "bac001", extra: "command_timeout=5")
        #expect(try cibou.run("register").status == 0)

        // Held from the start: the open waits, bounded by lock's budget.
        var holder = try holdFlock(site.drive)
        var start = Date()
        var r = try cibou.run("-w", "1", "lock")
        var elapsed = Date().timeIntervalSince(start)
        r.expectOneErrorLine(4, contains: "gave up waiting (max_lock_wait): the simulated LU's file stayed locked by another process")
        #expect(elapsed >= 0.9 && elapsed < 4, "lock -w 1 took \(elapsed) s")

        // trylock (no lock budget) waits command_timeout, then a device error naming the cause.
        let quick = try site.host("quick", key: "bac001", extra: "command_timeout=0.3")
        start = Date()
        r = try quick.run("trylock")
        elapsed = Date().timeIntervalSince(start)
        r.expectOneErrorLine(3, contains: "stayed locked by another process for 0.3 s")
        #expect(elapsed >= 0.25 && elapsed < 4, "trylock with command_timeout=0.3 took \(elapsed) s")

        // A command_timeout below half a millisecond is a very short wait, not "wait forever".
        let tiny = try site.host("tiny", key: "bac001", extra: "command_timeout=0.0001")
        start = Date()
        r = try tiny.run("status")
        elapsed = Date().timeIntervalSince(start)
        r.expectOneErrorLine(3, contains: "stayed locked by another process for 0.001 s")
        #expect(elapsed < 4, "command_timeout=0.0001 took \(elapsed) s")
        _ = holder.finish(timeout: 0)

        // Taken while lock is already waiting for the reservation: each command's wait is bounded too.
        let dir = try site.host("dir", key: "bac999", extra: "command_timeout=5")
        #expect(try dir.run("lock").status == 0)
        start = Date()
        let waiter = try cibou.start("-w", "2", "lock")
        #expect(waiter.waitForStderr(containing: "waiting up to 2 s"))
        holder = try holdFlock(site.drive, shared: false)
        r = waiter.finish(timeout: 30)
        elapsed = Date().timeIntervalSince(start)
        #expect(r.status == 4, "\(r)")
        #expect(elapsed < 5, "lock -w 2 took \(elapsed) s")
        _ = holder.finish(timeout: 0)
    }

    @Test("a new drive file loses access for others when first used (anyone who can open it can hold its lock)")
    func newDrivePermissions() throws {
        let site = try Site("perm")
        chmod(site.drive, 0o666)
        let cibou = try site.host("cibou", key: "bac001")
        #expect(try cibou.run("register").status == 0)
        let mode = (try FileManager.default.attributesOfItem(atPath: site.drive)[.posixPermissions] as? Int) ?? -1
        #expect(mode == 0o660)
    }
}
