import Glibc
import PRCore
import ProcessSupport

/// What a simulated LU's file holds at one instant (read under its lock).
struct SimSnapshot: Equatable, Sendable {
    /// `nil` when the file is empty: a fresh LU whose header has not been written yet.
    var header: SimLUHeader?
    /// The commit record (`.fresh` for an empty file).
    var record: SimCommitRecord = .fresh
    /// The file's size when read.
    var fileSize: Int = 0
    /// One entry per slot, read only when asked for (`verify`); empty otherwise.
    var slots: [SimSlotContent] = []
    /// The slot holding the current state; `nil` when the LU is fresh (no state was ever committed).
    var currentSlot: Int?
    /// The current state's sequence number (0 when fresh).
    var sequence: UInt64 = 0
    /// The current state's `LogicalUnitState.encode()` bytes; `nil` when fresh.
    var payload: [UInt8]?

    /// Where the next commit goes: the slot that does not hold the current state (slot 0 when fresh).
    var nextSlot: Int { currentSlot.map { ($0 + 1) % SimFormat.slotCount } ?? 0 }

    /// The snapshot of an empty file.
    static let empty = SimSnapshot(header: nil)

    /// The committed state the record names, checked against the slot's bytes (`committed`, what the read of the
    /// named slot found, its stored CRC field), or why there is none.
    static func resolve(header: SimLUHeader, record: SimCommitRecord, fileSize: Int,
                        committed: (content: SimSlotContent, storedCRC: UInt32?)?) -> Result<SimSnapshot, SimCorruption> {
        var snapshot = SimSnapshot(header: header, record: record, fileSize: fileSize)
        // Nothing committed: shorter is an initialisation cut short (the first commit completes it); longer is
        // not something storage-ctl writes, and a commit into it would make a file the next read refuses.
        guard record.sequence > 0, fileSize <= SimFormat.fileSize else {
            if fileSize <= SimFormat.fileSize { return .success(snapshot) }
            return .failure(SimCorruption(details: "file extended to \(fileSize) bytes; a simulated LU is \(SimFormat.fileSize)"))
        }
        guard fileSize == SimFormat.fileSize else {
            let what = fileSize < SimFormat.fileSize ? "truncated" : "extended"
            return .failure(SimCorruption(details: "file \(what) to \(fileSize) bytes; a simulated LU is "
                                          + "\(SimFormat.fileSize)"))
        }
        let damaged = "committed state (slot \(record.slot), sequence \(record.sequence)) is damaged"
        guard let committed else { return .failure(SimCorruption(details: damaged)) }
        switch committed.content {
        case .valid(let sequence, let payload):
            guard sequence == record.sequence, payload.count == record.length,
                  committed.storedCRC == record.slotCRC else {
                return .failure(SimCorruption(details: "\(damaged): the slot holds sequence \(sequence), "
                                              + "\(payload.count) bytes, not what the commit record says"))
            }
            snapshot.currentSlot = record.slot
            snapshot.sequence = sequence
            snapshot.payload = payload
            return .success(snapshot)
        case .empty:
            return .failure(SimCorruption(details: "\(damaged): the slot is empty"))
        case .invalid(let reason, _):
            return .failure(SimCorruption(details: "\(damaged): \(reason)"))
        }
    }
}

/// A simulated LU's file, open: snapshots and commits, under the file's `flock(2)` lock.
///
/// The caller takes the lock (`lock(timeout:)`, `unlock()`) around `readSnapshot`, `initialise` and `commit`. The lock belongs to
/// the open file description, so two `SimStateFile`s (two processes, or two objects in one process) exclude each
/// other; one `SimStateFile` must not be used by two threads at once (`SimulatedLU` serialises its callers).
struct SimStateFile: Sendable {
    let descriptor: FileDescriptor
    /// `nil` when open for writing; otherwise why the file is read-only (errno of the refused O_RDWR open, or
    /// EROFS when read-only was asked for).
    let readOnlyReason: Errno?
    /// What fstat said at open.
    let openStatus: SimFileStatus

