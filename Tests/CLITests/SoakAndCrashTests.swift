import Foundation
import Testing
import Transports

/// Many processes, one drive: the lock must exclude, and a process killed at any instant must
/// leave the simulated LU valid.
@Suite("Soak and crash", .serialized)
struct SoakAndCrashTests {
    /// 8 workers x 100 cycles of lock / critical section / unlock, each a separate storage-ctl
    /// process as Bacula runs it. The critical section claims a directory with mkdir(2), which
    /// fails if another worker is inside: every failure is an overlap, and there must be none.
    @Test("8 processes x 100 lock/critical-section/unlock cycles: 0 overlaps", arguments: ["courtesy", "fifo"])
    func soak(fairness: String) throws {
        let workers = Int(ProcessInfo.processInfo.environment["STORAGE_CTL_SOAK_WORKERS"] ?? "") ?? 8
        let cycles = Int(ProcessInfo.processInfo.environment["STORAGE_CTL_SOAK_CYCLES"] ?? "") ?? 100
        let site = try Site("soak-\(fairness)")
        let script = """
        set -u
        bin=$1 conf=$2 drive=$3 cs=$4 log=$5 cycles=$6
        for i in $(seq 1 "$cycles"); do
            "$bin" -c "$conf" "$drive" lock || { echo "lock-failed $?" >> "$log"; continue; }
            if mkdir "$cs" 2>/dev/null; then
                echo "$$ $i" > "$cs/owner"
                : critical section
                [ "$(cat "$cs/owner")" = "$$ $i" ] || echo overlap >> "$log"
                rm -f "$cs/owner"; rmdir "$cs" || echo overlap >> "$log"
            else
                echo overlap >> "$log"
            fi
            "$bin" -c "$conf" "$drive" unlock 2>/dev/null || echo "unlock-failed $?" >> "$log"
            echo ok >> "$log"
        done
        """
        let scriptPath = site.path("worker.sh")
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let started = Date()
        var processes: [Process] = []
        for w in 0..<workers {
            let key = String(0xb00 + w, radix: 16)
            let host = try site.host("w\(w)", key: key, extra: "max_lock_wait=600\nlock_retry_max=0.1\nfairness=\(fairness)")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = [scriptPath, CLI.binary, host.conf, site.drive, site.path("critical"), site.path("log\(w)"), String(cycles)]
            p.environment = CLI.environment()
            try p.run()
            processes.append(p)
        }
        for p in processes { p.waitUntilExit() }
        let elapsed = Date().timeIntervalSince(started)
        var ok = 0, overlaps = 0, failures: [String] = []
        for w in 0..<workers {
            let log = (try? String(contentsOfFile: site.path("log\(w)"), encoding: .utf8)) ?? ""
            for line in log.split(separator: "\n") {
                if line == "ok" { ok += 1 } else if line == "overlap" { overlaps += 1 } else { failures.append(String(line)) }
            }
        }
        print("soak (\(fairness)): \(workers) workers x \(cycles) cycles: \(ok) critical sections, \(overlaps) overlaps, \(failures.count) failures, \(String(format: "%.1f", elapsed)) s")
        #expect(overlaps == 0)
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(ok == workers * cycles)
        let report = try SimulatedLU.verify(path: site.drive)
        #expect(report.currentState != nil)
        #expect(try CLI.run([site.drive, "wholocked"]).stdout.isEmpty)
    }

    /// SIGKILL storage-ctl processes at random instants in the middle of commands, many times;
    /// the file must then be valid (one slot at least, decodable), consistent, and usable.
    @Test("SIGKILL mid-command, many times: the file stays valid and consistent")
    func crash() throws {
        let rounds = Int(ProcessInfo.processInfo.environment["STORAGE_CTL_CRASH_ROUNDS"] ?? "") ?? 300
        let site = try Site("crash")
        let keys = ["bac001", "bac999", "c0ffee", "dead01"]
        var hosts: [Host] = []
        for (i, key) in keys.enumerated() { hosts.append(try site.host("h\(i)", key: key, extra: "max_lock_wait=0.2")) }
        let verbs = ["register", "lock", "trylock", "unlock", "unregister", "status", "query", "clear", "preempt"]
        var generator = SystemRandomNumberGenerator()
        // Kill within 0-1.5x of how long one command takes here, so most kills land inside a run
        // (after the file is opened, during or between SCSI commands), not before exec.
        var durations: [Double] = []
        for _ in 0..<5 {
            let t0 = Date()
            _ = try hosts[0].run("status")
            durations.append(Date().timeIntervalSince(t0))
        }
        let typical = durations.sorted()[2]
        let maxDelay = UInt32(max(1000, typical * 1.5 * 1_000_000))
        var killed = 0
        for round in 0..<rounds {
            let host = hosts[round % hosts.count]
            let verb = verbs.randomElement(using: &generator)!
            var args = ["-c", host.conf, site.drive, verb]
            if verb == "preempt" { args.append(keys.filter { !host.conf.contains($0) }.randomElement(using: &generator)!) }
            let (p, _, _) = CLI.process(args)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 0...maxDelay, using: &generator))
            if p.isRunning { kill(p.processIdentifier, SIGKILL); killed += 1 }
            p.waitUntilExit()
        }
        let report = try SimulatedLU.verify(path: site.drive)
        print("crash: \(rounds) rounds, \(killed) killed mid-run (kill delay 0-\(maxDelay / 1000) ms, one command takes ~\(Int(typical * 1000)) ms); \(report)")
        #expect(killed > rounds / 10, "too few processes were killed mid-run to mean anything: \(killed)")
        #expect(killed < rounds, "every process was killed: the delays are too short to reach a command")
        // usable afterwards, and consistent: every registered key is one of ours, the holder is registered
        let q = try CLI.run([site.drive, "query"])
        #expect(q.status == 0, "\(q)")
        let regkeys = try CLI.run([site.drive, "regkeys"])
        #expect(regkeys.status == 0)
        let registered = regkeys.stdout.split(separator: "\n").map(String.init)
        for key in registered { #expect(keys.map { "0x" + $0 }.contains(key), "unexpected key \(key)") }
        let holder = try CLI.run([site.drive, "wholocked"]).stdout.split(separator: "\n").map(String.init)
        for key in holder { #expect(registered.contains(key), "holder \(key) is not registered") }
        #expect(try hosts[0].run("clear").status == 0)
        #expect(try hosts[1].run("lock").status == 0)
    }
}
