import PRCore

/// This host's SCSI initiator ports as the kernel's transport classes show them in sysfs: the TransportID a
/// target sees for each (what its READ FULL STATUS lists), per path and for the whole host.
///
/// | transport | sysfs | TransportID |
/// |---|---|---|
/// | iSCSI | the `sessionN` above the LU; `class/iscsi_session/sessionN/initiatorname` and the ISID | `.iscsi(name:isid:)` (format 01b) |
/// | Fibre Channel | `class/fc_host/hostH/port_name` | `.fibreChannel(portName:)` |
/// | SAS | `class/sas_host/hostH`; the `sas_address` of the host phys in the path's `port-H:N` | `.sas(address:)` |
/// | anything else (tcm_loop, virtio-scsi, USB, ...) | | unknown, with a note |
public struct InitiatorPorts: Sendable, Equatable {
    /// Every initiator port of this host whose TransportID is known (each iSCSI session, FC port, SAS address).
    public var ports: [TransportID]
    /// The iSCSI initiator names whose every session is in `ports`, lower-cased: a registration under one of
    /// them with an ISID none of `ports` has is a session of ours that is gone. A name with a session whose
    /// ISID is unknown is left out (and said in `notes`): its registrations cannot be told apart.
    public var iscsiNames: [String]
    /// What could not be found out, one short sentence each.
    public var notes: [String]

    public init(ports: [TransportID] = [], iscsiNames: [String] = [], notes: [String] = []) {
        self.ports = ports
        self.iscsiNames = iscsiNames
        self.notes = notes
    }
}

public enum LocalPorts {
    /// The ISID open-iscsi gives session N: the OUI-format prefix 00023Dh, then N in the low 24 bits. Seen on the
    /// test bed (`session1` → `,i,0x00023d000001`, the 3rd and 4th sessions → `…03`, `…04`); it is iscsid's
    /// convention, not the kernel's, so it holds only for sessions iscsid made (the software initiator).
    /// Hardware initiators (qla4xxx, be2iscsi's own sessions) choose their own ISIDs.
    public static let openISCSIISIDBase: UInt64 = 0x0002_3D00_0000

    /// This host's initiator ports and iSCSI names, sorted and de-duplicated.
    public static func hostPorts(sysfsRoot: String = "/sys") -> InitiatorPorts {
        hostPorts(SGIOSysfs(root: sysfsRoot))
    }

    static func hostPorts(_ sysfs: SGIOSysfs) -> InitiatorPorts {
        var result = InitiatorPorts()
        var names: [String] = []
        var incompleteNames: Set<String> = []
        for session in sysfs.entries(sysfs.path("class/iscsi_session")) {
            guard let number = number(after: "session", in: session) else { continue }
            let host = sysfs.canonical(sysfs.path("class/iscsi_session/" + session)).flatMap { hostNumber(inPath: $0) }
            let name = iscsiInitiatorName(session: number, host: host, sysfs)
            switch iscsiSessionPort(session: number, host: host, sysfs) {
            case .success(let port): result.ports.append(port)
            case .failure(let unknown):
                result.notes.append(unknown.note)
                if let name { incompleteNames.insert(name.lowercased()) }
            }
            if let name { names.append(name) }
        }
        for host in sysfs.entries(sysfs.path("class/iscsi_host")) {
            if let name = nonEmpty(sysfs.attribute(sysfs.path("class/iscsi_host/\(host)/initiatorname"))) { names.append(name) }
        }
        for host in sysfs.entries(sysfs.path("class/fc_host")) {
            guard let h = number(after: "host", in: host) else { continue }
            switch fibreChannelPort(host: UInt32(h), sysfs) {
            case .success(let port): result.ports.append(port)
            case .failure(let unknown): result.notes.append(unknown.note)
            }
        }
        for host in sysfs.entries(sysfs.path("class/sas_host")) {
            guard let h = number(after: "host", in: host) else { continue }
            let addresses = sasHostPhyAddresses(host: UInt32(h), sysfs)
            if addresses.isEmpty { result.notes.append("SAS host\(h) shows no phy with a SAS address") }
            result.ports += addresses.map { TransportID.sas(address: $0) }
        }
        for name in names.map({ $0.lowercased() }) where !incompleteNames.contains(name) && !result.iscsiNames.contains(name) {
            result.iscsiNames.append(name)
        }
        for name in incompleteNames.sorted() {
            result.notes.append("iSCSI name \(name) left out of this host's names: one of its sessions has an unknown ISID")
        }
        result.iscsiNames.sort()
        result.ports = sortedUnique(result.ports)
        return result
    }