    var isWritable: Bool { readOnlyReason == nil }

    /// Opens `path` read-write, or read-only when that is all the file allows (EACCES, EROFS, EPERM) or when
    /// `readOnly` is set. Refuses anything but a regular file, and a file of a kernel file system (proc, sysfs,
    /// ...: `KernelFileSystem`), before anything is read or written. With `create`, a missing `path` is
    /// created (O_EXCL: never through a dangling symbolic link), empty, mode 0660.
    static func open(path: String, readOnly: Bool, create: Bool = false) throws(TransportError) -> SimStateFile {
        var readOnlyReason: Errno? = readOnly ? .readOnlyFileSystem : nil
        var descriptor: FileDescriptor
        do throws(Errno) {
            do throws(Errno) {
                descriptor = try FileDescriptor.openSimulatedLU(path, readOnly ? .readOnly : .readWrite)
            } catch {
                guard create, !readOnly, error == .noSuchFileOrDirectory else { throw error }
                descriptor = try FileDescriptor.createSimulatedLU(path)
            }
        } catch {
            guard !readOnly, [.permissionDenied, .readOnlyFileSystem, .notPermitted].contains(error) else { throw openError(error) }
            readOnlyReason = error
            do throws(Errno) {
                descriptor = try FileDescriptor.openSimulatedLU(path, .readOnly)
            } catch {
                throw openError(error)
            }
        }
        let status: SimFileStatus
        do throws(Errno) {
            status = try descriptor.simulatedLUStatus()
        } catch {
            descriptor.close()
            throw openError(error)
        }
        if status.isDirectory {
            descriptor.close()
            throw openError(.isDirectory)
        }
        guard status.isRegularFile else {
            descriptor.close()
            throw TransportError(.notSCSIDevice, "not a regular file, so not a simulated LU")
        }
        let kernelFileSystem: KernelFileSystem?
        do throws(Errno) {
            kernelFileSystem = try descriptor.kernelFileSystem()
        } catch {
            descriptor.close()
            throw openError(error)
        }
        if let kernelFileSystem {
            descriptor.close()
            throw TransportError(.notSCSIDevice, "\(kernelFileSystem.description), never a simulated drive; nothing was written")
        }
        do throws(Errno) {
            try descriptor.clearNonBlocking()
        } catch {
            descriptor.close()
            throw openError(error)
        }
        return SimStateFile(descriptor: descriptor, readOnlyReason: readOnlyReason, openStatus: status)
    }

    private static func openError(_ error: Errno) -> TransportError {
        if error == .isDirectory { return TransportError(.open(errno: .isDirectory), "is a directory") }
        return TransportError(.open(errno: error), "cannot open: \(error)")
    }

    func close() { descriptor.close() }

    /// Takes the lock: exclusive when writable, shared otherwise (a read-only descriptor cannot change the
    /// file, so readers need not exclude each other). Pair with `unlock()` (`defer`).
    ///
    /// Waits for the lock at most `timeout`; a non-positive `timeout` tries once. Never without limit: a live
    /// storage-ctl holds the lock for microseconds and the kernel releases it when the holder dies, so a long
    /// wait means a stopped process (SIGSTOP, a debugger) or a foreign one holds it; `flock(2)` needs only a
    /// descriptor, so anyone who can open the file for reading can (README, "Simulated drives").
    func lock(timeout: Duration) throws(TransportError) {
        let kind: FileDescriptor.LockKind = isWritable ? .exclusive : .shared
        let acquired: Bool
        do throws(Errno) {
            acquired = try acquireLock(kind, timeout: timeout)
        } catch {
            throw TransportError(.io(errno: error), "cannot lock the simulated LU: \(error)")
        }
        guard acquired else {
            throw TransportError(.lockWait, "the simulated LU's file stayed locked by another process for "
                                 + "\(SimStateFile.seconds(timeout)) s (a stopped storage-ctl, or any process "
                                 + "that can open the file, holds its flock)")
        }
    }

