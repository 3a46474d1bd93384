// The fixtures of Tests/Fixtures/bacula-sd, read exactly: every resource and directive with its value(s) and
// place, the drives, and the error line of each hostile fixture. scripts/bacula-referee holds the same
// fixtures against bacula-sd 9.6.7 itself (accepted/refused, and the devices its resource dump shows).
import Foundation
import Testing
@testable import BaculaConfig

/// Tests/Fixtures/bacula-sd, found from this file's path.
let fixtureDirectory: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(2)
    return parts.joined(separator: "/") + "/Fixtures/bacula-sd"
}()

/// Reads a fixture by its name relative to the fixture directory, as bacula-sd run there reads it.
func readFixture(_ name: String) throws(BaculaConfigError) -> [Resource] {
    try BaculaConfig.parse(path: name, directory: fixtureDirectory)
}

/// One line per resource and per directive: `Type "Name" file:line`, `  key = "v1", "v2" file:line`.
func render(_ resources: [Resource]) -> String {
    resources.map { resource in
        (["\(resource.type) \"\(resource.name)\" \(resource.file):\(resource.line)"]
         + resource.directives.map { directive in
            "  \(directive.key) = \(directive.values.map { "\"\($0)\"" }.joined(separator: ", ")) \(directive.file):\(directive.line)"
         }).joined(separator: "\n")
    }.joined(separator: "\n")
}

/// The error a parse throws, or nil.
func parseError(_ body: () throws(BaculaConfigError) -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return error.description
    }
}

