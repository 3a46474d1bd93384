import Foundation
import Glibc
import PRCore
import Testing
@testable import SgPersist
@testable import SgText
import Transports

/// A test-bed transcript (`Tests/Fixtures/sg_persist/transcripts`, copied from the shared test bed): real
/// sg_persist runs against LIO through two initiators, stderr and stdout merged as a pipe shows them.
struct PersistTranscript {
    struct Block {
        var command: String
        var output: String
        var exit: Int32
    }

    var blocks: [Block] = []

    init(named name: String) {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sg_persist/transcripts/\(name)")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        var current: Block?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("### ") {
                current = Block(command: String(line.dropFirst(4)), output: "", exit: -1)
            } else if line.hasPrefix("[exit status "), var block = current {
                block.exit = Int32(line.dropFirst("[exit status ".count).dropLast()) ?? -1
                blocks.append(block)
                current = nil
            } else if current != nil {
                current?.output += line + "\n"
            }
        }
    }

    /// The blocks of `sg_persist` runs, in order.
    var sgPersistBlocks: [Block] { blocks.filter { $0.command.hasPrefix("sg_persist ") } }

    func block(_ command: String, occurrence: Int = 0) -> Block? {
        blocks.filter { $0.command == command }.dropFirst(occurrence).first
    }
}

/// Output formatting checked byte for byte against what the real sg_persist printed on the test bed, from
/// responses built with the PRCore encoders.
@Suite("sg_persist transcripts")
struct PersistTranscriptTests {
    static let lio = StandardInquiryData(peripheralDeviceType: .disk, vendor: "LIO-ORG", product: "FILEIO", revision: "4.0")
    static let loopA = TransportID.sas(address: 0x5001_4050_0000_00A1)
    static let loopB = TransportID.sas(address: 0x5001_4050_0000_00B1)
    static let iscsiA = TransportID.iscsi(name: "iqn.2026-11.org.testbed:initiator-a", isid: 0x0002_3D00_0001)
    static let iscsiB = TransportID.iscsi(name: "iqn.2026-11.org.testbed:initiator-b", isid: 0x0002_3D00_0002)

    static let lioCapabilities = ReportCapabilitiesResponse(
        compatibleReservationHandling: true, specifyInitiatorPortsCapable: true, allTargetPortsCapable: true,
        persistThroughPowerLossCapable: true, typeMaskValid: true, allowCommands: 1, typeMask: 0xEA01)

    /// Runs the runner against a device answering INQUIRY with LIO's data, then `answer`.
    static func run(_ command: String, answer: PersistScriptedTransport.Response) -> (text: String, exit: Int32, sent: [PersistScriptedTransport.Sent]) {
        let arguments = command.split(separator: " ").dropFirst().map(String.init)
        let transport = PersistScriptedTransport(path: "dev", responses: [.init(data: lio.encode()), answer])
        var out = "", err = ""
        let code = PersistCommand.run(arguments: arguments, environment: { _ in nil }, stdout: &out, stderr: &err,
                                      openDevice: { (_, _) throws(TransportError) in transport })
        return (err + out, code, transport.sent)
    }

    static func expectBlock(_ transcript: PersistTranscript, _ command: String, occurrence: Int = 0,
                            answer: PersistScriptedTransport.Response, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let block = transcript.block(command, occurrence: occurrence) else {
            Issue.record("no block \(command)", sourceLocation: sourceLocation)
            return
        }
        let result = run(command, answer: answer)
        #expect(result.text == block.output, sourceLocation: sourceLocation)
        #expect(result.exit == block.exit, sourceLocation: sourceLocation)
    }

    @Test("INQUIRY header lines, as printed for LIO")
    func inquiryHeader() {
        #expect(PersistOutput.inquiryHeader(Self.lio) == "  LIO-ORG   FILEIO            4.0 \n  Peripheral device type: disk\n")
        let tape = StandardInquiryData(peripheralDeviceType: .tape, vendor: "IBM", product: "ULT3580-TD5", revision: "B170")
        #expect(PersistOutput.inquiryHeader(tape) == "  IBM       ULT3580-TD5       B170\n  Peripheral device type: tape\n")
    }

