import Testing
@testable import Transports

/// `scan` against a fake sysfs tree: rows, order, and the `lsscsi -g` layout byte for byte.
@Suite struct ScanTests {
    /// The test bed's two initiators, a scsi_debug tape, a changer, an enclosure with only an sg node,
    /// an LU without the sg driver bound, and the host/target entries lsscsi skips.
    func testBed() throws -> SGIOFakeSysfs {
        let fake = try SGIOFakeSysfs()
        try fake.addDisk("1:0:1:0", block: "sdb", blockMinor: 16, sg: "sg1", sgMinor: 1)
        try fake.addDisk("0:0:1:0", block: "sda", blockMinor: 0, sg: "sg0", sgMinor: 0)
        try fake.addTape("2:0:0:0", number: 0, sg: "sg2", sgMinor: 2)
        let changer = try fake.addLU("3:0:0:0", type: 8, vendor: "STK     ", model: "L80             ", rev: "0107")
        try fake.addClassDevice(under: changer, folder: "scsi_changer", subsystem: "scsi_changer", name: "sch0", char: true, major: 86, minor: 0)
        try fake.addClassDevice(under: changer, folder: "scsi_generic", subsystem: "scsi_generic", name: "sg3", char: true, major: 21, minor: 3)
        let enclosure = try fake.addLU("10:0:0:0", type: 13, vendor: "HP      ", model: "MSA2012i        ", rev: "J200")
        try fake.addClassDevice(under: enclosure, folder: "scsi_generic", subsystem: "scsi_generic", name: "sg4", char: true, major: 21, minor: 4)
        try fake.addLU("4:0:0:1", type: 0, vendor: "ATA     ", model: "QEMU HARDDISK   ", rev: "2.5+")
        try fake.dir.mkdir(fake.root + "/bus/scsi/devices/host0")
        try fake.dir.mkdir(fake.root + "/bus/scsi/devices/target0:0:1")
        return fake
    }

    @Test func rowsAreSortedByAddressNumerically() throws {
        let fake = try testBed()
        let rows = try SCSIScan.scan(sysfsRoot: fake.root)
        #expect(rows.map(\.address.description) == ["0:0:1:0", "1:0:1:0", "2:0:0:0", "3:0:0:0", "4:0:0:1", "10:0:0:0"])
    }

