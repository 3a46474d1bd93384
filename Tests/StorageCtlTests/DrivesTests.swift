import Foundation
import PRCore
import Testing
import ProcessSupport
import Transports
@testable import StorageCtl

/// A storage daemon's drives on simulated LUs in a temporary directory, driven through the CLI in
/// this process: `drives`, `check` and `--prometheus` over a bacula-sd.conf naming them.
///
/// The bed: Drive0 locked by this host (cibou, 0xbac001), Drive1 locked by dir (0xbac999) with cibou
/// registered, Drive2 a damaged file (with a Lock Command that is not storage-ctl), Drive3 a missing file,
/// Drive4 registered by a key nobody configured (0xdead), Drive5 on Drive4's Control Device.
final class DriveBed {
    let dir: String
    var runDirectory: String { dir + "/run" }
    /// The boot clock the CLI reads here (nanoseconds since boot): the bed's own, standing still
    /// unless a test moves it, so hold ages are exact and independent of the machine's uptime (a CI
    /// machine may have been up for a minute). Three days by default; `booted:` for a fresh boot.
    var bootNow: Int64
    /// The boot the bed's clock counts from: this machine's, unless a test plays another.
    var bootID: BootID? = BootID.current

    init(booted bootNow: Int64 = 3 * 86_400 * 1_000_000_000) throws {
        self.bootNow = bootNow
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("storage-ctl-drives-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try write("cibou.conf", "key=bac001\nhost_bac001=cibou\nhost_bac999=dir\ninitiator=iqn.2024-01.com.example:cibou\n")
        try write("dir.conf", "key=bac999\ninitiator=iqn.2024-01.com.example:dir\n")
        try write("rogue.conf", "key=dead\ninitiator=iqn.2024-01.com.example:rogue\n")
        for drive in ["drive0", "drive1", "drive4"] { #expect(run([path(drive), "create"]).0 == 0) }
        try write("drive2", "garbage that is not a drive")
        try write("sd.conf", Self.storage + Self.changer + device(0) + device(1) + device(2, lock: "/usr/local/bin/other-lock %l %o")
                  + device(3, archive: false, lock: "storage-ctl %l %o") + device(4, lock: "storage-ctl %l %o")
                  + device(5, control: 4, lock: "storage-ctl %l %o"))
        try write("sd-ok.conf", Self.storage + Self.changer + device(0) + device(1))
        #expect(run(["-c", path("cibou.conf"), path("drive0"), "lock"]).0 == 0)
        #expect(run(["-c", path("cibou.conf"), path("drive1"), "register"]).0 == 0)
        #expect(run(["-c", path("dir.conf"), path("drive1"), "lock"]).0 == 0)
        #expect(run(["-c", path("rogue.conf"), path("drive4"), "register"]).0 == 0)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    static let storage = "Storage {\n  Name = cibou-sd\n  Working Directory = /tmp\n}\n"
    static let changer = """
        Autochanger {
          Name = Changer1
          Changer Device = /dev/null
          Device = Drive0, Drive1
          Lock Command = "/opt/bacula/scripts/storage-ctl %l %o"
        }

        """

    func device(_ n: Int, control: Int? = nil, archive: Bool = true, lock: String? = nil) -> String {
        "Device {\n  Name = Drive\(n)\n" + (archive ? "  Archive Device = /dev/nst\(n)\n" : "")
            + "  Control Device = \"\(path("drive\(control ?? n)"))\"\n" + (lock.map { "  Lock Command = \"\($0)\"\n" } ?? "") + "}\n"
    }

    func path(_ name: String) -> String { dir + "/" + name }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path(name), atomically: false, encoding: .utf8)
    }

    /// Runs the CLI in this process on real simulated LUs; lock records in this bed's run directory.
    func run(_ args: [String]) -> (Int32, String, [String]) {
        var out = ""
        var err: [String] = []
        let runDirectory = runDirectory
        var env = StorageCtlMain.Environment(variable: { $0 == "STORAGE_CTL_RUN_DIR" ? runDirectory : nil },
                                             openDevice: { (path, request) throws(TransportError) in try ReservationDevices.open(path, request) },
                                             sleeper: { { _ in nil } })
        env.bootClock = BootClock(now: { [bootNow] in bootNow }, bootID: bootID)
        let code = StorageCtlMain.run(args, environment: env, stdout: &out, stderrLine: { err.append($0) })
        return (code, out.replacingOccurrences(of: dir, with: "T"), err.map { $0.replacingOccurrences(of: dir, with: "T") })
    }

    /// `storage-ctl -c cibou.conf -C CONF ARGS...`: this host is cibou.
    func cibou(_ conf: String, _ args: String...) -> (Int32, String, [String]) {
        run(["-c", path("cibou.conf"), "-C", path(conf)] + args)
    }

    /// This host's record of `drive`, on the bed's clock.
    func store(drive: String = "drive0") throws -> LockRecordStore {
        let clock = BootClock(now: { [bootNow] in bootNow }, bootID: bootID)
        return try #require(LockRecordStore(directory: runDirectory, devicePath: path(drive), key: ReservationKey(0xbac001),
                                            clock: clock, trace: { _ in }))
    }

    /// This host's record of Drive0 rewritten as taken `age` nanoseconds ago (its file written now).
    func age(drive: String = "drive0", by age: Int64) throws {
        let store = try store(drive: drive)
        var record = try #require(store.load())
        record.since = bootNow - age
        store.save(record)
    }

    static let twoHours: Int64 = 7_200_000_000_000
}

