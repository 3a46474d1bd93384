import PRCore
import Testing
@testable import Transports

/// A host's nexuses to its LUs read from a fake sysfs tree: the initiator port above each SCSI device (iSCSI
/// session, FC HBA, SAS HBA), VPD 83h's identity and relative target port, and the live paths to one LU.
@Suite struct SCSIPathsTests {
    static let initiator = "iqn.1994-05.com.redhat:tb-a"
    static let tapeNAA: [UInt8] = [0x60, 0x01, 0x40, 0x5a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12]
    static let fcNAA: [UInt8] = [0x50, 0x01, 0x43, 0x80, 0x12, 0x34, 0x56, 0x78]

    /// The test bed's LIO tape LU through two open-iscsi sessions (session1 on host3, session2 on host4, one target
    /// port), and an FC tape LU through two HBA ports (host5, host6) reaching two target ports.
    static func twoISCSIAndTwoFC() throws -> SGIOFakeSysfs {
        let fake = try SGIOFakeSysfs()
        try fake.addISCSISession(host: 3, session: 1, initiatorName: initiator)
        try fake.addISCSISession(host: 4, session: 2, initiatorName: initiator, ifacename: "tbA2")
        for (host, session, sg) in [(3, 1, 3), (4, 2, 4)] {
            let lu = try fake.addLU("\(host):0:0:0", type: 1, vendor: "LIO-ORG ", model: "TAPE            ", via: "session\(session)")
            try fake.addClassDevice(under: lu, folder: "scsi_generic", subsystem: "scsi_generic", name: "sg\(sg)", char: true,
                                    major: 21, minor: UInt32(sg))
            try fake.setIdentification(lu, page83: SGIOFakeSysfs.page83(naa: tapeNAA, relativeTargetPort: 1))
        }
        try fake.addFCHost(5, portName: "0x21000024ff3dcb7e")
        try fake.addFCHost(6, portName: "0x21000024FF3DCB7F")
        for (host, rtpi, sg) in [(5, 1, 5), (6, 2, 6)] {
            let lu = try fake.addLU("\(host):0:0:0", type: 1, vendor: "IBM     ", model: "ULT3580-TD8     ", via: "rport-\(host):0-0")
            try fake.addClassDevice(under: lu, folder: "scsi_tape", subsystem: "scsi_tape", name: "st\(host - 5)", char: true,
                                    major: 9, minor: UInt32(host - 5))
            try fake.addClassDevice(under: lu, folder: "scsi_generic", subsystem: "scsi_generic", name: "sg\(sg)", char: true,
                                    major: 21, minor: UInt32(sg))
            try fake.setIdentification(lu, page83: SGIOFakeSysfs.page83(naa: fcNAA, relativeTargetPort: UInt16(rtpi)))
        }
        return fake
    }

    static func iscsi(_ session: UInt64, rtpi: UInt16 = 1) -> Nexus {
        Nexus(transportID: .iscsi(name: initiator, isid: 0x0002_3D00_0000 + session), relativeTargetPortIdentifier: rtpi)
    }

    static func fc(_ wwpn: UInt64, rtpi: UInt16) -> Nexus {
        Nexus(transportID: .fibreChannel(portName: wwpn), relativeTargetPortIdentifier: rtpi)
    }

    static func address(_ text: String) -> SCSIAddress { SCSIAddress(parsing: text)! }

