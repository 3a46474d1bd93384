// The drives helper: Device resources with a Control Device, their Autochanger, and the Lock Command a
// device without one takes from its Autochanger.
import Testing
@testable import BaculaConfig

struct DrivesTests {
    static func drives(_ text: String) throws(BaculaConfigError) -> [Drive] {
        try BaculaConfig.drives(in: try parse(text))
    }

    static func driveError(_ text: String) -> String? {
        parseError { () throws(BaculaConfigError) in _ = try drives(text) }
    }

    @Test func devicesWithoutAControlDeviceAreNoDrives() throws {
        let drives = try Self.drives("Device { Name = disk; Archive Device = /backup }\nDevice { Name = tape; Archive Device = /dev/nst0; Control Device = /dev/sg0 }")
        #expect(drives == [Drive(name: "tape", archiveDevice: "/dev/nst0", controlDevice: "/dev/sg0", lockCommand: nil,
                                 lockCommandSource: .none, autochanger: nil, file: "sd.conf", line: 2)])
    }

    @Test func theDevicesOwnLockCommandWinsOverTheAutochangers() throws {
        let drives = try Self.drives("""
            Autochanger { Name = c; Lock Command = "/changer %l %o"
              Device = own, inherits
              Device = none
            }
            Device { Name = own; Control Device = /dev/sg0; Lock Command = "/own %l %o" }
            Device { Name = inherits; Control Device = /dev/sg1 }
            Device { Name = none; Control Device = /dev/sg2 }
            """)
        #expect(drives.map { "\($0.name) \($0.lockCommand ?? "-") \($0.lockCommandSource) \($0.autochanger ?? "-")" }
                == ["own /own %l %o device c", "inherits /changer %l %o autochanger(\"c\") c", "none /changer %l %o autochanger(\"c\") c"])
    }

    @Test func anAutochangerWithoutLockCommandGivesNone() throws {
        let drives = try Self.drives("Autochanger { Name = c\n Device = d\n}\nDevice { Name = d; Control Device = /dev/sg0 }")
        #expect(drives.map(\.lockCommandSource) == [.none])
        #expect(drives.map(\.autochanger) == ["c"])
    }

    @Test func aDeviceInTwoAutochangersBelongsToTheFirst() throws {
        let drives = try Self.drives("""
            Autochanger { Name = first; Lock Command = "/first"
              Device = d
            }
            Autochanger { Name = second; Lock Command = "/second"
              Device = d
            }
            Device { Name = d; Control Device = /dev/sg0 }
            """)
        #expect(drives.map { "\($0.autochanger ?? "-") \($0.lockCommand ?? "-")" } == ["first /first"])
    }

    @Test func whatBaculaRefusesAmongTheseDirectives() {
        #expect(Self.driveError("Device { Name = d; Control Device = /dev/sg0\n Lock Command = a\n Lock Command = b\n}")
                == #"sd.conf:3: second Lock Command in Device "d" (the first is at sd.conf:2)"#)
        #expect(Self.driveError("Device { Name = d; Control Device = /dev/sg0\n Archive Device = a\n Archive Device = b\n}")
                == #"sd.conf:3: second Archive Device in Device "d" (the first is at sd.conf:2)"#)
        #expect(Self.driveError("Autochanger { Name = c\n Lock Command = a\n Lock Command = b\n}")
                == #"sd.conf:3: second Lock Command in Autochanger "c" (the first is at sd.conf:2)"#)
        #expect(Self.driveError("Autochanger { Name = c\n Control Device = /dev/sg0\n}")
                == #"sd.conf:2: Control Device in Autochanger "c": bacula-sd accepts it only in a Device resource"#)
        #expect(Self.driveError("Autochanger { Name = c\n Device = ghost\n}")
                == #"sd.conf:2: Autochanger "c" names Device "ghost", which is not defined"#)
    }
}
