import Glibc
import ProcessSupport

/// What `fstat(2)` says about the simulated LU's file, reduced to what the simulated LU uses.
struct SimFileStatus: Equatable, Sendable {
    var isRegularFile: Bool
    var isDirectory: Bool
    var size: Int
    var device: UInt64
    var inode: UInt64
}

/// How a simulated LU's file is opened.
enum SimAccessMode: Sendable {
    case readWrite
    case readOnly

    fileprivate var flags: Int32 { self == .readWrite ? O_RDWR : O_RDONLY }
}

/// The simulated LU's own uses of a `FileDescriptor` (the system calls themselves, their EINTR retry and their
/// `Errno`, are ProcessSupport's). The owner of the descriptor calls `close()` once; close errors are ignored,
/// since the simulated LU does not rely on close for durability.
extension FileDescriptor {
    /// open(2) without O_CREAT: only `createSimulatedLU` (asked for by `create`) makes a file.
    ///
    /// O_NONBLOCK keeps a FIFO named as DEVICE from blocking the open; the caller rejects anything that is not a
    /// regular file, then calls `clearNonBlocking()`. O_CLOEXEC: the descriptor (and with it the lock) must not
    /// leak into a child process, which would keep the lock's open file description alive.
    static func openSimulatedLU(_ path: String, _ mode: SimAccessMode) throws(Errno) -> FileDescriptor {
        try open(path, mode.flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
    }

    /// open(2) with O_CREAT | O_EXCL, mode 0660: a new, empty file for `storage-ctl FILE create`, never
    /// through a symbolic link (O_EXCL fails on one, dangling or not).
    static func createSimulatedLU(_ path: String) throws(Errno) -> FileDescriptor {
        try open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, permissions: 0o660)
    }

    /// Clears O_NONBLOCK once the descriptor is known to name a regular file.
    func clearNonBlocking() throws(Errno) {
        try setStatusFlags(try statusFlags() & ~O_NONBLOCK)
    }

    /// fstat(2), reduced to what the simulated LU uses.
    func simulatedLUStatus() throws(Errno) -> SimFileStatus {
        let info = try status()
        let type = info.st_mode & S_IFMT
        return SimFileStatus(isRegularFile: type == S_IFREG, isDirectory: type == S_IFDIR,
                             size: Int(info.st_size), device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// fchmod(2) to at most 0660 (no access for others, no execute or set-id bits), best effort: a caller who
    /// is not the owner cannot, and the file keeps its mode.
    func restrictPermissions() {
        guard let info = try? status() else { return }
        let mode = info.st_mode & 0o7777
        if mode & ~0o660 != 0 { try? setPermissions(mode & 0o660) }
    }
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