    /// Why a port is unknown, in one short sentence.
    struct Unknown: Error, Equatable {
        var note: String
        init(_ note: String) { self.note = note }
    }

    /// The initiator port of the path to the SCSI device at `lu` (its canonical sysfs directory).
    static func initiatorPort(ofSCSIDevice lu: String, address: SCSIAddress, _ sysfs: SGIOSysfs) -> Result<TransportID, Unknown> {
        let components = lu.split(separator: "/").map(String.init)
        // Only what lies between hostH and the target counts: the session or port of this path.
        let below = components.drop { $0 != "host\(address.host)" }
        if let session = below.lazy.compactMap({ number(after: "session", in: $0) }).first {
            return iscsiSessionPort(session: session, host: address.host, sysfs)
        }
        if sysfs.isDirectory(sysfs.path("class/fc_host/host\(address.host)")) {
            return fibreChannelPort(host: address.host, sysfs)
        }
        if sysfs.isDirectory(sysfs.path("class/sas_host/host\(address.host)")) {
            return sasPort(host: address.host, pathComponents: components, sysfs)
        }
        let driver = nonEmpty(sysfs.attribute(sysfs.path("class/scsi_host/host\(address.host)/proc_name"))) ?? "unknown"
        return .failure(Unknown("initiator port unknown for transport \(driver) (host\(address.host))"))
    }

    /// An iSCSI session's port: its initiator name and ISID. The ISID is the session's `isid` attribute where the
    /// kernel has one; else, for sessions iscsid made (host driver `iscsi_tcp`, or an `ifacename` set), open-iscsi's
    /// numbering (`openISCSIISIDBase` + N); else unknown.
    static func iscsiSessionPort(session: Int, host: UInt32?, _ sysfs: SGIOSysfs) -> Result<TransportID, Unknown> {
        guard let name = iscsiInitiatorName(session: session, host: host, sysfs) else {
            return .failure(Unknown("iSCSI session\(session) shows no initiator name"))
        }
        let dir = sysfs.path("class/iscsi_session/session\(session)")
        if let text = nonEmpty(sysfs.attribute(dir + "/isid")) {
            guard let isid = parseHex(text), isid <= 0xFFFF_FFFF_FFFF else {
                return .failure(Unknown("iSCSI session\(session) has an ISID that is not 48-bit hex: \(text)"))
            }
            return .success(.iscsi(name: name, isid: isid))
        }
        let driver = host.flatMap { nonEmpty(sysfs.attribute(sysfs.path("class/scsi_host/host\($0)/proc_name"))) }
        let iface = nonEmpty(sysfs.attribute(dir + "/ifacename")).flatMap { $0 == "(null)" || $0 == "<NULL>" ? nil : $0 }
        guard driver == "iscsi_tcp" || iface != nil else {
            return .failure(Unknown("ISID of iSCSI session\(session) unknown: initiator \(driver ?? "unknown") is not open-iscsi's software initiator, and the kernel shows no isid"))
        }
        guard session <= 0xFF_FFFF else {
            return .failure(Unknown("ISID of iSCSI session\(session) unknown: the session number does not fit open-iscsi's 24 bits"))
        }
        return .success(.iscsi(name: name, isid: openISCSIISIDBase + UInt64(session)))
    }

    /// The session's `initiatorname`, else its host's (hardware initiators set that one).
    static func iscsiInitiatorName(session: Int, host: UInt32?, _ sysfs: SGIOSysfs) -> String? {
        nonEmpty(sysfs.attribute(sysfs.path("class/iscsi_session/session\(session)/initiatorname")))
            ?? host.flatMap { nonEmpty(sysfs.attribute(sysfs.path("class/iscsi_host/host\($0)/initiatorname"))) }
    }

