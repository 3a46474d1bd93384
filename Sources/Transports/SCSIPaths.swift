import PRCore

/// One path to a logical unit: a SCSI device (H:C:T:L) of the mid-layer, with what sysfs tells of its I_T
/// nexus. The kernel read VPD pages 83h and 80h when it found the device and shows them as `vpd_pg83` and
/// `vpd_pg80`: reading them here sends no command. The LU identity groups paths (every path shows the same
/// LU designators); the RELATIVE TARGET PORT IDENTIFIER and the initiator port (`LocalPorts`) make the nexus.
public struct SCSIPath: Sendable, Equatable {
    public var address: SCSIAddress
    /// The mid-layer's `state` of the device (`running`, `offline`, `blocked`, `transport-offline`, ...); nil
    /// when sysfs does not show it.
    public var state: String?
    /// The LU's name (VPD 83h, else 80h); nil when neither page is in sysfs or names it.
    public var identity: LogicalUnitIdentity?
    /// The initiator port of this path, as READ FULL STATUS shows it; nil when unknown (`notes`).
    public var initiatorPort: TransportID?
    /// From VPD 83h; nil when the device does not report it (`notes`).
    public var relativeTargetPortIdentifier: UInt16?
    /// Why something above is unknown, one short sentence each.
    public var notes: [String]

    public init(address: SCSIAddress, state: String?, identity: LogicalUnitIdentity?, initiatorPort: TransportID?,
                relativeTargetPortIdentifier: UInt16?, notes: [String] = []) {
        self.address = address
        self.state = state
        self.identity = identity
        self.initiatorPort = initiatorPort
        self.relativeTargetPortIdentifier = relativeTargetPortIdentifier
        self.notes = notes
    }

    /// This path's I_T nexus, when both halves are known.
    public var nexus: Nexus? {
        guard let initiatorPort, let relativeTargetPortIdentifier else { return nil }
        return Nexus(transportID: initiatorPort, relativeTargetPortIdentifier: relativeTargetPortIdentifier)
    }

    /// Only a `running` device passes commands; `offline`, `blocked` (an iSCSI session in recovery, an FC
    /// port gone), `transport-offline` and the states of a device being added or removed are not live paths.
    public var isLive: Bool { state == "running" }
}

/// The paths of this host to its logical units, and `OwnNexuses` for one of them. Reads sysfs only.
public enum SCSIPaths {
    /// The path through SCSI device `address`; nil when sysfs has no such device.
    public static func path(of address: SCSIAddress, sysfsRoot: String = "/sys") -> SCSIPath? {
        let sysfs = SGIOSysfs(root: sysfsRoot)
        guard let lu = sysfs.canonical(sysfs.path("bus/scsi/devices/\(address)")) else { return nil }
        return path(ofSCSIDevice: lu, address: address, sysfs)
    }

    /// Every SCSI device's path, sorted by H:C:T:L.
    public static func all(sysfsRoot: String = "/sys") -> [SCSIPath] {
        all(SGIOSysfs(root: sysfsRoot))
    }

    static func all(_ sysfs: SGIOSysfs) -> [SCSIPath] {
        let devices = sysfs.path("bus/scsi/devices")
        var paths: [SCSIPath] = []
        for name in sysfs.entries(devices) {
            guard let address = SCSIAddress(parsing: name), let lu = sysfs.canonical(devices + "/" + name) else { continue }
            paths.append(path(ofSCSIDevice: lu, address: address, sysfs))
        }
        return paths.sorted { $0.address < $1.address }
    }

    /// The LU identity of SCSI device `address` alone (VPD 83h, else 80h): what a Control Device is
    /// remembered by. nil when sysfs does not show it.
    public static func identity(of address: SCSIAddress, sysfsRoot: String = "/sys") -> LogicalUnitIdentity? {
        let sysfs = SGIOSysfs(root: sysfsRoot)
        guard let lu = sysfs.canonical(sysfs.path("bus/scsi/devices/\(address)")) else { return nil }
        return identity(ofSCSIDevice: lu, sysfs).identity
    }

    /// The sg node of a live path to the LU named `identity` (the first by H:C:T:L), or nil.
    public static func liveGenericNode(of identity: String, sysfsRoot: String = "/sys", devDirectory: String = "/dev") -> String? {
        let sysfs = SGIOSysfs(root: sysfsRoot)
        let devices = sysfs.path("bus/scsi/devices")
        var dev = devDirectory
        while dev.count > 1 && dev.hasSuffix("/") { dev.removeLast() }
        for name in sysfs.entries(devices) {
            guard SCSIAddress(parsing: name) != nil, let lu = sysfs.canonical(devices + "/" + name),
                  sysfs.attribute(lu + "/state") == "running",
                  Self.identity(ofSCSIDevice: lu, sysfs).identity?.text == identity,
                  let sg = sysfs.genericName(ofSCSIDevice: lu) else { continue }
            return dev + "/" + sg
        }
        return nil
    }

