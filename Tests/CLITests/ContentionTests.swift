import Foundation
import Testing

/// A waiter must never cause a holder's command to fail (scripts/contention measures the same
/// under every backoff setting; this is the quick automated form).
@Suite("Contention", .serialized)
struct ContentionTests {
    /// 16 processes keep polling for the drive (each a loop of `lock` / `unlock`, retrying every
    /// 1-10 ms) while the holder repeatedly takes it with `lock`, checks `status`, runs `lock`
    /// and `trylock` again while holding, and releases it with `unlock`. Every one of those
    /// commands must exit 0 (status saying locked=1), and so must every waiter's lock and unlock.
    /// The debug log proves the waiters were polling: it records each poll's READ RESERVATION.
    @Test("16 polling waiters: every holder command exits 0")
    func holderNeverFails() throws {
        let env = ProcessInfo.processInfo.environment
        let waiters = Int(env["STORAGE_CTL_CONTENTION_WAITERS"] ?? "") ?? 16
        let rounds = Int(env["STORAGE_CTL_CONTENTION_ROUNDS"] ?? "") ?? 5
        let site = try Site("contention")
        let log = site.path("debug.log")
        let fast = "max_lock_wait=120\nlock_retry_initial=0.002\nlock_retry_max=0.01\ndebug_log=1\ndebug_file=\(log)"
        let holder = try site.host("holder", key: "bac001", extra: fast)
        let stop = site.path("stop")
        let script = """
        set -u
        bin=$1 conf=$2 drive=$3 stop=$4 out=$5
        while [ ! -e "$stop" ]; do
            "$bin" -c "$conf" "$drive" lock 2>> "$out.err" || echo "lock exit $?" >> "$out"
            "$bin" -c "$conf" "$drive" unlock 2>> "$out.err" || echo "unlock exit $?" >> "$out"
            echo cycle >> "$out"
        done
        """
        let scriptPath = site.path("waiter.sh")
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)

        // The holder takes the drive first, so every waiter starts by polling.
        var failures: [String] = []
        let r = try holder.run("lock")
        if r.status != 0 { failures.append("first lock: \(r)") }

        var processes: [Process] = []
        defer {
            _ = FileManager.default.createFile(atPath: stop, contents: Data())   // already there after a normal run
            for p in processes where p.isRunning { p.terminate() }
        }
        for w in 0..<waiters {
            let host = try site.host("w\(w)", key: String(0xc00 + w, radix: 16), extra: fast)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = [scriptPath, CLI.binary, host.conf, site.drive, stop, site.path("waiter\(w).log")]
            p.environment = CLI.environment()
            try p.run()
            processes.append(p)
        }
        let started = Date()
        // Hold while every waiter reaches its polling loop (their first polls).
        let settle = Date().addingTimeInterval(20)
        while conflicts(in: log) < 2 * waiters && Date() < settle { usleep(10_000) }

        var holderCommands = 0
        func check(_ what: String, _ r: CLI.Result, stdout expected: String? = nil) {
            holderCommands += 1
            if r.status != 0 || (expected.map { !r.stdout.contains($0) } ?? false) {
                failures.append("round \(what): \(r)")
            }
        }
        check("0 status", try holder.run("status"), stdout: " locked=1 ")
        check("0 unlock", try holder.run("unlock"))
        for round in 1...rounds {
            check("\(round) lock", try holder.run("lock"))
            check("\(round) status", try holder.run("status"), stdout: " locked=1 ")
            check("\(round) lock while holding", try holder.run("lock"))
            check("\(round) trylock while holding", try holder.run("trylock"))
            check("\(round) unlock", try holder.run("unlock"))
        }
        let holderSeconds = Date().timeIntervalSince(started)

        #expect(FileManager.default.createFile(atPath: stop, contents: Data()))
        for p in processes { p.waitUntilExit() }
        var cycles = 0
        for w in 0..<waiters {
            let text = (try? String(contentsOfFile: site.path("waiter\(w).log"), encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                if line == "cycle" { cycles += 1 } else { failures.append("waiter \(w): \(line)") }
            }
        }
        let polls = conflicts(in: log)
        print("contention: \(waiters) waiters, \(rounds) holder rounds: \(holderCommands) holder commands in "
              + "\(String(format: "%.1f", holderSeconds)) s, \(cycles) waiter lock/unlock cycles, "
              + "\(polls) polls (READ RESERVATION of a lock), \(failures.count) failures")
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(holderCommands == 2 + 5 * rounds)
        #expect(cycles >= waiters, "every waiter got the drive at least once")
        #expect(polls >= 2 * waiters, "the waiters were polling")
        #expect(try CLI.run([site.drive, "wholocked"]).stdout.isEmpty)
    }

    /// Polls in the debug log: a `lock` looks with READ RESERVATION before each RESERVE it tries.
    private func conflicts(in log: String) -> Int {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return 0 }
        var n = 0
        for line in text.split(separator: "\n") where line.contains(" lock: PERSISTENT RESERVE IN (READ RESERVATION)") {
            n += 1
        }
        return n
    }
}
