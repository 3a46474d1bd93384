import Glibc
import PRCore
import Testing
import ProcessSupport
@testable import Transports

/// DEVICE resolution (README.md "Usage", DEVICE) against a fake sysfs tree and device nodes made with
/// mknod in a scratch directory (those tests need root; they are skipped elsewhere).
@Suite struct DeviceResolverTests {
    // MARK: no device

    @Test func baculaNoneIsRefusedWithTheReason() {
        do {
            _ = try DeviceResolver.resolve("*None*")
            Issue.record("resolved *None*")
        } catch {
            #expect(error.message.hasPrefix("no Control Device configured (Bacula passed *None*)"))
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func emptyPathIsRefused() {
        #expect(throws: TransportError(.other, "no device given (empty path)")) { try DeviceResolver.resolve("") }
    }

    @Test func missingPathSaysSo() throws {
        let fake = try SGIOFakeSysfs()
        do {
            _ = try DeviceResolver.resolve(fake.dev + "/sg9", sysfsRoot: fake.root)
            Issue.record("resolved a missing path")
        } catch {
            #expect(error == TransportError(.open(errno: Errno(rawValue: ENOENT)), "no such file or device"))
        }
    }

    @Test func danglingLinkNamesItsTarget() throws {
        let fake = try SGIOFakeSysfs()
        try fake.dir.symlink("/nonexistent/sg7", at: fake.dev + "/tape/by-id/scsi-X-nst")
        do {
            _ = try DeviceResolver.resolve(fake.dev + "/tape/by-id/scsi-X-nst", sysfsRoot: fake.root)
            Issue.record("resolved a dangling link")
        } catch {
            #expect(error.message == "dangling symbolic link: its target /nonexistent/sg7 does not exist")
        }
    }

    @Test func directoryIsNotADevice() throws {
        let fake = try SGIOFakeSysfs()
        #expect(throws: TransportError(.notSCSIDevice, "is a directory, not a device or a simulated LU file")) {
            try DeviceResolver.resolve(fake.dev, sysfsRoot: fake.root)
        }
    }

    @Test func fifoIsNotADevice() throws {
        let fake = try SGIOFakeSysfs()
        let p = fake.dev + "/fifo"
        #expect(mkfifo(p, 0o600) == 0)
        #expect(throws: TransportError(.notSCSIDevice, "is a FIFO, not a device or a simulated LU file")) {
            try DeviceResolver.resolve(p, sysfsRoot: fake.root)
        }
    }

    // MARK: simulated LU