struct FixtureTests {
    @Test func cibouReadsAsBaculaReadsIt() throws {
        #expect(render(try readFixture("cibou.conf")) == #"""
            Storage "cibou-sd" cibou.conf:6
              name = "cibou-sd" cibou.conf:7
              sdport = "9103" cibou.conf:8
              workingdirectory = "/tmp" cibou.conf:9
              piddirectory = "/tmp" cibou.conf:10
              plugindirectory = "/opt/bacula/plugins" cibou.conf:11
              maximumconcurrentjobs = "20" cibou.conf:12
            Director "bacula-dir" cibou.conf:15
              name = "bacula-dir" cibou.conf:16
              password = "xxxxxxxxxx" cibou.conf:17
            Messages "Standard" inc/cibou messages.conf:2
              name = "Standard" inc/cibou messages.conf:3
              director = "bacula-dir" inc/cibou messages.conf:4
            Autochanger "LTO-Changer-1" cibou.conf:22
              name = "LTO-Changer-1" cibou.conf:23
              changerdevice = "/dev/sg2" cibou.conf:24
              changercommand = "/opt/bacula/scripts/mtx-changer %c %o %S %a %d" cibou.conf:25
              device = "LT09_1_Drive0", "LT09_1_Drive1" cibou.conf:26
            Device "LT09_1_Drive0" cibou.conf:29
              name = "LT09_1_Drive0" cibou.conf:30
              mediatype = "LTO-9" cibou.conf:31
              archivedevice = "/dev/nst0" cibou.conf:32
              automaticmount = "yes" cibou.conf:33
              autochanger = "yes" cibou.conf:34
              driveindex = "0" cibou.conf:35
              removablemedia = "yes" cibou.conf:36
              spooldirectory = "/opt/bacula/working" cibou.conf:37
              devicetype = "Tape" cibou.conf:38
              alwaysopen = "no" cibou.conf:40
              controldevice = "/dev/sg0" cibou.conf:41
              lockcommand = "/opt/bacula/scripts/storage-ctl %l %o" cibou.conf:42
            Device "LT09_1_Drive1" cibou.conf:45
              name = "LT09_1_Drive1" cibou.conf:46
              mediatype = "LTO-9" cibou.conf:47
              archivedevice = "/dev/nst1" cibou.conf:48
              automaticmount = "yes" cibou.conf:49
              autochanger = "yes" cibou.conf:50
              driveindex = "1" cibou.conf:51
              removablemedia = "yes" cibou.conf:52
              spooldirectory = "/opt/bacula/working" cibou.conf:53
              devicetype = "Tape" cibou.conf:54
              autoselect = "no" cibou.conf:55
              alwaysopen = "no" cibou.conf:57
              controldevice = "/dev/sg1" cibou.conf:58
              lockcommand = "/opt/bacula/scripts/storage-ctl %l %o" cibou.conf:59
            Autochanger "VTL-Changer-1" inc/cibou-vtl.conf:2
              name = "VTL-Changer-1" inc/cibou-vtl.conf:3
              changerdevice = "/dev/sg3" inc/cibou-vtl.conf:4
              changercommand = "/opt/bacula/scripts/mtx-changer %c %o %S %a %d" inc/cibou-vtl.conf:5
              device = "DLT_1_Drive0", "DLT_1_Drive1" inc/cibou-vtl.conf:6
              lockcommand = "/opt/bacula/scripts/storage-ctl %l %o" inc/cibou-vtl.conf:7
            Device "DLT_1_Drive0" inc/cibou-vtl.conf:10
              name = "DLT_1_Drive0" inc/cibou-vtl.conf:10
              mediatype = "DLT7000" inc/cibou-vtl.conf:10
              archivedevice = "/dev/nst2" inc/cibou-vtl.conf:10
              autochanger = "yes" inc/cibou-vtl.conf:11
              driveindex = "0" inc/cibou-vtl.conf:11
              alwaysopen = "no" inc/cibou-vtl.conf:11
              controldevice = "/dev/sg4" inc/cibou-vtl.conf:12
            Device "DLT_1_Drive1" inc/cibou-vtl.conf:14
              name = "DLT_1_Drive1" inc/cibou-vtl.conf:14
              mediatype = "DLT7000" inc/cibou-vtl.conf:14
              archivedevice = "/dev/nst3" inc/cibou-vtl.conf:14
              autochanger = "yes" inc/cibou-vtl.conf:15
              driveindex = "1" inc/cibou-vtl.conf:15
              alwaysopen = "no" inc/cibou-vtl.conf:15
              controldevice = "/dev/sg5" inc/cibou-vtl.conf:16
            """#)
    }

    @Test func dirReadsAsBaculaReadsIt() throws {
        #expect(render(try readFixture("dir.conf")) == #"""
            Storage "dir-sd" dir.conf:4
              name = "dir-sd" dir.conf:5
              sdaddresses = "{ ip = { addr = 127.0.0.1 port = 9103 } }" dir.conf:6
              workingdirectory = "/tmp" dir.conf:9
              piddirectory = "/tmp" dir.conf:9
              plugindirectory = "/opt/bacula/plugins" dir.conf:9
            Director "bacula-dir" dir.conf:11
              name = "bacula-dir" dir.conf:11
              password = "yyyyyyy" dir.conf:11
            Messages "Standard" dir.conf:12
              name = "Standard" dir.conf:12
              director = "bacula-dir" dir.conf:13
            Autochanger "LTO-Changer-2" inc/dir-devices.conf:2
              name = "LTO-Changer-2" inc/dir-devices.conf:3
              changerdevice = "/dev/sg6" inc/dir-devices.conf:4
              changercommand = "/opt/bacula/scripts/mtx-changer %c %o %S %a %d" inc/dir-devices.conf:5
              device = "LT09_2_Drive0", "LT09_2_Drive1" inc/dir-devices.conf:6
            Device "LT09_2_Drive0" inc/dir-devices.conf:10
              name = "LT09_2_Drive0" inc/dir-devices.conf:11
              mediatype = "LTO-9" inc/dir-devices.conf:12
              archivedevice = "/dev/nst0" inc/dir-devices.conf:13
              autochanger = "yes" inc/dir-devices.conf:14
              driveindex = "0" inc/dir-devices.conf:15
              devicetype = "Tape" inc/dir-devices.conf:16
              alwaysopen = "no" inc/dir-devices.conf:17
              controldevice = "/dev/sg4" inc/dir-devices.conf:18
              lockcommand = "/opt/bacula/scripts/storage-ctl %l %o" inc/dir-devices.conf:19
            Device "LT09_2_Drive1" inc/dir-devices.conf:22
              name = "LT09_2_Drive1" inc/dir-devices.conf:23
              mediatype = "LTO-9" inc/dir-devices.conf:24
              archivedevice = "/dev/nst1" inc/dir-devices.conf:26
              autochanger = "yes" inc/dir-devices.conf:27
              driveindex = "1" inc/dir-devices.conf:28
              devicetype = "Tape" inc/dir-devices.conf:29
              autoselect = "no" inc/dir-devices.conf:30
              alwaysopen = "no" inc/dir-devices.conf:31
              controldevice = "/dev/sg5" inc/dir-devices.conf:32
              lockcommand = "/opt/bacula/scripts/storage-ctl "%l" %o" inc/dir-devices.conf:33
            Autochanger "VTL-Changer-2" inc/dir-vtl.conf:1
              name = "VTL-Changer-2" inc/dir-vtl.conf:1
              changerdevice = "/dev/sg7" inc/dir-vtl.conf:1
              changercommand = "/opt/bacula/scripts/mtx-changer %c %o %S %a %d" inc/dir-vtl.conf:2
              device = "DLT_2_Drive0", "DLT_2_Drive1" inc/dir-vtl.conf:3
              lockcommand = "/opt/bacula/scripts/storage-ctl" inc/dir-vtl.conf:4
            Device "DLT_2_Drive0" inc/dir-vtl.conf:6
              name = "DLT_2_Drive0" inc/dir-vtl.conf:6
              mediatype = "DLT7000" inc/dir-vtl.conf:6
              archivedevice = "/dev/nst2" inc/dir-vtl.conf:6
              autochanger = "yes" inc/dir-vtl.conf:6
              controldevice = "/dev/sg8" inc/dir-vtl.conf:6
            Device "DLT_2_Drive1" inc/dir-vtl.conf:7
              name = "DLT_2_Drive1" inc/dir-vtl.conf:7
              mediatype = "DLT7000" inc/dir-vtl.conf:7
              archivedevice = "/dev/nst3" inc/dir-vtl.conf:7
              autochanger = "yes" inc/dir-vtl.conf:7
              controldevice = "/dev/sg9" inc/dir-vtl.conf:7
              lockcommand = "/opt/bacula/scripts/storage-ctl %l %o" inc/dir-vtl.conf:8
            """#)
    }

    @Test func syntaxReadsAsBaculaReadsIt() throws {
        #expect(render(try readFixture("syntax.conf")) == #"""
            Storage "syntax-sd" syntax.conf:2
              name = "syntax-sd" syntax.conf:2
              workingdirectory = "/tmp" syntax.conf:2
              piddirectory = "/tmp" syntax.conf:2
            Director "bacula-dir" syntax.conf:3
              name = "bacula-dir" syntax.conf:3
              password = "a "quoted" pass\word # not a comment" syntax.conf:3
            Messages "Standard" syntax.conf:4
              name = "Standard" syntax.conf:5
              director = "bacula-dir" syntax.conf:5
            Device "Drive-A" syntax.conf:9
              name = "Drive-A" syntax.conf:9
              mediatype = "LTOTape" syntax.conf:9
              archivedevice = "/dev/nst4" syntax.conf:10
              controldevice = "/dev/sg10" syntax.conf:12
              lockcommand = "/opt/bacula/scripts/storage-ctl %l %o" syntax.conf:12
              alwaysopen = "no" syntax.conf:12
            Device "Drive-B" syntax.conf:15
              name = "Drive-B" syntax.conf:16
              mediatype = "LTO-9" syntax.conf:17
              archivedevice = "/dev/nst5" syntax.conf:18
              controldevice = "/dev/sg11" syntax.conf:19
            Autochanger "Changer 1" syntax.conf:24
              name = "Changer 1" syntax.conf:24
              changerdevice = "/dev/sg12" syntax.conf:24
              changercommand = "/opt/bacula/scripts/mtx-changer %c %o %S %a %d" syntax.conf:24
              device = "Drive-A", "Drive B", "DriveC" syntax.conf:25
              lockcommand = "/opt/bacula/scripts/storage-ctl %l %o" syntax.conf:27
            Device "Drive B" syntax.conf:29
              name = "Drive B" syntax.conf:29
              mediatype = "LTO-9" syntax.conf:29
              archivedevice = "/dev/nst6" syntax.conf:29
              controldevice = "/dev/sg13" syntax.conf:29
            Device "DriveC" syntax.conf:30
              name = "DriveC" syntax.conf:30
              mediatype = "LTO-9" syntax.conf:30
              archivedevice = "/dev/nst7" syntax.conf:30
              controldevice = "/dev/sg14" syntax.conf:30
            """#)
    }

    @Test func cibousDrivesInheritTheVTLChangersLockCommand() throws {
        let drives = try BaculaConfig.drives(in: try readFixture("cibou.conf"))
        let lock = "/opt/bacula/scripts/storage-ctl %l %o"
        #expect(drives == [
            Drive(name: "LT09_1_Drive0", archiveDevice: "/dev/nst0", controlDevice: "/dev/sg0", lockCommand: lock,
                  lockCommandSource: .device, autochanger: "LTO-Changer-1", file: "cibou.conf", line: 29),
            Drive(name: "LT09_1_Drive1", archiveDevice: "/dev/nst1", controlDevice: "/dev/sg1", lockCommand: lock,
                  lockCommandSource: .device, autochanger: "LTO-Changer-1", file: "cibou.conf", line: 45),
            Drive(name: "DLT_1_Drive0", archiveDevice: "/dev/nst2", controlDevice: "/dev/sg4", lockCommand: lock,
                  lockCommandSource: .autochanger("VTL-Changer-1"), autochanger: "VTL-Changer-1",
                  file: "inc/cibou-vtl.conf", line: 10),
            Drive(name: "DLT_1_Drive1", archiveDevice: "/dev/nst3", controlDevice: "/dev/sg5", lockCommand: lock,
                  lockCommandSource: .autochanger("VTL-Changer-1"), autochanger: "VTL-Changer-1",
                  file: "inc/cibou-vtl.conf", line: 14),
        ])
    }

    @Test func cibousAutochangers() throws {
        #expect(try BaculaConfig.autochangers(in: try readFixture("cibou.conf")) == [
            Autochanger(name: "LTO-Changer-1", changerDevice: "/dev/sg2", devices: ["LT09_1_Drive0", "LT09_1_Drive1"],
                        lockCommand: nil, file: "cibou.conf", line: 22),
            Autochanger(name: "VTL-Changer-1", changerDevice: "/dev/sg3", devices: ["DLT_1_Drive0", "DLT_1_Drive1"],
                        lockCommand: "/opt/bacula/scripts/storage-ctl %l %o", file: "inc/cibou-vtl.conf", line: 2),
        ])
        #expect(parseError { () throws(BaculaConfigError) in
            _ = try BaculaConfig.autochangers(in: try readFixture("bad-autochanger-control-device.conf"))
        } == #"bad-autochanger-control-device.conf:7: Control Device in Autochanger "LTO-Changer-1": bacula-sd accepts it only in a Device resource"#)
    }

    @Test func dirsDrivesKeepTheirOwnLockCommandOverTheChangers() throws {
        let drives = try BaculaConfig.drives(in: try readFixture("dir.conf"))
        let lock = "/opt/bacula/scripts/storage-ctl %l %o"
        #expect(drives == [
            Drive(name: "LT09_2_Drive0", archiveDevice: "/dev/nst0", controlDevice: "/dev/sg4", lockCommand: lock,
                  lockCommandSource: .device, autochanger: "LTO-Changer-2", file: "inc/dir-devices.conf", line: 10),
            Drive(name: "LT09_2_Drive1", archiveDevice: "/dev/nst1", controlDevice: "/dev/sg5",
                  lockCommand: "/opt/bacula/scripts/storage-ctl \"%l\" %o",
                  lockCommandSource: .device, autochanger: "LTO-Changer-2", file: "inc/dir-devices.conf", line: 22),
            Drive(name: "DLT_2_Drive0", archiveDevice: "/dev/nst2", controlDevice: "/dev/sg8",
                  lockCommand: "/opt/bacula/scripts/storage-ctl",
                  lockCommandSource: .autochanger("VTL-Changer-2"), autochanger: "VTL-Changer-2",
                  file: "inc/dir-vtl.conf", line: 6),
            Drive(name: "DLT_2_Drive1", archiveDevice: "/dev/nst3", controlDevice: "/dev/sg9", lockCommand: lock,
                  lockCommandSource: .device, autochanger: "VTL-Changer-2", file: "inc/dir-vtl.conf", line: 7),
        ])
    }

    @Test func syntaxDrivesNamedWithSpacesAndWithoutAChangerOrALockCommand() throws {
        let drives = try BaculaConfig.drives(in: try readFixture("syntax.conf"))
        let lock = "/opt/bacula/scripts/storage-ctl %l %o"
        #expect(drives == [
            Drive(name: "Drive-A", archiveDevice: "/dev/nst4", controlDevice: "/dev/sg10", lockCommand: lock,
                  lockCommandSource: .device, autochanger: "Changer 1", file: "syntax.conf", line: 9),
            Drive(name: "Drive-B", archiveDevice: "/dev/nst5", controlDevice: "/dev/sg11", lockCommand: nil,
                  lockCommandSource: .none, autochanger: nil, file: "syntax.conf", line: 15),
            Drive(name: "Drive B", archiveDevice: "/dev/nst6", controlDevice: "/dev/sg13", lockCommand: lock,
                  lockCommandSource: .autochanger("Changer 1"), autochanger: "Changer 1", file: "syntax.conf", line: 29),
            Drive(name: "DriveC", archiveDevice: "/dev/nst7", controlDevice: "/dev/sg14", lockCommand: lock,
                  lockCommandSource: .autochanger("Changer 1"), autochanger: "Changer 1", file: "syntax.conf", line: 30),
        ])
    }

    /// Each hostile fixture and the one line we refuse it with (bacula-sd refuses every one: scripts/bacula-referee).
    static let refused: [(String, String)] = [
        ("bad-autochanger-control-device.conf",
         #"bad-autochanger-control-device.conf:7: Control Device in Autochanger "LTO-Changer-1": bacula-sd accepts it only in a Device resource"#),
        ("bad-autochanger-list-spacing.conf",
         "bad-autochanger-list-spacing.conf:9: unexpected ',' after the Device list of Autochanger: bacula-sd wants the list to end its line, with a comma right after each name but the last"),
        ("bad-autochanger-unknown-device.conf",
         #"bad-autochanger-unknown-device.conf:6: Autochanger "LTO-Changer-1" names Device "LT09_1_Drive9", which is not defined"#),
        ("bad-binary.conf", "bad-binary.conf:1: binary data (byte 0x7F): not a configuration file"),
        ("bad-deep-braces.conf",
         #"bad-deep-braces.conf:7: "MediaType" inside nested braces: Device resources have no inner blocks"#),
        ("bad-include-loop.conf", "inc/loop-b.conf:2: include loop: inc/loop-a.conf -> inc/loop-b.conf -> inc/loop-a.conf"),
        ("bad-include-missing.conf",
         #"bad-include-missing.conf:5: cannot read included file "inc/no-such-file.conf": No such file or directory"#),
        ("bad-missing-brace.conf",
         "bad-missing-brace.conf:11: Device resource inside the Device resource that begins at bad-missing-brace.conf:5: is that one's '}' missing?"),
        ("bad-no-name.conf", "bad-no-name.conf:5: Device resource without a Name"),
        ("bad-slash-comment.conf",
         "bad-slash-comment.conf:5: expected a resource type (Director, Storage, Device, Messages, Autochanger, Cloud, Statistics), got: //"),
        ("bad-two-control-devices.conf",
         #"bad-two-control-devices.conf:7: second Control Device in Device "LT09_1_Drive0" (the first is at bad-two-control-devices.conf:6)"#),
        ("bad-unclosed-at-eof.conf", "bad-unclosed-at-eof.conf:5: Device resource not closed: end of file reached before its '}'"),
        ("bad-unterminated-quote.conf",
         #"bad-unterminated-quote.conf:10: quoted string not closed: end of file reached before its closing '"'"#),
    ]

    @Test(arguments: FixtureTests.refused)
    func hostileFixtureIsRefusedAtItsLine(fixture: String, error: String) {
        #expect(parseError { () throws(BaculaConfigError) in _ = try BaculaConfig.drives(in: try readFixture(fixture)) } == error)
    }

    /// Known differences (scripts/bacula-referee says "known difference"): bacula-sd drops the rest of a line
    /// after a NUL byte and accepts the file; we refuse binary data anywhere.
    @Test func differenceNulInACommentIsRefused() {
        #expect(parseError { () throws(BaculaConfigError) in _ = try readFixture("differ-nul-in-comment.conf") }
                == "differ-nul-in-comment.conf:5: binary data (byte 0x00): not a configuration file")
    }

    /// bacula-sd refuses a directive name it does not know ("Control Devise"); we have no per-resource tables
    /// and read it like any other, so the Device simply has no Control Device and is no drive.
    @Test func differenceUnknownDirectiveIsReadAndTheDeviceIsNoDrive() throws {
        let resources = try readFixture("differ-unknown-directive.conf")
        #expect(resources.last?.directives.map(\.key) == ["name", "mediatype", "archivedevice", "controldevise"])
        #expect(try BaculaConfig.drives(in: resources) == [])
        let files = try FileManager.default.contentsOfDirectory(atPath: fixtureDirectory)
        #expect(files.filter { $0.hasPrefix("differ-") }.sorted() == ["differ-nul-in-comment.conf", "differ-unknown-directive.conf"])
    }

    @Test func everyHostileFixtureHasItsExpectedError() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: fixtureDirectory)
        let hostile = files.filter { $0.hasPrefix("bad-") && $0.hasSuffix(".conf") }.sorted()
        #expect(FixtureTests.refused.map(\.0) == hostile)
        #expect(hostile.count == 13)
    }
}
