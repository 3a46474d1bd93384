import Glibc
import PRCore
@testable import Transports

/// A scratch directory for one test (fake sysfs trees, device nodes, state files), removed on deinit.
final class SGIOTempDir {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let path: String

    init() throws {
        var template = Array("/tmp/storage-ctl-sgio-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Failure(description: "mkdtemp failed: errno \(errno)")
        }
        path = String(cString: p)
    }

    deinit { Self.removeTree(path) }

    func mkdir(_ p: String) throws {
        var current = ""
        for part in p.split(separator: "/") {
            current += "/" + part
            if Glibc.mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw Failure(description: "mkdir \(current): errno \(errno)")
            }
        }
    }

    func write(_ p: String, _ text: String) throws {
        if let slash = p.lastIndex(of: "/") { try mkdir(String(p[..<slash])) }
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Failure(description: "open \(p): errno \(errno)") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw Failure(description: "write \(p)") }
    }

    func write(_ p: String, bytes: [UInt8]) throws {
        if let slash = p.lastIndex(of: "/") { try mkdir(String(p[..<slash])) }
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Failure(description: "open \(p): errno \(errno)") }
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw Failure(description: "write \(p)") }
    }

    func symlink(_ target: String, at p: String) throws {
        if let slash = p.lastIndex(of: "/") { try mkdir(String(p[..<slash])) }
        guard Glibc.symlink(target, p) == 0 else { throw Failure(description: "symlink \(p): errno \(errno)") }
    }

    /// A character (or block) device node; false when this process may not create one.
    func mknod(_ p: String, char: Bool = true, major: UInt32, minor: UInt32, mode: UInt32 = 0o600) -> Bool {
        let dev = (UInt64(major & 0xfff) << 8) | (UInt64(major & ~0xfff) << 32)
            | UInt64(minor & 0xff) | (UInt64(minor & ~0xff) << 12)
        let kind = char ? S_IFCHR : S_IFBLK
        return Glibc.mknod(p, kind | mode_t(mode), dev_t(dev)) == 0
    }

    static func removeTree(_ p: String) {
        var st = stat()
        guard lstat(p, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            if case .success(let names) = SGIOSyscall.directoryEntries(p) {
                for name in names { removeTree(p + "/" + name) }
            }
            rmdir(p)
        } else {
            unlink(p)
        }
    }
}

/// A fake sysfs tree (and /dev directory) in a scratch directory, shaped like the real one for the
/// parts DeviceResolver and SCSIScan read: bus/scsi/devices, class/*, dev/char, dev/block, and the
/// LU directories with their attributes and upper-level driver entries.
final class SGIOFakeSysfs {
    let dir: SGIOTempDir
    var root: String { dir.path + "/sys" }
    var dev: String { dir.path + "/dev" }

    /// Whether this process can create device nodes (root, and a file system that allows them).
    static let canMakeDeviceNodes: Bool = {
        guard let d = try? SGIOTempDir() else { return false }
        return d.mknod(d.path + "/probe", major: 1, minor: 3)
    }()

    init() throws {
        dir = try SGIOTempDir()
        try dir.mkdir(root + "/bus/scsi/devices")
        try dir.mkdir(root + "/dev/char")
        try dir.mkdir(root + "/dev/block")
        try dir.mkdir(dev)
    }

    /// A SCSI LU under devices/platform/hostH/targetH:C:T/H:C:T:L, linked from bus/scsi/devices; `via` goes
    /// between the host and the target (an iSCSI `sessionN`, an FC `rport-…`, SAS `port-…/end_device-…`).
    @discardableResult
    func addLU(_ hctl: String, type: Int?, vendor: String = "LIO-ORG ", model: String = "FILEIO          ",
               rev: String = "4.0 ", via: String? = nil) throws -> String {
        let parts = hctl.split(separator: ":")
        let lu = root + "/devices/platform/host\(parts[0])" + (via.map { "/" + $0 } ?? "")
            + "/target\(parts[0]):\(parts[1]):\(parts[2])/\(hctl)"
        try dir.mkdir(lu)
        if let type { try dir.write(lu + "/type", "\(type)\n") }
        try dir.write(lu + "/vendor", vendor + "\n")
        try dir.write(lu + "/model", model + "\n")
        try dir.write(lu + "/rev", rev + "\n")
        try dir.symlink(lu, at: root + "/bus/scsi/devices/\(hctl)")
        return lu
    }

