import Foundation
import Glibc
import PRCore
import Testing
@testable import SgPersist
@testable import SgText
import Transports

/// The sg_persist personality on a simulated LU seen through two initiators: the command sequence of the
/// test-bed transcript gives the same text and exit statuses as the real sg_persist on LIO, apart from
/// what identifies the device and the initiators (INQUIRY header, TransportIDs).
@Suite("sg_persist on a simulated LU")
struct PersistSimulatedLUTests {
    static let nameA = "iqn.2026-11.org.testbed:initiator-a"
    static let nameB = "iqn.2026-11.org.testbed:initiator-b"

    final class LU {
        let path: String
        init() {
            path = NSTemporaryDirectory() + "persist-sim-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).lu"
            // as `storage-ctl FILE create` makes one: an empty file is not a drive
            do { _ = try SimulatedLU(path: path, initiatorName: PersistSimulatedLUTests.nameA, create: true) }
            catch { preconditionFailure("cannot create \(path): \(error)") }
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }

        /// Runs `storage-ctl persist ARGS PATH` as initiator A (port 1) or B (port 2).
        func run(_ arguments: [String], as initiator: String, environment: [String: String] = [:])
            -> (stdout: String, stderr: String, exit: Int32)
        {
            var out = "", err = ""
            let port: UInt16 = initiator == PersistSimulatedLUTests.nameA ? 1 : 2
            let path = self.path
            let code = PersistCommand.run(
                arguments: arguments.map { $0 == "DEV" ? path : $0 }, environment: { environment[$0] },
                stdout: &out, stderr: &err,
                openDevice: { (p, _) throws(TransportError) in
                    // As the live opener: sg_persist's read-only opens are not passed on (see PersistCommand.openLive).
                    try SimulatedLU(path: p, initiatorName: initiator, relativeTargetPortIdentifier: port)
                })
            return (out, err, code)
        }

        /// The INQUIRY header the simulated LU gives.
        var header: String {
            let lu = try? SimulatedLU(path: path, initiatorName: "iqn.x:y")
            let data = (try? lu?.execute(cdb: Inquiry.CDB(allocationLength: 36).encode(), dataOut: [], dataInLength: 36,
                                         timeout: .seconds(5)))?.data ?? []
            return PersistOutput.inquiryHeader(data)
        }
    }

    @Test("the demo-pr transcript sequence, block by block")
    func transcriptSequence() throws {
        let lu = LU()
        let transcript = PersistTranscript(named: "demo-pr.txt")
        let lioHeader = "  LIO-ORG   FILEIO            4.0 \n  Peripheral device type: disk\n"
        var compared = 0
        for block in transcript.sgPersistBlocks {
            let words = block.command.split(separator: " ").dropFirst().map(String.init)
            guard let device = words.last, device.hasPrefix("/dev/sg") else { continue }
            if words.contains("--report-capabilities") { continue }   // LIO's capabilities differ from the engine's
            let initiator = device == "/dev/sg0" ? Self.nameA : Self.nameB
            let result = lu.run(Array(words.dropLast()) + ["DEV"], as: initiator)
            var expected = block.output.replacingOccurrences(of: lioHeader, with: lu.header)
            expected = expected.replacingOccurrences(of: "SAS address: 0x50014050000000a1", with: "iSCSI name: \(Self.nameA)")
            expected = expected.replacingOccurrences(of: "SAS address: 0x50014050000000b1", with: "iSCSI name: \(Self.nameB)")
            #expect(result.stderr + result.stdout == expected, "\(block.command)")
            #expect(result.exit == block.exit, "\(block.command)")
            compared += 1
        }
        #expect(compared == 14)
    }

