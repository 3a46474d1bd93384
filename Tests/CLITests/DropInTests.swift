import Foundation
import Testing

/// Outputs a script written for the original storage-ctl can rely on, and messages that
/// say what is wrong and what was meant. Every expectation is the exact bytes.
@Suite("Drop-in outputs and messages", .serialized)
struct DropInTests {
    @Test("regkeys and wholocked print bare keys even with host_ names; names stay in status, query and --json")
    func bareKeys() throws {
        let site = try Site("bare")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")
        #expect(try dir.run("register").status == 0)
        #expect(try cibou.run("lock").status == 0)

        var r = try dir.run("regkeys")
        #expect(r.status == 0 && r.stdout == "0xbac999\n0xbac001\n" && r.stderr.isEmpty, "\(r)")
        r = try dir.run("wholocked")
        #expect(r.status == 0 && r.stdout == "0xbac001\n" && r.stderr.isEmpty, "\(r)")

        // the test scripts written for the original do
        let script = "[ \"$(\"$0\" -c \"$1\" \"$2\" wholocked)\" = 0xbac001 ] && [ \"$(\"$0\" -c \"$1\" \"$2\" regkeys | tail -n 1)\" = 0xbac001 ]"
        r = try CLI.run(["-c", script, CLI.binary, dir.conf, site.drive], executable: "/bin/sh")
        #expect(r.status == 0, "\(r)")

        r = try dir.run("status")
        #expect(r.stdout == "key=0xbac999 registered=1 locked=0 blockedby=0xbac001 name=dir blockedbyname=cibou\n", "\(r)")
        r = try dir.run("query")
        #expect(r.stdout.contains("    Key=0xbac999 (dir)\n") && r.stdout.contains("    Key=0xbac001 (cibou)\n"), "\(r)")
        r = try dir.run("regkeys", "--json")
        #expect(r.stdout == "{\"device\":\"\(site.drive)\",\"generation\":2,\"keys\":[{\"key\":\"0xbac999\",\"name\":\"dir\"},{\"key\":\"0xbac001\",\"name\":\"cibou\"}]}\n", "\(r)")
        r = try dir.run("wholocked", "--json")
        #expect(r.stdout == "{\"device\":\"\(site.drive)\",\"generation\":2,\"locked\":true,\"type\":3,\"type_name\":\"Exclusive Access\",\"holders\":[{\"key\":\"0xbac001\",\"name\":\"cibou\"}]}\n", "\(r)")
    }

