import Foundation
import Testing
import Transports
#if canImport(Glibc)
import Glibc
#endif

/// Where output goes wrong: a reader that went away (SIGPIPE/EPIPE),
/// standard descriptors the caller closed, a full disk. The lock's status never changes because a
/// line could not be written; output that could not be written is exit 7, in one line.
@Suite("Output, pipes and closed descriptors", .serialized)
struct OutputTests {
    static let cannotWrite = "storage-ctl: cannot write standard output: "

    func drive(_ name: String) throws -> (Site, Host, Host) {
        let site = try Site(name)
        return (site, try site.host("cibou", key: "bac001"), try site.host("dir", key: "bac999"))
    }

    func run(_ host: Host, _ args: [String], stdin: Spawned.Descriptor = .path("/dev/null"),
             stdout: Spawned.Descriptor = .capture, stderr: Spawned.Descriptor = .capture) throws -> Spawned.Ended {
        try Spawned.run(["-c", host.conf, host.site.drive] + args, stdin: stdin, stdout: stdout, stderr: stderr)
    }

    /// The drive file is still a valid simulated LU that every host can use.
    func expectIntactAndUsable(_ site: Site, holder: String?, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let report = try SimulatedLU.verify(path: site.drive)   // throws for a file that is not a simulated LU
        #expect(report.isInitialised, "\(report)", sourceLocation: sourceLocation)
        #expect(try site.holderKey() == holder, sourceLocation: sourceLocation)
        let query = try CLI.run([site.drive, "query"])
        #expect(query.status == 0 && query.stderr.isEmpty, "\(query)", sourceLocation: sourceLocation)
    }

    // MARK: SIGPIPE (item 2)

    @Test("lock -v with stderr a pipe nobody reads: exit 0 holding the lock (was 141)")
    func brokenPipeLock() throws {
        let (site, cibou, _) = try drive("pipe-lock")
        let r = try run(cibou, ["-v", "lock"], stdout: .path("/dev/null"), stderr: .brokenPipe)
        #expect(r.status == 0, "\(r)")
        #expect(try site.holderKey() == "0xbac001")
    }

    @Test("preempt with stderr a pipe nobody reads: exit 0 holding the lock (was 141)")
    func brokenPipePreempt() throws {
        let (site, cibou, dir) = try drive("pipe-preempt")
        #expect(try dir.run("lock").status == 0)
        let r = try run(cibou, ["preempt", "bac999"], stderr: .brokenPipe)
        #expect(r.status == 0, "\(r)")
        #expect(try site.holderKey() == "0xbac001")
    }

    @Test("trylock of a busy drive with stderr a pipe nobody reads: exit 1, not holding")
    func brokenPipeBusy() throws {
        let (site, cibou, dir) = try drive("pipe-busy")
        #expect(try dir.run("lock").status == 0)
        let r = try run(cibou, ["-v", "trylock"], stderr: .brokenPipe)
        #expect(r.status == 1, "\(r)")
        #expect(try site.holderKey() == "0xbac999")
    }

    @Test("query and regkeys into a pipe nobody reads: exit 7, one line (was 141)", arguments: ["query", "regkeys"])
    func brokenPipeQuery(verb: String) throws {
        let (_, cibou, _) = try drive("pipe-query")
        #expect(try cibou.run("register").status == 0)
        let r = try run(cibou, [verb], stdout: .brokenPipe)
        #expect(r.status == 7, "\(r)")
        #expect(r.stderrLines == [Self.cannotWrite + "Broken pipe"], "\(r)")
    }

    @Test("sg_persist personality into a pipe nobody reads: SIGPIPE is ignored there too, exit 0 as stdio's sg_persist")
    func brokenPipePersist() throws {
        let (site, cibou, _) = try drive("pipe-persist")
        #expect(try cibou.run("register").status == 0)
        let r = try Spawned.run(["persist", "-i", "-k", site.drive], env: ["STORAGE_CTL_INITIATOR": "iqn.2024-01.com.example:cibou"],
                                stdout: .brokenPipe)
        #expect(r.status == 0, "\(r)")
        #expect(r.signal == nil, "\(r)")
    }

    // MARK: closed standard descriptors (item 3)

    @Test("lock with stderr closed while another host holds it: the progress lines do not land in the drive")
    func closedStderrLock() throws {
        let (site, cibou, dir) = try drive("closed-lock")
        #expect(try cibou.run("trylock").status == 0)
        let r = try run(dir, ["-w", "1", "lock"], stderr: .closed)
        #expect(r.status == 4, "\(r)")
        try expectIntactAndUsable(site, holder: "0xbac001")
        #expect(try cibou.run("unlock").status == 0)
        #expect(try dir.run("trylock").status == 0)
    }