    static func fibreChannelPort(host: UInt32, _ sysfs: SGIOSysfs) -> Result<TransportID, Unknown> {
        guard let text = nonEmpty(sysfs.attribute(sysfs.path("class/fc_host/host\(host)/port_name"))), let wwpn = parseHex(text) else {
            return .failure(Unknown("FC host\(host) shows no port_name"))
        }
        return .success(.fibreChannel(portName: wwpn))
    }

    /// The SAS initiator port of a path: the address of the host phys in the `port-H:N` the path starts from (a
    /// wide port's phys share it). Without that port in the path, the one address all the host's phys share (most
    /// HBAs give every phy the same); else unknown.
    static func sasPort(host: UInt32, pathComponents: [String], _ sysfs: SGIOSysfs) -> Result<TransportID, Unknown> {
        if let hostIndex = pathComponents.firstIndex(of: "host\(host)"),
           let portIndex = pathComponents[hostIndex...].firstIndex(where: { $0.hasPrefix("port-\(host):") }) {
            let dir = "/" + pathComponents[...portIndex].joined(separator: "/")
            let phys = sysfs.entries(dir).filter { $0.hasPrefix("phy-\(host):") }
            let addresses = Set(phys.compactMap { sasAddress(phy: $0, sysfs) })
            if addresses.count == 1, let address = addresses.first { return .success(.sas(address: address)) }
        }
        let all = sasHostPhyAddresses(host: host, sysfs)
        if all.count == 1 { return .success(.sas(address: all[0])) }
        return .failure(Unknown(all.isEmpty ? "SAS host\(host) shows no phy with a SAS address"
                                            : "SAS host\(host) has phys with \(all.count) SAS addresses and the path shows no port: initiator port unknown"))
    }

    /// The distinct SAS addresses of host H's own phys (`phy-H:N`; an expander's are `phy-H:E:N`), sorted.
    static func sasHostPhyAddresses(host: UInt32, _ sysfs: SGIOSysfs) -> [UInt64] {
        let phys = sysfs.entries(sysfs.path("class/sas_phy")).filter {
            $0.hasPrefix("phy-\(host):") && $0.split(separator: ":").count == 2
        }
        return Array(Set(phys.compactMap { sasAddress(phy: $0, sysfs) })).sorted()
    }

    static func sasAddress(phy: String, _ sysfs: SGIOSysfs) -> UInt64? {
        nonEmpty(sysfs.attribute(sysfs.path("class/sas_phy/\(phy)/sas_address"))).flatMap(parseHex).flatMap { $0 == 0 ? nil : $0 }
    }

    /// N of "hostN"/"sessionN" (decimal digits only).
    static func number(after prefix: String, in name: String) -> Int? {
        guard name.hasPrefix(prefix) else { return nil }
        let digits = name.dropFirst(prefix.count)
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
        return Int(digits)
    }

    /// The H of the first `hostH` component of a sysfs path.
    static func hostNumber(inPath path: String) -> UInt32? {
        path.split(separator: "/").lazy.compactMap { number(after: "host", in: String($0)) }.first.map { UInt32($0) }
    }

    /// "0x21000024ff3dcb7e", "21000024FF3DCB7E", "0x00023d000001" → the value; nil for anything else or over 64 bits.
    static func parseHex(_ text: String) -> UInt64? {
        var digits = Substring(text)
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
        return Hex.value(Array(digits.utf8), maxDigits: 16)
    }

    static func nonEmpty(_ text: String?) -> String? {
        guard let text else { return nil }
        let trimmed = text.blanksTrimmed()
        return trimmed.isEmpty ? nil : trimmed
    }

    /// De-duplicated by normalized form, sorted by their bytes (a stable order for output and comparison).
    static func sortedUnique(_ ports: [TransportID]) -> [TransportID] {
        var seen: Set<TransportID> = []
        var out: [TransportID] = []
        for port in ports where seen.insert(port.normalized).inserted { out.append(port) }
        return out.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
    }
}

extension String {
    /// Without leading and trailing blanks and tabs.
    fileprivate func blanksTrimmed() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