    @Test("demo-pr (tcm_loop, SAS TransportIDs): every sg_persist block", arguments: ["demo-pr.txt", "demo-pr-iscsi.txt"])
    func demo(_ name: String) {
        let t = PersistTranscript(named: name)
        let (a, b) = name == "demo-pr.txt" ? (Self.loopA, Self.loopB) : (Self.iscsiA, Self.iscsiB)
        let bRTPI: UInt16 = name == "demo-pr.txt" ? 2 : 1
        let keys = ReadKeysResponse(generation: 2, keys: [0xBAC001, 0xBAC999]).encode()
        let reservation = ReadReservationResponse(generation: 2, reservation: .init(key: 0xBAC001, type: .exclusiveAccess)).encode()
        let full = ReadFullStatusResponse(generation: 2, descriptors: [
            FullStatusDescriptor(key: 0xBAC001, isReservationHolder: true, type: .exclusiveAccess,
                                 relativeTargetPortIdentifier: 1, transportID: a),
            FullStatusDescriptor(key: 0xBAC999, isReservationHolder: false, type: ReservationType(rawValue: 0),
                                 relativeTargetPortIdentifier: bRTPI, transportID: b),
        ]).encode()
        let unitAttention = SenseData(key: .unitAttention, additionalSense: .reservationsPreempted).encodeFixed()

        Self.expectBlock(t, "sg_persist --in --report-capabilities /dev/sg0", answer: .init(data: Self.lioCapabilities.encode()))
        Self.expectBlock(t, "sg_persist --out --register --param-sark=0xbac001 /dev/sg0", answer: .init())
        Self.expectBlock(t, "sg_persist --out --register --param-sark=0xbac999 /dev/sg1", answer: .init())
        Self.expectBlock(t, "sg_persist --out --reserve --param-rk=0xbac001 --prout-type=3 /dev/sg0", answer: .init())
        for device in ["/dev/sg0", "/dev/sg1"] {
            Self.expectBlock(t, "sg_persist -i -k \(device)", answer: .init(data: keys))
            Self.expectBlock(t, "sg_persist -i -r \(device)", answer: .init(data: reservation))
            Self.expectBlock(t, "sg_persist -i -s \(device)", answer: .init(data: full))
        }
        Self.expectBlock(t, "sg_persist --out --release --param-rk=0xbac001 --prout-type=3 /dev/sg0", answer: .init())
        Self.expectBlock(t, "sg_persist -i -r /dev/sg1", occurrence: 1,
                         answer: .init(data: ReadReservationResponse(generation: 2, reservation: nil).encode()))
        Self.expectBlock(t, "sg_persist --out --clear --param-rk=0xbac001 /dev/sg0", answer: .init())
        Self.expectBlock(t, "sg_persist -i -k /dev/sg1", occurrence: 1, answer: .init(status: 0x02, sense: unitAttention))
        Self.expectBlock(t, "sg_persist -i -k /dev/sg1", occurrence: 2,
                         answer: .init(data: ReadKeysResponse(generation: 3, keys: []).encode()))
    }

    @Test("demo-fence-scsi: READ FULL STATUS with a registrants-only holder", arguments: ["demo-fence-scsi-loop.txt", "demo-fence-scsi-iscsi.txt"])
    func fence(_ name: String) {
        let t = PersistTranscript(named: name)
        let loop = name.contains("loop")
        let full = ReadFullStatusResponse(generation: 2, descriptors: [
            FullStatusDescriptor(key: 0xB1, isReservationHolder: true, type: .writeExclusiveRegistrantsOnly,
                                 relativeTargetPortIdentifier: loop ? 2 : 1, transportID: loop ? Self.loopB : Self.iscsiB),
            FullStatusDescriptor(key: 0xA1, isReservationHolder: false, type: ReservationType(rawValue: 0),
                                 relativeTargetPortIdentifier: 1, transportID: loop ? Self.loopA : Self.iscsiA),
        ]).encode()
        Self.expectBlock(t, "sg_persist -i -s /dev/sg0", answer: .init(data: full))
        if !loop {
            let after = ReadFullStatusResponse(generation: 3, descriptors: [
                FullStatusDescriptor(key: 0xA1, isReservationHolder: true, type: .writeExclusiveRegistrantsOnly,
                                     relativeTargetPortIdentifier: 1, transportID: Self.iscsiA),
            ]).encode()
            Self.expectBlock(t, "sg_persist -i -s /dev/sg0", occurrence: 1, answer: .init(data: after))
        }
    }

