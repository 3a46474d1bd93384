import Foundation
import PRCore
import Testing
import Transports

/// A damaged simulated drive, through the CLI: exit 3, one line, the file untouched; never an older state or a
/// fresh drive (the exhaustive cases are in-process, in TransportsTests.SimCorruptionTests).
@Suite("Corrupt drives")
struct CorruptDriveTests {
    /// cibou held the lock and released it, then dir took it: the older slot holds "cibou registered, free".
    func drive() throws -> (Site, Host, Host, [UInt8], slot: Int, length: Int) {
        let site = try Site("corrupt")
        let cibou = try site.host("cibou", key: "bac001")
        let dir = try site.host("dir", key: "bac999")
        #expect(try cibou.run("lock").status == 0)
        #expect(try dir.run("register").status == 0)
        #expect(try cibou.run("unlock").status == 0)
        #expect(try dir.run("lock").status == 0)
        let report = try SimulatedLU.verify(path: site.drive)
        let slot = try #require(report.currentSlot)
        guard case .valid(_, let length) = report.slots[slot] else { throw CLIError.noState }
        return (site, cibou, dir, [UInt8](try Data(contentsOf: URL(fileURLWithPath: site.drive))), slot, length)
    }

    enum CLIError: Error { case noState }

    func expectRefused(_ site: Site, _ host: Host, _ what: String) throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: site.drive))
        let r = try host.run("trylock")
        r.expectOneErrorLine(3, contains: "\(site.drive): ")
        #expect(r.stderr.contains("simulated LU"), "\(what): \(r)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: site.drive)) == before, "\(what): the file changed")
    }

    @Test("seeded bit flips, truncations and garbage: exit 3, one line, file untouched")
    func seededSample() throws {
        let (site, cibou, _, bytes, slot, length) = try drive()
        var random = SplitMix64(seed: 0x0009_C11)
        let slotStart = 4096 + 65536 * slot
        let inUse = Array(0..<160) + Array(slotStart..<(slotStart + 32 + length))
        // 24 bit flips in the bytes in use
        for _ in 0..<24 {
            let offset = inUse.randomElement(using: &random)!
            let bit = Int.random(in: 0..<8, using: &random)
            var damaged = bytes
            damaged[offset] ^= UInt8(1 << bit)
            try Data(damaged).write(to: URL(fileURLWithPath: site.drive))
            try expectRefused(site, cibou, "bit \(bit) of byte \(offset)")
        }
        // 12 truncation lengths
        for _ in 0..<12 {
            let cut = Int.random(in: 1..<bytes.count, using: &random)
            try Data(bytes.prefix(cut)).write(to: URL(fileURLWithPath: site.drive))
            try expectRefused(site, cibou, "truncated to \(cut)")
        }
        // 6 garbage files
        for _ in 0..<6 {
            let garbage = (0..<Int.random(in: 1...bytes.count, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            try Data(garbage).write(to: URL(fileURLWithPath: site.drive))
            try expectRefused(site, cibou, "garbage")
        }
        // Restored, the drive is as it was: dir holds the lock.
        try Data(bytes).write(to: URL(fileURLWithPath: site.drive))
        #expect(try cibou.run("wholocked").stdout == "0xbac999\n")
    }
}
