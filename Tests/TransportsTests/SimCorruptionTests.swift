import Glibc
import PRCore
import Testing
@testable import Transports

/// Damage to a simulated LU's file, exhaustively, through the loader the LU uses (`readSnapshot` +
/// `decodeState` on one open descriptor, so each case costs a few system calls): every result is either the
/// committed state, unchanged, or a `.corruptState` report. Never an older state (a rollback: a released lock
/// and a new holder vanish) and never a fresh LU (every registration gone).
@Suite struct SimCorruptionTests {
    /// What one damaged file gave.
    enum Verdict: Hashable {
        case sameState
        case reported
        case olderState
        case fresh
        case otherError(String)
    }

    /// A drive with history: three hosts registered, A reserved and released, B reserved. Both slots hold valid
    /// states; the committed one (B holds the lock) is in `committedSlot`.
    struct Drive {
        let directory = SimTempDirectory()
        let path: String
        let bytes: [UInt8]
        let committed: LogicalUnitState
        let committedSlot: Int
        let committedLength: Int

        init() throws {
            path = directory.newDrive()
            let a = try SimulatedLU(path: path, initiatorName: simHostA)
            let b = try SimulatedLU(path: path, initiatorName: simHostB, relativeTargetPortIdentifier: 2)
            let c = try SimulatedLU(path: path, initiatorName: "iqn.2026-01.org.example:host-c")
            try a.prOut(.registerAndIgnoreExistingKey, sark: 0xBAC001)
            try b.prOut(.registerAndIgnoreExistingKey, sark: 0xBAC999)
            try c.prOut(.registerAndIgnoreExistingKey, sark: 0xC0FFEE)
            try a.prOut(.reserve, key: 0xBAC001)
            try a.prOut(.release, key: 0xBAC001)
            try b.prOut(.reserve, key: 0xBAC999)
            let report = try SimulatedLU.verify(path: path)
            committed = report.state
            committedSlot = try #require(report.currentSlot)
            committedLength = report.state.encode().count
            bytes = SimFileBytes.read(path)
            #expect(bytes.count == SimFormat.fileSize)
            // The other slot holds a valid older state: the one a rollback would bring back.
            #expect(report.slots[1 - committedSlot] != .empty)
        }

        /// Loads the file as the LU does, on `file` (opened once; nothing else uses the file, so without the lock).
        func verdict(_ file: SimStateFile) -> Verdict {
            do {
                let snapshot = try file.readSnapshot()
                guard snapshot.payload != nil else { return .fresh }
                let state = try SimulatedLU.decodeState(snapshot)
                return state == committed ? .sameState : .olderState
            } catch {
                if error.kind == .corruptState {
                    #expect(!error.message.contains("\n"))
                    return .reported
                }
                return .otherError(error.message)
            }
        }
    }