    /// A class device of `subsystem` named `name` below `parent` (an LU dir, or a disk for a
    /// partition), with dev, subsystem and (for LU children) device links, and dev/{char,block}/M:m.
    @discardableResult
    func addClassDevice(under parent: String, folder: String?, subsystem: String, name: String,
                        char: Bool, major: UInt32, minor: UInt32, hasDeviceLink: Bool = true) throws -> String {
        let d = parent + (folder.map { "/" + $0 } ?? "") + "/" + name
        try dir.mkdir(d)
        try dir.write(d + "/dev", "\(major):\(minor)\n")
        try dir.mkdir(root + "/class/\(subsystem)")
        try dir.symlink(root + "/class/\(subsystem)", at: d + "/subsystem")
        if hasDeviceLink { try dir.symlink(parent, at: d + "/device") }
        try dir.symlink(d, at: root + "/class/\(subsystem)/\(name)")
        try dir.symlink(d, at: root + "/dev/\(char ? "char" : "block")/\(major):\(minor)")
        return d
    }

    /// A device node in the fake /dev; false when nodes cannot be made here.
    @discardableResult
    func node(_ name: String, char: Bool = true, major: UInt32, minor: UInt32) -> Bool {
        let p = dev + "/" + name
        if let slash = p.lastIndex(of: "/") { try? dir.mkdir(String(p[..<slash])) }
        return dir.mknod(p, char: char, major: major, minor: minor)
    }

    /// The LIO disk of the test bed seen through one initiator: sdX + sgN.
    @discardableResult
    func addDisk(_ hctl: String, block: String, blockMinor: UInt32, sg: String, sgMinor: UInt32) throws -> String {
        let lu = try addLU(hctl, type: 0)
        try addClassDevice(under: lu, folder: "block", subsystem: "block", name: block, char: false, major: 8, minor: blockMinor)
        try addClassDevice(under: lu, folder: "scsi_generic", subsystem: "scsi_generic", name: sg, char: true, major: 21, minor: sgMinor)
        return lu
    }

    /// A scsi_debug-like tape drive: st0 with its mode variants and nst0…, the `tape` link, sgN.
    @discardableResult
    func addTape(_ hctl: String, number: Int, sg: String?, sgMinor: UInt32) throws -> String {
        let lu = try addLU(hctl, type: 1, vendor: "Linux   ", model: "scsi_debug      ", rev: "0191")
        let modes = ["", "l", "m", "a"]
        for (i, m) in modes.enumerated() {
            let minor = UInt32(number) | UInt32(i << 5)
            try addClassDevice(under: lu, folder: "scsi_tape", subsystem: "scsi_tape", name: "st\(number)\(m)", char: true, major: 9, minor: minor)
            try addClassDevice(under: lu, folder: "scsi_tape", subsystem: "scsi_tape", name: "nst\(number)\(m)", char: true, major: 9, minor: minor | 128)
        }
        try dir.symlink(lu + "/scsi_tape/st\(number)", at: lu + "/tape")
        if let sg {
            try addClassDevice(under: lu, folder: "scsi_generic", subsystem: "scsi_generic", name: sg, char: true, major: 21, minor: sgMinor)
        }
        return lu
    }
}

/// The transport-class parts of a fake sysfs tree that `SCSIPaths` and `LocalPorts` read: SCSI hosts with their
/// driver, iSCSI sessions, FC and SAS hosts, and the VPD pages and state of an LU.
extension SGIOFakeSysfs {
    /// devices/platform/hostH/scsi_host/hostH/proc_name, linked from class/scsi_host.
    func addSCSIHost(_ host: Int, procName: String) throws {
        let d = root + "/devices/platform/host\(host)/scsi_host/host\(host)"
        try dir.write(d + "/proc_name", procName + "\n")
        try? dir.symlink(d, at: root + "/class/scsi_host/host\(host)")
    }

