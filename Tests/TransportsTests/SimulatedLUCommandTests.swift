import PRCore
import Testing
@testable import Transports

/// The ordinary commands the simulated LU executes itself, byte for byte.
@Suite struct SimulatedLUCommandTests {
    let directory = SimTempDirectory()

    func tape() throws -> SimulatedLU {
        try SimulatedLU(path: directory.newDrive("tape"), initiatorName: simHostA, relativeTargetPortIdentifier: 0x0102)
    }

    @Test func standardInquiry() throws {
        let lu = try tape()
        let result = try lu.run([0x12, 0, 0, 0, 96, 0], dataIn: 96)
        #expect(result.status == .good && result.sense.isEmpty)
        let expected: [UInt8] = [0x01, 0x80, 0x06, 0x02, 31, 0, 0, 0]
            + Array("STORCTL SIM TAPE        1.0 ".utf8)
        #expect(result.data == expected)

        // Cut to ALLOCATION LENGTH, and to the initiator's buffer, whichever is smaller.
        #expect(try lu.run([0x12, 0, 0, 0, 5, 0], dataIn: 96).data == Array(expected.prefix(5)))
        #expect(try lu.run([0x12, 0, 0, 0, 96, 0], dataIn: 16).data == Array(expected.prefix(16)))
        #expect(try lu.run([0x12, 0, 0, 0, 0, 0], dataIn: 96).data.isEmpty)
        // A disk is not removable.
        let disk = try SimulatedLU(path: directory.newDrive("disk", deviceType: .disk), initiatorName: simHostA)
        #expect(Array(try disk.run([0x12, 0, 0, 0, 36, 0], dataIn: 36).data.prefix(2)) == [0x00, 0x00])
    }

    @Test func vitalProductDataPages() throws {
        let lu = try tape()
        let supported = try lu.run([0x12, 1, 0x00, 0, 255, 0], dataIn: 255)
        #expect(supported.data == [0x01, 0x00, 0x00, 0x03, 0x00, 0x80, 0x83])

        let serialPage = try lu.run([0x12, 1, 0x80, 0, 255, 0], dataIn: 255).data
        #expect(Array(serialPage.prefix(4)) == [0x01, 0x80, 0x00, 32])
        let serial = String(decoding: serialPage.dropFirst(4), as: UTF8.self)
        #expect(serial.count == 32 && serial.allSatisfy { "0123456789ABCDEF".contains($0) })
        #expect(try SimulatedLU.verify(path: lu.path).unitSerialNumber == serial)
        // Stable: another object, another open, the same serial.
        let again = try SimulatedLU(path: lu.path, initiatorName: simHostB)
        #expect(try again.run([0x12, 1, 0x80, 0, 255, 0], dataIn: 255).data == serialPage)

        let identification = try lu.run([0x12, 1, 0x83, 0, 255, 0], dataIn: 255).data
        let t10 = Array("STORCTL ".utf8) + Array(serial.utf8)
        let expected: [UInt8] = [0x01, 0x83, 0x00, UInt8(4 + t10.count + 8),
                                 0x02, 0x01, 0x00, UInt8(t10.count)] + t10
            + [0x51, 0x94, 0x00, 0x04, 0x00, 0x00, 0x01, 0x02]
        #expect(identification == expected)
    }

    @Test func unsupportedInquiryRequestsAreInvalidFieldInCDB() throws {
        let lu = try tape()
        simExpectCheckCondition(try lu.run([0x12, 1, 0xB0, 0, 255, 0], dataIn: 255), 5, 0x24, 0x00)
        simExpectCheckCondition(try lu.run([0x12, 0, 0x80, 0, 255, 0], dataIn: 255), 5, 0x24, 0x00)  // page without EVPD
        simExpectCheckCondition(try lu.run([0x12, 2, 0x00, 0, 255, 0], dataIn: 255), 5, 0x24, 0x00)  // CMDDT
        simExpectCheckCondition(try lu.run([0x12, 0, 0], dataIn: 255), 5, 0x24, 0x00)                // short CDB
        // Fixed-format sense, 18 bytes.
        let result = try lu.run([0x12, 1, 0xB0, 0, 255, 0], dataIn: 255)
        #expect(result.sense == [0x70, 0, 0x05, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x24, 0x00, 0, 0, 0, 0])
    }

