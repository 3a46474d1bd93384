/// What this host knows of its own I_T nexuses to one logical unit: the nexus a command goes
/// through, the other paths it has to the same LU now, and its initiator ports.
///
/// SPC registrations and a reservation belong to an I_T nexus (initiator port + target port), not to
/// a host. A host reaches a drive through several paths (two HBAs, several iSCSI sessions), and a path
/// that dies and comes back is a new nexus (a new ISID after an iSCSI re-login). Sorting every
/// registration of our key into "this nexus", "another live path of ours", "a dead nexus of ours" and
/// "another host" is what lets `lock` move a reservation off a dead path of its own without ever
/// touching another host's (docs/DESIGN.md "Several paths to one drive").
public struct OwnNexuses: Sendable, Equatable {
    /// The nexus commands go through; nil when the transport cannot tell (`notes` say why).
    public var this: Nexus?
    /// Every nexus through which this host reaches this LU now, `this` included; nil when unknown.
    public var livePaths: [Nexus]?
    /// Every initiator port this host has now (each iSCSI session, FC host port, SAS initiator port).
    public var hostPorts: [TransportID]
    /// This host's iSCSI initiator names: a registration under one of them with an ISID no session of
    /// this host has is a session of ours that is gone (a logout, a re-login with a new ISID).
    public var iscsiNames: [String]
    /// What could not be found out (for `caps` and the debug log), one short sentence each.
    public var notes: [String]

    public init(this: Nexus?, livePaths: [Nexus]? = nil, hostPorts: [TransportID] = [], iscsiNames: [String] = [],
                notes: [String] = []) {
        self.this = this
        self.livePaths = livePaths
        self.hostPorts = hostPorts
        self.iscsiNames = iscsiNames
        self.notes = notes
    }

    /// Where one registration stands from this host's point of view.
    public enum Standing: Equatable, Sendable {
        /// The nexus commands go through.
        case this
        /// Another path of this host to this LU, alive now (normal on a multi-path host).
        case livePath
        /// A nexus of this host that is gone: an iSCSI session of one of our names that no longer
        /// exists, or a port of this host with no path to this LU any more.
        case stale
        /// Not known to be this host's: another host, or a path we cannot see (keep out of it).
        case foreign
    }

    /// How `nexus` stands. Only what is known to be ours is ever `.livePath` or `.stale`; anything we
    /// cannot tell is `.foreign`, which nothing ever preempts.
    public func standing(of nexus: Nexus) -> Standing {
        let n = nexus.normalized
        if let this, this.normalized == n { return .this }
        if let livePaths, livePaths.contains(where: { $0.normalized == n }) { return .livePath }
        let port = n.transportID
        let ownPort = hostPorts.contains { $0.normalized == port }
        if ownPort {
            // A port of this host: a path that is gone when we know the live ones and it is not one of
            // them; otherwise taken as live (it is ours either way, never another host's).
            return livePaths == nil ? .livePath : .stale
        }
        if case .iscsiPort(let name, _) = port.decoded,
           iscsiNames.contains(where: { $0.lowercased() == name.lowercased() }) {
            // One of our iSCSI names, an ISID none of our sessions has now: a session of ours that ended.
            // Without the list of our sessions (no host ports known) we cannot tell: foreign.
            return hostPorts.isEmpty ? .foreign : .stale
        }
        return .foreign
    }

    /// One line for `-v` and the debug log: `this nexus: X; other live paths: Y; initiator ports: N`, or
    /// `this nexus: unknown (why)`.
    public var summary: String {
        guard let this else {
            return "this nexus: unknown" + (notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))")
                + "; a lock held under our key through another path is not taken over"
        }
        var text = "this nexus: \(this)"
        if let livePaths {
            let others = livePaths.filter { $0.normalized != this.normalized }
            text += "; other live paths: " + (others.isEmpty ? "none" : others.map(\.description).joined(separator: ", "))
        }
        text += "; initiator ports of this host: \(hostPorts.count)"
        if !notes.isEmpty { text += " (\(notes.joined(separator: "; ")))" }
        return text
    }

    /// Whether anything about this host's nexuses is known at all.
    public var isKnown: Bool { this != nil }
}
