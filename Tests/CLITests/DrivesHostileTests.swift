import Foundation
import Testing

/// `drives` run as Bacula's admin runs it, a process of its own: bytes that are not UTF-8 in `-C` and in
/// bacula-sd.conf, and relative `@` includes taken from the working directory, as bacula-sd takes them.
extension HostileFilesTests {
    @Test("drives: a -C path or a Control Device that is not UTF-8 is refused (exit 2, escaped), never repaired")
    func drivesNonUTF8() throws {
        let site = try Site("drives-bytes")
        try "Device {\n  Name = Drive0\n  Control Device = \"\(site.drive)\"\n}\n".write(toFile: site.path("sd\u{FFFD}.conf"), atomically: false, encoding: .utf8)
        var r = try runRaw(["-C", site.path("sd") + "\\0377.conf", "drives"])
        r.expectOneErrorLine(2, contains: "-C \(site.path("sd"))\\xff.conf: a bacula-sd.conf path must be UTF-8 text")
        #expect(r.stdout.isEmpty)
        r = try runRaw(["-C", site.path("sd") + "\\0377.conf", "check"])
        #expect(r.status == 3 && r.stdout == "STORAGE-CTL UNKNOWN - -C \(site.path("sd"))\\xff.conf: a bacula-sd.conf path must be UTF-8 text (Bacula's own reader takes text)\n", "\(r)")
        var bytes = Array("Device {\n  Name = Drive0\n  Control Device = \"\(site.path("d"))".utf8)
        bytes += [0xFF] + Array("\"\n}\n".utf8)
        #expect(FileManager.default.createFile(atPath: site.path("raw.conf"), contents: Data(bytes)))
        try CLI.run(["-C", site.path("raw.conf"), "drives"]).expectOneErrorLine(2, contains: "\(site.path("raw.conf")):3: text that is not UTF-8")
    }

    @Test("drives: a relative @include is taken from the working directory, as bacula-sd takes it")
    func drivesRelativeInclude() throws {
        let site = try Site("drives-include")
        try FileManager.default.createDirectory(atPath: site.path("etc/inc"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: site.path("inc"), withIntermediateDirectories: true)
        try "Storage {\n  Name = sd\n}\n@inc/devices.conf\n".write(toFile: site.path("etc/sd.conf"), atomically: false, encoding: .utf8)
        try "Device {\n  Name = FromWorkingDirectory\n  Control Device = \"\(site.drive)\"\n}\n".write(toFile: site.path("inc/devices.conf"), atomically: false, encoding: .utf8)
        try "Device {\n  Name = BesideTheFile\n  Control Device = \"\(site.drive)\"\n}\n".write(toFile: site.path("etc/inc/devices.conf"), atomically: false, encoding: .utf8)
        let r = try runRaw([site.dir.path, "-C", "etc/sd.conf", "drives", "--json"], script: "cd \"$1\" && shift && exec \"$bin\" \"$@\"")
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.hasPrefix("{\"config\":\"etc/sd.conf\","), "\(r)")
        #expect(r.stdout.contains("\"drives\":[{\"name\":\"FromWorkingDirectory\","), "\(r)")
        #expect(r.stdout.contains("\"file\":\"inc/devices.conf\",\"line\":1,"), "\(r)")
    }

    @Test("check and drives into /dev/full: check is UNKNOWN (exit 3: Nagios knows 0-3), drives exits 7 even with a drive down (not 3 with the listing lost)")
    func drivesOutputFails() throws {
        let site = try Site("drives-full")
        try "Device {\n  Name = Drive0\n  Control Device = \"\(site.drive)\"\n}\nDevice {\n  Name = Gone\n  Control Device = \"\(site.path("gone"))\"\n}\n"
            .write(toFile: site.path("sd.conf"), atomically: false, encoding: .utf8)
        let cannotWrite = "storage-ctl: cannot write standard output: No space left on device"
        var r = try Spawned.run(["-C", site.path("sd.conf"), "check"], stdout: .path("/dev/full"))
        #expect(r.status == 3 && r.stderrLines == [cannotWrite], "\(r)")
        for args in [["drives"], ["drives", "--json"]] {
            r = try Spawned.run(["-C", site.path("sd.conf")] + args, stdout: .path("/dev/full"))
            #expect(r.status == 7 && r.stderrLines == ["storage-ctl: 1 of 2 drives could not be asked: Gone", cannotWrite], "\(r)")
        }
    }
}