    @Test("register, reserve, conflict, preempt, unit attentions, --readonly")
    func session() throws {
        let lu = LU()
        let header = lu.header
        let a = Self.nameA, b = Self.nameB

        var r = lu.run(["-c", "DEV"], as: a)
        #expect(r.exit == 0)
        #expect(r.stdout == header + """
            Report capabilities response:
              Replace Lost Reservation Capable(RLR_C): 0
              Compatible Reservation Handling(CRH): 0
              Specify Initiator Ports Capable(SIP_C): 0
              All Target Ports Capable(ATP_C): 0
              Persist Through Power Loss Capable(PTPL_C): 1
              Type Mask Valid(TMV): 1
              Allow Commands: 1
              Persist Through Power Loss Active(PTPL_A): 0
                Support indicated in Type mask:
                  Write Exclusive, all registrants: 1
                  Exclusive Access, registrants only: 1
                  Write Exclusive, registrants only: 1
                  Exclusive Access: 1
                  Write Exclusive: 1
                  Exclusive Access, all registrants: 1

            """)

        // No service action: READ KEYS, with sg_persist's note on stderr.
        r = lu.run(["DEV"], as: a)
        #expect(r.stderr == ">> No service action given; assume Persistent Reserve In command\n>> with Read Keys service action\n")
        #expect(r.stdout == header + "  PR generation=0x0, there are NO registered reservation keys\n")

        #expect(lu.run(["-o", "-G", "-S", "123abc", "DEV"], as: a).exit == 0)
        #expect(lu.run(["--out", "--register", "--param-sark=abc123", "DEV"], as: b).exit == 0)
        #expect(lu.run(["-o", "-R", "-K", "123abc", "-T", "3", "DEV"], as: a).exit == 0)

        // B is refused while A holds Exclusive Access.
        r = lu.run(["-o", "-R", "-K", "abc123", "-T", "3", "DEV"], as: b)
        #expect(r.exit == 24)
        #expect(r.stdout == header)
        #expect(r.stderr == "PR out (Reserve): Reservation conflict\nsg_persist failed: Reservation conflict\n")
        r = lu.run(["-o", "-R", "-K", "abc123", "-T", "3", "-v", "DEV"], as: b)
        #expect(r.stderr == """
                inquiry cdb: [12 00 00 00 24 00]
                Persistent reservation out cdb: [5f 01 03 00 00 00 00 00 18 00]
            PR out (Reserve): Reservation conflict, type: SCSI status

            """)

        r = lu.run(["-i", "-r", "DEV"], as: b)
        #expect(r.stdout == header + "  PR generation=0x2, Reservation follows:\n    Key=0x123abc\n    scope: LU_SCOPE,  type: Exclusive Access\n")
        r = lu.run(["-i", "-s", "-n", "DEV"], as: b)
        #expect(r.stdout == """
              PR generation=0x2
                Key=0x123abc
                  All target ports bit clear
                  Relative port address: 0x1
                  << Reservation holder >>
                  scope: LU_SCOPE,  type: Exclusive Access
                  Transport Id of initiator:
                    iSCSI name: \(a)
                Key=0xabc123
                  All target ports bit clear
                  Relative port address: 0x2
                  not reservation holder
                  Transport Id of initiator:
                    iSCSI name: \(b)

            """)

        // B preempts A: A's registration is gone and A sees REGISTRATIONS PREEMPTED once (exit 6, no retry).
        r = lu.run(["-o", "-P", "-K", "abc123", "-S", "123abc", "-T", "1", "DEV"], as: b)
        #expect(r.exit == 0)
        r = lu.run(["-k", "-n", "DEV"], as: a)
        #expect(r.exit == 6)
        #expect(r.stdout == "")
        #expect(r.stderr == """
            Persistent reservation in:
            Fixed format, current; Sense key: Unit Attention
            Additional sense: Registrations preempted
            PR in (Read keys): Unit attention
            sg_persist failed: Unit attention

            """)
        r = lu.run(["-k", "-n", "DEV"], as: a)
        #expect(r.exit == 0)
        #expect(r.stdout == "  PR generation=0x3, 1 registered reservation key follows:\n    0xabc123\n")
        r = lu.run(["-r", "-n", "DEV"], as: a)
        #expect(r.stdout == "  PR generation=0x3, Reservation follows:\n    Key=0xabc123\n    scope: LU_SCOPE,  type: Write Exclusive\n")

        // A, unregistered, cannot clear; B clears, then A and B each see one unit attention.
        r = lu.run(["-o", "-C", "-K", "123abc", "-n", "DEV"], as: a)
        #expect(r.exit == 24)
        #expect(lu.run(["-o", "-C", "-K", "abc123", "-n", "DEV"], as: b).exit == 0)
        r = lu.run(["-s", "-n", "DEV"], as: b)
        #expect(r.exit == 0)
        #expect(r.stdout == "  PR generation=0x4\n  No full status descriptors\n")
        r = lu.run(["-k", "-n", "-H", "DEV"], as: a)
        #expect(r.exit == 0)
        #expect(r.stdout == "  PR generation=0x4, Additional length=0\nAdditional length=0\n")
        r = lu.run(["-k", "-n", "-HH", "DEV"], as: a)
        #expect(r.exit == 0)
        #expect(r.stdout == " 00     00 00 00 04 00 00 00 00\n")

        // --readonly changes nothing for a writable LU, as for the real sg_persist (as root) on the test bed.
        r = lu.run(["-o", "-y", "-n", "-G", "-S", "777", "DEV"], as: a)
        #expect(r.exit == 0)
        #expect(r.stderr == "")
        #expect(lu.run(["-y", "-n", "-k", "DEV"], as: b).stdout == "  PR generation=0x5, 1 registered reservation key follows:\n    0x777\n")
    }

    @Test("a missing simulated LU and a directory fail as sg_persist fails to open them")
    func openFailures() {
        var out = "", err = ""
        let code = PersistCommand.run(arguments: ["-k", "/nonexistent/lu"], environment: { _ in nil }, stdout: &out, stderr: &err,
                                      openDevice: { (p, readOnly) throws(TransportError) in
                                          try PersistCommand.openLive(p, initiatorName: "iqn.x:y")
                                      })
        #expect(code == 52)
        #expect(err == "sg_persist: error opening file (ro): /nonexistent/lu: No such file or directory\n")
        #expect(out == "")

        out = ""
        err = ""
        let dir = PersistCommand.run(arguments: ["-k", "/tmp"], environment: { _ in nil }, stdout: &out, stderr: &err,
                                     openDevice: { (p, readOnly) throws(TransportError) in
                                         try PersistCommand.openLive(p, initiatorName: "iqn.x:y")
                                     })
        #expect(dir == 75)
        #expect(err == "inquiry: pass-through os error: Inappropriate ioctl for device\n")
        #expect(out == "sg_persist: SCSI INQUIRY failed on /tmp\n")
    }
}
