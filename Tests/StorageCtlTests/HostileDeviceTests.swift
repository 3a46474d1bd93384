import Testing
@testable import StorageCtl
import PRCore
import Transports

/// A logical unit that runs the real PR engine but answers INQUIRY with whatever a test wants, so
/// storage-ctl's output can be checked against hostile device strings in-process.
final class ScriptedLU: SCSITransport {
    var state = LogicalUnitState()
    let nexus: Nexus
    /// Raw standard INQUIRY bytes (PRCore's encoder would clean the strings; a device need not).
    let inquiry: [UInt8]
    var path: String { "/dev/fake" }

    init(nexus: Nexus, vendor: [UInt8], product: [UInt8], revision: [UInt8]) {
        self.nexus = nexus
        var bytes = StandardInquiryData(peripheralDeviceType: .tape, vendor: "", product: "", revision: "").encode()
        func put(_ field: [UInt8], at offset: Int, width: Int) {
            for i in 0..<width { bytes[offset + i] = i < field.count ? field[i] : 0x20 }
        }
        put(vendor, at: 8, width: 8)
        put(product, at: 16, width: 16)
        put(revision, at: 32, width: 4)
        self.inquiry = bytes
    }

    func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
        switch state.process(cdb: cdb, dataOut: dataOut, dataInLength: dataInLength, from: nexus) {
        case .response(let r):
            return SCSICommandResult(status: r.status, sense: r.sense?.encodeFixed() ?? [], data: Array(r.data.prefix(dataInLength)))
        case .proceed:
            return SCSICommandResult(status: .good, data: Array(inquiry.prefix(dataInLength)))
        }
    }

    /// Registers `key` for another nexus through the engine, as a second host would.
    func register(_ key: ReservationKey, as other: Nexus, reserve: ReservationType? = nil) {
        let params = PersistentReserveOut.ParameterList(reservationKey: ReservationKey(0), serviceActionReservationKey: key,
                                                        specifyInitiatorPorts: false, allTargetPorts: false,
                                                        activatePersistThroughPowerLoss: false).encode()
        _ = state.process(cdb: PersistentReserveOut.CDB(serviceAction: .registerAndIgnoreExistingKey, scope: 0, type: .exclusiveAccess,
                                                        parameterListLength: 24).encode(), dataOut: params, dataInLength: 0, from: other)
        if let reserve {
            let p = PersistentReserveOut.ParameterList(reservationKey: key, serviceActionReservationKey: ReservationKey(0),
                                                       specifyInitiatorPorts: false, allTargetPorts: false,
                                                       activatePersistThroughPowerLoss: false).encode()
            _ = state.process(cdb: PersistentReserveOut.CDB(serviceAction: .reserve, scope: 0, type: reserve,
                                                            parameterListLength: 24).encode(), dataOut: p, dataInLength: 0, from: other)
        }
    }
}

@Suite("Hostile device strings")
struct HostileDeviceTests {
    func run(_ args: [String], lu: ScriptedLU) -> (Int32, String, [String]) { runInProcess(args, transport: lu) }

    @Test("control characters in INQUIRY strings and iSCSI names are escaped in query; JSON stays one document")
    func escaped() throws {
        let us = Nexus(transportID: .iscsi(name: "iqn.2024-01.com.example:us"), relativeTargetPortIdentifier: 1)
        let evil = Nexus(transportID: .iscsi(name: "iqn.evil\n    key=0xbac001\n      << reservation holder >>"), relativeTargetPortIdentifier: 1)
        let lu = ScriptedLU(nexus: us, vendor: Array("EV\u{1b}[2J".utf8), product: Array("X\nKey=0xdead".utf8), revision: Array("1\r".utf8))
        lu.register(ReservationKey(0xbad), as: evil, reserve: .exclusiveAccess)

        let (code, out, err) = run(["-k", "bac001", "/dev/fake", "query"], lu: lu)
        #expect(code == 0 && err.isEmpty, "\(err)")
        #expect(!out.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "control character in: \(out)")
        #expect(out == """
          EV\\x1b[2J  X\\x0aKey=0xdead  1\\x0d
          Peripheral device type: tape
          PR generation=0x1
            Key=0xbad
              All target ports bit clear
              Relative port address: 0x1
              << Reservation holder >>
              scope: LU_SCOPE,  type: Exclusive Access
              Transport Id of initiator:
                iSCSI name: iqn.evil\\x0a    key=0xbac001\\x0a      << reservation holder >>

        """)
        // exactly one holder line: the forged one stayed inside its name
        #expect(out.components(separatedBy: "\n").filter { $0.hasSuffix("<< Reservation holder >>") }.count == 1)

        let (jcode, json, _) = run(["-k", "bac001", "/dev/fake", "query", "--json"], lu: lu)
        #expect(jcode == 0)
        #expect(json.split(separator: "\n").count == 1, "one JSON document on one line: \(json)")
        #expect(json.contains(#""vendor":"EV\u001b[2J""#), "\(json)")
        #expect(json.contains(#""name":"iqn.evil\n    key=0xbac001\n      << reservation holder >>""#), "\(json)")
    }

    @Test("names from the configuration are escaped too")
    func configNames() throws {
        var settings = Settings()
        settings.hostNames[ReservationKey(0xbac999)] = "dir\n0xdead01"
        #expect(settings.label(ReservationKey(0xbac999)) == "0xbac999 (dir\\x0a0xdead01)")
        #expect(StatusVerb.field("two words\t") == "two_words\\x09")
    }

    @Test("a device without persistent reservations: PR IN and PR OUT verbs both say so, exit 3")
    func noPR() throws {
        final class NoPR: SCSITransport {
            var path: String { "/dev/st9" }
            func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
                let sense = SenseData(key: .illegalRequest, additionalSense: .invalidCommandOperationCode).encodeFixed()
                return SCSICommandResult(status: .checkCondition, sense: sense)
            }
        }
        let lu = NoPR()
        for verb in ["trylock", "regkeys", "register"] {
            let (code, _, err) = runInProcess(["-k", "bac001", "/dev/st9", verb], transport: lu)
            #expect(code == 3, "\(verb)")
            #expect(err.count == 1 && err[0].hasPrefix("storage-ctl: /dev/st9: persistent reservations are not supported by this device ("), "\(verb): \(err)")
        }
    }
}
