import Glibc
import PRCore

/// What a simulated LU's file holds at one instant (read under its lock).
struct SimSnapshot: Equatable, Sendable {
    /// `nil` when the file is empty: a fresh LU whose header has not been written yet.
    var header: SimLUHeader?
    /// One entry per slot.
    var slots: [SimSlotContent]
    /// The slot holding the current state; `nil` when the LU is fresh (no state was ever committed).
    var currentSlot: Int?
    /// The current state's sequence number (0 when fresh).
    var sequence: UInt64
    /// The current state's `LogicalUnitState.encode()` bytes; `nil` when fresh.
    var payload: [UInt8]?

    /// Where the next commit goes: the slot that does not hold the current state (slot 0 when fresh).
    var nextSlot: Int { currentSlot.map { ($0 + 1) % SimFormat.slotCount } ?? 0 }

    /// The current state from the slots, or a description of why there is none.
    static func resolve(header: SimLUHeader?, slots: [SimSlotContent]) -> Result<SimSnapshot, SimCorruption> {
        var best: (index: Int, sequence: UInt64, payload: [UInt8])?
        for (index, slot) in slots.enumerated() {
            if case .valid(let sequence, let payload) = slot, sequence > (best?.sequence ?? 0) {
                best = (index, sequence, payload)
            }
        }
        if let best {
            return .success(SimSnapshot(header: header, slots: slots, currentSlot: best.index,
                                        sequence: best.sequence, payload: best.payload))
        }
        let fresh = SimSnapshot(header: header, slots: slots, currentSlot: nil, sequence: 0, payload: nil)
        if slots.allSatisfy({ $0 == .empty }) { return .success(fresh) }
        // The first commit (slot 0, sequence 1) was torn, and slot 1 was never written: nothing was committed yet.
        if case .invalid(_, let sequence) = slots[0], sequence == 1, slots.dropFirst().allSatisfy({ $0 == .empty }) {
            return .success(fresh)
        }
        let reasons = slots.enumerated().map { index, slot -> String in
            switch slot {
            case .empty: return "slot \(index): never written"
            case .valid: return "slot \(index): valid"
            case .invalid(let reason, _): return "slot \(index): \(reason)"
            }
        }
        return .failure(SimCorruption(details: reasons.joined(separator: "; ")))
    }
}

/// No state slot of the file can be used.
struct SimCorruption: Error, Equatable, Sendable {
    var details: String
    var message: String { "simulated LU state is corrupt (\(details))" }
}

/// A simulated LU's file, open: snapshots and commits, under the file's `flock(2)` lock.
///
/// The caller takes the lock (`lock(timeout:)`, `unlock()`) around `readSnapshot`, `initialise` and `commit`. The lock belongs to
/// the open file description, so two `SimStateFile`s (two processes, or two objects in one process) exclude each
/// other; one `SimStateFile` must not be used by two threads at once (`SimulatedLU` serialises its callers).
struct SimStateFile: Sendable {
    let descriptor: SimFileDescriptor
    /// `nil` when open for writing; otherwise why the file is read-only (errno of the refused O_RDWR open, or
    /// EROFS when read-only was asked for).
    let readOnlyReason: SimErrno?
    /// What fstat said at open.
    let openStatus: SimFileStatus

    var isWritable: Bool { readOnlyReason == nil }

