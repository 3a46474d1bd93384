/// An I_T nexus as the PR engine identifies it: initiator port TransportID + RELATIVE TARGET PORT IDENTIFIER
/// (`docs/pr-rules.md` §1.1 `NexusId`, D27 "initiator port + RTPI").
public struct Nexus: Hashable, Sendable, CustomStringConvertible {
    /// The initiator port (for iSCSI: name + ISID, format 01b).
    public var transportID: TransportID
    /// The target port the command arrived on.
    public var relativeTargetPortIdentifier: UInt16

    public init(transportID: TransportID, relativeTargetPortIdentifier: UInt16) {
        self.transportID = transportID
        self.relativeTargetPortIdentifier = relativeTargetPortIdentifier
    }

    /// The same nexus with a canonical TransportID, so differently padded or cased encodings of one port compare equal.
    public var normalized: Nexus {
        Nexus(transportID: transportID.normalized, relativeTargetPortIdentifier: relativeTargetPortIdentifier)
    }

    public var description: String { "\(transportID) (RTPI \(relativeTargetPortIdentifier))" }
}
