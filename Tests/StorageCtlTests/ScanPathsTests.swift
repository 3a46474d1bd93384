import Foundation
import PRCore
import Testing
import Transports
@testable import StorageCtl

/// `scan --json`'s `logical_units` and `host` on a fake sysfs tree: a LIO tape LU through two open-iscsi sessions
/// and an FC tape LU through two HBA ports; the lsscsi listing of the same tree unchanged.
@Suite struct ScanPathsTests {
    /// A fake /sys with just what scan and the nexus code read.
    final class Tree {
        let dir: String
        var root: String { dir + "/sys" }

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("storage-ctl-scan-\(UUID().uuidString.prefix(8))").path
            try mkdir("sys/bus/scsi/devices")
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }

        func mkdir(_ relative: String) throws {
            try FileManager.default.createDirectory(atPath: dir + "/" + relative, withIntermediateDirectories: true)
        }

        func write(_ relative: String, _ bytes: [UInt8]) throws {
            try mkdir(String(relative[..<relative.lastIndex(of: "/")!]))
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + relative))
        }

        func write(_ relative: String, _ text: String) throws { try write(relative, Array((text + "\n").utf8)) }

        func link(_ relative: String, to target: String) throws {
            try mkdir(String(relative[..<relative.lastIndex(of: "/")!]))
            try FileManager.default.createSymbolicLink(atPath: dir + "/" + relative, withDestinationPath: dir + "/" + target)
        }

        /// An LU at hostH/<via>/targetH:0:0/H:0:0:0 with its type, INQUIRY strings, state, VPD 83h and class nodes.
        func lu(host: Int, via: String, vendor: String, model: String, naa: [UInt8], rtpi: UInt16, nodes: [(String, String)]) throws {
            let hctl = "\(host):0:0:0"
            let lu = "sys/devices/platform/host\(host)/\(via)/target\(host):0:0/\(hctl)"
            try write(lu + "/type", "1")
            try write(lu + "/vendor", vendor)
            try write(lu + "/model", model)
            try write(lu + "/rev", "0001")
            try write(lu + "/state", "running")
            let page = DeviceIdentificationPage(peripheralDeviceType: .tape, designators: [
                .init(codeSet: .binary, association: .logicalUnit, designatorType: .naa, designator: naa),
                .init(codeSet: .binary, association: .targetPort, designatorType: .relativeTargetPort,
                      designator: [0, 0, UInt8(rtpi >> 8), UInt8(truncatingIfNeeded: rtpi)]),
            ])
            try write(lu + "/vpd_pg83", page.encode())
            for (folder, name) in nodes { try mkdir(lu + "/\(folder)/\(name)") }
            try link("sys/bus/scsi/devices/\(hctl)", to: lu)
        }

        func scsiHost(_ host: Int, procName: String) throws {
            try write("sys/devices/platform/host\(host)/scsi_host/host\(host)/proc_name", procName)
            try link("sys/class/scsi_host/host\(host)", to: "sys/devices/platform/host\(host)/scsi_host/host\(host)")
        }
    }

    static let initiator = "iqn.1994-05.com.redhat:tb-a"

    static func bed() throws -> Tree {
        let tree = try Tree()
        let lioNAA: [UInt8] = [0x60, 0x01, 0x40, 0x5a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12]
        for (host, session) in [(3, 1), (4, 2)] {
            try tree.scsiHost(host, procName: "iscsi_tcp")
            let s = "sys/devices/platform/host\(host)/session\(session)/iscsi_session/session\(session)"
            try tree.write(s + "/initiatorname", initiator)
            try tree.link("sys/class/iscsi_session/session\(session)", to: s)
            try tree.lu(host: host, via: "session\(session)", vendor: "LIO-ORG ", model: "TAPE            ", naa: lioNAA, rtpi: 1,
                        nodes: [("scsi_generic", "sg\(host)")])
        }
        for (host, wwpn, rtpi) in [(5, "0x21000024ff3dcb7e", 1), (6, "0x21000024ff3dcb7f", 2)] {
            try tree.scsiHost(host, procName: "qla2xxx")
            try tree.write("sys/devices/platform/host\(host)/fc_host/host\(host)/port_name", wwpn)
            try tree.link("sys/class/fc_host/host\(host)", to: "sys/devices/platform/host\(host)/fc_host/host\(host)")
            try tree.lu(host: host, via: "rport-\(host):0-0", vendor: "IBM     ", model: "ULT3580-TD8     ",
                        naa: [0x50, 0x01, 0x43, 0x80, 0x12, 0x34, 0x56, 0x78], rtpi: UInt16(rtpi),
                        nodes: [("scsi_tape", "st\(host - 5)"), ("scsi_generic", "sg\(host)")])
        }
        // a virtio-scsi disk without VPD pages in sysfs
        try tree.scsiHost(0, procName: "virtio_scsi")
        try tree.write("sys/devices/platform/host0/target0:0:0/0:0:0:0/type", "0")
        try tree.write("sys/devices/platform/host0/target0:0:0/0:0:0:0/state", "running")
        try tree.link("sys/bus/scsi/devices/0:0:0:0", to: "sys/devices/platform/host0/target0:0:0/0:0:0:0")
        return tree
    }

    func scan(_ tree: Tree, json: Bool) throws -> String {
        var out = ""
        #expect(try ScanVerb.run(json: json, sysfsRoot: tree.root, stdout: &out) == .ok)
        return out
    }

    @Test func jsonGroupsPathsByLogicalUnitWithTheirNexuses() throws {
        let tree = try Self.bed()
        let text = try scan(tree, json: true)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect((doc["devices"] as? [Any])?.count == 5)
        let units = try #require(doc["logical_units"] as? [[String: Any]])
        #expect(units.map { $0["identity"] as? String } == ["naa.5001438012345678", "naa.6001405abcdef0123456789abcdef012", nil])
        let fc = try #require(units[0]["paths"] as? [[String: Any]])
        #expect(fc.map { $0["hctl"] as? String } == ["5:0:0:0", "6:0:0:0"])
        #expect(fc.map { $0["node"] as? String } == ["/dev/st0", "/dev/st1"])
        #expect(fc.map { $0["no_rewind_node"] as? String } == ["/dev/nst0", "/dev/nst1"])
        #expect(fc.map { $0["relative_target_port"] as? Int } == [1, 2])
        #expect(fc.map { ($0["initiator_port"] as? [String: String])?["wwpn"] } == ["0x21000024ff3dcb7e", "0x21000024ff3dcb7f"])
        let iscsi = try #require(units[1]["paths"] as? [[String: Any]])
        #expect(iscsi.map { $0["sg"] as? String } == ["/dev/sg3", "/dev/sg4"])
        #expect(iscsi.map { ($0["initiator_port"] as? [String: String]) ?? [:] } == [
            ["protocol": "iscsi", "name": Self.initiator, "isid": "00023d000001"],
            ["protocol": "iscsi", "name": Self.initiator, "isid": "00023d000002"],
        ])
        #expect(iscsi.allSatisfy { ($0["notes"] as? [String]) == [] && $0["state"] as? String == "running" })
        let unknown = try #require((units[2]["paths"] as? [[String: Any]])?.first)
        #expect(unknown["initiator_port"] is NSNull && unknown["relative_target_port"] is NSNull)
        #expect(unknown["notes"] as? [String] == [
            "[0:0:0:0]: no LU designator in VPD pages 83h or 80h (sysfs vpd_pg83, vpd_pg80)",
            "[0:0:0:0]: no VPD page 83h in sysfs: relative target port unknown",
            "[0:0:0:0]: initiator port unknown for transport virtio_scsi (host0)",
        ])
        let host = try #require(doc["host"] as? [String: Any])
        #expect((host["initiator_ports"] as? [[String: String]])?.count == 4)
        #expect(host["iscsi_names"] as? [String] == [Self.initiator])
        #expect(host["notes"] as? [String] == [])
    }

    @Test func theListingIsStillLsscsis() throws {
        let tree = try Self.bed()
        #expect(try scan(tree, json: false) == """
            [0:0:0:0]    disk                                    -          -        \n\
            [3:0:0:0]    tape    LIO-ORG  TAPE             0001  -          /dev/sg3 \n\
            [4:0:0:0]    tape    LIO-ORG  TAPE             0001  -          /dev/sg4 \n\
            [5:0:0:0]    tape    IBM      ULT3580-TD8      0001  /dev/st0   /dev/sg5 \n\
            [6:0:0:0]    tape    IBM      ULT3580-TD8      0001  /dev/st1   /dev/sg6 \n
            """)
    }
}