@Suite("drives, check, --prometheus over bacula-sd.conf")
struct DrivesTests {
    @Test("drives: one block per drive; failing drives are rows with their error; exit 3 naming them")
    func listing() throws {
        let bed = try DriveBed()
        try bed.age(by: DriveBed.twoHours)
        let (code, out, err) = bed.cibou("sd.conf", "drives")
        #expect(code == 3)
        #expect(err == ["storage-ctl: 2 of 6 drives could not be asked: Drive2, Drive3"])
        #expect(out == """
            Drive0  (Autochanger Changer1)
              archive device  /dev/nst0
              control device  T/drive0
              lock command    /opt/bacula/scripts/storage-ctl %l %o  (from Autochanger Changer1)
              device          STORCTL SIM TAPE 1.0 (tape)
              keys            0xbac001 (cibou)
              holder          0xbac001 (cibou)
              this host       key=0xbac001 registered=1 locked=1 heldfor=7200

            Drive1  (Autochanger Changer1)
              archive device  /dev/nst1
              control device  T/drive1
              lock command    /opt/bacula/scripts/storage-ctl %l %o  (from Autochanger Changer1)
              device          STORCTL SIM TAPE 1.0 (tape)
              keys            0xbac001 (cibou), 0xbac999 (dir)
              holder          0xbac999 (dir)
              this host       key=0xbac001 registered=1 locked=0

            Drive2
              archive device  /dev/nst2
              control device  T/drive2
              lock command    /usr/local/bin/other-lock %l %o
              error           T/drive2: not a storage-ctl simulated LU (unrecognised format)
              note            the Lock Command does not run storage-ctl

            Drive3
              archive device  -
              control device  T/drive3
              lock command    storage-ctl %l %o
              error           T/drive3: no such file or device

            Drive4
              archive device  /dev/nst4
              control device  T/drive4
              lock command    storage-ctl %l %o
              device          STORCTL SIM TAPE 1.0 (tape)
              keys            0xdead
              holder          none
              this host       key=0xbac001 registered=0 locked=0
              unknown keys    0xdead  (not in storage-ctl.conf)
              note            Control Device shared with Drive5

            Drive5
              archive device  /dev/nst5
              control device  T/drive4
              lock command    storage-ctl %l %o
              device          STORCTL SIM TAPE 1.0 (tape)
              keys            0xdead
              holder          none
              this host       key=0xbac001 registered=0 locked=0
              unknown keys    0xdead  (not in storage-ctl.conf)
              note            Control Device shared with Drive4

            """)
        // Every drive answering: exit 0, nothing on stderr.
        let ok = bed.cibou("sd-ok.conf", "drives")
        #expect(ok.0 == 0 && ok.2.isEmpty, "\(ok)")
    }

    @Test("drives --json: one document, a row per drive, errors and this host's state included")
    func json() throws {
        let bed = try DriveBed()
        let (code, out, _) = bed.cibou("sd.conf", "drives", "--json")
        #expect(code == 3)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let drives = try #require(document["drives"] as? [[String: Any]])
        #expect(drives.map { $0["name"] as? String } == ["Drive0", "Drive1", "Drive2", "Drive3", "Drive4", "Drive5"])
        #expect(drives.map { $0["up"] as? Bool } == [true, true, false, false, true, true])
        #expect(drives[0]["locked"] as? Bool == true && drives[0]["held_for"] as? Int == 0)
        #expect((drives[1]["holder"] as? [String: Any])?["name"] as? String == "dir")
        #expect(drives[1]["lock_command_from"] as? String == "autochanger")
        #expect(drives[2]["error"] as? String == "T/drive2: not a storage-ctl simulated LU (unrecognised format)")
        #expect(drives[2]["lock_command_is_storage_ctl"] as? Bool == false)
        #expect((drives[4]["unknown_keys"] as? [[String: Any]])?.first?["key"] as? String == "0xdead")
        #expect(drives[4]["shares_control_device_with"] as? [String] == ["Drive5"])
        #expect(drives[5]["file"] as? String == "T/sd.conf" && drives[5]["line"] as? Int == 38, "\(drives[5])")
    }

    @Test("check: OK, WARNING and CRITICAL by held time; exit 0, 1, 2; performance data after |")
    func checkStates() throws {
        let bed = try DriveBed()
        try bed.age(by: DriveBed.twoHours)
        let perf = "'drives'=2;;;0 'unreachable'=0;;0;0 'unknown_keys'=0;;0;0 'locked'=2;;;0;2 'Drive0 keys'=1;;;0"
        let long = "Drive0: 1 key, locked by 0xbac001 (cibou), held by this host for 7200 s\nDrive1: 2 keys, locked by 0xbac999 (dir)\n"
        var r = bed.cibou("sd-ok.conf", "check")
        #expect(r.0 == 0 && r.2.isEmpty)
        #expect(r.1 == "STORAGE-CTL OK - 2 drives, 2 locked (1 by this host) | \(perf) 'Drive0 held_for'=7200s;;;0 'Drive1 keys'=2;;;0 'Drive1 held_for'=0s;;;0\n" + long)
        r = bed.cibou("sd-ok.conf", "check", "--held-warning", "3600", "--held-critical", "86400")
        #expect(r.0 == 1)
        #expect(r.1 == "STORAGE-CTL WARNING - Drive0: held by this host for 7200 s (warning at 3600 s) | \(perf) 'Drive0 held_for'=7200s;3600;86400;0 'Drive1 keys'=2;;;0 'Drive1 held_for'=0s;3600;86400;0\n" + long)
        r = bed.cibou("sd-ok.conf", "check", "--held-warning", "600", "--held-critical", "3600.5")
        #expect(r.0 == 2)
        #expect(r.1.hasPrefix("STORAGE-CTL CRITICAL - Drive0: held by this host for 7200 s (critical at 3600.5 s) | \(perf) 'Drive0 held_for'=7200s;600;3600.5;0 "), "\(r.1)")
    }

    @Test("check speaks Nagios: -w, -c, -t after check are warning, critical and timeout; before it, -c is the configuration")
    func checkNagiosLetters() throws {
        let bed = try DriveBed()
        try bed.age(by: DriveBed.twoHours)
        let long = bed.cibou("sd-ok.conf", "check", "--held-warning", "3600", "--held-critical", "86400", "--timeout", "30")
        var r = bed.cibou("sd-ok.conf", "check", "-w", "3600", "-c", "86400", "-t", "30")
        #expect(r.0 == 1 && r.1 == long.1 && r.2.isEmpty, "\(r)")
        #expect(r.1.hasPrefix("STORAGE-CTL WARNING - Drive0: held by this host for 7200 s (warning at 3600 s) | "), "\(r)")
        r = bed.cibou("sd-ok.conf", "check", "-w3600", "-c", "7000")
        #expect(r.0 == 2, "\(r)")
        r = bed.cibou("sd-ok.conf", "check", "-t", "0")
        #expect(r.0 == 3 && r.1 == "STORAGE-CTL UNKNOWN - invalid --timeout '0': must be more than 0\n" && r.2.isEmpty, "\(r)")
        // before check, the letters are the global options: --wait belongs to lock
        r = bed.run(["-C", bed.path("sd-ok.conf"), "-w", "3600", "check"])
        #expect(r.0 == 3 && r.1 == "STORAGE-CTL UNKNOWN - --wait goes with lock only (check's -w is --held-warning: put it after check)\n", "\(r)")
        r = bed.run(["-c", bed.path("cibou.conf"), "-C", bed.path("sd-ok.conf"), "check", "-c", "99999999999999999999"])
        #expect(r.0 == 3 && r.1 == "STORAGE-CTL UNKNOWN - invalid --held-critical '99999999999999999999': too large (at most 315360000 s, ten years)\n", "\(r)")
    }

    @Test("check: a drive this host holds without its lock record has no held_for performance data (unknown, not 0 s)")
    func checkHeldUnknown() throws {
        let bed = try DriveBed()
        try FileManager.default.removeItem(atPath: bed.runDirectory)
        let r = bed.cibou("sd-ok.conf", "check")
        #expect(r.0 == 0 && r.2.isEmpty, "\(r)")
        #expect(r.1 == """
            STORAGE-CTL OK - 2 drives, 2 locked (1 by this host) | 'drives'=2;;;0 'unreachable'=0;;0;0 'unknown_keys'=0;;0;0 'locked'=2;;;0;2 'Drive0 keys'=1;;;0 'Drive1 keys'=2;;;0 'Drive1 held_for'=0s;;;0
            Drive0: 1 key, locked by 0xbac001 (cibou)
            Drive1: 2 keys, locked by 0xbac999 (dir)

            """, "\(r)")
    }

    @Test("check: an unreachable drive or an unknown key is CRITICAL (exit 2), every drive in the long output")
    func checkCritical() throws {
        let bed = try DriveBed()
        let (code, out, err) = bed.cibou("sd.conf", "check")
        #expect(code == 2 && err.isEmpty, "\(err)")
        #expect(out == """
            STORAGE-CTL CRITICAL - 2 of 6 drives unreachable (Drive2, Drive3); Drive4: unknown key 0xdead registered; Drive5: unknown key 0xdead registered | 'drives'=6;;;0 'unreachable'=2;;0;0 'unknown_keys'=2;;0;0 'locked'=2;;;0;6 'Drive0 keys'=1;;;0 'Drive0 held_for'=0s;;;0 'Drive1 keys'=2;;;0 'Drive1 held_for'=0s;;;0 'Drive4 keys'=1;;;0 'Drive4 held_for'=0s;;;0 'Drive5 keys'=1;;;0 'Drive5 held_for'=0s;;;0
            Drive0: 1 key, locked by 0xbac001 (cibou), held by this host for 0 s
            Drive1: 2 keys, locked by 0xbac999 (dir)
            Drive2: unreachable: T/drive2: not a storage-ctl simulated LU (unrecognised format)
            Drive3: unreachable: T/drive3: no such file or device
            Drive4: 1 key, free
            Drive5: 1 key, free

            """)
    }

    @Test("check: what stops the survey is UNKNOWN, exit 3: a bacula-sd.conf that does not parse (file:line), a usage error, no drive")
    func checkUnknown() throws {
        let bed = try DriveBed()
        try bed.write("bad.conf", "Device {\n  Name = Drive0\n  Control Device = /dev/sg0\n")
        var r = bed.cibou("bad.conf", "check")
        #expect(r.0 == 3)
        #expect(r.1 == "STORAGE-CTL UNKNOWN - T/bad.conf:1: Device resource not closed: end of file reached before its '}'\n")
        // once, on stdout: Icinga shows stdout and stderr together
        #expect(r.2 == [])
        r = bed.cibou("sd.conf", "check", "--held-warning", "soon")
        #expect(r.0 == 3 && r.1 == "STORAGE-CTL UNKNOWN - invalid --held-warning 'soon': expected a number of seconds, 0 or more\n", "\(r)")
        r = bed.cibou("sd.conf", "check", "--frobnicate")
        #expect(r.0 == 3 && r.1 == "STORAGE-CTL UNKNOWN - unknown option '--frobnicate' (try 'storage-ctl --help')\n", "\(r)")
        try bed.write("empty.conf", DriveBed.storage)
        r = bed.cibou("empty.conf", "check")
        #expect(r.0 == 3 && r.1 == "STORAGE-CTL UNKNOWN - T/empty.conf: no Device resource has a Control Device: nothing to check\n", "\(r)")
        // drives itself: a configuration error, exit 2, one line.
        r = bed.cibou("bad.conf", "drives")
        #expect(r.0 == 2 && r.1.isEmpty && r.2 == ["storage-ctl: T/bad.conf:1: Device resource not closed: end of file reached before its '}'"])
    }

    @Test("check: a '|' in the plugin's text (a path in an error) is written \\x7c: Nagios takes the first '|' of any line for performance data")
    func checkPipeInText() throws {
        let bed = try DriveBed()
        try bed.write("pipe.conf", "Device {\n  Name = Drive0\n  Control Device = \"\(bed.path("a|b"))\"\n}\n")
        var r = bed.cibou("pipe.conf", "check")
        #expect(r.0 == 2)
        #expect(r.1 == """
            STORAGE-CTL CRITICAL - 1 of 1 drive unreachable (Drive0) | 'drives'=1;;;0 'unreachable'=1;;0;0 'unknown_keys'=0;;0;0 'locked'=0;;;0;1
            Drive0: unreachable: T/a\\x7cb: no such file or device

            """, "\(r)")
        r = bed.cibou("no|such.conf", "check")
        #expect(r.0 == 3 && r.1 == "STORAGE-CTL UNKNOWN - T/no\\x7csuch.conf: cannot read: No such file or directory\n", "\(r)")
        #expect(r.2 == [], "\(r)")
        // a '|' followed by a combining mark is one Character but still the byte Nagios splits at
        try bed.write("pipe-mark.conf", "Device {\n  Name = Drive0\n  Control Device = \"\(bed.path("a|\u{301}b"))\"\n}\n")
        r = bed.cibou("pipe-mark.conf", "check")
        #expect(r.0 == 2 && r.1.hasSuffix("\nDrive0: unreachable: T/a\\x7c\u{301}b: no such file or device\n"), "\(r)")
        #expect(!r.1.split(separator: "\n").dropFirst().contains { $0.utf8.contains(UInt8(ascii: "|")) }, "\(r)")
    }

    @Test("hostile bacula-sd.conf: include loop, missing include, no file: exit 2 naming the place")
    func hostileConfigurations() throws {
        let bed = try DriveBed()
        try bed.write("loop-a.conf", "@\(bed.path("loop-b.conf"))\n")
        try bed.write("loop-b.conf", "@\(bed.path("loop-a.conf"))\n")
        var r = bed.cibou("loop-a.conf", "drives")
        #expect(r.0 == 2 && r.2.count == 1 && r.2[0].hasPrefix("storage-ctl: T/loop-b.conf:1: include loop"), "\(r)")
        try bed.write("inc.conf", "@\(bed.path("nowhere.conf"))\n")
        r = bed.cibou("inc.conf", "drives")
        #expect(r.0 == 2 && r.2.count == 1 && r.2[0].contains("nowhere.conf"), "\(r)")
        r = bed.cibou("missing.conf", "drives", "--prometheus")
        #expect(r.0 == 2 && r.1.isEmpty && r.2.count == 1 && r.2[0].contains("T/missing.conf"), "\(r)")
        try bed.write("binary.conf", "Device {\u{1}\u{2}\n")
        r = bed.cibou("binary.conf", "drives")
        #expect(r.0 == 2 && r.2.count == 1 && r.2[0].hasPrefix("storage-ctl: T/binary.conf:1: "), "\(r)")
    }

    @Test("drives --prometheus: the text exposition format, exact; exit 0 with unreachable drives (drive_up 0)")
    func prometheus() throws {
        let bed = try DriveBed()
        try bed.age(by: DriveBed.twoHours)
        var r = bed.cibou("sd-ok.conf", "drives", "--prometheus")
        #expect(r.0 == 0 && r.2.isEmpty)
        let d0 = "drive=\"Drive0\",control_device=\"T/drive0\"", d1 = "drive=\"Drive1\",control_device=\"T/drive1\""
        #expect(r.1 == """
            # HELP storage_ctl_drive_up 1 if the drive's Control Device answered INQUIRY, READ KEYS and READ RESERVATION, else 0.
            # TYPE storage_ctl_drive_up gauge
            storage_ctl_drive_up{\(d0)} 1
            storage_ctl_drive_up{\(d1)} 1
            # HELP storage_ctl_drive_info The drive as bacula-sd.conf and INQUIRY describe it (always 1).
            # TYPE storage_ctl_drive_info gauge
            storage_ctl_drive_info{\(d0),archive_device="/dev/nst0",vendor="STORCTL",product="SIM TAPE",revision="1.0",lock_command="/opt/bacula/scripts/storage-ctl %l %o"} 1
            storage_ctl_drive_info{\(d1),archive_device="/dev/nst1",vendor="STORCTL",product="SIM TAPE",revision="1.0",lock_command="/opt/bacula/scripts/storage-ctl %l %o"} 1
            # HELP storage_ctl_drive_registered_keys Registrations on the drive (READ KEYS).
            # TYPE storage_ctl_drive_registered_keys gauge
            storage_ctl_drive_registered_keys{\(d0)} 1
            storage_ctl_drive_registered_keys{\(d1)} 2
            # HELP storage_ctl_drive_unknown_keys Registered keys that storage-ctl.conf does not name (key=, host_<KEY>=).
            # TYPE storage_ctl_drive_unknown_keys gauge
            storage_ctl_drive_unknown_keys{\(d0)} 0
            storage_ctl_drive_unknown_keys{\(d1)} 0
            # HELP storage_ctl_drive_locked 1 if the drive is reserved (by any host), else 0.
            # TYPE storage_ctl_drive_locked gauge
            storage_ctl_drive_locked{\(d0)} 1
            storage_ctl_drive_locked{\(d1)} 1
            # HELP storage_ctl_drive_holder_info The key holding the drive's reservation (always 1; no sample while the drive is free).
            # TYPE storage_ctl_drive_holder_info gauge
            storage_ctl_drive_holder_info{\(d0),holder="0xbac001",holder_name="cibou"} 1
            storage_ctl_drive_holder_info{\(d1),holder="0xbac999",holder_name="dir"} 1
            # HELP storage_ctl_drive_locked_by_this_host 1 if this host's key holds the drive, else 0.
            # TYPE storage_ctl_drive_locked_by_this_host gauge
            storage_ctl_drive_locked_by_this_host{\(d0)} 1
            storage_ctl_drive_locked_by_this_host{\(d1)} 0
            # HELP storage_ctl_drive_held_seconds Seconds this host has held the drive, by its lock record (no sample when it does not hold it or the record is missing).
            # TYPE storage_ctl_drive_held_seconds gauge
            storage_ctl_drive_held_seconds{\(d0)} 7200

            """)
        r = bed.cibou("sd.conf", "drives", "--prometheus")
        #expect(r.0 == 0 && r.2.isEmpty, "\(r)")
        #expect(r.1.contains("storage_ctl_drive_up{drive=\"Drive2\",control_device=\"T/drive2\"} 0\n"))
        #expect(!r.1.contains("storage_ctl_drive_registered_keys{drive=\"Drive2\""))
        #expect(r.1.contains("storage_ctl_drive_unknown_keys{drive=\"Drive4\",control_device=\"T/drive4\"} 1\n"))
        // Label values escaped as the exposition format wants: backslash, double quote, line feed.
        #expect(DriveReport.labelValue("a\"b\\c\nd") == #"a\"b\\c\nd"#)
        // Nagios labels: a quote doubled, '=' written as '_'.
        #expect(DriveReport.perf("it's=x", 1, min: 0) == "'it''s_x'=1;;;0")
    }

    @Test("status: heldfor=SECONDS last while this host holds the drive; none for a record of another boot")
    func statusHeldFor() throws {
        let bed = try DriveBed()
        let status = { bed.run(["-c", bed.path("cibou.conf"), bed.path("drive0"), "status"]) }
        try bed.age(by: DriveBed.twoHours)
        #expect(status().1 == "key=0xbac001 registered=1 locked=1 blockedby=no name=cibou heldfor=7200\n")
        let json = bed.run(["-c", bed.path("cibou.conf"), bed.path("drive0"), "status", "--json"]).1
        #expect(json.contains("\"held_for\":7200,\"paths\":1,\"stale_paths\":[],\"waiters\":[],\"fairness\":\"courtesy\",\"fairness_note\":null}"), "\(json)")
        // CLOCK_BOOTTIME restarted: a `since` later than now is from an earlier boot.
        try bed.age(by: -3_600_000_000_000)
        #expect(status().1 == "key=0xbac001 registered=1 locked=1 blockedby=no name=cibou\n")
        // A record of another boot (its boot id), though its since looks plausible: no age. Its file's time
        // does not matter (a wall clock stepped forward once hid every age this way).
        try bed.age(by: 1_500_000_000)
        #expect(try bed.store().heldFor() == 1)
        let files = try FileManager.default.contentsOfDirectory(atPath: bed.runDirectory).filter { !$0.hasPrefix(".") }
        for file in files {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1000)], ofItemAtPath: bed.runDirectory + "/" + file)
        }
        #expect(try bed.store().heldFor() == 1)
        #expect(status().1 == "key=0xbac001 registered=1 locked=1 blockedby=no name=cibou heldfor=1\n")
        let thisBoot = bed.bootID
        bed.bootID = BootID(high: 1, low: 2)
        #expect(try bed.store().heldFor() == nil && bed.store().load() == nil)
        #expect(status().1 == "key=0xbac001 registered=1 locked=1 blockedby=no name=cibou\n")
        // Where the boot cannot be told (no /proc), no record is trusted.
        bed.bootID = nil
        #expect(status().1 == "key=0xbac001 registered=1 locked=1 blockedby=no name=cibou\n")
        bed.bootID = thisBoot
        #expect(try bed.store().heldFor() == 1)
        // Not holding: no heldfor, whatever the record says.
        #expect(bed.run(["-c", bed.path("cibou.conf"), bed.path("drive1"), "status"]).1 == "key=0xbac001 registered=1 locked=0 blockedby=0xbac999 name=cibou blockedbyname=dir\n")
    }

    /// The first seconds after boot (CI may run on a machine booted a minute ago). CLOCK_BOOTTIME is small then; a hold taken 1 s after boot
    /// and looked at 10 s after boot is 9 s old, for status, drives, check and --prometheus alike.
    @Test("held time on a machine booted 10 seconds ago: a hold taken 1 s after boot is 9 s old everywhere")
    func heldTimeJustAfterBoot() throws {
        let bed = try DriveBed(booted: 1_000_000_000)
        bed.bootNow = 10_000_000_000
        let status = bed.run(["-c", bed.path("cibou.conf"), bed.path("drive0"), "status"])
        #expect(status.0 == 0 && status.1 == "key=0xbac001 registered=1 locked=1 blockedby=no name=cibou heldfor=9\n", "\(status)")
        #expect(try bed.store().load()?.since == 1_000_000_000)
        var r = bed.cibou("sd-ok.conf", "check", "--held-warning", "5", "--held-critical", "60")
        #expect(r.0 == 1 && r.1.hasPrefix("STORAGE-CTL WARNING - Drive0: held by this host for 9 s (warning at 5 s) | "), "\(r)")
        r = bed.cibou("sd-ok.conf", "check", "--held-warning", "5", "--held-critical", "9")
        #expect(r.0 == 2 && r.1.hasPrefix("STORAGE-CTL CRITICAL - Drive0: held by this host for 9 s (critical at 9 s) | "), "\(r)")
        r = bed.cibou("sd-ok.conf", "drives")
        #expect(r.0 == 0 && r.1.contains("  this host       key=0xbac001 registered=1 locked=1 heldfor=9\n"), "\(r)")
        r = bed.cibou("sd-ok.conf", "drives", "--prometheus")
        #expect(r.0 == 0 && r.1.contains("storage_ctl_drive_held_seconds{drive=\"Drive0\",control_device=\"T/drive0\"} 9\n"), "\(r)")
        // A record written in the very first instant after boot (since=0) is a record like any other.
        try bed.age(by: 10_000_000_000)
        #expect(try bed.store().load()?.since == 0)
        #expect(bed.run(["-c", bed.path("cibou.conf"), bed.path("drive0"), "status"]).1.hasSuffix(" heldfor=10\n"))
        // A courtesy window longer than the uptime: released 1 s after boot with waiters, asked 2 s after.
        let released = LockRecord(state: .released(generation: 4, waiters: true), since: 1_000_000_000, boot: BootID(high: 0, low: 1))
        #expect(released.courtesyLeft(now: 2_000_000_000, generation: 4, lockRetryMax: .seconds(5)) == .milliseconds(5_270))
        #expect(released.courtesyLeft(now: 1_000_000_000, generation: 4, lockRetryMax: .seconds(5)) == .milliseconds(6_270))
        #expect(released.courtesyLeft(now: 999_999_999, generation: 4, lockRetryMax: .seconds(5)) == nil)
    }

    /// A monitoring system kills a check that outlives its own timeout: reading bacula-sd.conf counts against
    /// --timeout too. 60,000 `@` includes take about 1.8 s to read (debug build); 0.05 s stops it at a file read.
    @Test("check/drives --timeout covers reading bacula-sd.conf: thousands of @includes stop at the deadline, UNKNOWN / exit 2")
    func timeoutCoversTheConfiguration() throws {
        let bed = try DriveBed()
        try bed.write("empty.conf", "")
        try bed.write("many.conf", String(repeating: "@\(bed.path("empty.conf"))\n", count: 60_000) + DriveBed.storage + bed.device(0))
        var r = bed.cibou("many.conf", "check", "--timeout", "0.05")
        #expect(r.0 == 3 && r.1.hasPrefix("STORAGE-CTL UNKNOWN - T/many.conf:"), "\(r)")
        #expect(r.1.hasSuffix(": cannot read included file \"T/empty.conf\": not read: the survey's --timeout of 0.05 s ran out while reading the configuration\n"), "\(r)")
        r = bed.cibou("many.conf", "drives", "--timeout", "0.05")
        #expect(r.0 == 2 && r.2.last?.contains("--timeout of 0.05 s ran out while reading the configuration") == true, "\(r)")
        // without --timeout the same file is read to the end
        r = bed.cibou("many.conf", "check")
        #expect(r.0 == 0 && r.1.hasPrefix("STORAGE-CTL OK - 1 drive"), "\(r)")
    }

    /// A record belongs to one hold: a drive taken back by preempt (or a raw reserve) is a new hold without a
    /// record, never aged from this host's earlier, broken one.
    @Test("status: no heldfor for a hold taken by preempt or reserve, though an earlier hold's record was there")
    func noAgeAfterPreempt() throws {
        let bed = try DriveBed()
        try bed.age(by: DriveBed.twoHours)
        let status = { bed.run(["-c", bed.path("cibou.conf"), bed.path("drive0"), "status"]).1 }
        #expect(status().hasSuffix(" heldfor=7200\n"))
        #expect(bed.run(["-c", bed.path("dir.conf"), bed.path("drive0"), "preempt", "bac001"]).0 == 0)
        #expect(bed.run(["-c", bed.path("cibou.conf"), bed.path("drive0"), "preempt", "bac999"]).0 == 0)
        #expect(status() == "key=0xbac001 registered=1 locked=1 blockedby=no name=cibou\n")
        // the same through a raw release and reserve
        #expect(bed.run(["-c", bed.path("cibou.conf"), bed.path("drive0"), "unlock"]).0 == 0)
        // (-w 1: the bed's boot clock stands still, so a courtesy owed to waiters would never run out)
        #expect(bed.run(["-c", bed.path("cibou.conf"), bed.path("drive0"), "lock", "-w", "1"]).0 == 0)
        try bed.age(by: DriveBed.twoHours)
        #expect(bed.run(["-c", bed.path("cibou.conf"), bed.path("drive0"), "release"]).0 == 0)
        #expect(bed.run(["-c", bed.path("cibou.conf"), bed.path("drive0"), "reserve"]).0 == 0)
        #expect(status() == "key=0xbac001 registered=1 locked=1 blockedby=no name=cibou\n")
    }

    @Test("drives: this host's standing read as status reads it: our key registered through another initiator only")
    func keyOnAnotherInitiator() throws {
        let bed = try DriveBed()
        try bed.write("copy.conf", "key=bac001\ninitiator=iqn.2024-01.com.example:copy\n")
        #expect(bed.run(["-c", bed.path("copy.conf"), bed.path("drive4"), "register"]).0 == 0)
        let status = bed.run(["-c", bed.path("cibou.conf"), bed.path("drive4"), "status"]).1
        #expect(status == "key=0xbac001 registered=0 locked=0 blockedby=no name=cibou keyinitiators=1\n")
        let listing = bed.cibou("sd.conf", "drives").1
        #expect(listing.contains("  keys            0xdead, 0xbac001 (cibou)\n  holder          none\n  this host       key=0xbac001 registered=0 locked=0 keyinitiators=1\n"), "\(listing)")
        // check: CRITICAL, as audit finds it: our key through another initiator; one key through two
        #expect(bed.run(["-c", bed.path("copy.conf"), bed.path("drive0"), "register"]).0 == 0)
        let check = bed.cibou("sd.conf", "check")
        let line = check.1.split(separator: "\n").first.map(String.init) ?? ""
        #expect(check.0 == 2, "\(check)")
        #expect(line.contains("; Drive0: key 0xbac001 (cibou) registered through 2 initiators (one key= on two hosts?);"), "\(line)")
        #expect(line.contains("; Drive4: our key 0xbac001 (cibou) is registered through another initiator (key= copied to another host?);"), "\(line)")
        #expect(!line.contains("Drive1: key") && !line.contains("Drive1: our key"), "\(line)")
    }

    @Test("options of drives and check belong to them; DEVICE-less commands refuse a DEVICE")
    func usage() throws {
        let bed = try DriveBed()
        var r = bed.run(["-C", bed.path("sd.conf"), bed.path("drive0"), "status"])
        #expect(r.0 == 2 && r.2 == ["storage-ctl: --sd-config goes with drives and check only"], "\(r)")
        r = bed.cibou("sd.conf", "drives", "--held-warning", "10")
        #expect(r.0 == 2 && r.2 == ["storage-ctl: --held-warning goes with check only"], "\(r)")
        r = bed.cibou("sd.conf", "drives", "--json", "--prometheus")
        #expect(r.0 == 2 && r.2 == ["storage-ctl: --json and --prometheus: choose one"], "\(r)")
        r = bed.cibou("sd.conf", "drives", "extra")
        #expect(r.0 == 2 && r.2 == ["storage-ctl: drives takes no arguments: it reads the drives from bacula-sd.conf (-C FILE)"], "\(r)")
        r = bed.run([bed.path("drive0"), "drives"])
        #expect(r.0 == 2 && r.2 == ["storage-ctl: drives takes no DEVICE before it (usage: storage-ctl [OPTIONS] drives)"], "\(r)")
        r = bed.run(["drvies"])
        #expect(r.0 == 2 && r.2 == ["storage-ctl: missing COMMAND after DEVICE drvies (did you mean storage-ctl drives?)"], "\(r)")
        r = bed.run(["-C", bed.path("sd.conf"), "scan"])
        #expect(r.0 == 2 && r.2 == ["storage-ctl: --sd-config goes with drives and check only"], "\(r)")
        // a DEVICE-looking word is a DEVICE without its command, not a typo of drives
        r = bed.run(["drive1"])
        #expect(r.0 == 2 && r.2 == ["storage-ctl: missing COMMAND after DEVICE drive1 (try 'storage-ctl --help')"], "\(r)")
        // options of DEVICE commands belong to theirs too: trylock has no wait to bound
        r = bed.run(["-c", bed.path("cibou.conf"), bed.path("drive0"), "trylock", "-w", "5"])
        #expect(r.0 == 2 && r.2 == ["storage-ctl: --wait goes with lock only"], "\(r)")
        r = bed.run(["-c", bed.path("cibou.conf"), bed.path("drive0"), "status", "--held-warning", "5"])
        #expect(r.0 == 2 && r.2 == ["storage-ctl: --held-warning goes with check only"], "\(r)")
    }

    @Test("--timeout: one deadline for the whole survey; a drive stuck behind a foreign flock gets what is left, the next is not asked")
    func surveyTimeout() throws {
        let bed = try DriveBed()
        try bed.write("stuck", "")
        try bed.write("next", "")
        try bed.write("sd-stuck.conf", "Device {\n  Name = Stuck\n  Control Device = \"\(bed.path("stuck"))\"\n}\n"
                      + "Device {\n  Name = Next\n  Control Device = \"\(bed.path("next"))\"\n}\n")
        // another open file description holding the drive file's flock (command_timeout stays 60 s)
        let fd = open(bed.path("stuck"), O_RDONLY | O_CLOEXEC)
        #expect(fd >= 0 && flock(fd, LOCK_EX) == 0)
        defer { close(fd) }
        let started = ContinuousClock.now
        var r = bed.cibou("sd-stuck.conf", "check", "--timeout", "0.3")
        let took = ContinuousClock.now - started
        #expect(r.0 == 2, "\(r)")
        let lines = r.1.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 4 && lines[0].hasPrefix("STORAGE-CTL CRITICAL - 2 of 2 drives unreachable (Stuck, Next) |"), "\(r)")
        #expect(lines[1].hasPrefix("Stuck: unreachable: T/stuck: the simulated LU's file stayed locked by another process for "), "\(r)")
        #expect(lines[2] == "Next: unreachable: T/next: not asked: the survey's --timeout of 0.3 s ran out", "\(r)")
        // bounded by the 0.3 s budget, not by command_timeout (60 s) per drive
        #expect(took < .seconds(10), "\(took)")
        r = bed.cibou("sd-stuck.conf", "drives", "--timeout", "0.3", "--json")
        #expect(r.0 == 3 && r.1.contains("not asked: the survey's --timeout of 0.3 s ran out"), "\(r)")
        r = bed.cibou("sd-stuck.conf", "check", "--timeout", "0")
        #expect(r.0 == 3 && r.1 == "STORAGE-CTL UNKNOWN - invalid --timeout '0': must be more than 0\n", "\(r)")
        r = bed.run(["-c", bed.path("cibou.conf"), bed.path("next"), "regkeys", "--timeout", "5"])
        #expect(r.0 == 2 && r.2 == ["storage-ctl: --timeout goes with drives and check only"], "\(r)")
    }
}