    /// Opens `path` read-write, or read-only when that is all the file allows (EACCES, EROFS, EPERM) or when
    /// `readOnly` is set. Refuses anything but a regular file.
    static func open(path: String, readOnly: Bool) throws(TransportError) -> SimStateFile {
        var readOnlyReason: SimErrno? = readOnly ? SimErrno(EROFS) : nil
        var descriptor: SimFileDescriptor
        do throws(SimErrno) {
            descriptor = try SimFileDescriptor.open(path, readOnly ? .readOnly : .readWrite)
        } catch {
            guard !readOnly, [EACCES, EROFS, EPERM].contains(error.rawValue) else { throw openError(error) }
            readOnlyReason = error
            do throws(SimErrno) {
                descriptor = try SimFileDescriptor.open(path, .readOnly)
            } catch {
                throw openError(error)
            }
        }
        let status: SimFileStatus
        do throws(SimErrno) {
            status = try descriptor.status()
        } catch {
            descriptor.close()
            throw openError(error)
        }
        if status.isDirectory {
            descriptor.close()
            throw openError(SimErrno(EISDIR))
        }
        guard status.isRegularFile else {
            descriptor.close()
            throw TransportError(.notSCSIDevice, "not a regular file, so not a simulated LU")
        }
        do throws(SimErrno) {
            try descriptor.clearNonBlocking()
        } catch {
            descriptor.close()
            throw openError(error)
        }
        return SimStateFile(descriptor: descriptor, readOnlyReason: readOnlyReason, openStatus: status)
    }

    private static func openError(_ error: SimErrno) -> TransportError {
        if error.rawValue == EISDIR { return TransportError(.open(errno: EISDIR), "is a directory") }
        return TransportError(.open(errno: error.rawValue), "cannot open: \(error)")
    }

    func close() { descriptor.close() }

    /// Takes the lock: exclusive when writable, shared otherwise (a read-only descriptor cannot change the
    /// file, so readers need not exclude each other). Pair with `unlock()` (`defer`).
    ///
    /// Waits for the lock at most `timeout`; a non-positive `timeout` waits without limit. A live process holds
    /// the lock for microseconds and the kernel releases it when the holder dies, so a long wait means a stopped
    /// process (SIGSTOP, a debugger) holds it.
    func lock(timeout: Duration) throws(TransportError) {
        let kind: SimLockKind = isWritable ? .exclusive : .shared
        let acquired: Bool
        do throws(SimErrno) {
            acquired = try acquireLock(kind, timeout: timeout)
        } catch {
            throw TransportError(.io(errno: error.rawValue), "cannot lock the simulated LU: \(error)")
        }
        guard acquired else {
            throw TransportError(.timeout, "timed out after \(timeout) waiting for the simulated LU's lock "
                                 + "(a stopped process may hold it)")
        }
    }

    func unlock() { descriptor.unlock() }

