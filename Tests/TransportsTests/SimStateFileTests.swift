import Glibc
import Testing
@testable import Transports
import ProcessSupport

/// The storage layer of the simulated LU on its own: checksum, header, slots, slot choice, commit, lock.
@Suite struct SimStateFileTests {
    // MARK: Checksum

    @Test func crc32cCheckValue() {
        #expect(SimCRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(SimCRC32C.checksum([UInt8]()) == 0)
        var incremental = SimCRC32C()
        incremental.update(Array("1234".utf8))
        incremental.update(Array("56789".utf8))
        #expect(incremental.value == 0xE306_9283)
    }

    // MARK: Header

    @Test func headerRoundTripsAndIsOnePage() throws {
        let header = SimLUHeader.new(deviceType: 1)
        let page = header.encode()
        #expect(page.count == SimFormat.headerSize)
        #expect(Array(page.prefix(8)) == Array("STCTLSIM".utf8))
        #expect(page[17] == 1)
        #expect(String(decoding: page[24..<52], as: UTF8.self) == "STORCTL SIM TAPE        1.0 ")
        #expect(page[SimFormat.headerFieldsSize...].allSatisfy { $0 == 0 })
        #expect(try SimLUHeader.decode(page) == header)
        #expect(try SimLUHeader.decode(Array(page.prefix(128))) == header)
        #expect(SimLUHeader.new(deviceType: 1).logicalUnitID != header.logicalUnitID)
    }

