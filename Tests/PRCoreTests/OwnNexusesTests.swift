import Testing
@testable import PRCore

@Suite("OwnNexuses: where a registration of our key stands; initiator ports as an admin writes them")
struct OwnNexusesTests {
    static let name = "iqn.2024-01.com.example:cibou"
    static func session(_ isid: UInt64, rtpi: UInt16 = 1) -> Nexus {
        Nexus(transportID: .iscsi(name: name, isid: isid), relativeTargetPortIdentifier: rtpi)
    }

    @Test("iSCSI: this session, another live one, a logged-out one (our name, an ISID no session has), another host's")
    func iscsi() {
        let own = OwnNexuses(this: Self.session(0x23d000002), livePaths: [Self.session(0x23d000002), Self.session(0x23d000004)],
                             hostPorts: [Self.session(0x23d000002).transportID, Self.session(0x23d000004).transportID],
                             iscsiNames: [Self.name])
        #expect(own.standing(of: Self.session(0x23d000002)) == .this)
        // READ FULL STATUS may write the name and ISID in another case (LIO lower-cases the ISID)
        #expect(own.standing(of: Nexus(transportID: .iscsi(name: Self.name.uppercased(), isid: 0x23d000002), relativeTargetPortIdentifier: 1)) == .this)
        #expect(own.standing(of: Self.session(0x23d000004)) == .livePath)
        #expect(own.standing(of: Self.session(0x23d000001)) == .stale)
        #expect(own.standing(of: Self.session(0x23d000002, rtpi: 2)) == .stale, "a port of ours, no live path through target port 2")
        #expect(own.standing(of: Nexus(transportID: .iscsi(name: "iqn.2024-01.com.example:dir", isid: 0x23d000001), relativeTargetPortIdentifier: 1)) == .foreign)
        #expect(own.standing(of: Nexus(transportID: .iscsi(name: Self.name), relativeTargetPortIdentifier: 1)) == .foreign,
                "a name without ISID (format 00b) is not one of our sessions")
    }

    @Test("nothing known of this host's ports: only this nexus is ours, everything else foreign (never preempted)")
    func unknown() {
        let own = OwnNexuses(this: Self.session(1), iscsiNames: [Self.name])
        #expect(own.standing(of: Self.session(1)) == .this)
        #expect(own.standing(of: Self.session(2)) == .foreign)
        let none = OwnNexuses(this: nil)
        #expect(!none.isKnown)
        #expect(none.standing(of: Self.session(1)) == .foreign)
        #expect(none.summary == "this nexus: unknown; a lock held under our key through another path is not taken over")
    }

    @Test("Fibre Channel: a port of this host with no path to the LU is stale; livePaths unknown: ours, taken as live")
    func fibreChannel() {
        let a = TransportID.fibreChannel(portName: 0x2100_0024_ff00_0001), b = TransportID.fibreChannel(portName: 0x2100_0024_ff00_0002)
        let this = Nexus(transportID: a, relativeTargetPortIdentifier: 1)
        let known = OwnNexuses(this: this, livePaths: [this], hostPorts: [a, b])
        #expect(known.standing(of: Nexus(transportID: b, relativeTargetPortIdentifier: 2)) == .stale)
        let unknownPaths = OwnNexuses(this: this, hostPorts: [a, b])
        #expect(unknownPaths.standing(of: Nexus(transportID: b, relativeTargetPortIdentifier: 2)) == .livePath)
        #expect(unknownPaths.standing(of: Nexus(transportID: .fibreChannel(portName: 0x2100_0024_ff00_0009), relativeTargetPortIdentifier: 1)) == .foreign)
    }

    @Test("TransportID.parse(port:): iSCSI port, fcp, sas; anything else nil")
    func parsePorts() {
        #expect(TransportID.parse(port: "iqn.2024-01.com.example:cibou,i,0x00023d000003") == .iscsi(name: Self.name, isid: 0x23d000003))
        #expect(TransportID.parse(port: "iqn.x,I,0X1")?.description == "iqn.x,i,0x000000000001")
        #expect(TransportID.parse(port: "fcp,0x21000024FF000001") == .fibreChannel(portName: 0x2100_0024_ff00_0001))
        #expect(TransportID.parse(port: "SAS,500605b0000272b0") == .sas(address: 0x5006_05b0_0002_72b0))
        for bad in ["", "iqn.x", "iqn.x,i,0x", "iqn.x,i,0x1234567890abc", ",i,0x1", "iqn x,i,0x1", "fcp,", "fcp,12345678901234567",
                    "fcp,0xg", "sas", "iqn.x,i,0x12g", "iqn.a,i,0x1,iqn.b,i,0x2", "iqn.x,i,0x0000000000000002"] {
            #expect(TransportID.parse(port: bad) == nil, "\(bad)")
        }
    }
}