    @Test func unknownOperationCodes() throws {
        let lu = try tape()
        for cdb: [UInt8] in [[0x10, 0, 0, 0, 1, 0], [0xC0, 0, 0, 0, 0, 0], [0x7F] + [UInt8](repeating: 0, count: 9),
                             [0x4D, 0, 0, 0, 0, 0, 0, 0, 255, 0]] {
            simExpectCheckCondition(try lu.run(cdb, dataIn: 255), 5, 0x20, 0x00)
        }
    }

    @Test func testUnitReadyReportLunsAndRequestSense() throws {
        let lu = try tape()
        let tur = try lu.run(SimCDB.testUnitReady)
        #expect(tur == SCSICommandResult(status: .good))

        let luns = try lu.run([0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0], dataIn: 64)
        #expect(luns.data == [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(try lu.run([0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0], dataIn: 64).data == [0, 0, 0, 8])

        let sense = try lu.run([0x03, 0, 0, 0, 252, 0], dataIn: 252)
        #expect(sense.status == .good && sense.sense.isEmpty)
        #expect(sense.data == [0x70, 0, 0, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(try lu.run([0x03, 1, 0, 0, 252, 0], dataIn: 252).data == [0x72, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func readCapacity() throws {
        let lu = try tape()
        let ten = try lu.run([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], dataIn: 8)
        #expect(ten.data == [0x00, 0x1F, 0xFF, 0xFF, 0x00, 0x00, 0x02, 0x00])
        let sixteen = try lu.run([0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], dataIn: 32)
        #expect(sixteen.data == [0, 0, 0, 0, 0x00, 0x1F, 0xFF, 0xFF, 0x00, 0x00, 0x02, 0x00] + [UInt8](repeating: 0, count: 20))
        simExpectCheckCondition(try lu.run([0x9E, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], dataIn: 32), 5, 0x24, 0x00)
    }

    @Test func readsReturnZerosAndWritesSucceed() throws {
        let lu = try tape()
        #expect(try lu.run([0x08, 0, 0, 0, 2, 0], dataIn: 4096).data == [UInt8](repeating: 0, count: 1024))
        #expect(try lu.run([0x08, 0, 0, 0, 0, 0], dataIn: 1 << 20).data.count == 256 * 512)  // 0 means 256
        #expect(try lu.run([0x28, 0, 0, 0, 0, 0, 0, 0, 4, 0], dataIn: 1000).data.count == 1000)  // cut to the buffer
        #expect(try lu.run([0xA8, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0], dataIn: 4096).data.count == 1536)
        let huge = try lu.run([0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0], dataIn: 4096)
        #expect(huge.status == .good && huge.data.count == 4096)
        #expect(try lu.run([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], dataIn: -5).data.isEmpty)

        let block = [UInt8](repeating: 0xEE, count: 512)
        for cdb: [UInt8] in [[0x0A, 0, 0, 0, 1, 0], SimCDB.write10, [0xAA, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
                             [0x8A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0], [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                             [0x91] + [UInt8](repeating: 0, count: 15), [0x2F, 0, 0, 0, 0, 0, 0, 0, 1, 0],
                             [0x15, 0x10, 0, 0, 0, 0], [0x55, 0x10, 0, 0, 0, 0, 0, 0, 0, 0]] {
            #expect(try lu.run(cdb, block).status == .good, "\(cdb)")
        }
        // Nothing was stored: the state file did not change.
        #expect(try SimulatedLU.verify(path: lu.path).sequence == 0)
    }

    @Test func modeSense() throws {
        let lu = try tape()
        #expect(try lu.run([0x1A, 0, 0x3F, 0, 255, 0], dataIn: 255).data == [3, 0, 0, 0])
        #expect(try lu.run([0x1A, 0, 0x3F, 0, 2, 0], dataIn: 255).data == [3, 0])
        #expect(try lu.run([0x5A, 0, 0x3F, 0, 0, 0, 0, 0, 255, 0], dataIn: 255).data == [0, 6, 0, 0, 0, 0, 0, 0])
    }

    @Test func persistentReserveInDataIsCutToTheBuffer() throws {
        let lu = try tape()
        try lu.prOut(.registerAndIgnoreExistingKey, sark: 0xBAC001)
        let full = try lu.run(SimCDB.prIn(.readKeys), dataIn: 8192)
        #expect(full.data == [0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0xBA, 0xC0, 0x01])
        #expect(try lu.run(SimCDB.prIn(.readKeys), dataIn: 8).data == [0, 0, 0, 1, 0, 0, 0, 8])
    }
}