    static func identity(ofSCSIDevice lu: String, _ sysfs: SGIOSysfs) -> (identity: LogicalUnitIdentity?, page83: DeviceIdentificationPage?) {
        let page83 = sysfs.binaryAttribute(lu + "/vpd_pg83").flatMap(DeviceIdentificationPage.decode)
        var identity = page83?.logicalUnitIdentity
        if identity == nil, let page80 = sysfs.binaryAttribute(lu + "/vpd_pg80").flatMap(UnitSerialNumberPage.decode) {
            identity = page80.logicalUnitIdentity(vendor: sysfs.attribute(lu + "/vendor") ?? "", product: sysfs.attribute(lu + "/model") ?? "")
        }
        return (identity, page83)
    }

    static func path(ofSCSIDevice lu: String, address: SCSIAddress, _ sysfs: SGIOSysfs) -> SCSIPath {
        var notes: [String] = []
        let (identity, page83) = identity(ofSCSIDevice: lu, sysfs)
        if identity == nil { notes.append("[\(address)]: no LU designator in VPD pages 83h or 80h (sysfs vpd_pg83, vpd_pg80)") }
        let rtpi = page83?.relativeTargetPortIdentifier
        if rtpi == nil {
            notes.append(page83 == nil ? "[\(address)]: no VPD page 83h in sysfs: relative target port unknown"
                                       : "[\(address)]: VPD page 83h has no relative target port designator")
        }
        var port: TransportID?
        switch LocalPorts.initiatorPort(ofSCSIDevice: lu, address: address, sysfs) {
        case .success(let p): port = p
        case .failure(let unknown): notes.append("[\(address)]: " + unknown.note)
        }
        return SCSIPath(address: address, state: sysfs.attribute(lu + "/state"), identity: identity, initiatorPort: port,
                        relativeTargetPortIdentifier: rtpi, notes: notes)
    }

    /// This host's nexuses to the LU of SCSI device `address`: its own nexus, the nexuses of every live path
    /// to the same LU (same identity, state `running`; this one always included), this host's initiator
    /// ports and iSCSI names. `livePaths` is nil when the LU's identity or any live path's nexus is unknown:
    /// an incomplete list would make a live path of ours look stale.
    public static func ownNexuses(of address: SCSIAddress, sysfsRoot: String = "/sys") -> OwnNexuses {
        let sysfs = SGIOSysfs(root: sysfsRoot)
        let host = LocalPorts.hostPorts(sysfs)
        var own = OwnNexuses(this: nil, livePaths: nil, hostPorts: host.ports, iscsiNames: host.iscsiNames, notes: [])
        guard let lu = sysfs.canonical(sysfs.path("bus/scsi/devices/\(address)")) else {
            own.notes = ["SCSI device [\(address)] is not in sysfs: its nexus is unknown"] + host.notes
            return own
        }
        let this = path(ofSCSIDevice: lu, address: address, sysfs)
        own.this = this.nexus
        var notes = this.notes
        if let identity = this.identity {
            let live = all(sysfs).filter { $0.identity == identity && $0.address != address && $0.isLive }
            let unknown = live.filter { $0.nexus == nil }
            if own.this == nil || !unknown.isEmpty {
                notes.append("live paths to \(identity) unknown: the nexus of "
                             + ([this] + unknown).filter { $0.nexus == nil }.map { "[\($0.address)]" }.joined(separator: ", ")
                             + " is unknown")
                notes += unknown.flatMap(\.notes)
            } else if let mine = own.this {
                own.livePaths = sortedUnique([mine] + live.compactMap(\.nexus))
            }
        } else {
            notes.append("other paths to the LU of [\(address)] unknown: it has no identity in sysfs")
        }
        own.notes = notes + host.notes
        return own
    }

    /// One OwnNexuses for a node sysfs does not show as a SCSI device (a dm-multipath map, no sysfs): only
    /// this host's ports.
    public static func ownNexuses(unknownFor node: String, sysfsRoot: String = "/sys") -> OwnNexuses {
        let host = LocalPorts.hostPorts(sysfsRoot: sysfsRoot)
        return OwnNexuses(this: nil, livePaths: nil, hostPorts: host.ports, iscsiNames: host.iscsiNames,
                          notes: ["\(node) is not a SCSI device sysfs shows: its nexus is unknown"] + host.notes)
    }

    /// The paths grouped by LU identity, groups in identity order; paths of unknown identity each a group of
    /// their own, after the others. Paths keep H:C:T:L order.
    public static func groupedByLogicalUnit(_ paths: [SCSIPath]) -> [(identity: LogicalUnitIdentity?, paths: [SCSIPath])] {
        var groups: [LogicalUnitIdentity: [SCSIPath]] = [:]
        var anonymous: [SCSIPath] = []
        for path in paths.sorted(by: { $0.address < $1.address }) {
            if let identity = path.identity { groups[identity, default: []].append(path) } else { anonymous.append(path) }
        }
        return groups.keys.sorted().map { (identity: Optional($0), paths: groups[$0]!) }
            + anonymous.map { (identity: nil, paths: [$0]) }
    }

    /// De-duplicated (normalized form), sorted by initiator port bytes, then RTPI.
    static func sortedUnique(_ nexuses: [Nexus]) -> [Nexus] {
        var seen: Set<Nexus> = []
        return nexuses.filter { seen.insert($0.normalized).inserted }.sorted {
            $0.transportID.bytes == $1.transportID.bytes ? $0.relativeTargetPortIdentifier < $1.relativeTargetPortIdentifier
                                                         : $0.transportID.bytes.lexicographicallyPrecedes($1.transportID.bytes)
        }
    }
}
