/// Reading the kernel's device model under sysfs, for `DeviceResolver` and `SCSIScan`.
///
/// Paths are built from an injectable root (normally "/sys") so tests run against a fake tree; the
/// layout relied on is the stable part of the sysfs ABI:
///
/// | path | what it is |
/// |---|---|
/// | `dev/char/MAJ:MIN`, `dev/block/MAJ:MIN` | link to the class device of a device number |
/// | `<class device>/subsystem` | link to its class (`scsi_generic`, `scsi_tape`, `block`, ...) |
/// | `<class device>/device` | link to the parent device (for SCSI: the LU, named H:C:T:L) |
/// | `<class device>/dev` | "MAJ:MIN" |
/// | `<class device>/partition` | present for a partition of a disk |
/// | `bus/scsi/devices/H:C:T:L` | link to each SCSI device (LU) |
/// | `<LU>/type`, `vendor`, `model`, `rev` | INQUIRY peripheral type and identification |
/// | `<LU>/block/sdX`, `scsi_tape/stN…`, `scsi_changer/schN`, `scsi_generic/sgN` | its upper-level drivers' nodes |
/// | `<LU>/tape` | link to the st driver's first (auto-rewind) class device, stN |
/// | `<LU>/state` | the mid-layer's device state: `running`, `offline`, `blocked`, `transport-offline`, ... |
/// | `<LU>/vpd_pg83`, `vpd_pg80` | VPD pages 83h and 80h as the kernel read them at scan time (binary, header included) |
/// | `class/scsi_host/hostH/proc_name` | the low-level driver (`iscsi_tcp`, `qla2xxx`, `mpt3sas`, `tcm_loopback`, ...) |
/// | `class/iscsi_session/sessionN/initiatorname`, `ifacename`, `isid` | an iSCSI session (`isid` only on some kernels) |
/// | `class/iscsi_host/hostH/initiatorname` | an iSCSI host's name (often empty for the software initiator) |
/// | `class/fc_host/hostH/port_name` | an FC HBA port's N_Port_Name (`0x21000024ff3dcb7e`) |
/// | `class/sas_host/hostH`, `class/sas_phy/phy-H:N/sas_address` | a SAS HBA and its phys' SAS addresses |
struct SGIOSysfs {
    let root: String

    init(root: String) {
        // "/sys/" and "/sys" name the same tree; keep joins free of "//".
        var r = root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        self.root = r
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    func exists(_ p: String) -> Bool {
        if case .success = SGIOSyscall.stat(p, followLinks: false) { return true }
        return false
    }

    func isDirectory(_ p: String) -> Bool {
        if case .success(let s) = SGIOSyscall.stat(p), s.type == .directory { return true }
        return false
    }

    /// A sysfs attribute without its trailing newline (nil when missing or unreadable).
    func attribute(_ p: String) -> String? {
        guard case .success(let bytes) = SGIOSyscall.readSmallFile(p) else { return nil }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    /// A binary sysfs attribute (`vpd_pg83`), at most `limit` bytes (a VPD page is at most 4 + 65535); nil
    /// when missing or unreadable.
    func binaryAttribute(_ p: String, limit: Int = 4 + 65535) -> [UInt8]? {
        guard case .success(let bytes) = SGIOSyscall.readSmallFile(p, limit: limit) else { return nil }
        return bytes
    }

    func canonical(_ p: String) -> String? {
        if case .success(let r) = SGIOSyscall.realpath(p) { return r }
        return nil
    }

    /// The last component of a link's target (`subsystem` -> "scsi_generic").
    func linkName(_ p: String) -> String? {
        guard case .success(let target) = SGIOSyscall.readlink(p) else { return nil }
        return Self.lastComponent(target)
    }

    /// Entries of a directory, sorted the way `ls` would (byte order), empty when missing.
    func entries(_ p: String) -> [String] {
        guard case .success(let names) = SGIOSyscall.directoryEntries(p) else { return [] }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// The class device of a device number, canonical (`…/0:0:1:0/scsi_generic/sg0`).
    func classDevice(character: Bool, major: UInt32, minor: UInt32) -> String? {
        canonical(path("dev/\(character ? "char" : "block")/\(major):\(minor)"))
    }

    /// The SCSI device (LU) directory above a class device, and its address.
    func scsiDevice(ofClassDevice dir: String) -> (dir: String, address: SCSIAddress)? {
        guard let lu = canonical(dir + "/device"), let address = SCSIAddress(parsing: Self.lastComponent(lu)) else { return nil }
        return (lu, address)
    }

    /// The sg node name of a SCSI device directory ("sg2"), if the sg driver is bound to it.
    func genericName(ofSCSIDevice lu: String) -> String? {
        entries(lu + "/scsi_generic").first { $0.hasPrefix("sg") }
    }

    /// "sda" from "/sys/devices/…/block/sda" (and from "sda").
    static func lastComponent(_ p: String) -> String {
        var s = Substring(p)
        while s.count > 1 && s.hasSuffix("/") { s.removeLast() }
        if let slash = s.lastIndex(of: "/") { return String(s[s.index(after: slash)...]) }
        return String(s)
    }
}