    /// An iSCSI session N on host H (open-iscsi's software initiator makes one host per session) with its
    /// iscsi_host; `isid` written only when given, as some kernels show it.
    func addISCSISession(host: Int, session: Int, initiatorName: String, procName: String = "iscsi_tcp",
                         ifacename: String? = "default", isid: String? = nil, hostInitiatorName: String = "") throws {
        try addSCSIHost(host, procName: procName)
        let h = root + "/devices/platform/host\(host)/iscsi_host/host\(host)"
        try dir.write(h + "/initiatorname", hostInitiatorName + "\n")
        try? dir.symlink(h, at: root + "/class/iscsi_host/host\(host)")
        let s = root + "/devices/platform/host\(host)/session\(session)/iscsi_session/session\(session)"
        try dir.write(s + "/initiatorname", initiatorName + "\n")
        try dir.write(s + "/targetname", "iqn.2003-01.org.linux-iscsi.tb:sn.1\n")
        if let ifacename { try dir.write(s + "/ifacename", ifacename + "\n") }
        if let isid { try dir.write(s + "/isid", isid + "\n") }
        try dir.symlink(s, at: root + "/class/iscsi_session/session\(session)")
    }

    /// An FC HBA port: class/fc_host/hostH/port_name.
    func addFCHost(_ host: Int, portName: String, procName: String = "qla2xxx") throws {
        try addSCSIHost(host, procName: procName)
        let d = root + "/devices/platform/host\(host)/fc_host/host\(host)"
        try dir.write(d + "/port_name", portName + "\n")
        try dir.symlink(d, at: root + "/class/fc_host/host\(host)")
    }

    /// A SAS HBA: class/sas_host/hostH, host phys phy-H:N with their sas_address, and port-H:0 holding `portPhys`.
    func addSASHost(_ host: Int, phys: [String], portPhys: [Int], procName: String = "mpt3sas") throws {
        try addSCSIHost(host, procName: procName)
        let hostDir = root + "/devices/platform/host\(host)"
        try dir.mkdir(hostDir + "/sas_host/host\(host)")
        try dir.symlink(hostDir + "/sas_host/host\(host)", at: root + "/class/sas_host/host\(host)")
        for (n, address) in phys.enumerated() {
            let phy = hostDir + "/phy-\(host):\(n)"
            try dir.write(phy + "/sas_phy/phy-\(host):\(n)/sas_address", address + "\n")
            try dir.symlink(phy + "/sas_phy/phy-\(host):\(n)", at: root + "/class/sas_phy/phy-\(host):\(n)")
            if portPhys.contains(n) { try dir.symlink(phy, at: hostDir + "/port-\(host):0/phy-\(host):\(n)") }
        }
    }

    /// The LU's vpd_pg83 (and optionally vpd_pg80) and state.
    func setIdentification(_ lu: String, page83: [UInt8]?, page80: [UInt8]? = nil, state: String? = "running") throws {
        if let page83 { try dir.write(lu + "/vpd_pg83", bytes: page83) }
        if let page80 { try dir.write(lu + "/vpd_pg80", bytes: page80) }
        if let state { try dir.write(lu + "/state", state + "\n") }
    }

    /// A VPD 83h page naming an LU by NAA and the target port it was read through.
    static func page83(naa: [UInt8], relativeTargetPort: UInt16?, type: PeripheralDeviceType = .tape) -> [UInt8] {
        var designators = [DeviceIdentificationPage.Designator(codeSet: .binary, association: .logicalUnit, designatorType: .naa,
                                                               designator: naa)]
        if let relativeTargetPort {
            designators.append(.init(protocolIdentifier: 5, codeSet: .binary, protocolIdentifierValid: true, association: .targetPort,
                                     designatorType: .relativeTargetPort,
                                     designator: [0, 0, UInt8(relativeTargetPort >> 8), UInt8(truncatingIfNeeded: relativeTargetPort)]))
        }
        return DeviceIdentificationPage(peripheralDeviceType: type, designators: designators).encode()
    }
}