    @Test func eachPathHasItsIdentityAndNexus() throws {
        let fake = try Self.twoISCSIAndTwoFC()
        let paths = SCSIPaths.all(sysfsRoot: fake.root)
        #expect(paths.map(\.address.description) == ["3:0:0:0", "4:0:0:0", "5:0:0:0", "6:0:0:0"])
        #expect(paths.map { $0.identity?.text } == ["naa.6001405abcdef0123456789abcdef012", "naa.6001405abcdef0123456789abcdef012",
                                                    "naa.5001438012345678", "naa.5001438012345678"])
        #expect(paths.map(\.nexus) == [Self.iscsi(1), Self.iscsi(2), Self.fc(0x2100_0024_ff3d_cb7e, rtpi: 1), Self.fc(0x2100_0024_ff3d_cb7f, rtpi: 2)])
        #expect(paths.allSatisfy { $0.notes.isEmpty && $0.isLive && $0.state == "running" })
        #expect(paths[0].nexus?.description == "iqn.1994-05.com.redhat:tb-a,i,0x00023d000001 (RTPI 1)")
        #expect(SCSIPaths.path(of: Self.address("6:0:0:0"), sysfsRoot: fake.root) == paths[3])
        #expect(SCSIPaths.path(of: Self.address("9:0:0:0"), sysfsRoot: fake.root) == nil)
    }

    /// A Control Device is followed by the drive it reached: its identity alone, and a live path's sg node by identity.
    @Test func identityAndALivePathByIdentity() throws {
        let fake = try Self.twoISCSIAndTwoFC()
        #expect(SCSIPaths.identity(of: Self.address("4:0:0:0"), sysfsRoot: fake.root)?.text == "naa.6001405abcdef0123456789abcdef012")
        #expect(SCSIPaths.identity(of: Self.address("9:0:0:0"), sysfsRoot: fake.root) == nil)
        #expect(SCSIPaths.liveGenericNode(of: "naa.5001438012345678", sysfsRoot: fake.root, devDirectory: "/dev/") == "/dev/sg5")
        #expect(SCSIPaths.liveGenericNode(of: "naa.0000", sysfsRoot: fake.root) == nil)
        // the first path offline: the next live one
        try fake.setIdentification(fake.root + "/bus/scsi/devices/5:0:0:0", page83: SGIOFakeSysfs.page83(naa: Self.fcNAA, relativeTargetPort: 1),
                                   state: "transport-offline")
        #expect(SCSIPaths.liveGenericNode(of: "naa.5001438012345678", sysfsRoot: fake.root) == "/dev/sg6")
    }

    @Test func ownNexusesOfAnISCSIPath() throws {
        let fake = try Self.twoISCSIAndTwoFC()
        let own = SCSIPaths.ownNexuses(of: Self.address("4:0:0:0"), sysfsRoot: fake.root)
        #expect(own.this == Self.iscsi(2))
        #expect(own.livePaths == [Self.iscsi(1), Self.iscsi(2)])
        #expect(own.hostPorts == [.fibreChannel(portName: 0x2100_0024_ff3d_cb7e), .fibreChannel(portName: 0x2100_0024_ff3d_cb7f),
                                  .iscsi(name: Self.initiator, isid: 0x0002_3D00_0001), .iscsi(name: Self.initiator, isid: 0x0002_3D00_0002)])
        #expect(own.iscsiNames == [Self.initiator])
        #expect(own.notes == [])
        // what lock will make of READ FULL STATUS's rows
        #expect(own.standing(of: Self.iscsi(1)) == .livePath)
        #expect(own.standing(of: Self.iscsi(3)) == .stale)   // a session of our name that is gone
        #expect(own.standing(of: Nexus(transportID: .iscsi(name: "iqn.1994-05.com.redhat:tb-b", isid: 0x0002_3D00_0001),
                                       relativeTargetPortIdentifier: 1)) == .foreign)
    }

    @Test func ownNexusesOfAnFCPathThroughTwoHBAs() throws {
        let fake = try Self.twoISCSIAndTwoFC()
        let own = SCSIPaths.ownNexuses(of: Self.address("5:0:0:0"), sysfsRoot: fake.root)
        #expect(own.this == Self.fc(0x2100_0024_ff3d_cb7e, rtpi: 1))
        #expect(own.livePaths == [Self.fc(0x2100_0024_ff3d_cb7e, rtpi: 1), Self.fc(0x2100_0024_ff3d_cb7f, rtpi: 2)])
        // our HBA port through a target port it has no path to now: a nexus of ours that is gone
        #expect(own.standing(of: Self.fc(0x2100_0024_ff3d_cb7e, rtpi: 2)) == .stale)
        #expect(own.standing(of: Self.fc(0x2100_0024_ff3d_cb80, rtpi: 1)) == .foreign)
    }

    @Test func pathsNotRunningAreNotLive() throws {
        let fake = try Self.twoISCSIAndTwoFC()
        for state in ["offline", "blocked", "transport-offline"] {
            try fake.dir.write(fake.root + "/bus/scsi/devices/3:0:0:0/state", state + "\n")
            let own = SCSIPaths.ownNexuses(of: Self.address("4:0:0:0"), sysfsRoot: fake.root)
            #expect(own.livePaths == [Self.iscsi(2)], "\(state)")
            // the path we go through counts even so
            #expect(SCSIPaths.ownNexuses(of: Self.address("3:0:0:0"), sysfsRoot: fake.root).livePaths == [Self.iscsi(1), Self.iscsi(2)])
        }
    }

    @Test func aPathOfUnknownNexusMakesLivePathsUnknown() throws {
        let fake = try Self.twoISCSIAndTwoFC()
        // a third path to the iSCSI tape through tcm_loop: no initiator port the kernel shows
        try fake.addSCSIHost(7, procName: "tcm_loopback")
        let lu = try fake.addLU("7:0:1:0", type: 1)
        try fake.setIdentification(lu, page83: SGIOFakeSysfs.page83(naa: Self.tapeNAA, relativeTargetPort: 3))
        let path = try #require(SCSIPaths.path(of: Self.address("7:0:1:0"), sysfsRoot: fake.root))
        #expect(path.nexus == nil && path.relativeTargetPortIdentifier == 3)
        #expect(path.notes == ["[7:0:1:0]: initiator port unknown for transport tcm_loopback (host7)"])
        let own = SCSIPaths.ownNexuses(of: Self.address("3:0:0:0"), sysfsRoot: fake.root)
        #expect(own.this == Self.iscsi(1))
        #expect(own.livePaths == nil)
        #expect(own.notes == ["live paths to naa.6001405abcdef0123456789abcdef012 unknown: the nexus of [7:0:1:0] is unknown",
                              "[7:0:1:0]: initiator port unknown for transport tcm_loopback (host7)"])
        // so a registration of our session through another target port is not called stale: ours, taken as live
        #expect(own.standing(of: Self.iscsi(1, rtpi: 3)) == .livePath)
        // and from the tcm_loop path itself nothing is known but the host's ports
        let fromLoop = SCSIPaths.ownNexuses(of: Self.address("7:0:1:0"), sysfsRoot: fake.root)
        #expect(fromLoop.this == nil && fromLoop.livePaths == nil && fromLoop.hostPorts.count == 4)
        // a device of no transport and no host directory at all
        let bare = try fake.addLU("8:0:0:0", type: 1)
        try fake.setIdentification(bare, page83: nil, state: "running")
        let p = try #require(SCSIPaths.path(of: Self.address("8:0:0:0"), sysfsRoot: fake.root))
        #expect(p.identity == nil && p.relativeTargetPortIdentifier == nil && p.initiatorPort == nil)
        #expect(p.notes == ["[8:0:0:0]: no LU designator in VPD pages 83h or 80h (sysfs vpd_pg83, vpd_pg80)",
                            "[8:0:0:0]: no VPD page 83h in sysfs: relative target port unknown",
                            "[8:0:0:0]: initiator port unknown for transport unknown (host8)"])
        #expect(SCSIPaths.ownNexuses(of: Self.address("8:0:0:0"), sysfsRoot: fake.root).notes.contains(
            "other paths to the LU of [8:0:0:0] unknown: it has no identity in sysfs"))
    }

    @Test func anISIDAttributeWinsAndHardwareInitiatorsAreUnknown() throws {
        let fake = try SGIOFakeSysfs()
        // a kernel with an isid attribute
        try fake.addISCSISession(host: 3, session: 1, initiatorName: Self.initiator, isid: "400001370000")
        // qla4xxx's own session: no ifacename, no isid
        try fake.addISCSISession(host: 4, session: 2, initiatorName: "iqn.2000-04.com.qlogic:hw", procName: "qla4xxx", ifacename: nil)
        // a hardware host whose session shows no name: the host's
        try fake.addISCSISession(host: 5, session: 3, initiatorName: "", procName: "be2iscsi", ifacename: nil, isid: "0x00023D000003",
                                 hostInitiatorName: "iqn.2001-05.com.emulex:be")
        for (host, session) in [(3, 1), (4, 2), (5, 3)] {
            let lu = try fake.addLU("\(host):0:0:0", type: 1, via: "session\(session)")
            try fake.setIdentification(lu, page83: SGIOFakeSysfs.page83(naa: Self.tapeNAA, relativeTargetPort: 1))
        }
        let paths = SCSIPaths.all(sysfsRoot: fake.root)
        #expect(paths[0].initiatorPort == .iscsi(name: Self.initiator, isid: 0x4000_0137_0000))
        #expect(paths[1].initiatorPort == nil)
        #expect(paths[1].notes == ["[4:0:0:0]: ISID of iSCSI session2 unknown: initiator qla4xxx is not open-iscsi's software initiator, and the kernel shows no isid"])
        #expect(paths[2].initiatorPort == .iscsi(name: "iqn.2001-05.com.emulex:be", isid: 0x0002_3D00_0003))
        let host = LocalPorts.hostPorts(sysfsRoot: fake.root)
        #expect(host.ports == [.iscsi(name: "iqn.2001-05.com.emulex:be", isid: 0x0002_3D00_0003),
                               .iscsi(name: Self.initiator, isid: 0x4000_0137_0000)])
        // the QLogic name has a session whose ISID is unknown: left out, or its live session would look stale
        #expect(host.iscsiNames == ["iqn.1994-05.com.redhat:tb-a", "iqn.2001-05.com.emulex:be"])
        #expect(host.notes.last == "iSCSI name iqn.2000-04.com.qlogic:hw left out of this host's names: one of its sessions has an unknown ISID")
    }

    @Test func sasInitiatorPortIsTheAddressOfThePathsHostPort() throws {
        let fake = try SGIOFakeSysfs()
        // a wide port of phys 0-1 and a narrow port on phy 2 with its own address
        try fake.addSASHost(7, phys: ["0x500605b0000272b0", "0x500605b0000272b0", "0x500605b0000272b2"], portPhys: [0, 1])
        let lu = try fake.addLU("7:0:0:0", type: 1, via: "port-7:0/end_device-7:0")
        try fake.setIdentification(lu, page83: SGIOFakeSysfs.page83(naa: Self.fcNAA, relativeTargetPort: 1))
        let path = try #require(SCSIPaths.path(of: Self.address("7:0:0:0"), sysfsRoot: fake.root))
        #expect(path.initiatorPort == .sas(address: 0x5006_05b0_0002_72b0))
        #expect(path.nexus?.description == "0x500605b0000272b0 (RTPI 1)")
        #expect(LocalPorts.hostPorts(sysfsRoot: fake.root).ports == [.sas(address: 0x5006_05b0_0002_72b0), .sas(address: 0x5006_05b0_0002_72b2)])
        // a path that shows no port: only an address all host phys share will do
        let other = try fake.addLU("7:0:1:0", type: 1)
        try fake.setIdentification(other, page83: SGIOFakeSysfs.page83(naa: Self.fcNAA, relativeTargetPort: 1))
        let unknown = try #require(SCSIPaths.path(of: Self.address("7:0:1:0"), sysfsRoot: fake.root))
        #expect(unknown.initiatorPort == nil)
        #expect(unknown.notes == ["[7:0:1:0]: SAS host7 has phys with 2 SAS addresses and the path shows no port: initiator port unknown"])
        let single = try SGIOFakeSysfs()
        try single.addSASHost(2, phys: ["0x5000ccab01020304", "0x5000ccab01020304"], portPhys: [])
        let lu2 = try single.addLU("2:0:3:0", type: 1)
        try single.setIdentification(lu2, page83: SGIOFakeSysfs.page83(naa: Self.fcNAA, relativeTargetPort: 1))
        #expect(SCSIPaths.path(of: Self.address("2:0:3:0"), sysfsRoot: single.root)?.initiatorPort == .sas(address: 0x5000_ccab_0102_0304))
    }

    @Test func serialNumberIsTheFallbackIdentityAndNoRTPIIsSaid() throws {
        let fake = try SGIOFakeSysfs()
        try fake.addFCHost(5, portName: "0x21000024ff3dcb7e")
        let lu = try fake.addLU("5:0:0:0", type: 1, vendor: "HP      ", model: "Ultrium 4-SCSI  ", via: "rport-5:0-0")
        // a page 83h with only a vendor-specific designator, and page 80h
        let page83 = DeviceIdentificationPage(peripheralDeviceType: .tape, designators: [
            .init(codeSet: .binary, association: .logicalUnit, designatorType: .vendorSpecific, designator: [1, 2, 3]),
        ]).encode()
        try fake.setIdentification(lu, page83: page83, page80: [0x01, 0x80, 0x00, 0x0A] + Array("HU19487T3A".utf8))
        let path = try #require(SCSIPaths.path(of: Self.address("5:0:0:0"), sysfsRoot: fake.root))
        #expect(path.identity == LogicalUnitIdentity(source: .unitSerialNumber, text: "serial.HP.Ultrium 4-SCSI.HU19487T3A"))
        #expect(path.initiatorPort == .fibreChannel(portName: 0x2100_0024_ff3d_cb7e))
        #expect(path.nexus == nil)
        #expect(path.notes == ["[5:0:0:0]: VPD page 83h has no relative target port designator"])
        let own = SCSIPaths.ownNexuses(of: Self.address("5:0:0:0"), sysfsRoot: fake.root)
        #expect(own.this == nil && own.livePaths == nil)
        #expect(own.notes.first == "[5:0:0:0]: VPD page 83h has no relative target port designator")
    }

    @Test func nodesSysfsDoesNotKnow() throws {
        let fake = try Self.twoISCSIAndTwoFC()
        let missing = SCSIPaths.ownNexuses(of: Self.address("9:0:0:0"), sysfsRoot: fake.root)
        #expect(missing.this == nil && missing.hostPorts.count == 4)
        #expect(missing.notes == ["SCSI device [9:0:0:0] is not in sysfs: its nexus is unknown"])
        let map = SCSIPaths.ownNexuses(unknownFor: "/dev/dm-0", sysfsRoot: fake.root)
        #expect(map.this == nil && map.iscsiNames == [Self.initiator])
        #expect(map.notes == ["/dev/dm-0 is not a SCSI device sysfs shows: its nexus is unknown"])
        let none = SCSIPaths.ownNexuses(unknownFor: "/dev/sg0", sysfsRoot: fake.dir.path + "/no-sysfs")
        #expect(none == OwnNexuses(this: nil, notes: ["/dev/sg0 is not a SCSI device sysfs shows: its nexus is unknown"]))
    }

    @Test func pathsGroupByIdentity() throws {
        let fake = try Self.twoISCSIAndTwoFC()
        try fake.addLU("9:0:0:0", type: 0)
        let groups = SCSIPaths.groupedByLogicalUnit(SCSIPaths.all(sysfsRoot: fake.root))
        #expect(groups.map { $0.identity?.text } == ["naa.5001438012345678", "naa.6001405abcdef0123456789abcdef012", nil])
        #expect(groups.map { $0.paths.map(\.address.description) } == [["5:0:0:0", "6:0:0:0"], ["3:0:0:0", "4:0:0:0"], ["9:0:0:0"]])
    }

    @Test func hexAndNumbersParseStrictly() {
        #expect(LocalPorts.parseHex("0x21000024ff3dcb7e") == 0x2100_0024_ff3d_cb7e)
        #expect(LocalPorts.parseHex("21000024FF3DCB7E") == 0x2100_0024_ff3d_cb7e)
        for bad in ["", "0x", "0x1ffffffffffffffff", "0xg1", "-1", "+1", " 0x1"] { #expect(LocalPorts.parseHex(bad) == nil, "\(bad)") }
        #expect(LocalPorts.number(after: "session", in: "session12") == 12)
        for bad in ["session", "session1a", "sessions", "host1"] { #expect(LocalPorts.number(after: "session", in: bad) == nil, "\(bad)") }
        #expect(LocalPorts.hostNumber(inPath: "/sys/devices/platform/host3/session1/target3:0:0/3:0:0:0") == 3)
    }
}