    @Test("the formatters take PRCore values directly")
    func formattersOnValues() {
        #expect(PersistOutput.readKeys(ReadKeysResponse(generation: 2, keys: [0xBAC001, 0xBAC999]))
                == "  PR generation=0x2, 2 registered reservation keys follow:\n    0xbac001\n    0xbac999\n")
        #expect(PersistOutput.readKeys(ReadKeysResponse(generation: 1, keys: [0xA1]))
                == "  PR generation=0x1, 1 registered reservation key follows:\n    0xa1\n")
        #expect(PersistOutput.readKeys(ReadKeysResponse(generation: 3, keys: []))
                == "  PR generation=0x3, there are NO registered reservation keys\n")
        #expect(PersistOutput.readReservation(ReadReservationResponse(generation: 2, reservation: .init(key: 0xBAC001, type: .exclusiveAccess)))
                == "  PR generation=0x2, Reservation follows:\n    Key=0xbac001\n    scope: LU_SCOPE,  type: Exclusive Access\n")
        #expect(PersistOutput.readReservation(ReadReservationResponse(generation: 2, reservation: nil))
                == "  PR generation=0x2, there is NO reservation held\n")
        #expect(PersistOutput.readFullStatus(ReadFullStatusResponse(generation: 0, descriptors: []))
                == "  PR generation=0x0\n  No full status descriptors\n")
        let iscsiName = ReadFullStatusResponse(generation: 1, descriptors: [
            FullStatusDescriptor(key: 0xA1, allTargetPorts: true, isReservationHolder: false, type: ReservationType(rawValue: 0),
                                 relativeTargetPortIdentifier: 7, transportID: .iscsi(name: "iqn.2024-01.example:dir")),
        ])
        #expect(PersistOutput.readFullStatus(iscsiName) == """
              PR generation=0x1
                Key=0xa1
                  All target ports bit set
                  not reservation holder
                  Transport Id of initiator:
                    iSCSI name: iqn.2024-01.example:dir

            """)
        let fc = ReadFullStatusResponse(generation: 1, descriptors: [
            FullStatusDescriptor(key: 0xA1, isReservationHolder: true, scope: 0, type: .exclusiveAccessAllRegistrants,
                                 relativeTargetPortIdentifier: 1, transportID: .fibreChannel(portName: 0x2100_0024_FF12_3456)),
        ])
        #expect(PersistOutput.readFullStatus(fc) == """
              PR generation=0x1
                Key=0xa1
                  All target ports bit clear
                  Relative port address: 0x1
                  << Reservation holder >>
                  scope: LU_SCOPE,  type: Exclusive Access, all registrants
                  Transport Id of initiator:
                    FCP-2 World Wide Name:
                  21 00 00 24 ff 12 34 56

            """)
    }
}

/// The test-bed comparison (`tools/vm-sequence*.sh`): the same command sequence through two LIO initiators,
/// once with the real sg_persist and once with this personality (each on a fresh LU), recorded in
/// `Fixtures/sg_persist/testbed`. The recordings must agree except for the measured `-vvv` durations.
@Suite("sg_persist test-bed comparison")
struct PersistTestBedComparisonTests {
    static func load(_ name: String) -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sg_persist/testbed/\(name)")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }

    static func withoutDurations(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("      duration=") ? "      duration=N ms" : String($0) }
            .joined(separator: "\n")
    }

    @Test("recordings agree", arguments: [("vm-sequence-sg_persist.txt", "vm-sequence-storage-ctl.txt"),
                                          ("vm-sequence-iscsi-sg_persist.txt", "vm-sequence-iscsi-storage-ctl.txt")])
    func agree(_ pair: (String, String)) {
        let real = Self.load(pair.0), ours = Self.load(pair.1)
        #expect(real.contains("### "))
        #expect(Self.withoutDurations(real) == Self.withoutDurations(ours))
    }
}