    @Test func rowsCarryTheNodesForJSON() throws {
        let fake = try testBed()
        let rows = try SCSIScan.scan(sysfsRoot: fake.root)
        let tape = try #require(rows.first { $0.address == SCSIAddress(host: 2, channel: 0, target: 0, lun: 0) })
        #expect(tape == SCSIScanRow(address: SCSIAddress(host: 2, channel: 0, target: 0, lun: 0), peripheralType: 1, typeName: "tape",
                                    vendor: "Linux", model: "scsi_debug", revision: "0191", deviceNode: "/dev/st0",
                                    deviceNodeKind: .tape, noRewindNode: "/dev/nst0", genericNode: "/dev/sg2"))
        let disk = rows[0]
        #expect(disk.deviceNode == "/dev/sda")
        #expect(disk.deviceNodeKind == .block)
        #expect(disk.genericNode == "/dev/sg0")
        #expect(disk.vendor == "LIO-ORG")
        #expect(disk.model == "FILEIO")
        let changer = rows[3]
        #expect(changer.deviceNode == "/dev/sch0")
        #expect(changer.deviceNodeKind == .changer)
        #expect(changer.typeName == "mediumx")
        let noSg = rows[4]
        #expect(noSg.genericNode == nil)
        #expect(rows[5].deviceNode == nil)
    }

    @Test func layoutMatchesLsscsiByteForByte() throws {
        let fake = try testBed()
        let text = SCSIScan.formatLikeLsscsi(try SCSIScan.scan(sysfsRoot: fake.root))
        // The first line is what `lsscsi -g` printed on the test bed (transcripts/demo-pr.txt),
        // trailing blank included.
        let expected = """
            [0:0:1:0]    disk    LIO-ORG  FILEIO           4.0   /dev/sda   /dev/sg0 \n\
            [1:0:1:0]    disk    LIO-ORG  FILEIO           4.0   /dev/sdb   /dev/sg1 \n\
            [2:0:0:0]    tape    Linux    scsi_debug       0191  /dev/st0   /dev/sg2 \n\
            [3:0:0:0]    mediumx STK      L80              0107  /dev/sch0  /dev/sg3 \n\
            [4:0:0:1]    disk    ATA      QEMU HARDDISK    2.5+  -          -        \n\
            [10:0:0:0]   enclosu HP       MSA2012i         J200  -          /dev/sg4 \n
            """
        #expect(text == expected)
    }

    @Test func theContractsExampleLine() {
        let row = SCSIScanRow(address: SCSIAddress(host: 1, channel: 0, target: 0, lun: 0), peripheralType: 1, typeName: "tape",
                              vendor: "HP", model: "Ultrium 4-SCSI", revision: "H61W", deviceNode: "/dev/st0",
                              deviceNodeKind: .tape, noRewindNode: "/dev/nst0", genericNode: "/dev/sg0")
        #expect(SCSIScan.formatLine(row) == "[1:0:0:0]    tape    HP       Ultrium 4-SCSI   H61W  /dev/st0   /dev/sg0 ")
    }

    @Test func longFieldsPushTheRestRightLikePrintf() {
        let row = SCSIScanRow(address: SCSIAddress(host: 12, channel: 0, target: 100, lun: 65535), peripheralType: 0, typeName: "disk",
                              vendor: "VENDOR", model: "M", revision: "R", deviceNode: "/dev/sdaa10",
                              deviceNodeKind: .block, noRewindNode: nil, genericNode: "/dev/sg1000")
        #expect(SCSIScan.formatLine(row) == "[12:0:100:65535]disk    VENDOR   M                R     /dev/sdaa10  /dev/sg1000")
    }

    @Test func unreadableAndUnknownTypes() throws {
        let fake = try SGIOFakeSysfs()
        try fake.addLU("0:0:0:0", type: nil)
        try fake.addLU("0:0:0:1", type: 63)
        try fake.addLU("0:0:0:2", type: 0x1e)
        let rows = try SCSIScan.scan(sysfsRoot: fake.root)
        #expect(rows.map(\.typeName) == ["type?", "type???", "wlun"])
        #expect(rows.map(\.peripheralType) == [nil, 63, 0x1e])
        #expect(SCSIScan.formatLine(rows[0]).hasPrefix("[0:0:0:0]    type?   LIO-ORG "))
    }

    @Test func noScsiSubsystemIsAnEmptyList() throws {
        let fake = try SGIOFakeSysfs()
        SGIOTempDir.removeTree(fake.root + "/bus/scsi")
        #expect(try SCSIScan.scan(sysfsRoot: fake.root).isEmpty)
        #expect(SCSIScan.formatLikeLsscsi([]) == "")
    }

    @Test func noSysfsIsAnError() throws {
        let dir = try SGIOTempDir()
        #expect(throws: TransportError(.other, "cannot list SCSI devices: no sysfs at \(dir.path)/sys (mount -t sysfs sysfs /sys)")) {
            try SCSIScan.scan(sysfsRoot: dir.path + "/sys")
        }
    }

    @Test func addressesParseOnlyFourDecimalFields() {
        #expect(SCSIAddress(parsing: "0:0:1:0") == SCSIAddress(host: 0, channel: 0, target: 1, lun: 0))
        #expect(SCSIAddress(parsing: "1:2:3:18446744073709551615")?.lun == UInt64.max)
        for bad in ["host0", "target0:0:1", "1:2:3", "1:2:3:4:5", "a:b:c:d", "1::3:4", "-1:0:0:0", "1:0:0:0x1", ""] {
            #expect(SCSIAddress(parsing: bad) == nil, "\(bad)")
        }
        #expect(SCSIAddress(host: 2, channel: 0, target: 0, lun: 0) < SCSIAddress(host: 10, channel: 0, target: 0, lun: 0))
    }
}