    /// Takes the lock at once if free; else waits without limit (`timeout` <= 0) or polls with exponential
    /// backoff (50 µs doubling to 5 ms) until `timeout` passes. False when it timed out.
    private func acquireLock(_ kind: SimLockKind, timeout: Duration) throws(SimErrno) -> Bool {
        if try descriptor.tryLock(kind) { return true }
        if timeout <= .zero {
            try descriptor.lock(kind)
            return true
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var pause = Duration.microseconds(50)
        while true {
            let remaining = clock.now.duration(to: deadline)
            if remaining <= .zero { return false }
            simSleep(min(pause, remaining))
            if try descriptor.tryLock(kind) { return true }
            pause = min(pause * 2, .milliseconds(5))
        }
    }

    /// Reads the header and both slots and picks the current state. Caller holds the lock.
    func readSnapshot() throws(TransportError) -> SimSnapshot {
        // The header's fields: the rest of the header page is zero and carries nothing.
        let page = try read(count: SimFormat.headerFieldsSize, at: 0)
        if page.isEmpty {
            return SimSnapshot(header: nil, slots: Array(repeating: .empty, count: SimFormat.slotCount),
                               currentSlot: nil, sequence: 0, payload: nil)
        }
        let header: SimLUHeader
        do throws(SimLUHeader.DecodeError) {
            header = try SimLUHeader.decode(page)
        } catch {
            throw SimStateFile.headerError(error)
        }
        var slots: [SimSlotContent] = []
        for index in 0..<SimFormat.slotCount {
            slots.append(try readSlot(index))
        }
        switch SimSnapshot.resolve(header: header, slots: slots) {
        case .success(let snapshot): return snapshot
        case .failure(let corruption): throw TransportError(.corruptState, corruption.message)
        }
    }

    static func headerError(_ error: SimLUHeader.DecodeError) -> TransportError {
        switch error {
        case .foreign:
            return TransportError(.corruptState, "not a storage-ctl simulated LU (unrecognised format)")
        case .newerVersion(let version):
            return TransportError(.corruptState, "simulated LU format version \(version) is newer than this "
                                  + "storage-ctl supports (version \(SimFormat.version))")
        case .corrupt(let reason):
            return TransportError(.corruptState, "simulated LU header is corrupt (\(reason))")
        }
    }

    /// Reads slot `index`: its first page, then more only if the slot says it needs more.
    func readSlot(_ index: Int) throws(TransportError) -> SimSlotContent {
        let offset = SimFormat.slotOffset(index)
        let first = min(4096, SimFormat.slotSize)
        var bytes = try read(count: first, at: offset)
        var isComplete = bytes.count < first
        while true {
            switch SimSlotContent.decode(bytes, isComplete: isComplete) {
            case .content(let content):
                return content
            case .needsBytes(let count):
                bytes = try read(count: count, at: offset)
                isComplete = true
            }
        }
    }

    /// Writes the header of a new LU into an empty file and reserves the slot area. Caller holds the
    /// exclusive lock and has just seen the file empty.
    func initialise(_ header: SimLUHeader) throws(TransportError) {
        if let reason = readOnlyReason { throw SimStateFile.readOnlyError(reason) }
        do throws(SimErrno) {
            try descriptor.write(header.encode(), at: 0)
        } catch {
            // Leave the file empty (a fresh LU) rather than holding part of a header.
            descriptor.truncate()
            throw TransportError(.io(errno: error.rawValue), "cannot initialise the simulated LU: \(error)")
        }
        // Best effort: where it works, later commits cannot hit ENOSPC; where it does not, a commit reports it.
        try? descriptor.allocate(offset: SimFormat.headerSize, length: SimFormat.slotCount * SimFormat.slotSize)
    }

    /// Writes `payload` as the state after `snapshot`: into `snapshot.nextSlot`, sequence + 1. Caller holds the
    /// exclusive lock, has read `snapshot` under it, and has checked the size against `SimFormat.slotCapacity`.
    ///
    /// `failAfterBytes` is for tests: write only that many bytes, then fail with ENOSPC (a torn write).
    func commit(_ payload: [UInt8], after snapshot: SimSnapshot, failAfterBytes: Int? = nil) throws(TransportError) {
        if let reason = readOnlyReason { throw SimStateFile.readOnlyError(reason) }
        guard payload.count <= SimFormat.slotCapacity else {
            throw TransportError(.other, "simulated LU state of \(payload.count) bytes does not fit its slot "
                                 + "(\(SimFormat.slotCapacity) bytes)")
        }
        guard snapshot.sequence < UInt64.max else {
            // Only a forged file gets here (2^64 commits do not happen); do not wrap to an older-looking number.
            throw TransportError(.corruptState, "simulated LU state is corrupt (sequence number exhausted)")
        }
        let bytes = SimSlotContent.encode(sequence: snapshot.sequence + 1, payload: payload)
        let offset = SimFormat.slotOffset(snapshot.nextSlot)
        do throws(SimErrno) {
            if let limit = failAfterBytes, limit < bytes.count {
                try descriptor.write(Array(bytes.prefix(max(0, limit))), at: offset)
                throw SimErrno(ENOSPC)
            }
            try descriptor.write(bytes, at: offset)
        } catch {
            let what = error.rawValue == ENOSPC ? "file system full" : "write failed: \(error)"
            throw TransportError(.io(errno: error.rawValue),
                                 "\(what): cannot record the new state (the previous state is kept)")
        }
    }

    static func readOnlyError(_ reason: SimErrno) -> TransportError {
        let why = reason.rawValue == EROFS ? "" : " (\(reason))"
        return TransportError(.io(errno: reason.rawValue), "read-only\(why): cannot record the new state")
    }

    private func read(count: Int, at offset: Int) throws(TransportError) -> [UInt8] {
        do throws(SimErrno) {
            return try descriptor.read(count: count, at: offset)
        } catch {
            throw TransportError(.io(errno: error.rawValue), "cannot read the simulated LU: \(error)")
        }
    }
}