    @Test("audit --json: unknown entries are key objects like every other (name null) plus holds_lock")
    func auditJSON() throws {
        let site = try Site("auditjson")
        let cibou = try site.host("cibou", key: "bac001")
        let stranger = try site.host("stranger", key: "dead01")
        #expect(try cibou.run("register").status == 0)
        #expect(try stranger.run("lock").status == 0)
        let r = try cibou.run("audit", "--json")
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout == "{\"device\":\"\(site.drive)\",\"registered\":[{\"key\":\"0xbac001\",\"name\":\"cibou\"},{\"key\":\"0xdead01\",\"name\":null}],\"unknown\":[{\"key\":\"0xdead01\",\"name\":null,\"holds_lock\":true}],\"shared\":[],\"own_paths\":[],\"stale_paths\":[]}\n", "\(r)")
        #expect(r.stderr == "storage-ctl: \(site.drive): 1 registered key is not in the configuration\n", "\(r)")
    }

    @Test("help, a mistyped command and an empty DEVICE say what is wrong and what was meant (exit 2)", arguments: [
        (["help"], "unknown command 'help'; did you mean storage-ctl --help?"),
        (["version"], "unknown command 'version'; did you mean storage-ctl --version?"),
        (["DRIVE", "help"], "unknown command 'help'; did you mean storage-ctl --help?"),
        (["DRIVE", "lcok"], "unknown command 'lcok'; did you mean lock? (try 'storage-ctl --help')"),
        (["DRIVE", "Lock"], "unknown command 'Lock'; did you mean lock? (try 'storage-ctl --help')"),
        (["DRIVE", "unlcok"], "unknown command 'unlcok'; did you mean unlock? (try 'storage-ctl --help')"),
        (["DRIVE", "regkey"], "unknown command 'regkey'; did you mean regkeys? (try 'storage-ctl --help')"),
        (["DRIVE", "wholock"], "unknown command 'wholock'; did you mean wholocked? (try 'storage-ctl --help')"),
        (["DRIVE", "staus"], "unknown command 'staus'; did you mean status? (try 'storage-ctl --help')"),
        (["DRIVE", "frobnicate"], "unknown command 'frobnicate' (try 'storage-ctl --help')"),
        (["DRIVE", "lk"], "unknown command 'lk' (try 'storage-ctl --help')"),
        (["DRIVE", "scan"], "scan takes no DEVICE before it (usage: storage-ctl [OPTIONS] scan)"),
        (["DRIVE", "scna"], "unknown command 'scna' (try 'storage-ctl --help')"),
        (["DRIVE", "persist"], "persist takes no DEVICE before it (usage: storage-ctl persist [sg_persist OPTIONS] DEVICE)"),
        (["lcok"], "missing COMMAND after DEVICE lcok (did you mean storage-ctl DEVICE lock?)"),
        (["scna"], "missing COMMAND after DEVICE scna (did you mean storage-ctl scan?)"),
        (["DRIVE"], "missing COMMAND after DEVICE DRIVE (try 'storage-ctl --help')"),
        (["", "lock"], "DEVICE is empty (''): name /dev/sgN, a SCSI disk, a tape node or a simulated drive's file"),
        (["", "regkeys"], "DEVICE is empty (''): name /dev/sgN, a SCSI disk, a tape node or a simulated drive's file"),
    ])
    func whatWasMeant(arguments: [String], message: String) throws {
        let site = try Site("meant")
        let r = try CLI.run(arguments.map { $0 == "DRIVE" ? site.drive : $0 })
        let expected = message.replacingOccurrences(of: "DEVICE DRIVE", with: "DEVICE \(site.drive)")
        #expect(r.status == 2 && r.stdout.isEmpty && r.stderr == "storage-ctl: \(expected)\n", "\(r)")
    }

    @Test("spaces around = in the configuration: the line, what is wrong and what was meant", arguments: [
        ("key = bac001", "key=bac001"),
        ("key =bac001", "key=bac001"),
        ("key= bac001", "key=bac001"),
        ("max_lock_wait = 60   # one minute", "max_lock_wait=60"),
        ("host_bac999 = 'dir one'", "host_bac999='dir one'"),
        ("key = \u{1B}[2Jbac001\r", "key=\\x1b[2Jbac001"),
        ("initiator = " + String(repeating: "x", count: 100), "initiator=" + String(repeating: "x", count: 60) + "..."),
    ])
    func spacesAroundEquals(line: String, meant: String) throws {
        let site = try Site("spaces")
        let conf = site.path("s.conf")
        try "# storage-ctl\n\(line)\n".write(toFile: conf, atomically: true, encoding: .utf8)
        let r = try CLI.run(["-c", conf, site.drive, "regkeys"])
        #expect(r.status == 2 && r.stdout.isEmpty, "\(r)")
        #expect(r.stderr == "storage-ctl: \(conf):2: spaces around '=' are not allowed (shell syntax); write \(meant)\n", "\(r)")
    }

    @Test("a missing key names the file to fix, or every file searched",
          .enabled(if: !["/opt/bacula/scripts/storage-ctl.conf", "/etc/bacula/storage-ctl.conf"].contains(where: FileManager.default.fileExists),
                   "a default configuration exists on this host"))
    func missingKey() throws {
        let site = try Site("nokey")
        let beside = URL(fileURLWithPath: CLI.binary).resolvingSymlinksInPath().deletingLastPathComponent().path + "/storage-ctl.conf"
        for verb in ["lock", "status"] {
            let r = try CLI.run([site.drive, verb])
            #expect(r.status == 2 && r.stdout.isEmpty, "\(r)")
            #expect(r.stderr == "storage-ctl: \(verb) needs our reservation key: no configuration file found (looked for \(beside), /opt/bacula/scripts/storage-ctl.conf, /etc/bacula/storage-ctl.conf); create one with key=, name one with -c or $STORAGE_CTL_CONF, or use --key\n", "\(r)")
        }
        let conf = site.path("nokey.conf")
        try "max_lock_wait=5\n".write(toFile: conf, atomically: true, encoding: .utf8)
        chmod(conf, 0o600)
        for verb in ["unlock", "status"] {
            let r = try CLI.run([site.drive, verb], env: ["STORAGE_CTL_CONF": conf])
            #expect(r.status == 2 && r.stderr == "storage-ctl: \(verb) needs our reservation key: set key= in \(conf) (unique to this storage daemon) or use --key\n", "\(r)")
        }
    }

    @Test("a configuration owned by another uid: root is told it must be owned by root",
          .enabled(if: getuid() == 0, "needs root to chown"))
    func ownedByAnother() throws {
        let site = try Site("owned")
        let conf = site.path("o.conf")
        try "key=bac001\n".write(toFile: conf, atomically: true, encoding: .utf8)
        chmod(conf, 0o600)
        chown(conf, 65534, 65534)
        let r = try CLI.run(["-c", conf, site.drive, "lock"])
        #expect(r.status == 2 && r.stdout.isEmpty, "\(r)")
        #expect(r.stderr == "storage-ctl: \(conf): refusing a configuration owned by uid 65534 (it must be owned by root)\n", "\(r)")
    }

    @Test("preempt: an unregistered KEY is the device's state (exit 1); a registered non-holder loses its registration")
    func preemptCodes() throws {
        let site = try Site("preemptcodes")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")
        let third = try site.host("third", key: "bac555")
        #expect(try dir.run("register").status == 0)
        #expect(try third.run("lock").status == 0)

        var r = try cibou.run("preempt", "5ca1ab1e")
        #expect(r.status == 1 && r.stdout.isEmpty && r.stderr == "storage-ctl: \(site.drive): 0x5ca1ab1e is not registered; nothing to preempt\n", "\(r)")
        // dir is registered but does not hold the lock: its registration goes, the lock stays with bac555
        r = try cibou.run("preempt", "bac999")
        #expect(r.status == 1 && r.stdout.isEmpty && r.stderr == "storage-ctl: \(site.drive): removed the registration of 0xbac999 (dir), but the lock is held by 0xbac555\n", "\(r)")
        #expect(try cibou.run("regkeys").stdout == "0xbac555\n0xbac001\n")
        #expect(try third.run("unlock").status == 0)
        #expect(try dir.run("register").status == 0)
        // with the lock free, preempting a registered non-holder takes the lock as trylock does
        r = try cibou.run("preempt", "bac999")
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr == "storage-ctl: \(site.drive): removed the registration of 0xbac999 (dir); we hold the lock\n", "\(r)")
        #expect(try cibou.run("wholocked").stdout == "0xbac001\n")
    }

    @Test("lock -w 0.3 gives up saying 0.3 s; a signal after a fraction of a second says how long, not 0 s")
    func subSecondWaits() throws {
        let site = try Site("subsecond")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")
        #expect(try dir.run("lock").status == 0)
        var r = try cibou.run("lock", "-w", "0.3")
        #expect(r.status == 4 && r.stdout.isEmpty, "\(r)")
        #expect(CLI.pollCountsMasked(r.stderr) == """
            storage-ctl: \(site.drive): lock held by 0xbac999 (dir); waiting up to 0.3 s
            storage-ctl: \(site.drive): gave up after 0.3 s: lock held by 0xbac999 (dir); the same holder at all N polls

            """, "\(r)")

        let waiter = try cibou.start("lock")
        #expect(waiter.waitForStderr(containing: "waiting up to 30 s"), "\(waiter.stderrSoFar)")
        usleep(400_000)
        kill(waiter.process.processIdentifier, SIGINT)
        r = waiter.finish()
        #expect(r.status == 5 && r.stderrLines.count == 2, "\(r)")
        let prefix = "storage-ctl: \(site.drive): interrupted by SIGINT after "
        let suffix = " s waiting; lock held by 0xbac999 (dir)"
        let last = r.stderrLines.last ?? ""
        #expect(last.hasPrefix(prefix) && last.hasSuffix(suffix), "\(r)")
        let shown = String(last.dropFirst(prefix.count).dropLast(suffix.count))
        let seconds = try #require(Double(shown), "\(r)")
        #expect(seconds >= 0.4 && seconds < 20 && shown.contains("."), "\(r)")
    }

    @Test("--help ends with what stdout and stderr carry and every exit code, 6 and 7 included")
    func helpTail() throws {
        let r = try CLI.run(["--help"])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r)")
        let tail = r.stdout.range(of: "\nOutput: ").map { String(r.stdout[$0.lowerBound...]) }
        #expect(tail == """

            Output: results go to stdout and nowhere else. stderr carries notes (unlock when
            not holding; what clear and preempt removed; audit's count), a waiting lock's
            progress lines (one when it starts waiting, at most one every 30 s, one saying
            how long it waited when it gets the drive), warnings (unknown settings; a
            debug_file that cannot be written: one line a run) and -v traces. A failure
            adds exactly one line, always the last one: storage-ctl: DEVICE: what happened.

            Exit status:
              0  done (lock, trylock: we hold the lock)
              1  busy: another key holds the lock, or the device refused the command with
                 RESERVATION CONFLICT (preempt: KEY is not registered); audit: a registered
                 key the configuration does not name, a key registered through initiators of
                 more than one host, or ours through a path of this host that is gone
              2  usage or configuration error (an empty DEVICE, preempt of our own key, a
                 command that needs a key and finds none, a configuration that cannot be
                 read)
              3  device error (cannot open, not SCSI, no PR support, SCSI or I/O error,
                 timeout); drives: some drive could not be asked (its row says why)
              4  lock gave up after max_lock_wait seconds
              5  interrupted by SIGINT, SIGTERM, SIGHUP or SIGQUIT while lock waited or
                 before the first SCSI command was sent; nothing was taken
              6  our initiator is already registered under another key: two storage daemons
                 share one initiator (set initiator=) or key= was changed
              7  output could not be written (stdout: full disk, closed or broken pipe)

            check exits as a Nagios plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; after check,
            -w, -c and -t are its warning, critical and timeout, as for every plugin.

            Environment:
              STORAGE_CTL_CONF
                  the configuration file, when -c names none
              STORAGE_CTL_INITIATOR
                  simulated drives: this host's initiator name, when neither --initiator nor
                  initiator= names one
              STORAGE_CTL_RUN_DIR
                  where lock records are kept, overriding run_dir=
              XDG_RUNTIME_DIR
                  not root: the lock records' default place is $XDG_RUNTIME_DIR/storage-ctl

            """, "\(r)")
        #expect(r.stdout.contains("\n  clear                 remove every registration and the lock (CLEAR); stderr lists what was removed\n"), "\(r)")
        #expect(r.stdout.contains("""

            Options:
              -c, --config FILE     configuration file (default: $STORAGE_CTL_CONF, storage-ctl.conf
                                    beside the executable, /opt/bacula/scripts/storage-ctl.conf,
                                    /etc/bacula/storage-ctl.conf)
              -C, --sd-config FILE  drives, check: the storage daemon's bacula-sd.conf (default:
                                    /opt/bacula/etc/bacula-sd.conf, /etc/bacula/bacula-sd.conf)
              -k, --key HEX         our reservation key (overrides key= in the file)
              -t, --type T          reservation type 1,3,5,6,7,8 or wr-ex, ex-ac, wr-ex-ro,
                                    ex-ac-ro, wr-ex-ar, ex-ac-ar (default 3, Exclusive Access)
              -w, --wait SECONDS    lock: how long it may wait (overrides max_lock_wait)
                  --json            machine output (query, regkeys, wholocked, status, caps, scan, audit,
                                    drives)
                  --prometheus      drives: Prometheus text format (node_exporter textfile collector)
                  --held-warning SECONDS
                                    check (check -w): WARNING when this host has held a drive
                                    this long
                  --held-critical SECONDS
                                    check (check -c): CRITICAL when this host has held a drive
                                    this long
                  --timeout SECONDS drives, check: time limit of the whole survey; drives not
                                    asked by then are rows with that error (default: none;
                                    check -t)
                  --initiator NAME  simulated LU only: this host's initiator name
                  --backend NAME    block nodes: sgio (SCSI commands) or block (the kernel's
                                    IOC_PR_* ioctls); overrides backend= (default: by node kind)
              -v, --verbose         trace each SCSI command on stderr
              -h, --help            this text
              -V, --version         print the version

            """), "\(r)")
    }

    @Test("a debug_file that cannot be written: one warning a run, before the one failure line, which stays last")
    func badDebugFile() throws {
        let site = try Site("baddebug")
        let cibou = try site.host("cibou", key: "bac001", extra: "debug_log=1\ndebug_file=\(site.path("no-such-dir/storage-ctl.log"))")
        let dir = try site.host("dir", key: "bac999")
        #expect(try dir.run("lock").status == 0)
        let r = try cibou.run("trylock")
        #expect(r.status == 1, "\(r)")
        let lines = r.stderrLines
        #expect(lines.filter { $0.contains("debug_file") }.count == 1, "\(r)")
        #expect(lines.first == "storage-ctl: warning: cannot write debug_file \(site.path("no-such-dir/storage-ctl.log")): No such file or directory; no debug log for this run", "\(r)")
        #expect(lines.count == 2, "\(r)")
        #expect(lines.last == "storage-ctl: \(site.drive): locked by 0xbac999 (dir)", "\(r)")
    }
}
