import Glibc
import Testing
@testable import Transports

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
        newer[9] = 2
        #expect(throws: SimLUHeader.DecodeError.newerVersion(2)) { try SimLUHeader.decode(newer) }

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

    @Test func resolvePicksTheHighestValidSequence() throws {
        let older = SimSlotContent.valid(sequence: 4, payload: [4])
        let newer = SimSlotContent.valid(sequence: 5, payload: [5])
        let torn = SimSlotContent.invalid(reason: "checksum mismatch", sequence: 6)

        let a = try SimSnapshot.resolve(header: nil, slots: [newer, older]).get()
        #expect(a.currentSlot == 0 && a.sequence == 5 && a.payload == [5] && a.nextSlot == 1)
        let b = try SimSnapshot.resolve(header: nil, slots: [older, newer]).get()
        #expect(b.currentSlot == 1 && b.nextSlot == 0)
        let c = try SimSnapshot.resolve(header: nil, slots: [older, torn]).get()
        #expect(c.currentSlot == 0 && c.sequence == 4 && c.nextSlot == 1)
    }

    @Test func resolveFreshOnlyWhenNothingWasEverCommitted() throws {
        let fresh = try SimSnapshot.resolve(header: nil, slots: [.empty, .empty]).get()
        #expect(fresh.currentSlot == nil && fresh.sequence == 0 && fresh.payload == nil && fresh.nextSlot == 0)

        // The first commit (slot 0, sequence 1) torn by a kill: still fresh.
        let tornFirst = try SimSnapshot.resolve(
            header: nil, slots: [.invalid(reason: "checksum mismatch", sequence: 1), .empty]).get()
        #expect(tornFirst.currentSlot == nil && tornFirst.nextSlot == 0)

        // Anything else without a valid slot is corrupt, never a silent reset.
        let corrupt: [[SimSlotContent]] = [
            [.invalid(reason: "checksum mismatch", sequence: 3), .empty],
            [.invalid(reason: "no slot tag", sequence: nil), .empty],
            [.empty, .invalid(reason: "checksum mismatch", sequence: 1)],
            [.invalid(reason: "checksum mismatch", sequence: 1), .invalid(reason: "checksum mismatch", sequence: 2)],
        ]
        for slots in corrupt {
            guard case .failure(let corruption) = SimSnapshot.resolve(header: nil, slots: slots) else {
                Issue.record("\(slots) resolved to a state")
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
        let snapshot = try file.lockedSnapshot()
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
        // Torn at several points: inside the slot header, at a page boundary, inside the payload, one byte short.
        for cut in [0, 10, 4096, 5000, SimFormat.slotHeaderSize + new.count - 1] {
            let error = #expect(throws: TransportError.self) { try file.lockedCommit(new, failAfterBytes: cut) }
            #expect(error?.kind == .io(errno: ENOSPC))
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
        let snapshot = try file.lockedSnapshot()
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
        #expect(error?.kind == .timeout)
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
        #expect(!reader1.isWritable && reader1.readOnlyReason == SimErrno(EROFS))
        try reader1.lock(timeout: .zero)
        try reader2.lock(timeout: .milliseconds(30))
        reader2.unlock()
        #expect(throws: TransportError.self) { try writer.lock(timeout: .milliseconds(30)) }
        #expect(throws: TransportError(.io(errno: EROFS), "read-only: cannot record the new state")) {
            try reader1.initialise(SimLUHeader.new(deviceType: 1))
        }
        reader1.unlock()
    }
}

/// One locked step at a time, for tests.
extension SimStateFile {
    func lockedSnapshot() throws(TransportError) -> SimSnapshot {
        try lock(timeout: .seconds(5))
        defer { unlock() }
        return try readSnapshot()
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
