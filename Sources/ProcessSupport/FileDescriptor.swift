#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An open file descriptor (swift-system's `FileDescriptor`): the system calls made on one, each wrapped once,
/// EINTR retried (`SystemCall.retryingOnInterrupt`), failures thrown as `Errno`.
///
/// It does not own the descriptor's lifetime: whoever opened it calls `close()` once.
public struct FileDescriptor: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let standardInput = FileDescriptor(rawValue: 0)
    public static let standardOutput = FileDescriptor(rawValue: 1)
    public static let standardError = FileDescriptor(rawValue: 2)
    /// The working directory, for `open(at:)` (AT_FDCWD).
    public static let currentWorkingDirectory = FileDescriptor(rawValue: AT_FDCWD)

    // MARK: opening and closing

    /// open(2).
    public static func open(_ path: String, _ flags: Int32, permissions: mode_t = 0) throws(Errno) -> FileDescriptor {
        try SystemCall.valueOrErrno { Glibc.open(path, flags, permissions) }.map(FileDescriptor.init).get()
    }

    /// open(2) by the bytes of a path (a path that is not UTF-8, which a String would repair and so change).
    public static func open(pathBytes: [UInt8], _ flags: Int32, permissions: mode_t = 0) throws(Errno) -> FileDescriptor {
        try currentWorkingDirectory.open(at: pathBytes, flags, permissions: permissions)
    }

    /// openat(2): `name` relative to this directory.
    public func open(at name: [UInt8], _ flags: Int32, permissions: mode_t = 0) throws(Errno) -> FileDescriptor {
        let directory = rawValue
        return try SystemCall.valueOrErrno {
            (name + [0]).withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { openat(directory, $0.baseAddress!, flags, permissions) }
            }
        }.map(FileDescriptor.init).get()
    }

    /// close(2). Never retried: on Linux the descriptor is gone even when close reports EINTR, and a retry could
    /// close a descriptor another open has been given meanwhile. Errors are ignored: nothing we write relies on
    /// close for durability.
    public func close() {
        _ = Glibc.close(rawValue)
    }

    /// True when this is not an open descriptor (fcntl(2) F_GETFD fails with EBADF).
    public var isClosed: Bool {
        if case .failure(.badFileDescriptor) = SystemCall.valueOrErrno({ fcntl(rawValue, F_GETFD) }) { return true }
        return false
    }

    /// dup2(2): this descriptor duplicated onto `target` (closing what `target` was).
    public func duplicate(as target: FileDescriptor) throws(Errno) -> FileDescriptor {
        try SystemCall.valueOrErrno { dup2(rawValue, target.rawValue) }.map(FileDescriptor.init).get()
    }

    /// The file status flags (fcntl(2) F_GETFL).
    public func statusFlags() throws(Errno) -> Int32 {
        try SystemCall.valueOrErrno { fcntl(rawValue, F_GETFL) }.get()
    }

    /// Sets the file status flags (fcntl(2) F_SETFL): O_NONBLOCK, O_APPEND, ...
    public func setStatusFlags(_ flags: Int32) throws(Errno) {
        try SystemCall.nothingOrErrno { fcntl(rawValue, F_SETFL, flags) }.get()
    }

    // MARK: reading and writing

    /// read(2) into `buffer`: the count read, 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try SystemCall.valueOrErrno { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }.get()
    }

    /// read(2) of at most `count` bytes: the bytes read, none at end of file.
    public func read(upTo count: Int) throws(Errno) -> [UInt8] {
        // uninitialised, not zero-filled: readAll asks 16K at a time for files of a few hundred bytes
        var failure: Errno? = nil
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(Errno) { initialized = try read(into: UnsafeMutableRawBufferPointer(buffer)) } catch { failure = error; initialized = 0 }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Reads what is left of the file, up to `limit` bytes (EFBIG beyond).
    public func readAll(limit: Int = 1 << 20) throws(Errno) -> [UInt8] {
        var result: [UInt8] = []
        while true {
            let chunk = try read(upTo: 16384)
            if chunk.isEmpty { break }
            result.append(contentsOf: chunk)
            if result.count > limit { throw .fileTooLarge }
        }
        return result
    }

    /// pread(2) until `count` bytes are read or the file ends. Returns the bytes read (fewer at end of file).
    public func read(count: Int, at offset: Int) throws(Errno) -> [UInt8] {
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        let fd = rawValue
        try bytes.withUnsafeMutableBytes { buffer -> Result<Void, Errno> in
            while done < count {
                switch SystemCall.valueOrErrno({ pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done)) }) {
                case .success(0): return .success(())
                case .success(let result): done += result
                case .failure(let error): return .failure(error)
                }
            }
            return .success(())
        }.get()
        bytes.removeLast(count - done)
        return bytes
    }

    /// pwrite(2) until every byte is written. A failure part-way leaves the bytes written so far in the file.
    public func write(_ bytes: [UInt8], at offset: Int) throws(Errno) {
        let fd = rawValue
        try bytes.withUnsafeBytes { buffer -> Result<Void, Errno> in
            var done = 0
            while done < buffer.count {
                switch SystemCall.valueOrErrno({ pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done)) }) {
                // 0 for a non-empty request means the file system took nothing; do not spin.
                case .success(0): return .failure(.ioError)
                case .success(let result): done += result
                case .failure(let error): return .failure(error)
                }
            }
            return .success(())
        }.get()
    }

    /// write(2) of all of `bytes`: short writes are completed, a non-blocking descriptor (one inherited from
    /// the caller) is waited for with poll(2).
    public func writeAll(_ bytes: [UInt8]) throws(Errno) {
        let fd = rawValue
        try bytes.withUnsafeBytes { buffer -> Result<Void, Errno> in
            var offset = 0
            while offset < buffer.count {
                switch SystemCall.valueOrErrno({ Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset) }) {
                case .success(0): return .failure(.ioError)   // no progress on a non-empty write: never spin
                case .success(let n): offset += n
                case .failure(.wouldBlock):
                    var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    if case .failure(let error) = SystemCall.nothingOrErrno({ poll(&ready, 1, -1) }) { return .failure(error) }
                case .failure(let error): return .failure(error)
                }
            }
            return .success(())
        }.get()
    }

    // MARK: the file

    /// fstat(2).
    public func status() throws(Errno) -> stat {
        var status = stat()
        try SystemCall.nothingOrErrno { fstat(rawValue, &status) }.get()
        return status
    }

    /// fstatat(2) of `name` in this directory; with `followingLinks: false`, of a symbolic link itself.
    public func status(of name: [UInt8], followingLinks: Bool) throws(Errno) -> stat {
        var status = stat()
        let flags = followingLinks ? 0 : AT_SYMLINK_NOFOLLOW
        try SystemCall.nothingOrErrno {
            (name + [0]).withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { fstatat(rawValue, $0.baseAddress!, &status, flags) }
            }
        }.get()
        return status
    }

    /// readlinkat(2): the target of the symbolic link `name` in this directory, as stored (at most 4096 bytes).
    public func linkTarget(of name: [UInt8]) throws(Errno) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: 4097)
        let count = try SystemCall.valueOrErrno {
            (name + [0]).withUnsafeBufferPointer { namePointer in
                namePointer.withMemoryRebound(to: CChar.self) { readlinkat(rawValue, $0.baseAddress!, &buffer, 4096) }
            }
        }.get()
        return buffer[0..<count].map { UInt8(bitPattern: $0) }
    }

    /// unlinkat(2): removes the file `name` from this directory.
    public func removeFile(named name: [UInt8]) throws(Errno) {
        try SystemCall.nothingOrErrno {
            (name + [0]).withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { unlinkat(rawValue, $0.baseAddress!, 0) }
            }
        }.get()
    }

    /// renameat(2) within this directory: `name` replaces `newName` at once (a reader sees the old file or
    /// the new one, never half of one).
    public func renameFile(named name: [UInt8], to newName: [UInt8]) throws(Errno) {
        try SystemCall.nothingOrErrno {
            (name + [0]).withUnsafeBufferPointer { old in
                (newName + [0]).withUnsafeBufferPointer { new in
                    old.withMemoryRebound(to: CChar.self) { oldName in
                        new.withMemoryRebound(to: CChar.self) {
                            renameat(rawValue, oldName.baseAddress!, rawValue, $0.baseAddress!)
                        }
                    }
                }
            }
        }.get()
    }

    /// fchmod(2).
    public func setPermissions(_ mode: mode_t) throws(Errno) {
        try SystemCall.nothingOrErrno { fchmod(rawValue, mode) }.get()
    }

    /// ftruncate(2) to `size` bytes.
    public func truncate(to size: Int) throws(Errno) {
        try SystemCall.nothingOrErrno { ftruncate(rawValue, off_t(size)) }.get()
    }

    /// posix_fallocate(3): reserves the blocks of `[offset, offset + length)`.
    public func allocate(offset: Int, length: Int) throws(Errno) {
        try SystemCall.nothingOrReturnedErrno { posix_fallocate(rawValue, off_t(offset), off_t(length)) }.get()
    }

    // MARK: flock(2)

    /// The kind of `flock(2)` lock.
    public enum LockKind: Sendable {
        /// LOCK_SH: readers; works on a descriptor opened read-only.
        case shared
        /// LOCK_EX: the one writer.
        case exclusive

        var operation: Int32 { self == .shared ? LOCK_SH : LOCK_EX }
    }

    /// flock(2) with LOCK_NB: true when granted, false when another open file description holds a conflicting lock.
    public func tryLock(_ kind: LockKind) throws(Errno) -> Bool {
        switch SystemCall.nothingOrErrno({ flock(rawValue, kind.operation | LOCK_NB) }) {
        case .success: return true
        case .failure(.wouldBlock): return false
        case .failure(let error): throw error
        }
    }

    /// flock(2) LOCK_UN.
    public func unlock() throws(Errno) {
        try SystemCall.nothingOrErrno { flock(rawValue, LOCK_UN) }.get()
    }
}
