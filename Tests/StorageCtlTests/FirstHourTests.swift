import Foundation
import Testing
@testable import StorageCtl

/// What an admin meets in the first hour: the shipped configuration names no key, `-v`
/// says which configuration was read and why, `persist` after storage-ctl's own options, and
/// suggestions only where a typo is likely.
@Suite("An admin's first hour")
struct FirstHourTests {
    static let shipped = DocsInStepTests.root.appendingPathComponent("etc/storage-ctl.conf").path

    @Test("the shipped configuration names no key: a command that needs one says where to set it, exit 2")
    func shippedConfigurationHasNoKey() throws {
        let text = try String(contentsOfFile: Self.shipped, encoding: .utf8)
        var settings = Settings()
        _ = try settings.apply(ConfigFile.parse(text, path: Self.shipped))
        #expect(settings.key == nil)
        let bed = try DriveBed()
        let r = bed.run(["-c", Self.shipped, bed.path("drive4"), "register"])
        #expect(r.0 == 2 && r.1.isEmpty, "\(r)")
        #expect(r.2 == ["storage-ctl: register needs our reservation key: set key= in \(Self.shipped) (unique to this storage daemon) or use --key"], "\(r)")
        // reading commands need none
        #expect(bed.run(["-c", Self.shipped, bed.path("drive4"), "regkeys"]).0 == 0)
    }

    @Test("-v names the configuration file read and why that one; the debug log too")
    func verboseNamesTheConfiguration() throws {
        let bed = try DriveBed()
        try bed.write("debug.conf", "key=bac001\ndebug_log=1\ndebug_file=\(bed.path("debug.log"))\n")
        let r = bed.run(["-v", "-c", bed.path("debug.conf"), bed.path("drive0"), "status"])
        #expect(r.0 == 0, "\(r)")
        #expect(r.2.first == "storage-ctl: T/drive0: configuration T/debug.conf: named by -c (--config)", "\(r)")
        let log = try String(contentsOfFile: bed.path("debug.log"), encoding: .utf8)
        #expect(log.contains("configuration \(bed.path("debug.conf")): named by -c (--config)"), "\(log)")
        // without -v and without a debug log: nothing
        #expect(bed.run(["-c", bed.path("cibou.conf"), bed.path("drive0"), "status"]).2.isEmpty)
    }

    @Test("persist after storage-ctl's own options: -c and --initiator choose the initiator; others refused in one line")
    func persistAfterOptions() throws {
        let bed = try DriveBed()
        let none: (String) -> String? = { _ in nil }
        #expect(StorageCtlMain.persistCall(["persist", "-k", "d"], environment: none) == .run(arguments: ["-k", "d"], initiator: nil))
        #expect(StorageCtlMain.persistCall(["-c", bed.path("dir.conf"), "persist", "-n", "-k", "d"], environment: none)
                == .run(arguments: ["-n", "-k", "d"], initiator: "iqn.2024-01.com.example:dir"))
        #expect(StorageCtlMain.persistCall(["--config=\(bed.path("dir.conf"))", "--initiator", "iqn.2024-01.com.example:x", "persist", "d"],
                                           environment: none) == .run(arguments: ["d"], initiator: "iqn.2024-01.com.example:x"))
        #expect(StorageCtlMain.persistCall(["-k", "1", "persist", "d"], environment: none)
                == .refused("storage-ctl: --key does not go with persist: sg_persist's options come after it (before it: -c, --initiator)", 2))
        #expect(StorageCtlMain.persistCall(["-c", bed.path("missing.conf"), "persist", "d"], environment: none)
                == .refused("storage-ctl: cannot read configuration \(bed.path("missing.conf")): No such file or directory", 2))
        #expect(StorageCtlMain.persistCall(["-c", "x.conf", "drive0", "lock"], environment: none) == nil)
        #expect(StorageCtlMain.persistCall(["drive0", "persist"], environment: none) == nil)
    }

    @Test("suggestions: a typo of a command or a setting, never a DEVICE-looking word")
    func suggestions() {
        let commands = Verbs.all.map { $0.name } + DevicelessCommands.all.map { $0.name }
        #expect(Suggestion.command(for: "lcok", among: commands) == "lock")
        #expect(Suggestion.command(for: "drvies", among: commands) == "drives")
        #expect(Suggestion.command(for: "drive1", among: commands) == nil)
        #expect(Suggestion.command(for: "/dev/sg0", among: commands) == nil)
        #expect(Suggestion.command(for: "tape.img", among: commands) == nil)
        #expect(Suggestion.closest(to: "max_lock_wiat", among: SettingName.allCases.map(\.rawValue)) == "max_lock_wait")
        #expect(Suggestion.closest(to: "colour", among: SettingName.allCases.map(\.rawValue)) == nil)
    }

    @Test("numbers of seconds: too large says so; not a number says what is expected")
    func secondsWording() {
        #expect(throws: StorageCtlError.usage("invalid --wait '99999999999999999999': too large (at most 315360000 s, ten years)")) {
            try SettingValue.seconds("99999999999999999999", what: "--wait").get()
        }
        #expect(throws: StorageCtlError.usage("invalid --wait 'soon': expected a number of seconds, 0 or more")) {
            try SettingValue.seconds("soon", what: "--wait").get()
        }
    }
}