    /// flock(2) LOCK_UN. It cannot fail on a valid descriptor; a failure is ignored because the lock goes away
    /// with the open file description anyway.
    func unlock() { try? descriptor.unlock() }

    /// Takes the lock at once if free; else polls with exponential backoff (50 µs doubling to 5 ms) until
    /// `timeout` passes (`timeout` <= 0: no second try). False when it timed out.
    private func acquireLock(_ kind: FileDescriptor.LockKind, timeout: Duration) throws(Errno) -> Bool {
        if try descriptor.tryLock(kind) { return true }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var pause = Duration.microseconds(50)
        while true {
            let remaining = clock.now.duration(to: deadline)
            if remaining <= .zero { return false }
            SystemCall.sleep(min(pause, remaining))
            if try descriptor.tryLock(kind) { return true }
            pause = min(pause * 2, .milliseconds(5))
        }
    }

    /// `2`, `0.5`, `0.001`: a duration in seconds for messages, to the millisecond (at least 0.001 when not 0).
    static func seconds(_ duration: Duration) -> String {
        let (whole, atto) = duration.components
        guard whole >= 0, whole > 0 || atto > 0 else { return "0" }
        var millis = Int64(whole) * 1000 + atto / 1_000_000_000_000_000
        if millis == 0 { millis = 1 }
        if millis % 1000 == 0 { return String(millis / 1000) }
        var fraction = String(millis % 1000)
        fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(millis / 1000).\(fraction)"
    }

    /// Reads the header and the commit record, then the slot the record names, and checks them. Caller holds
    /// the lock. `allSlots` also reads both slots as they are (for `verify`'s report).
    func readSnapshot(allSlots: Bool = false) throws(TransportError) -> SimSnapshot {
        let size: Int
        do throws(Errno) {
            size = try descriptor.simulatedLUStatus().size
        } catch {
            throw TransportError(.io(errno: error), "cannot examine the simulated LU: \(error)")
        }
        if size == 0 {
            var snapshot = SimSnapshot.empty
            if allSlots { snapshot.slots = Array(repeating: .empty, count: SimFormat.slotCount) }
            return snapshot
        }
        let page = try read(count: SimFormat.headerReadSize, at: 0)
        let header: SimLUHeader
        do throws(SimLUHeader.DecodeError) {
            header = try SimLUHeader.decode(page)
        } catch {
            throw SimStateFile.headerError(error)
        }
        let record: SimCommitRecord
        switch SimCommitRecord.decode(Array(page.dropFirst(SimFormat.commitRecordOffset))) {
        case .success(let decoded): record = decoded
        case .failure(let corruption): throw TransportError(.corruptState, corruption.message)
        }
        var committed: (content: SimSlotContent, storedCRC: UInt32?)?
        if record.sequence > 0 && size == SimFormat.fileSize {
            let bytes = try read(count: SimFormat.slotHeaderSize + record.length, at: SimFormat.slotOffset(record.slot))
            let content: SimSlotContent
            switch SimSlotContent.decode(bytes, isComplete: true) {
            case .content(let decoded): content = decoded
            case .needsBytes: content = .invalid(reason: "no slot tag", sequence: nil)
            }
            committed = (content, bytes.bigEndianInteger(at: 16, as: UInt32.self))
        }
        var snapshot: SimSnapshot
        switch SimSnapshot.resolve(header: header, record: record, fileSize: size, committed: committed) {
        case .success(let resolved): snapshot = resolved
        case .failure(let corruption): throw TransportError(.corruptState, corruption.message)
        }
        if allSlots {
            for index in 0..<SimFormat.slotCount { snapshot.slots.append(try readSlot(index)) }
        }
        return snapshot
    }

