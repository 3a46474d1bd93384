import Glibc

/// An `errno` value from a failed system call of the simulated LU.
///
/// It never leaves the Transports module: `SimulatedLU` turns it into a `TransportError` that keeps the number
/// (`.open(errno:)`, `.io(errno:)`) and says in words what went wrong.
struct SimErrno: Error, Equatable, Sendable, CustomStringConvertible {
    var rawValue: Int32

    init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The value `errno` holds right now.
    static var current: SimErrno { SimErrno(errno) }

    /// The C library's text for the number ("No such file or directory").
    var description: String { String(cString: strerror(rawValue)) }
}

/// What `fstat(2)` says about the simulated LU's file, reduced to what the simulated LU uses.
struct SimFileStatus: Equatable, Sendable {
    var isRegularFile: Bool
    var isDirectory: Bool
    var size: Int
    var device: UInt64
    var inode: UInt64
}

/// The kind of `flock(2)` lock.
enum SimLockKind: Sendable {
    /// LOCK_SH: readers; works on a descriptor opened read-only.
    case shared
    /// LOCK_EX: the one writer.
    case exclusive

    fileprivate var operation: Int32 { self == .shared ? LOCK_SH : LOCK_EX }
}

/// An open file descriptor of a simulated LU's file.
///
/// Every system call the simulated LU makes goes through this type: wrapped once, retried on EINTR, failures
/// thrown as `SimErrno`. It does not own the descriptor's lifetime; the owner calls `close()` once.
struct SimFileDescriptor: Sendable {
    let rawValue: Int32

    /// How the file is opened.
    enum AccessMode: Sendable {
        case readWrite
        case readOnly

        fileprivate var flags: Int32 { self == .readWrite ? O_RDWR : O_RDONLY }
    }

    /// open(2) without O_CREAT: the simulated LU never creates its file (a missing DEVICE is an error).
    ///
    /// O_NONBLOCK keeps a FIFO named as DEVICE from blocking the open; the caller rejects anything that is not a
    /// regular file, then calls `clearNonBlocking()`. O_CLOEXEC: the descriptor (and with it the lock) must not
    /// leak into a child process, which would keep the lock's open file description alive.
    static func open(_ path: String, _ mode: AccessMode) throws(SimErrno) -> SimFileDescriptor {
        let flags = mode.flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK
        while true {
            let fd = Glibc.open(path, flags)
            if fd >= 0 { return SimFileDescriptor(rawValue: fd) }
            let error = SimErrno.current
            if error.rawValue != EINTR { throw error }
        }
    }

    /// Clears O_NONBLOCK once the descriptor is known to name a regular file.
    func clearNonBlocking() throws(SimErrno) {
        let flags = fcntl(rawValue, F_GETFL)
        guard flags >= 0 else { throw SimErrno.current }
        guard fcntl(rawValue, F_SETFL, flags & ~O_NONBLOCK) == 0 else { throw SimErrno.current }
    }

    /// close(2). Errors are ignored: nothing was written through the descriptor that close could still lose
    /// (the simulated LU does not rely on close for durability), and EINTR must not be retried on Linux.
    func close() {
        _ = Glibc.close(rawValue)
    }

    /// fstat(2).
    func status() throws(SimErrno) -> SimFileStatus {
        var info = stat()
        guard fstat(rawValue, &info) == 0 else { throw SimErrno.current }
        let type = info.st_mode & S_IFMT
        return SimFileStatus(isRegularFile: type == S_IFREG, isDirectory: type == S_IFDIR,
                             size: Int(info.st_size), device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// pread(2) until `count` bytes are read or the file ends. Returns the bytes read (fewer at end of file).
    func read(count: Int, at offset: Int) throws(SimErrno) -> [UInt8] {
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        var failure: SimErrno?
        bytes.withUnsafeMutableBytes { buffer in
            while done < count {
                let result = pread(rawValue, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if result > 0 {
                    done += result
                } else if result == 0 {
                    return
                } else if errno != EINTR {
                    failure = SimErrno.current
                    return
                }
            }
        }
        if let failure { throw failure }
        bytes.removeLast(count - done)
        return bytes
    }

    /// pwrite(2) until every byte is written. A failure part-way leaves the bytes written so far in the file;
    /// the state file's slot checksum is what makes such a torn write harmless.
    func write(_ bytes: [UInt8], at offset: Int) throws(SimErrno) {
        var failure: SimErrno?
        bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let result = pwrite(rawValue, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
                if result > 0 {
                    done += result
                } else if result == 0 {
                    // pwrite returning 0 for a non-empty request means the file system took nothing; do not spin.
                    failure = SimErrno(EIO)
                    return
                } else if errno != EINTR {
                    failure = SimErrno.current
                    return
                }
            }
        }
        if let failure { throw failure }
    }

    /// posix_fallocate(3): reserves the blocks of `[offset, offset + length)` so later writes there do not run
    /// out of space on file systems that allocate up front (ext4, XFS, tmpfs).
    func allocate(offset: Int, length: Int) throws(SimErrno) {
        while true {
            let result = posix_fallocate(rawValue, off_t(offset), off_t(length))
            if result == 0 { return }
            if result != EINTR { throw SimErrno(result) }
        }
    }

    /// ftruncate(2) to `size` bytes.
    func setSize(_ size: Int) throws(SimErrno) {
        while ftruncate(rawValue, off_t(size)) != 0 {
            let error = SimErrno.current
            if error.rawValue != EINTR { throw error }
        }
    }

    /// fchmod(2) to at most 0660 (no access for others, no execute or set-id bits), best effort: a caller who
    /// is not the owner cannot, and the file keeps its mode.
    func restrictPermissions() {
        var info = stat()
        guard fstat(rawValue, &info) == 0 else { return }
        let mode = info.st_mode & 0o7777
        if mode & ~0o660 != 0 { _ = fchmod(rawValue, mode & 0o660) }
    }

    /// ftruncate(2) to zero length, best effort (used only to undo a failed initialisation).
    func truncate() {
        while ftruncate(rawValue, 0) != 0 && errno == EINTR {}
    }

    /// flock(2) with LOCK_NB: true when granted, false when another open file description holds a conflicting lock.
    func tryLock(_ kind: SimLockKind) throws(SimErrno) -> Bool {
        while flock(rawValue, kind.operation | LOCK_NB) != 0 {
            let error = SimErrno.current
            if error.rawValue == EWOULDBLOCK { return false }
            if error.rawValue != EINTR { throw error }
        }
        return true
    }

    /// flock(2) LOCK_UN. It cannot fail on a valid descriptor; a failure is ignored because the lock goes away
    /// with the open file description anyway.
    func unlock() {
        while flock(rawValue, LOCK_UN) != 0 && errno == EINTR {}
    }
}

/// Sleeps the calling thread (nanosleep(2)); an interruption just shortens the sleep, the caller re-checks.
func simSleep(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    guard seconds > 0 || attoseconds > 0 else { return }
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    _ = nanosleep(&request, nil)
}

/// A pthread mutex: serialises the threads of one process that share one `SimulatedLU` object. (Between
/// objects and processes the `flock(2)` lock does that; it cannot between threads using one open file
/// description, which already holds it.)
final class SimMutex: @unchecked Sendable {
    // @unchecked: the mutex lives at a fixed heap address and is only touched through pthread calls.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}
