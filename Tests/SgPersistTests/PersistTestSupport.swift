import Foundation
import Glibc
import PRCore
import ProcessSupport
@testable import SgPersist
import Transports

/// A device that answers from a script (the same script the sg_persist capture shim used) and records
/// what was sent, shared by every open of the device as the shim's script was.
final class PersistScriptedTransport: SCSITransport {
    struct Response {
        var status: UInt8 = 0
        var host: UInt16 = 0
        var driver: UInt16 = 0
        var data: [UInt8] = []
        var sense: [UInt8] = []
        var errno: Int32?
    }

    struct Sent: Equatable, CustomStringConvertible {
        var cdb: [UInt8]
        var dataOut: [UInt8]
        var dataInLength: Int
        var description: String { "cdb=\(PersistFixture.hex(cdb)) in=\(dataInLength) out=\(PersistFixture.hex(dataOut))" }
    }

    let path: String
    var responses: [Response]
    var sent: [Sent] = []

    init(path: String, responses: [Response]) {
        self.path = path
        self.responses = responses
    }

    func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
        sent.append(Sent(cdb: cdb, dataOut: dataOut, dataInLength: dataInLength))
        let response = responses.isEmpty ? Response() : responses.removeFirst()
        if let e = response.errno { throw TransportError(.io(errno: Errno(rawValue: e)), "scripted errno \(e)") }
        return SCSICommandResult(status: ScsiStatus(rawValue: response.status), sense: response.sense,
                                 data: Array(response.data.prefix(dataInLength)),
                                 hostStatus: response.host, driverStatus: response.driver)
    }
}

/// One golden case captured from the real sg_persist 1.46 (Tests/Fixtures/sg_persist/tools/capture.py).
struct PersistFixture: Decodable, CustomStringConvertible {
    struct Response: Decodable {
        var status: Int?
        var host: Int?
        var driver: Int?
        var data: String?
        var sense: String?
        var errno: Int?
    }

    struct Sent: Decodable {
        var cdb: String
        var dataOut: String
        var dataInLength: Int
    }

    var name: String
    var argv: [String]
    var env: [String: String]
    var stdin: String?
    var files: [String: String]
    var responses: [Response]
    var missing: [String]
    var sent: [Sent]
    var stdout: String
    var stderr: String
    var exit: Int32

    var description: String { name }

    static let directory: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/sg_persist/cases")

    static func all() -> [PersistFixture] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().compactMap { name in
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(name)) else { return nil }
            return try? JSONDecoder().decode(PersistFixture.self, from: data)
        }
    }

    static func bytes(_ hex: String?) -> [UInt8] {
        guard let hex else { return [] }
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            if let byte = UInt8(hex[index..<next], radix: 16) { out.append(byte) }
            index = next
        }
        return out
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    var scriptedResponses: [PersistScriptedTransport.Response] {
        responses.map {
            PersistScriptedTransport.Response(status: UInt8($0.status ?? 0), host: UInt16($0.host ?? 0), driver: UInt16($0.driver ?? 0),
                                       data: Self.bytes($0.data), sense: Self.bytes($0.sense), errno: $0.errno.map { Int32($0) })
        }
    }

    var expectedSent: [PersistScriptedTransport.Sent] {
        sent.map { PersistScriptedTransport.Sent(cdb: Self.bytes($0.cdb), dataOut: Self.bytes($0.dataOut), dataInLength: $0.dataInLength) }
    }

    /// Runs PersistCommand on this case's arguments and device script.
    func replay() -> (stdout: String, stderr: String, exit: Int32, sent: [PersistScriptedTransport.Sent]) {
        let transport = PersistScriptedTransport(path: "tape0", responses: scriptedResponses)
        var stdinUsed = false
        var clock: UInt64 = 1000
        var out = ""
        var err = ""
        let missing = Set(self.missing)
        let environment = env
        let files = self.files
        let stdinText = stdin
        let code = PersistCommand.run(
            arguments: argv, programName: "sg_persist", environment: { environment[$0] },
            readTransportIDs: { path in
                if let path { return files[path].map { Array($0.utf8) } }
                if stdinUsed { return [] }
                stdinUsed = true
                return Array((stdinText ?? "").utf8)
            },
            milliseconds: { clock += 1; return clock },
            stdout: &out, stderr: &err,
            openDevice: { (path, _) throws(TransportError) in
                // In the capture directory only the device file exists.
                guard path == "tape0", !missing.contains(path) else { throw TransportError(.open(errno: Errno(rawValue: ENOENT)), "no such file") }
                return transport
            })
        return (out, err, code, transport.sent)
    }
}