    /// A descriptor for writing damage into the file in place.
    final class Writer {
        let fd: Int32
        init(_ path: String) { fd = open(path, O_RDWR | O_CLOEXEC) }
        deinit { close(fd) }
        func put(_ byte: UInt8, at offset: Int) {
            var value = byte
            precondition(pwrite(fd, &value, 1, off_t(offset)) == 1)
        }
        func put(_ bytes: [UInt8], at offset: Int) {
            precondition(bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) } == bytes.count)
        }
        func size(_ length: Int) { precondition(ftruncate(fd, off_t(length)) == 0) }
    }

    @Test func everyBitOfTheHeaderAndOfTheCommittedStateIsReported() throws {
        let drive = try Drive()
        let file = try SimStateFile.open(path: drive.path, readOnly: true)
        defer { file.close() }
        let writer = Writer(drive.path)
        #expect(drive.verdict(file) == .sameState)

        // The bytes in use: header fields + commit record, and the committed slot's header + payload.
        let committedStart = SimFormat.slotOffset(drive.committedSlot)
        let inUse = Array(0..<SimFormat.headerReadSize)
            + Array(committedStart..<(committedStart + SimFormat.slotHeaderSize + drive.committedLength))
        var counts: [Verdict: Int] = [:]
        for offset in inUse {
            for bit in 0..<8 {
                writer.put(drive.bytes[offset] ^ UInt8(1 << bit), at: offset)
                let verdict = drive.verdict(file)
                counts[verdict, default: 0] += 1
                if verdict != .reported { Issue.record("bit \(bit) of byte \(offset): \(verdict)") }
            }
            writer.put(drive.bytes[offset], at: offset)
        }
        print("bit flips in the bytes in use: \(inUse.count * 8) flips, \(counts[.reported] ?? 0) reported, "
              + "\(counts[.olderState] ?? 0) rolled back, \(counts[.fresh] ?? 0) fresh")
        #expect(counts[.reported] == inUse.count * 8)
    }

    @Test func bitsOutsideTheBytesInUseChangeNothing() throws {
        let drive = try Drive()
        let file = try SimStateFile.open(path: drive.path, readOnly: true)
        defer { file.close() }
        let writer = Writer(drive.path)
        // The rest of the header page, the other (older) slot's bytes and the committed slot's slack: every
        // bit of the first page of each, and of the whole older state.
        let otherStart = SimFormat.slotOffset(1 - drive.committedSlot)
        let committedEnd = SimFormat.slotOffset(drive.committedSlot) + SimFormat.slotHeaderSize + drive.committedLength
        let offsets = Array(SimFormat.headerReadSize..<SimFormat.headerSize)
            + Array(otherStart..<(otherStart + 4096))
            + Array(committedEnd..<(committedEnd + 512))
        var rolledBack = 0
        for offset in offsets {
            for bit in [0, 3, 7] {
                writer.put(drive.bytes[offset] ^ UInt8(1 << bit), at: offset)
                let verdict = drive.verdict(file)
                if verdict != .sameState { rolledBack += 1; Issue.record("bit \(bit) of byte \(offset): \(verdict)") }
            }
            writer.put(drive.bytes[offset], at: offset)
        }
        #expect(rolledBack == 0)
    }

    @Test func everyTruncationLengthIsReported() throws {
        let drive = try Drive()
        let file = try SimStateFile.open(path: drive.path, readOnly: true)
        defer { file.close() }
        let writer = Writer(drive.path)
        // Shortening keeps the bytes before the cut, so one pass downwards tries every length.
        var counts: [Verdict: Int] = [:]
        for length in stride(from: SimFormat.fileSize - 1, through: 1, by: -1) {
            writer.size(length)
            let verdict = drive.verdict(file)
            counts[verdict, default: 0] += 1
            if verdict != .reported { Issue.record("truncated to \(length): \(verdict)") }
        }
        print("truncations: \(SimFormat.fileSize - 1) lengths (1 to \(SimFormat.fileSize - 1) bytes), "
              + "\(counts[.reported] ?? 0) reported, \(counts[.fresh] ?? 0) fresh, \(counts[.olderState] ?? 0) rolled back")
        #expect(counts[.reported] == SimFormat.fileSize - 1)
        // Only the empty file is a fresh LU.
        writer.size(0)
        #expect(drive.verdict(file) == .fresh)
        // Longer than a simulated LU is damage too (something appended).
        writer.put(drive.bytes + [0], at: 0)
        #expect(drive.verdict(file) == .reported)
    }

    @Test func aFreshInitialisedFileTruncatedLosesNothing() throws {
        // Nothing committed: any length that keeps the header page's fields is still that fresh LU (as after an
        // initialisation killed before the extension); a shorter one is reported.
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        _ = try SimulatedLU(path: path, initiatorName: simHostA)
        let page = Array(SimFileBytes.read(path).prefix(SimFormat.headerSize))
        let file = try SimStateFile.open(path: path, readOnly: true)
        defer { file.close() }
        let writer = Writer(path)
        // Every length within the header page, a sample above it.
        let lengths = Array(stride(from: SimFormat.fileSize, to: SimFormat.headerSize, by: -97))
            + Array(stride(from: SimFormat.headerSize, through: 1, by: -1))
        for length in lengths {
            writer.size(length)
            do {
                try file.lock(timeout: .seconds(5))
                defer { file.unlock() }
                let snapshot = try file.readSnapshot()
                #expect(length >= SimFormat.headerReadSize && snapshot.header != nil && snapshot.payload == nil,
                        "length \(length)")
            } catch {
                #expect(length < SimFormat.headerReadSize && error.kind == .corruptState, "length \(length): \(error)")
            }
        }
        // Longer than a simulated LU is not a fresh LU (a commit into it would make a file the next read refuses).
        writer.put(page, at: 0)
        writer.size(SimFormat.fileSize + 1)
        #expect(throws: TransportError.self) { try file.readSnapshot() }
        // Used again after such a cut, the LU completes the file and commits.
        writer.size(4096)
        writer.put(page, at: 0)
        let lu = try SimulatedLU(path: path, initiatorName: simHostA)
        try lu.prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        #expect(SimFileBytes.read(path).count == SimFormat.fileSize)
        #expect(try SimulatedLU.verify(path: path).sequence == 1)
    }

    @Test func garbageFilesAreReportedNeverFresh() throws {
        // 200 seeded files: random bytes of random lengths; a third start with the magic, a third with a whole
        // valid header (fields with a correct CRC) and garbage after it.
        let drive = try Drive()
        let file = try SimStateFile.open(path: drive.path, readOnly: true)
        defer { file.close() }
        let writer = Writer(drive.path)
        var random = SplitMix64(seed: 0x5EED_0009)
        let header = Array(SimLUHeader.new(deviceType: 1).encode().prefix(SimFormat.headerFieldsSize))
        var counts: [Verdict: Int] = [:]
        for index in 0..<200 {
            let length = Int.random(in: 1...SimFormat.fileSize, using: &random)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            switch index % 3 {
            case 1: bytes.replaceSubrange(0..<min(8, length), with: SimFormat.magic.prefix(length))
            case 2: bytes.replaceSubrange(0..<min(128, length), with: header.prefix(length))
            default: break
            }
            writer.size(0)
            writer.put(bytes, at: 0)
            let verdict = drive.verdict(file)
            counts[verdict, default: 0] += 1
            if verdict != .reported { Issue.record("garbage file \(index) (\(length) bytes): \(verdict)") }
        }
        print("garbage files: 200, \(counts[.reported] ?? 0) reported, \(counts[.fresh] ?? 0) fresh")
        #expect(counts[.reported] == 200)
    }
}
