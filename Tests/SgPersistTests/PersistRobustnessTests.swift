import Foundation
import PRCore
import Testing
@testable import SgPersist
@testable import SgText
import Transports

/// No input traps: random command lines (built from sg_persist's own vocabulary, mutated), random device
/// answers and random bytes through every formatter. A trap fails the whole test process, so running
/// is the check; the expectations pin the few invariants that hold for any input.
@Suite("sg_persist robustness")
struct PersistRobustnessTests {
    /// Deterministic, so a failure replays.
    typealias Generator = SplitMix64

    static let words = [
        "-i", "-o", "-k", "-r", "-s", "-c", "-G", "-I", "-R", "-L", "-C", "-P", "-A", "-M", "-z", "-Z", "-Y", "-U",
        "-n", "-y", "-yy", "-H", "-HH", "-HHH", "-v", "-vvv", "-V", "-h", "-hh", "-K", "-S", "-T", "-Q", "-X", "-l",
        "-m", "-d", "--", "-", "--in", "--out", "--param-rk=", "--param-sark", "--prout-type=3", "--transport-id=",
        "--alloc-length=", "--maxlen=", "--read", "--re", "--=", "--hex=1", "--register-move", "--unreg",
        "sas,5000c50000000001", "fcp,1122334455667788", "srp,0011223344556677", "sbp,0", "spi,1,2", "sop,1",
        "iqn.x,i,0x1", "iqn.", "file=tids", "FILE=", "1,2,3", "ff,100", "0x", "-1", "abc", "8k", "3+1k", "0x10x2",
        "20h", "99999999999", "ffffffffffffffffff", "tape0", "", " ", "\u{00E9}", "-\u{00E9}", "a\u{0000}b",
    ]

    static func randomArgument(_ g: inout Generator) -> String {
        switch g.next() % 10 {
        case 0..<6:
            return words[Int(g.next() % UInt64(words.count))]
        case 6..<8:
            let a = words[Int(g.next() % UInt64(words.count))], b = words[Int(g.next() % UInt64(words.count))]
            return a + b
        default:
            let length = Int(g.next() % 12)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: g.next() % 128) }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    static func randomBytes(_ g: inout Generator, maximum: Int) -> [UInt8] {
        let length = Int(g.next() % UInt64(maximum + 1))
        return (0..<length).map { _ in UInt8(truncatingIfNeeded: g.next()) }
    }

    @Test("random command lines parse without trapping")
    func randomCommandLines() {
        var g = Generator(seed: 0x5EED_0001)
        for _ in 0..<20_000 {
            let arguments = (0..<Int(g.next() % 9)).map { _ in Self.randomArgument(&g) }
            let file = Self.randomBytes(&g, maximum: 300)
            let posix = g.next() % 5 == 0
            let parse = PersistOptions.parse(arguments, environment: { $0 == "POSIXLY_CORRECT" && posix ? "1" : nil },
                                             readTransportIDs: { _ in file })
            if let code = parse.exitCode { #expect([0, 1, 31].contains(code)) }
            if case .run(let options) = parse.outcome {
                #expect(options.allocationLength <= 8192)
                #expect(options.transportIDCount <= 32)
                _ = options.transportIDParameterData
            }
        }
    }

    @Test("random device answers run without trapping")
    func randomAnswers() {
        var g = Generator(seed: 0x5EED_0002)
        let commands: [[String]] = [["-k"], ["-r"], ["-s"], ["-c"], ["-s", "-H"], ["-k", "-HH"], ["-r", "-HHH"],
                                    ["-s", "-vvvv"], ["-k", "-l", "10"], ["-s", "-l", "0"], ["-o", "-G", "-S", "1"],
                                    ["-o", "-R", "-K", "1", "-T", "3", "-vv"],
                                    ["-o", "-M", "-X", "iqn.a,i,0x1", "-vvv"]]
        for _ in 0..<5_000 {
            var responses: [PersistScriptedTransport.Response] = []
            for _ in 0..<2 {
                var r = PersistScriptedTransport.Response()
                switch g.next() % 8 {
                case 0: r.status = UInt8(truncatingIfNeeded: g.next())
                case 1: r.status = 2; r.sense = Self.randomBytes(&g, maximum: 80)
                case 2: r.host = UInt16(truncatingIfNeeded: g.next() % 40)
                case 3: r.driver = UInt16(truncatingIfNeeded: g.next() % 64)
                case 4: r.errno = Int32(g.next() % 140)
                default: break
                }
                r.data = Self.randomBytes(&g, maximum: g.next() % 4 == 0 ? 600 : 60)
                if g.next() % 3 == 0, r.data.count >= 8 {
                    // A plausible header with a random length field.
                    r.data[4...7] = [0, 0, UInt8(truncatingIfNeeded: g.next()), UInt8(truncatingIfNeeded: g.next())]
                }
                responses.append(r)
            }
            let transport = PersistScriptedTransport(path: "dev", responses: responses)
            var out = "", err = ""
            let arguments = commands[Int(g.next() % UInt64(commands.count))] + ["dev"]
            let code = PersistCommand.run(arguments: arguments, environment: { _ in nil }, stdout: &out, stderr: &err,
                                          openDevice: { (_, _) throws(TransportError) in transport })
            #expect((0...255).contains(code))
        }
    }

    @Test("every formatter takes arbitrary bytes")
    func randomBytesThroughFormatters() {
        var g = Generator(seed: 0x5EED_0003)
        for _ in 0..<1_000 {
            let bytes = Self.randomBytes(&g, maximum: 400)
            let allocation = UInt32(g.next() % 9000)
            for action in [PersistentReserveIn.ServiceAction.readKeys, .readReservation, .reportCapabilities, .readFullStatus,
                           PersistentReserveIn.ServiceAction(rawValue: 7)] {
                _ = PersistOutput.reserveIn(action, data: bytes, allocationLength: allocation,
                                            hex: Int(g.next() % 4), verbose: Int(g.next() % 2))
            }
            _ = PersistOutput.inquiryHeader(bytes)
            let sense = Array(bytes.prefix(Int(g.next() % 70)))
            _ = PersistText.sense(sense, raw: true)
            _ = PersistText.senseCategory(sense)
            _ = PersistText.transportID(leadIn: "      ", bytes, length: Int(g.next() % 300) - 20)
            _ = PersistText.hexString(bytes[...], count: bytes.count + 5, leadIn: String(repeating: " ", count: Int(g.next() % 120)), format: Int(g.next() % 3) - 1)
            _ = PersistText.hexDump(bytes, count: Int(g.next() % 500), noASCII: Int(g.next() % 3) - 1)
        }
    }

    @Test("descriptor sense with every descriptor type and truncated lengths")
    func descriptorSense() {
        for type in 0...0xFF {
            for length in 0...30 {
                let descriptor = [UInt8(type), UInt8(length)] + [UInt8](repeating: 0xA5, count: length)
                for cut in [8, 9, 10, 12, 20, 40] {
                    let sense = Array(([0x72, 0x05, 0x24, 0x00, 0x80, 0, 0, UInt8(descriptor.count)] + descriptor).prefix(cut))
                    _ = PersistText.sense(sense, raw: true)
                }
            }
        }
    }
}