    static func headerError(_ error: SimLUHeader.DecodeError) -> TransportError {
        switch error {
        case .foreign:
            return TransportError(.corruptState, "not a storage-ctl simulated LU (unrecognised format)")
        case .newerVersion(let version):
            return TransportError(.corruptState, "simulated LU format version \(version) is newer than this "
                                  + "storage-ctl supports (version \(SimFormat.version))")
        case .olderVersion(let version):
            return TransportError(.corruptState, "simulated LU format version \(version) is no longer read "
                                  + "(this storage-ctl uses version \(SimFormat.version)); recreate the file "
                                  + "(storage-ctl FILE create on an empty file makes a fresh LU; its registrations are lost)")
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

    /// Writes the header page of a new LU (header fields and a commit record with nothing committed) into an
    /// empty file, then extends the file to its full size. Caller holds the exclusive lock and has just seen the
    /// file empty.
    func initialise(_ header: SimLUHeader) throws(TransportError) {
        if let reason = readOnlyReason { throw SimStateFile.readOnlyError(reason) }
        var page = header.encode()
        page.replaceSubrange(SimFormat.commitRecordOffset..<SimFormat.headerReadSize, with: SimCommitRecord.fresh.encode())
        do throws(Errno) {
            try descriptor.write(page, at: 0)
        } catch {
            // Leave the file empty (a fresh LU) rather than holding part of a header.
            try? descriptor.truncate(to: 0)
            throw TransportError(.io(errno: error), "cannot initialise the simulated LU: \(error)")
        }
        // Only the owner and the group may open it: anyone who can open the file can hold its lock (README).
        descriptor.restrictPermissions()
        try extend()
    }

    /// Gives the file its full size: the slot area's blocks reserved where the file system can (later commits
    /// then cannot hit ENOSPC), else a sparse extension (a commit may then report ENOSPC, keeping the state).
    private func extend() throws(TransportError) {
        let length = SimFormat.slotCount * SimFormat.slotSize
        do throws(Errno) {
            do throws(Errno) {
                try descriptor.allocate(offset: SimFormat.headerSize, length: length)
            } catch {
                try descriptor.truncate(to: SimFormat.fileSize)
            }
        } catch {
            throw TransportError(.io(errno: error), "cannot initialise the simulated LU: \(error)")
        }
    }

    /// Writes `payload` as the state after `snapshot`: into `snapshot.nextSlot` with sequence + 1, then the commit
    /// record naming it. Caller holds the exclusive lock and has read `snapshot` under it.
    ///
    /// `failAfterBytes` is for tests: write only that many bytes of the slot (all of them: the slot but not the
    /// record), then fail with ENOSPC, as a write cut short or a process killed before the commit point.
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
        // An initialisation killed before the extension: complete it first.
        if snapshot.fileSize < SimFormat.fileSize { try extend() }
        let bytes = SimSlotContent.encode(sequence: snapshot.sequence + 1, payload: payload)
        let record = SimCommitRecord(sequence: snapshot.sequence + 1, slot: snapshot.nextSlot, length: payload.count,
                                     slotCRC: bytes.bigEndianInteger(at: 16, as: UInt32.self) ?? 0)
        let offset = SimFormat.slotOffset(snapshot.nextSlot)
        do throws(Errno) {
            if let limit = failAfterBytes, limit <= bytes.count {
                try descriptor.write(Array(bytes.prefix(max(0, limit))), at: offset)
                throw Errno.noSpace
            }
            try descriptor.write(bytes, at: offset)
            try descriptor.write(record.encode(), at: SimFormat.commitRecordOffset)
        } catch {
            let what = error == .noSpace ? "file system full" : "write failed: \(error)"
            throw TransportError(.io(errno: error),
                                 "\(what): cannot record the new state (the previous state is kept)")
        }
    }

    static func readOnlyError(_ reason: Errno) -> TransportError {
        let why = reason == .readOnlyFileSystem ? "" : " (\(reason))"
        return TransportError(.io(errno: reason), "read-only\(why): cannot record the new state")
    }

    private func read(count: Int, at offset: Int) throws(TransportError) -> [UInt8] {
        do throws(Errno) {
            return try descriptor.read(count: count, at: offset)
        } catch {
            throw TransportError(.io(errno: error), "cannot read the simulated LU: \(error)")
        }
    }
}
