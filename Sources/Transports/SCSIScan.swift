/// `scan`: the SCSI devices the kernel knows, read from sysfs, listed the way `lsscsi -g` lists them,
/// so an admin can find the `Control Device` (sg node) for an `Archive Device` (st/nst node).

/// A Linux SCSI address: host (adapter), channel (bus), target, LUN.
public struct SCSIAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var host: UInt32
    public var channel: UInt32
    public var target: UInt32
    public var lun: UInt64

    public init(host: UInt32, channel: UInt32, target: UInt32, lun: UInt64) {
        self.host = host
        self.channel = channel
        self.target = target
        self.lun = lun
    }

    /// Parses "H:C:T:L" (decimal, as sysfs names SCSI devices); nil for anything else
    /// ("host0", "target0:0:1", "1:2:3").
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 >= "0" && $0 <= "9" } }),
              let h = UInt32(parts[0]), let c = UInt32(parts[1]), let t = UInt32(parts[2]), let l = UInt64(parts[3])
        else { return nil }
        self.init(host: h, channel: c, target: t, lun: l)
    }

    /// "0:0:1:0".
    public var description: String { "\(host):\(channel):\(target):\(lun)" }

    /// Numeric order, field by field, as lsscsi sorts.
    public static func < (a: SCSIAddress, b: SCSIAddress) -> Bool {
        (a.host, a.channel, a.target, a.lun) < (b.host, b.channel, b.target, b.lun)
    }
}

/// One SCSI device (logical unit) as `scan` reports it.
public struct SCSIScanRow: Sendable, Equatable {
    /// Which upper-level driver's node `deviceNode` is.
    public enum NodeKind: String, Sendable, Equatable {
        /// sd (disk) or sr (CD/DVD): a block device.
        case block
        /// st: a tape drive (`deviceNode` is the rewinding /dev/stN; `noRewindNode` is /dev/nstN).
        case tape
        /// ch: a medium changer (/dev/schN).
        case changer
    }

    public var address: SCSIAddress
    /// Peripheral device type from INQUIRY (0 disk, 1 tape, 8 medium changer, ...); nil when unreadable.
    public var peripheralType: UInt8?
    /// lsscsi's short name of the type ("disk", "tape", "mediumx", "cd/dvd", "(0x15)"; "type?" when unreadable).
    public var typeName: String
    /// INQUIRY T10 vendor, product and revision as the kernel shows them, trailing blanks removed.
    public var vendor: String
    public var model: String
    public var revision: String
    /// The upper-level driver's node (/dev/sda, /dev/st0, /dev/sch0), if any.
    public var deviceNode: String?
    public var deviceNodeKind: NodeKind?
    /// For a tape drive: the non-rewinding node (/dev/nst0), what Bacula's `Archive Device` names.
    public var noRewindNode: String?
    /// The SCSI generic node (/dev/sgN): what `Control Device` should name. Nil when the sg driver
    /// is not bound (module not loaded).
    public var genericNode: String?

    public init(address: SCSIAddress, peripheralType: UInt8?, typeName: String, vendor: String, model: String,
                revision: String, deviceNode: String?, deviceNodeKind: NodeKind?, noRewindNode: String?,
                genericNode: String?) {
        self.address = address
        self.peripheralType = peripheralType
        self.typeName = typeName
        self.vendor = vendor
        self.model = model
        self.revision = revision
        self.deviceNode = deviceNode
        self.deviceNodeKind = deviceNodeKind
        self.noRewindNode = noRewindNode
        self.genericNode = genericNode
    }
}

public enum SCSIScan {
    /// Every SCSI device under `sysfsRoot`/bus/scsi/devices, sorted by H:C:T:L.
    ///
    /// Node names are `devDirectory` + the kernel's name (/dev/sda), which is what udev creates.
    /// An empty list when the SCSI mid-layer is not loaded; an error only when there is no sysfs.
    public static func scan(sysfsRoot: String = "/sys", devDirectory: String = "/dev") throws(TransportError) -> [SCSIScanRow] {
        let sysfs = SGIOSysfs(root: sysfsRoot)
        guard sysfs.isDirectory(sysfs.path("bus")) else {
            throw TransportError(.other, "cannot list SCSI devices: no sysfs at \(sysfs.root) (mount -t sysfs sysfs /sys)")
        }
        var dev = devDirectory
        while dev.count > 1 && dev.hasSuffix("/") { dev.removeLast() }
        let devices = sysfs.path("bus/scsi/devices")
        var rows: [SCSIScanRow] = []
        for name in sysfs.entries(devices) {
            guard let address = SCSIAddress(parsing: name) else { continue }   // host*, target*
            rows.append(row(address: address, dir: devices + "/" + name, sysfs: sysfs, dev: dev))
        }
        return rows.sorted { $0.address < $1.address }
    }

