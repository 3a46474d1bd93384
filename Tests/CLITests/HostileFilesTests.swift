import Foundation
import Testing

/// Hostile files and paths around a drive: a foreign lock on the drive file, planted debug files,
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

    @Test("a new drive file loses access for others when created (anyone who can open it can hold its lock)")
    func newDrivePermissions() throws {
        let site = try Site("perm")
        let file = site.path("open-to-all")
        #expect(FileManager.default.createFile(atPath: file, contents: Data(), attributes: [.posixPermissions: 0o666]))
        chmod(file, 0o666)
        #expect(try CLI.run([file, "create"]).status == 0)
        let mode = (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) ?? -1
        #expect(mode == 0o660)
    }

    @Test("debug_file: a FIFO, a hard link, a symlinked directory others can write are refused with one warning; the command goes on")
    func plantedDebugFiles() throws {
        let site = try Site("plant")
        // A FIFO nobody reads: the open does not block (before: lock hung here, deaf to SIGTERM).
        let fifo = site.path("fifo.log")
        #expect(mkfifo(fifo, 0o644) == 0)
        let cibou = try site.host("cibou", key: "bac001", extra: "debug_log=1\ndebug_file=\(fifo)")
        let waiter = try cibou.start("lock")
        var r = waiter.finish(timeout: 10)
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr == "storage-ctl: warning: cannot write debug_file \(fifo): it is a FIFO, not a regular file; no debug log for this run\n", "\(r)")

        // A FIFO someone reads: opened, then refused on what fstat says.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        r = try cibou.run("unlock")
        #expect(r.status == 0 && r.stderr.contains("debug_file \(fifo): it is a FIFO"), "\(r)")

        // A device is refused before it is opened (opening one can have effects); a configuration too, but
        // /dev/null, an empty configuration.
        let device = try site.host("dev", key: "bac004", extra: "debug_log=1\ndebug_file=/dev/zero")
        r = try device.run("register")
        #expect(r.status == 0 && r.stderr == "storage-ctl: warning: cannot write debug_file /dev/zero: it is a character device, not a regular file; no debug log for this run\n", "\(r)")
        try CLI.run(["-c", "/dev/zero", site.drive, "regkeys"]).expectOneErrorLine(2, contains: "cannot read configuration /dev/zero: it is a character device, not a regular file")
        #expect(try CLI.run(["-c", "/dev/null", site.drive, "regkeys"]).status == 0)

        // A hard link to another file.
        let victim = site.path("victim")
        try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let hard = site.path("hard.log")
        #expect(link(victim, hard) == 0)
        let linked = try site.host("dir", key: "bac999", extra: "debug_log=1\ndebug_file=\(hard)")
        r = try linked.run("register")
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr == "storage-ctl: warning: cannot write debug_file \(hard): it has 2 hard links (a link planted to another file?); no debug log for this run\n", "\(r)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")

        // A symbolic link to a directory, planted in a directory anyone can write (not sticky).
        let open = site.path("pub")
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true)
        #expect(chmod(open, 0o777) == 0)
        let target = site.path("elsewhere")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: open + "/logs", withDestinationPath: target)
        let planted = try site.host("p", key: "bac002", extra: "debug_log=1\ndebug_file=\(open)/logs/x.log")
        r = try planted.run("register")
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr == "storage-ctl: warning: cannot write debug_file \(open)/logs/x.log: \(open)/logs is a symbolic link in \(open), a directory others can write; no debug log for this run\n", "\(r)")
        #expect(!FileManager.default.fileExists(atPath: target + "/x.log"))

        // The same link in a directory only we can write is followed.
        try FileManager.default.createSymbolicLink(atPath: site.path("mine"), withDestinationPath: target)
        let mine = try site.host("m", key: "bac003", extra: "debug_log=1\ndebug_file=\(site.path("mine"))/x.log")
        r = try mine.run("register")
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")
        #expect(FileManager.default.fileExists(atPath: target + "/x.log"))
    }

    @Test("configuration: ownership is checked on the descriptor read, not the path again (a symlink flipped 300 times)",
          .enabled(if: getuid() == 0, "needs root to own one file and not the other"))
    func configSwapRace() throws {
        let site = try Site("swap")
        let rootConf = site.path("root.conf")
        try "key=bac001\ninitiator=iqn.2024-01.com.example:root\n".write(toFile: rootConf, atomically: false, encoding: .utf8)
        chmod(rootConf, 0o600)
        let userConf = site.path("user.conf")
        try "key=bac666\ninitiator=iqn.2024-01.com.example:user\n".write(toFile: userConf, atomically: false, encoding: .utf8)
        chmod(userConf, 0o644)
        chown(userConf, 65534, 65534)
        let conf = site.path("conf")
        let temp = site.path("conf.new")
        symlink(rootConf, conf)
        final class Flag: @unchecked Sendable { var stop = false; let lock = NSLock() }
        let flag = Flag()
        let flipper = Thread {
            var toUser = true
            while true {
                flag.lock.lock(); let stop = flag.stop; flag.lock.unlock()
                if stop { break }
                unlink(temp)
                symlink(toUser ? userConf : rootConf, temp)
                rename(temp, conf)
                toUser.toggle()
            }
        }
        flipper.start()
        var refused = 0, registered = 0, other: [String] = []
        for _ in 0..<300 {
            let r = try CLI.run(["-c", conf, site.drive, "register"])
            switch r.status {
            case 0: registered += 1
            case 2 where r.stderr.contains("refusing a configuration owned by uid 65534"): refused += 1
            default: other.append("\(r)")
            }
        }
        flag.lock.lock(); flag.stop = true; flag.lock.unlock()
        let keys = try CLI.run([site.drive, "regkeys"]).stdout
        print("config swap race: 300 tries, \(registered) registered with root's file, \(refused) refused the user's file, registered keys: \(keys.split(separator: "\n"))")
        #expect(keys == "0xbac001\n", "the user's key was registered by root")
        #expect(other.isEmpty, "\(other.prefix(3))")
        #expect(refused > 0 && registered > 0, "the race was not exercised")
    }

    @Test("configuration below a directory others can write is refused for state-changing commands")
    func configDirectory() throws {
        let site = try Site("confdir")
        let shared = site.path("shared")
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        let conf = shared + "/s.conf"
        try "key=bac001\n".write(toFile: conf, atomically: false, encoding: .utf8)
        chmod(conf, 0o600)
        #expect(chmod(shared, 0o775) == 0)
        try CLI.run(["-c", conf, site.drive, "register"]).expectOneErrorLine(2, contains: "\(conf): refusing a configuration below \(shared), a directory others can change")
        #expect(try CLI.run(["-c", conf, site.drive, "regkeys"]).status == 0)   // reading commands still work
        #expect(chmod(shared, 0o1777) == 0)   // sticky, as /tmp: others cannot replace our file
        #expect(try CLI.run(["-c", conf, site.drive, "register"]).status == 0)
    }

    @Test("messages stay one line: DEVICE, -c and configured values with newlines, escapes or 5000 bytes are escaped and capped")
    func oneLineMessages() throws {
        let site = try Site("oneline")
        let fake = "/no/such/x\nstorage-ctl: FAKE \u{1B}[31m"
        var r = try CLI.run([fake, "regkeys"])
        r.expectOneErrorLine(3, contains: "storage-ctl: /no/such/x\\x0astorage-ctl: FAKE \\x1b[31m: ")
        #expect(!r.stderr.contains("\u{1B}"))

        r = try CLI.run(["-c", "/no/such\nconf", site.drive, "regkeys"])
        r.expectOneErrorLine(2, contains: "cannot read configuration /no/such\\x0aconf: No such file or directory")

        let long = "/" + String(repeating: "d", count: 5000)
        r = try CLI.run([long, "regkeys"])
        r.expectOneErrorLine(3, contains: "...(")
        #expect(r.stderr.utf8.count < 400, "\(r.stderr.utf8.count) bytes")

        r = try CLI.run([site.drive, "frobnicate\u{1B}]0;owned\u{07}"])
        r.expectOneErrorLine(2, contains: "unknown command 'frobnicate\\x1b]0;owned\\x07'")

        let conf = site.path("bad name.conf")
        try "key=bac001\nmax_lock_wait=\"1\u{1B}[2J\"\n".write(toFile: conf, atomically: false, encoding: .utf8)
        r = try CLI.run(["-c", conf, site.drive, "regkeys"])
        r.expectOneErrorLine(2, contains: ":2: invalid max_lock_wait '1\\x1b[2J'")
    }

    @Test("an invalid initiator name is a configuration error (exit 2), from the file, --initiator or the environment")
    func invalidInitiator() throws {
        let site = try Site("initiator")
        let drive = try Data(contentsOf: URL(fileURLWithPath: site.drive))
        let rule = "must be 1 to 223 printable ASCII characters without spaces"
        let conf = site.path("i.conf")
        try "key=bac001\ninitiator='iqn.x host'\n".write(toFile: conf, atomically: false, encoding: .utf8)
        try CLI.run(["-c", conf, site.drive, "register"]).expectOneErrorLine(2, contains: "\(conf):2: initiator: invalid initiator name \"iqn.x host\": \(rule)")
        try CLI.run(["--initiator", String(repeating: "x", count: 224), "-k", "bac001", site.drive, "register"])
            .expectOneErrorLine(2, contains: "--initiator: invalid initiator name (224 bytes): \(rule)")
        try CLI.run(["-k", "bac001", site.drive, "register"], env: ["STORAGE_CTL_INITIATOR": "caf\u{E9}"])
            .expectOneErrorLine(2, contains: "STORAGE_CTL_INITIATOR: invalid initiator name \"caf??\": \(rule)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: site.drive)) == drive, "the drive was touched")
    }

    /// Runs storage-ctl through sh, so that `printf %b` can put bytes that are not UTF-8 into argv (Foundation's
    /// Process takes Strings): each argument is a `%b` string (`\\0377` is the byte FF).
    func runRaw(_ arguments: [String], script: String = "exec \"$bin\" \"$@\"") throws -> CLI.Result {
        let decode = "bin=$1; shift; n=$#; i=0; while [ $i -lt $n ]; do v=$(printf 'X%b' \"$1\"); shift; "
            + "set -- \"$@\" \"${v#X}\"; i=$((i+1)); done; "
        return try CLI.run(["-c", decode + script, "sh", CLI.binary] + arguments, executable: "/bin/sh")
    }

    @Test("paths are bytes: DEVICE, -c and the personality's DEVICE open exactly the bytes given; NUL in debug_file is an error")
    func pathsAreBytes() throws {
        let site = try Site("bytes")
        let repaired = site.path("lu\u{FFFD}")          // what a UTF-8 repair of lu\xff would name
        _ = FileManager.default.createFile(atPath: repaired, contents: Data())
        let raw = site.path("lu") + "\\0377"            // printf %b: lu + byte FF
        var r = try runRaw(["-k", "bac001", raw, "register"])
        r.expectOneErrorLine(3, contains: "\(site.path("lu"))\\xff: no such file or device")
        r = try runRaw(["persist", "--in", "-k", raw])
        #expect(r.status != 0, "\(r)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: repaired)).isEmpty, "the repaired name was used")

        // Created by its bytes, it is that file that becomes the drive.
        #expect(try runRaw([raw], script: ": > \"$1\"").status == 0)
        r = try runRaw(["-k", "bac001", raw, "register"])
        r.expectOneErrorLine(3, contains: "\(site.path("lu"))\\xff: an empty file, not a simulated drive")
        #expect(try runRaw([raw, "create"]).status == 0)
        r = try runRaw(["-k", "bac001", raw, "register"])
        #expect(r.status == 0, "\(r)")
        r = try runRaw([raw, "regkeys"])
        #expect(r.status == 0 && r.stdout == "0xbac001\n", "\(r)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: repaired)).isEmpty)

        // Its lock record is keyed by the file those bytes name (device and inode), not the repaired name's.
        #expect(try runRaw(["-k", "bac001", raw, "trylock"]).status == 0)
        let ids = try runRaw([raw], script: "stat -c '%d %i' \"$1\"").stdout.split(separator: " ")
            .compactMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(ids.count == 2)
        let record = CLI.runDirectory + "/lu-\(String(ids[0], radix: 16))-\(String(ids[1], radix: 16))-key-bac001"
        #expect(try String(contentsOfFile: record, encoding: .utf8).hasPrefix("held "))
        r = try runRaw(["-k", "bac001", raw, "status"])
        #expect(r.status == 0 && r.stdout.wholeMatch(of: /key=0xbac001 registered=1 locked=1 blockedby=no heldfor=\d+\n/) != nil, "\(r)")
        #expect(try runRaw(["-k", "bac001", raw, "unlock"]).status == 0)

        // -c by its bytes too.
        try "key=bac001\n".write(toFile: site.path("c\u{FFFD}.conf"), atomically: false, encoding: .utf8)
        r = try runRaw(["-c", site.path("c") + "\\0377.conf", site.drive, "register"])
        r.expectOneErrorLine(2, contains: "cannot read configuration \(site.path("c"))\\xff.conf: No such file or directory")

        // Two arguments whose bytes differ but read the same once repaired: which one is DEVICE cannot be told.
        r = try runRaw(["-c", site.path("lu") + "\\0376", raw, "regkeys"])
        r.expectOneErrorLine(2, contains: "two arguments that are not UTF-8 read the same")

        // A NUL in a path from the configuration is an error, not a shorter path.
        let conf = site.path("nul.conf")
        try "key=bac001\ndebug_log=1\ndebug_file=\"\(site.path("log"))\u{0}.x\"\n".write(toFile: conf, atomically: false, encoding: .utf8)
        try CLI.run(["-c", conf, site.drive, "register"]).expectOneErrorLine(2, contains: "\(conf):3: debug_file: a path cannot contain a NUL byte")
        #expect(!FileManager.default.fileExists(atPath: site.path("log")))
    }
}