    @Test func regularFileIsASimulatedLU() throws {
        let fake = try SGIOFakeSysfs()
        let file = fake.dir.path + "/drive0.lu"
        try fake.dir.write(file, "")
        let r = try DeviceResolver.resolve(file, sysfsRoot: fake.root)
        #expect(r == DeviceResolution(path: file, nodePath: file, kind: .simulatedLU, address: nil, note: nil))
        #expect(throws: SimulatedLU.notADrive) {
            try DeviceResolver.open(file, options: DeviceOptions(initiatorName: "iqn.2024-01.example:sd1", sysfsRoot: fake.root))
        }
        var creating = DeviceOptions(initiatorName: "iqn.2024-01.example:sd1", sysfsRoot: fake.root)
        creating.createSimulatedLU = true
        let transport = try DeviceResolver.open(file, options: creating)
        #expect(transport is SimulatedLU)
        #expect(transport.path == file)
        // create: a missing path is a file to make; a device node is refused
        let missing = fake.dir.path + "/drive1.lu"
        #expect(try DeviceResolver.open(missing, options: creating) is SimulatedLU)
        #expect(throws: TransportError(.open(errno: Errno(rawValue: ENOENT)), "no such file or device")) {
            try DeviceResolver.resolve(fake.dir.path + "/drive2.lu", sysfsRoot: fake.root)
        }
        #expect(throws: TransportError(.notSCSIDevice, "create makes simulated drives in regular files only; this is not one")) {
            try DeviceResolver.resolve("/dev/null", sysfsRoot: fake.root, creating: true)
        }
    }

    // MARK: sg nodes

    @Test(.enabled(if: SGIOFakeSysfs.canMakeDeviceNodes)) func sgNodeIsUsedAsIs() throws {
        let fake = try SGIOFakeSysfs()
        try fake.addDisk("0:0:1:0", block: "sda", blockMinor: 0, sg: "sg0", sgMinor: 0)
        fake.node("sg0", major: 21, minor: 0)
        let r = try DeviceResolver.resolve(fake.dev + "/sg0", sysfsRoot: fake.root, devDirectory: fake.dev)
        #expect(r.kind == .scsiGeneric)
        #expect(r.nodePath == fake.dev + "/sg0")
        #expect(r.address == SCSIAddress(host: 0, channel: 0, target: 1, lun: 0))
        #expect(r.note == nil)
    }

    @Test(.enabled(if: SGIOFakeSysfs.canMakeDeviceNodes)) func otherCharacterDeviceNamesItsClass() throws {
        let fake = try SGIOFakeSysfs()
        let mem = fake.root + "/devices/virtual/mem"
        try fake.addClassDevice(under: mem, folder: nil, subsystem: "mem", name: "null", char: true, major: 1, minor: 3, hasDeviceLink: false)
        fake.node("null", major: 1, minor: 3)
        #expect(throws: TransportError(.notSCSIDevice, "is character device 1:3 of the mem class (null), not a SCSI generic (sg) or tape node")) {
            try DeviceResolver.resolve(fake.dev + "/null", sysfsRoot: fake.root, devDirectory: fake.dev)
        }
    }

    @Test(.enabled(if: SGIOFakeSysfs.canMakeDeviceNodes)) func characterDeviceUnknownToSysfs() throws {
        let fake = try SGIOFakeSysfs()
        fake.node("sg5", major: 21, minor: 5)
        #expect(throws: TransportError(.notSCSIDevice, "character device 21:5 is not known to the kernel (a stale node?)")) {
            try DeviceResolver.resolve(fake.dev + "/sg5", sysfsRoot: fake.root, devDirectory: fake.dev)
        }
    }

    @Test(.enabled(if: SGIOFakeSysfs.canMakeDeviceNodes)) func withoutSysfsOnlyTheSgMajorIsTrusted() throws {
        let fake = try SGIOFakeSysfs()
        fake.node("sg5", major: 21, minor: 5)
        fake.node("nst0", major: 9, minor: 128)
        let none = fake.dir.path + "/no-sysfs"
        let r = try DeviceResolver.resolve(fake.dev + "/sg5", sysfsRoot: none, devDirectory: fake.dev)
        #expect(r.kind == .scsiGeneric)
        #expect(throws: TransportError(.notSCSIDevice, "cannot tell what character device 9:128 is: no sysfs at \(none)")) {
            try DeviceResolver.resolve(fake.dev + "/nst0", sysfsRoot: none, devDirectory: fake.dev)
        }
    }

    // MARK: tape nodes

    @Test(.enabled(if: SGIOFakeSysfs.canMakeDeviceNodes)) func tapeNodesResolveToTheDrivesSgNode() throws {
        let fake = try SGIOFakeSysfs()
        try fake.addDisk("0:0:1:0", block: "sda", blockMinor: 0, sg: "sg0", sgMinor: 0)
        try fake.addTape("2:0:0:0", number: 0, sg: "sg2", sgMinor: 2)
        fake.node("sg2", major: 21, minor: 2)
        let variants: [(String, UInt32)] = [("nst0", 128), ("st0", 0), ("st0l", 32), ("nst0a", 224)]
        for (name, minor) in variants {
            fake.node(name, major: 9, minor: minor)
            let r = try DeviceResolver.resolve(fake.dev + "/" + name, sysfsRoot: fake.root, devDirectory: fake.dev)
            #expect(r.kind == .scsiTape(tapeNode: name))
            #expect(r.nodePath == fake.dev + "/sg2")
            #expect(r.address == SCSIAddress(host: 2, channel: 0, target: 0, lun: 0))
            #expect(r.note == "tape node \(name) is drive [2:0:0:0]; using its SCSI generic node \(fake.dev)/sg2 (the st driver allows one opener, the backup daemon)")
        }
        // udev's persistent names are links to the same nodes.
        try fake.dir.symlink(fake.dev + "/nst0", at: fake.dev + "/tape/by-id/scsi-35000-nst")
        let byID = try DeviceResolver.resolve(fake.dev + "/tape/by-id/scsi-35000-nst", sysfsRoot: fake.root, devDirectory: fake.dev)
        #expect(byID.nodePath == fake.dev + "/sg2")
        #expect(byID.path == fake.dev + "/tape/by-id/scsi-35000-nst")
    }

    @Test(.enabled(if: SGIOFakeSysfs.canMakeDeviceNodes)) func tapeWithoutSgDriverSaysLoadIt() throws {
        let fake = try SGIOFakeSysfs()
        try fake.addTape("2:0:0:0", number: 0, sg: nil, sgMinor: 0)
        fake.node("nst0", major: 9, minor: 128)
        do {
            _ = try DeviceResolver.resolve(fake.dev + "/nst0", sysfsRoot: fake.root, devDirectory: fake.dev)
            Issue.record("resolved a tape without sg")
        } catch {
            #expect(error.kind == .notSCSIDevice)
            #expect(error.message.hasPrefix("tape drive [2:0:0:0] (nst0) has no SCSI generic node: load the sg driver (modprobe sg)"))
        }
    }

    @Test(.enabled(if: SGIOFakeSysfs.canMakeDeviceNodes)) func tapeWhoseSgNodeIsMissingOrStale() throws {
        let fake = try SGIOFakeSysfs()
        try fake.addTape("2:0:0:0", number: 0, sg: "sg2", sgMinor: 2)
        fake.node("nst0", major: 9, minor: 128)
        #expect(throws: TransportError(.open(errno: Errno(rawValue: ENOENT)), "the drive's SCSI generic node \(fake.dev)/sg2 does not exist (udev did not create it?)")) {
            try DeviceResolver.resolve(fake.dev + "/nst0", sysfsRoot: fake.root, devDirectory: fake.dev)
        }
        fake.node("sg2", major: 21, minor: 7)
        #expect(throws: TransportError(.notSCSIDevice, "\(fake.dev)/sg2 is device 21:7, but the drive's sg device is 21:2: stale /dev entry")) {
            try DeviceResolver.resolve(fake.dev + "/nst0", sysfsRoot: fake.root, devDirectory: fake.dev)
        }
    }

    @Test(.enabled(if: SGIOFakeSysfs.canMakeDeviceNodes)) func changerNodeIsRefusedWithAHint() throws {
        let fake = try SGIOFakeSysfs()
        let lu = try fake.addLU("3:0:0:0", type: 8, vendor: "STK     ", model: "L80             ", rev: "0107")
        try fake.addClassDevice(under: lu, folder: "scsi_changer", subsystem: "scsi_changer", name: "sch0", char: true, major: 86, minor: 0)
        try fake.addClassDevice(under: lu, folder: "scsi_generic", subsystem: "scsi_generic", name: "sg3", char: true, major: 21, minor: 3)
        fake.node("sch0", major: 86, minor: 0)
        #expect(throws: TransportError(.notSCSIDevice, "is the medium changer node sch0, not a tape drive: name the drive's /dev/nstN or its sg node; the changer's own sg node is \(fake.dev)/sg3")) {
            try DeviceResolver.resolve(fake.dev + "/sch0", sysfsRoot: fake.root, devDirectory: fake.dev)
        }
    }

    @Test(.enabled(if: SGIOFakeSysfs.canMakeDeviceNodes)) func openingATapeOpensTheSgNodeAndNamesBoth() throws {
        // The host has no sg driver bound to our fake node's number, so the open fails; the message
        // must name the node actually opened and the one the user gave.
        let fake = try SGIOFakeSysfs()
        try fake.addTape("2:0:0:0", number: 0, sg: "sg200", sgMinor: 200)
        fake.node("sg200", major: 21, minor: 200)
        fake.node("nst0", major: 9, minor: 128)
        let opened: any SCSITransport
        do {
            opened = try DeviceResolver.open(fake.dev + "/nst0", options: DeviceOptions(initiatorName: "", sysfsRoot: fake.root, devDirectory: fake.dev))
        } catch {
            #expect(error.message.contains("\(fake.dev)/sg200 (the SCSI generic node of \(fake.dev)/nst0)"), "\(error.message)")
            return
        }
        // Only where a real sg200 exists.
        let sg = try #require(opened as? SGIOTransport)
        #expect(sg.nodePath == fake.dev + "/sg200")
    }

    // MARK: block devices

    @Test(.enabled(if: SGIOFakeSysfs.canMakeDeviceNodes)) func scsiDiskAndItsLinks() throws {
        let fake = try SGIOFakeSysfs()
        try fake.addDisk("1:0:1:0", block: "sdb", blockMinor: 16, sg: "sg1", sgMinor: 1)
        fake.node("sdb", char: false, major: 8, minor: 16)
        let direct = try DeviceResolver.resolve(fake.dev + "/sdb", sysfsRoot: fake.root, devDirectory: fake.dev)
        #expect(direct == DeviceResolution(path: fake.dev + "/sdb", nodePath: fake.dev + "/sdb", kind: .scsiBlockDevice,
                                           address: SCSIAddress(host: 1, channel: 0, target: 1, lun: 0), note: nil))
        try fake.dir.symlink("../../sdb", at: fake.dev + "/disk/by-id/wwn-0x6001405")
        let link = try DeviceResolver.resolve(fake.dev + "/disk/by-id/wwn-0x6001405", sysfsRoot: fake.root, devDirectory: fake.dev)
        #expect(link.kind == .scsiBlockDevice)
        #expect(link.nodePath == fake.dev + "/sdb")
        #expect(link.note == "\(fake.dev)/disk/by-id/wwn-0x6001405 is \(fake.dev)/sdb; SCSI device [1:0:1:0] (sdb)")
    }

    @Test(.enabled(if: SGIOFakeSysfs.canMakeDeviceNodes)) func partitionIsRefusedNamingTheDisk() throws {
        let fake = try SGIOFakeSysfs()
        let lu = try fake.addDisk("0:0:1:0", block: "sda", blockMinor: 0, sg: "sg0", sgMinor: 0)
        let part = try fake.addClassDevice(under: lu + "/block/sda", folder: nil, subsystem: "block", name: "sda1", char: false,
                                           major: 8, minor: 1, hasDeviceLink: false)
        try fake.dir.write(part + "/partition", "1\n")
        fake.node("sda1", char: false, major: 8, minor: 1)
        #expect(throws: TransportError(.notSCSIDevice, "is partition 1 of sda: reservations belong to the whole device, name /dev/sda (or its sg node)")) {
            try DeviceResolver.resolve(fake.dev + "/sda1", sysfsRoot: fake.root, devDirectory: fake.dev)
        }
    }

    @Test(.enabled(if: SGIOFakeSysfs.canMakeDeviceNodes)) func nonSCSIBlockDeviceIsLeftToTheKernel() throws {
        let fake = try SGIOFakeSysfs()
        let virtio = fake.root + "/devices/pci0000:00/0000:00:04.0/virtio2"
        try fake.addClassDevice(under: virtio, folder: "block", subsystem: "block", name: "vda", char: false, major: 254, minor: 0)
        fake.node("vda", char: false, major: 254, minor: 0)
        let r = try DeviceResolver.resolve(fake.dev + "/vda", sysfsRoot: fake.root, devDirectory: fake.dev)
        #expect(r.kind == .otherBlockDevice)
        #expect(r.note == "block device vda is not a SCSI disk in sysfs; trying SG_IO on it")
    }

    @Test func sysfsRootWithTrailingSlashIsTheSameTree() {
        #expect(SGIOSysfs(root: "/sys/").path("dev/char") == "/sys/dev/char")
        #expect(SGIOSysfs.lastComponent("/sys/devices/x/block/sda/") == "sda")
        #expect(DeviceResolver.parentOf("/a/b/c") == "/a/b")
        #expect(DeviceResolver.parentOf("/a") == "/")
    }
}