    @Test("unlock of a free drive with stderr closed: exit 0, the note does not land in the drive")
    func closedStderrUnlock() throws {
        let (site, cibou, _) = try drive("closed-unlock")
        let r = try run(cibou, ["unlock"], stderr: .closed)
        #expect(r.status == 0, "\(r)")
        try expectIntactAndUsable(site, holder: nil)
    }

    @Test("trylock -v with stderr closed: exit 0 holding it, the trace does not land in the drive")
    func closedStderrTrace() throws {
        let (site, cibou, _) = try drive("closed-trace")
        let r = try run(cibou, ["-v", "trylock"], stderr: .closed)
        #expect(r.status == 0, "\(r)")
        try expectIntactAndUsable(site, holder: "0xbac001")
    }

    @Test("query with stdout closed and more than 64 KiB to print: exit 7, one line, the drive intact")
    func closedStdoutLarge() throws {
        let site = try Site("closed-large")
        // 40 keys with 2 KiB names: query prints each name, more than 64 KiB in all
        let longName = String(repeating: "n", count: 2000)
        let names = (0..<40).map { "host_\(String(0xc00 + $0, radix: 16))=\(longName)\($0)" }.joined(separator: "\n")
        for i in 0..<40 {
            let host = try site.host("h\(i)", key: String(0xc00 + i, radix: 16), extra: names)
            #expect(try host.run("register").status == 0)
        }
        let viewer = try site.host("viewer", key: "c00", extra: names)
        let full = try run(viewer, ["query"])
        #expect(full.status == 0 && full.stdout.utf8.count > 65536, "\(full.stdout.utf8.count) bytes")
        let r = try run(viewer, ["query"], stdout: .closed)
        #expect(r.status == 7, "\(r)")
        #expect(r.stderrLines == [Self.cannotWrite + "Bad file descriptor"], "\(r)")
        try expectIntactAndUsable(site, holder: nil)
        #expect(try site.registeredKeys().count == 40)
    }

    @Test("read commands with stdout closed: exit 7, one line (were 0)",
          arguments: [["regkeys"], ["--json", "caps"], ["query"], ["status"], ["wholocked"]])
    func closedStdout(args: [String]) throws {
        let (site, cibou, _) = try drive("closed-stdout")
        #expect(try cibou.run("trylock").status == 0)
        let r = try run(cibou, args, stdout: .closed)
        #expect(r.status == 7, "\(r)")
        #expect(r.stderrLines == [Self.cannotWrite + "Bad file descriptor"], "\(r)")
        try expectIntactAndUsable(site, holder: "0xbac001")
    }

    @Test("all three standard descriptors closed: lock still exits 0 holding it, the drive intact")
    func allClosed() throws {
        let (site, cibou, _) = try drive("closed-all")
        let r = try run(cibou, ["-v", "lock"], stdin: .closed, stdout: .closed, stderr: .closed)
        #expect(r.status == 0, "\(r)")
        try expectIntactAndUsable(site, holder: "0xbac001")
    }

    @Test("stdin closed: query works and the drive stays intact")
    func closedStdin() throws {
        let (site, cibou, _) = try drive("closed-stdin")
        #expect(try cibou.run("trylock").status == 0)
        let r = try run(cibou, ["query"], stdin: .closed)
        #expect(r.status == 0 && r.stdout.contains("<< Reservation holder >>"), "\(r)")
        try expectIntactAndUsable(site, holder: "0xbac001")
    }

    @Test("sg_persist personality with stderr closed: the drive intact")
    func closedStderrPersist() throws {
        let (site, _, _) = try drive("closed-persist")
        // an empty file and no service action: sg_persist's notes go to stderr
        let r = try Spawned.run(["persist", site.drive], env: ["STORAGE_CTL_INITIATOR": "iqn.2024-01.com.example:cibou"],
                                stderr: .closed)
        #expect(r.status == 0, "\(r)")
        try expectIntactAndUsable(site, holder: nil)
    }