    static func row(address: SCSIAddress, dir: String, sysfs: SGIOSysfs, dev: String) -> SCSIScanRow {
        let type = sysfs.attribute(dir + "/type").flatMap { UInt8($0.trimmingBlanks()) }
        var row = SCSIScanRow(address: address, peripheralType: type, typeName: shortTypeName(type),
                              vendor: (sysfs.attribute(dir + "/vendor") ?? "").trailingBlanksRemoved(),
                              model: (sysfs.attribute(dir + "/model") ?? "").trailingBlanksRemoved(),
                              revision: (sysfs.attribute(dir + "/rev") ?? "").trailingBlanksRemoved(),
                              deviceNode: nil, deviceNodeKind: nil, noRewindNode: nil,
                              genericNode: sysfs.genericName(ofSCSIDevice: dir).map { dev + "/" + $0 })
        if let block = sysfs.entries(dir + "/block").first {
            row.deviceNode = dev + "/" + block
            row.deviceNodeKind = .block
        } else if let st = tapeName(dir: dir, sysfs: sysfs) {
            row.deviceNode = dev + "/" + st
            row.deviceNodeKind = .tape
            row.noRewindNode = dev + "/n" + st
        } else if let ch = sysfs.entries(dir + "/scsi_changer").first {
            row.deviceNode = dev + "/" + ch
            row.deviceNodeKind = .changer
        }
        return row
    }

    /// The st driver's rewinding node of a drive ("st0"): its `tape` link, else the plain stN entry.
    static func tapeName(dir: String, sysfs: SGIOSysfs) -> String? {
        if let linked = sysfs.linkName(dir + "/tape"), isPlainTapeName(linked) { return linked }
        return sysfs.entries(dir + "/scsi_tape").first(where: isPlainTapeName)
    }

    /// "st0" (not "st0l", "nst0", ...).
    static func isPlainTapeName(_ name: String) -> Bool {
        name.hasPrefix("st") && name.count > 2 && name.dropFirst(2).allSatisfy { $0 >= "0" && $0 <= "9" }
    }

    /// lsscsi's seven-character names of the peripheral device types.
    static let shortTypeNames = [
        "disk", "tape", "printer", "process", "worm", "cd/dvd", "scanner", "optical",
        "mediumx", "comms", "(0xa)", "(0xb)", "storage", "enclosu", "sim dsk", "opti rd",
        "bridge", "osd", "adi", "sec man", "zbc", "(0x15)", "(0x16)", "(0x17)",
        "(0x18)", "(0x19)", "(0x1a)", "(0x1b)", "(0x1c)", "(0x1d)", "wlun", "no dev",
    ]

    static func shortTypeName(_ type: UInt8?) -> String {
        guard let type else { return "type?" }
        return Int(type) < shortTypeNames.count ? shortTypeNames[Int(type)] : "type???"
    }

    /// The rows as `lsscsi -g` prints them, one line each ("\n"-terminated), trailing blanks included:
    ///
    ///     [0:0:1:0]    disk    LIO-ORG  FILEIO           4.0   /dev/sda   /dev/sg0
    ///     [2:0:0:0]    tape    Linux    scsi_debug       0191  /dev/st0   /dev/sg2
    ///
    /// Columns: `[H:C:T:L]` in 13, type in 8, vendor in 9, model in 17, revision in 6, the st/sd/sch
    /// node in 9, two blanks and the sg node in 9 ("-" where there is none). A field wider than its
    /// column pushes the rest right, as lsscsi's printf does.
    public static func formatLikeLsscsi(_ rows: [SCSIScanRow]) -> String {
        var out = ""
        for row in rows { out += formatLine(row) + "\n" }
        return out
    }

    /// One line of `formatLikeLsscsi`, without the newline.
    public static func formatLine(_ row: SCSIScanRow) -> String {
        var line = padded("[\(row.address)]", 13)
        line += padded(row.typeName, 7) + " "
        line += padded(row.vendor, 8) + " "
        line += padded(row.model, 16) + " "
        line += padded(row.revision, 4) + "  "
        line += padded(row.deviceNode ?? "-", 9)
        line += "  " + padded(row.genericNode ?? "-", 9)
        return line
    }

    /// printf("%-Ns"): left-aligned in `width`, never truncated.
    static func padded(_ s: String, _ width: Int) -> String {
        let n = s.count
        return n >= width ? s : s + String(repeating: " ", count: width - n)
    }
}

extension String {
    /// Without trailing blanks (sysfs pads INQUIRY strings to their field width).
    fileprivate func trailingBlanksRemoved() -> String {
        var s = Substring(self)
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return String(s)
    }

    fileprivate func trimmingBlanks() -> String {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        return String(s).trailingBlanksRemoved()
    }
}