    @Test func headerRejectsForeignNewerAndDamaged() {
        let page = SimLUHeader.new(deviceType: 0).encode()
        #expect(throws: SimLUHeader.DecodeError.foreign) { try SimLUHeader.decode(Array("hello world\n".utf8)) }
        #expect(throws: SimLUHeader.DecodeError.foreign) { try SimLUHeader.decode([0x53]) }

        var newer = page
        newer[9] = 3
        #expect(throws: SimLUHeader.DecodeError.newerVersion(3)) { try SimLUHeader.decode(newer) }
        var older = SimLUHeader.new(deviceType: 0)
        older.formatVersion = 1
        #expect(throws: SimLUHeader.DecodeError.olderVersion(1)) { try SimLUHeader.decode(older.encode()) }

        var flipped = page
        flipped[40] ^= 0x01
        #expect(throws: SimLUHeader.DecodeError.corrupt("checksum mismatch")) { try SimLUHeader.decode(flipped) }

        #expect(throws: SimLUHeader.DecodeError.corrupt("file is too short")) {
            try SimLUHeader.decode(Array(page.prefix(60)))
        }
        var zeroVersion = page
        zeroVersion[9] = 0
        #expect(throws: SimLUHeader.DecodeError.corrupt("format version 0")) { try SimLUHeader.decode(zeroVersion) }
    }

    // MARK: Slots

    @Test func slotRoundTripsAndDetectsDamage() {
        let payload: [UInt8] = Array(0..<200)
        let bytes = SimSlotContent.encode(sequence: 7, payload: payload)
        #expect(bytes.count == SimFormat.slotHeaderSize + payload.count)
        #expect(SimSlotContent.decode(bytes, isComplete: true) == .content(.valid(sequence: 7, payload: payload)))

        // Each single-byte change anywhere in the written bytes is caught.
        for index in bytes.indices {
            var damaged = bytes
            damaged[index] ^= 0x40
            guard case .content(.invalid) = SimSlotContent.decode(damaged, isComplete: true) else {
                Issue.record("damage at byte \(index) not detected")
                return
            }
        }
        // Torn: the file ends inside the payload.
        #expect(SimSlotContent.decode(Array(bytes.prefix(100)), isComplete: true)
                == .content(.invalid(reason: "file ends inside the slot", sequence: 7)))
        // A partial read asks for the rest instead of judging.
        #expect(SimSlotContent.decode(Array(bytes.prefix(100)), isComplete: false) == .needsBytes(bytes.count))
    }

    @Test func slotEmptyNeedsTheWholeSlotToBeZero() {
        #expect(SimSlotContent.decode([], isComplete: true) == .content(.empty))
        #expect(SimSlotContent.decode([UInt8](repeating: 0, count: 4096), isComplete: false)
                == .needsBytes(SimFormat.slotSize))
        var lateGarbage = [UInt8](repeating: 0, count: SimFormat.slotSize)
        lateGarbage[SimFormat.slotSize - 1] = 1
        #expect(SimSlotContent.decode(lateGarbage, isComplete: true)
                == .content(.invalid(reason: "no slot tag", sequence: nil)))
        #expect(SimSlotContent.decode([UInt8](repeating: 0, count: SimFormat.slotSize), isComplete: true)
                == .content(.empty))
    }

    @Test func slotRefusesAnOversizedLength() {
        var bytes = SimSlotContent.encode(sequence: 1, payload: [1, 2, 3])
        bytes.replaceSubrange(4..<8, with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(SimSlotContent.decode(bytes, isComplete: true)
                == .content(.invalid(reason: "payload length 4294967295 exceeds the slot", sequence: 1)))
    }

    // MARK: Choosing the current state

    @Test func commitRecordRoundTripsAndDetectsDamage() throws {
        let record = SimCommitRecord(sequence: 7, slot: 1, length: 300, slotCRC: 0xDEAD_BEEF)
        let bytes = record.encode()
        #expect(bytes.count == SimFormat.commitRecordSize && Array(bytes.prefix(4)) == Array("CMIT".utf8))
        #expect(try SimCommitRecord.decode(bytes).get() == record)
        #expect(try SimCommitRecord.decode(SimCommitRecord.fresh.encode()).get() == .fresh)
        for bit in 0..<(bytes.count * 8) {
            var damaged = bytes
            damaged[bit / 8] ^= UInt8(1 << (bit % 8))
            if case .success = SimCommitRecord.decode(damaged) { Issue.record("bit \(bit) of the record not detected") }
        }
        #expect(SimCommitRecord.decode(Array(bytes.prefix(31)))
                == .failure(SimCorruption(details: "commit record: file ends inside it")))
    }

    @Test func resolveTakesOnlyWhatTheRecordNames() throws {
        let header = SimLUHeader.new(deviceType: 1)
        let payload: [UInt8] = [5, 5, 5]
        let slot = SimSlotContent.encode(sequence: 5, payload: payload)
        let crc = slot.bigEndianInteger(at: 16, as: UInt32.self)!
        let record = SimCommitRecord(sequence: 5, slot: 1, length: 3, slotCRC: crc)
        let good = try SimSnapshot.resolve(header: header, record: record, fileSize: SimFormat.fileSize,
                                           committed: (.valid(sequence: 5, payload: payload), crc)).get()
        #expect(good.currentSlot == 1 && good.sequence == 5 && good.payload == payload && good.nextSlot == 0)

        // Nothing committed: fresh, whatever the size (an initialisation killed before the extension).
        let fresh = try SimSnapshot.resolve(header: header, record: .fresh, fileSize: 4096, committed: nil).get()
        #expect(fresh.currentSlot == nil && fresh.sequence == 0 && fresh.nextSlot == 0)

        // Anything else is damage, never an older or a fresh state.
        let bad: [(Int, (SimSlotContent, UInt32?)?)] = [
            (SimFormat.fileSize - 1, (.valid(sequence: 5, payload: payload), crc)),
            (SimFormat.fileSize + 1, (.valid(sequence: 5, payload: payload), crc)),
            (SimFormat.fileSize, (.valid(sequence: 4, payload: payload), crc)),
            (SimFormat.fileSize, (.valid(sequence: 5, payload: [5, 5]), crc)),
            (SimFormat.fileSize, (.valid(sequence: 5, payload: payload), crc ^ 1)),
            (SimFormat.fileSize, (.empty, nil)),
            (SimFormat.fileSize, (.invalid(reason: "checksum mismatch", sequence: 5), crc)),
            (SimFormat.fileSize, nil),
        ]
        for (size, committed) in bad {
            guard case .failure(let corruption) = SimSnapshot.resolve(header: header, record: record, fileSize: size,
                                                                      committed: committed) else {
                Issue.record("\(size) \(String(describing: committed)) resolved to a state")
                continue
            }
            #expect(corruption.message.hasPrefix("simulated LU state is corrupt ("))
        }
    }

    // MARK: The file

    @Test func initialiseCommitAndAlternateSlots() throws {
        let directory = SimTempDirectory()
        let path = directory.emptyFile()
        let file = try SimStateFile.open(path: path, readOnly: false)
        defer { file.close() }
        #expect(file.isWritable)

        let header = SimLUHeader.new(deviceType: 1)
        try file.lock(timeout: .seconds(5))
        let empty = try file.readSnapshot()
        #expect(empty.header == nil && empty.currentSlot == nil)
        try file.initialise(header)
        file.unlock()
        #expect(SimFileBytes.read(path).count == SimFormat.fileSize)

        var snapshot = try file.lockedSnapshot()
        #expect(snapshot.header == header && snapshot.currentSlot == nil && snapshot.sequence == 0)

        for round in 1...5 {
            let payload = [UInt8](repeating: UInt8(round), count: 100 * round)
            try file.lockedCommit(payload)
            snapshot = try file.lockedSnapshot()
            #expect(snapshot.sequence == UInt64(round))
            #expect(snapshot.currentSlot == (round - 1) % 2)
            #expect(snapshot.payload == payload)
        }
    }

    @Test func largePayloadSpanningManyPages() throws {
        let directory = SimTempDirectory()
        let path = directory.emptyFile()
        let file = try SimStateFile.open(path: path, readOnly: false)
        defer { file.close() }
        let payload = (0..<SimFormat.slotCapacity).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try file.lockedInitialise(deviceType: 0)
        try file.lockedCommit(payload)
        try file.lockedCommit([1])
        #expect(throws: TransportError.self) { try file.lockedCommit(payload + [0]) }
        let snapshot = try file.lockedSnapshot(allSlots: true)
        #expect(snapshot.payload == [1] && snapshot.sequence == 2)
        if case .valid(1, let first) = snapshot.slots[0] { #expect(first == payload) } else {
            Issue.record("slot 0 lost the large state: \(snapshot.slots[0])")
        }
        #expect(SimFileBytes.read(path).count == SimFormat.fileSize)
    }

    @Test func aTornCommitKeepsThePreviousState() throws {
        let directory = SimTempDirectory()
        let path = directory.emptyFile()
        let file = try SimStateFile.open(path: path, readOnly: false)
        defer { file.close() }
        let old = [UInt8](repeating: 0xAA, count: 9000)
        let new = [UInt8](repeating: 0xBB, count: 9000)
        try file.lockedInitialise(deviceType: 1)
        try file.lockedCommit(old)
        // Torn at several points: inside the slot header, at a page boundary, inside the payload, one byte short,
        // and the whole slot written but not the commit record (killed before the commit point).
        for cut in [0, 10, 4096, 5000, SimFormat.slotHeaderSize + new.count - 1, SimFormat.slotHeaderSize + new.count] {
            let error = #expect(throws: TransportError.self) { try file.lockedCommit(new, failAfterBytes: cut) }
            #expect(error?.kind == .io(errno: .noSpace))
            #expect(error?.message == "file system full: cannot record the new state (the previous state is kept)")
            let snapshot = try file.lockedSnapshot()
            #expect(snapshot.payload == old && snapshot.sequence == 1 && snapshot.currentSlot == 0)
        }
        // The next commit goes to the torn slot and wins.
        try file.lockedCommit(new)
        let snapshot = try file.lockedSnapshot()
        #expect(snapshot.payload == new && snapshot.sequence == 2 && snapshot.currentSlot == 1)
    }

    @Test func aTornFirstCommitLeavesAFreshLU() throws {
        let directory = SimTempDirectory()
        let path = directory.emptyFile()
        let file = try SimStateFile.open(path: path, readOnly: false)
        defer { file.close() }
        try file.lockedInitialise(deviceType: 1)
        #expect(throws: TransportError.self) {
            try file.lockedCommit([UInt8](repeating: 1, count: 8000), failAfterBytes: 4096)
        }
        let snapshot = try file.lockedSnapshot(allSlots: true)
        #expect(snapshot.currentSlot == nil && snapshot.sequence == 0)
        #expect(snapshot.slots[0] == SimSlotContent.invalid(reason: "checksum mismatch", sequence: 1))
        #expect(snapshot.slots[1] == SimSlotContent.empty)
    }

    @Test func theLockExcludesASecondOpenOfTheSameFile() throws {
        let directory = SimTempDirectory()
        let path = directory.emptyFile()
        let first = try SimStateFile.open(path: path, readOnly: false)
        let second = try SimStateFile.open(path: path, readOnly: false)
        defer {
            first.close()
            second.close()
        }
        try first.lock(timeout: .zero)
        let error = #expect(throws: TransportError.self) { try second.lock(timeout: .milliseconds(30)) }
        #expect(error?.kind == .lockWait)
        first.unlock()
        // Released: the second gets it at once.
        try second.lock(timeout: .milliseconds(30))
        second.unlock()
    }

    @Test func readersShareTheLockButExcludeTheWriter() throws {
        let directory = SimTempDirectory()
        let path = directory.emptyFile()
        let reader1 = try SimStateFile.open(path: path, readOnly: true)
        let reader2 = try SimStateFile.open(path: path, readOnly: true)
        let writer = try SimStateFile.open(path: path, readOnly: false)
        defer {
            reader1.close()
            reader2.close()
            writer.close()
        }
        #expect(!reader1.isWritable && reader1.readOnlyReason == Errno.readOnlyFileSystem)
        try reader1.lock(timeout: .zero)
        try reader2.lock(timeout: .milliseconds(30))
        reader2.unlock()
        #expect(throws: TransportError.self) { try writer.lock(timeout: .milliseconds(30)) }
        #expect(throws: TransportError(.io(errno: .readOnlyFileSystem), "read-only: cannot record the new state")) {
            try reader1.initialise(SimLUHeader.new(deviceType: 1))
        }
        reader1.unlock()
    }
}

/// One locked step at a time, for tests.
extension SimStateFile {
    func lockedSnapshot(allSlots: Bool = false) throws(TransportError) -> SimSnapshot {
        try lock(timeout: .seconds(5))
        defer { unlock() }
        return try readSnapshot(allSlots: allSlots)
    }

    func lockedInitialise(deviceType: UInt8) throws(TransportError) {
        try lock(timeout: .seconds(5))
        defer { unlock() }
        try initialise(SimLUHeader.new(deviceType: deviceType))
    }

    func lockedCommit(_ payload: [UInt8], failAfterBytes: Int? = nil) throws(TransportError) {
        try lock(timeout: .seconds(5))
        defer { unlock() }
        try commit(payload, after: try readSnapshot(), failAfterBytes: failAfterBytes)
    }
}