    @Test("stdout a non-blocking pipe (left so by the caller) that fills up: the whole output arrives, none dropped")
    func nonBlockingStdout() throws {
        let site = try Site("nonblocking")
        for i in 0..<50 {
            let host = try site.host("h\(i)", key: String(0xc00 + i, radix: 16))
            #expect(try host.run("register").status == 0)
        }
        let expected = try CLI.run([site.drive, "query"]).stdout
        #expect(expected.utf8.count > 2 * 4096)
        let ends = try Spawned.pipe()
        defer { close(ends[0]) }
        _ = fcntl(ends[1], 1031 /* F_SETPIPE_SZ, not imported */, 4096)
        _ = fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK)
        let child = try Spawned([site.drive, "query"], stdout: .descriptor(ends[1]))
        close(ends[1])
        // the pipe is full and the write would block (EAGAIN): storage-ctl must wait for the reader
        #expect(child.awaitBlocked(in: SystemCall.poll), "never waited for the reader")
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(ends[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        let r = child.wait()
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")
        #expect(String(decoding: bytes, as: UTF8.self) == expected, "\(bytes.count) of \(expected.utf8.count) bytes")
    }

    // MARK: failed output is a failure (item 5)

    @Test("read commands into /dev/full: exit 7, one line (were 0)",
          arguments: [["regkeys"], ["--json", "caps"], ["query"], ["status"], ["--json", "status"], ["wholocked"]])
    func fullDisk(args: [String]) throws {
        let (_, cibou, _) = try drive("full")
        #expect(try cibou.run("trylock").status == 0)
        let r = try run(cibou, args, stdout: .path("/dev/full"))
        #expect(r.status == 7, "\(r)")
        #expect(r.stderrLines == [Self.cannotWrite + "No space left on device"], "\(r)")
    }

    @Test("stdout a file past RLIMIT_FSIZE: exit 7 (was killed by SIGXFSZ, 153)")
    func fileSizeLimit() throws {
        let (site, cibou, _) = try drive("fsize")
        #expect(try cibou.run("trylock").status == 0)
        // the limit applies to the captured stderr too, so only the status is checked here
        _ = FileManager.default.createFile(atPath: site.path("query.out"), contents: Data())
        let r = try Spawned.run(["-c", "ulimit -f 0; exec \"$0\" \"$@\"", CLI.binary, "-c", cibou.conf, site.drive, "query"],
                                executable: "/bin/sh", stdout: .path(site.path("query.out")))
        #expect(r.status == 7 && r.signal == nil, "\(r)")
        #expect(try site.holderKey() == "0xbac001")
    }

    @Test("--help into /dev/full: exit 7")
    func helpFull() throws {
        let r = try Spawned.run(["--help"], stdout: .path("/dev/full"))
        #expect(r.status == 7, "\(r)")
        #expect(r.stderrLines == [Self.cannotWrite + "No space left on device"], "\(r)")
    }

    @Test("audit finding a foreign key into /dev/full: exit 7, not 1 with the list lost")
    func auditFull() throws {
        let (_, cibou, _) = try drive("audit-full")
        let stranger = try cibou.site.host("stranger", key: "5eed")
        #expect(try stranger.run("register").status == 0)
        let r = try run(cibou, ["audit"], stdout: .path("/dev/full"))
        #expect(r.status == 7, "\(r)")
        // audit's own summary line, then the failure
        #expect(r.stderrLines == ["storage-ctl: \(cibou.site.drive): 1 registered key is not in the configuration",
                                  Self.cannotWrite + "No space left on device"], "\(r)")
    }

    @Test("lock and unlock with stdout and stderr on /dev/full: they print nothing on stdout, exit 0, the truth")
    func stateChangeUnaffected() throws {
        let (site, cibou, _) = try drive("full-lock")
        var r = try run(cibou, ["-v", "lock"], stdout: .path("/dev/full"), stderr: .path("/dev/full"))
        #expect(r.status == 0, "\(r)")
        #expect(try site.holderKey() == "0xbac001")
        r = try run(cibou, ["-v", "unlock"], stdout: .path("/dev/full"), stderr: .path("/dev/full"))
        #expect(r.status == 0, "\(r)")
        #expect(try site.holderKey() == nil)
    }

    @Test("a failed command whose stdout also fails keeps its own status and its one line")
    func failureKeepsItsLine() throws {
        let (_, cibou, dir) = try drive("fail-full")
        #expect(try dir.run("lock").status == 0)
        let r = try run(cibou, ["trylock"], stdout: .path("/dev/full"))
        #expect(r.status == 1, "\(r)")
        #expect(r.stderrLines == ["storage-ctl: \(cibou.site.drive): locked by 0xbac999 (dir)"], "\(r)")
    }
}
