#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Open flags Glibc does not export to Swift.
public enum LinuxOpenFlags {
    /// O_PATH (010000000 on x86, arm, riscv, powerpc, s390): a descriptor that only names a file, for openat,
    /// fstat and /proc/self/fd, needing no read permission.
    public static let pathOnly: Int32 = 0o10_000_000
}

/// The few system calls the command layers (storage-ctl and the sg_persist personality) make themselves
/// (reading the configuration file, the environment, writing output), each wrapped once with EINTR retried.
public enum Posix {
    public struct Failure: Error {
        public var errno: Int32
        public init(errno: Int32) { self.errno = errno }
    }

    public static func errorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }

    /// An environment variable's bytes as they are (no UTF-8 repair): for paths.
    public static func environmentBytes(_ name: String) -> [UInt8]? {
        guard let value = getenv(name) else { return nil }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self), count: strlen(value)))
    }

    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// Reads a whole (small) file; refuses anything that is not a regular file.
    public static func readFile(_ path: String, limit: Int = 1 << 20) throws(Failure) -> [UInt8] {
        let fd = try Posix.open(path, O_RDONLY | O_CLOEXEC).get()
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(errno: errno) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw Failure(errno: EISDIR) }
        return try readAll(fd, limit: limit)
    }

    /// A file opened by `openWalking`, with what was seen on the way.
    public struct WalkedFile {
        public var fd: Int32
        /// fstat(2) of `fd`: what was opened, not what the path names a moment later.
        public var status: stat
        /// The first directory on the way (from `/` down) that someone other than root or us could change:
        /// not owned by root or the effective uid, or writable by group or others without the sticky bit.
        public var untrustedDirectory: String?
    }

    public enum WalkFailure: Error {
        /// A system call failed (ENOENT, EACCES, ELOOP, ...).
        case errno(Int32)
        /// A symbolic link that someone else could have planted, with why.
        case untrustedLink(String)
        /// The last component exists and is not a regular file (`regularOnly`); not opened. The file type bits.
        case notRegular(mode_t)
    }

    /// Opens `path` one component at a time (openat(2) with O_NOFOLLOW from `/`; a relative path is taken from
    /// the working directory), so every directory on the way is examined on its descriptor, as ssh examines
    /// the directories above its files. A symbolic link on the way is followed only when the directory holding
    /// it is trusted (see `WalkedFile.untrustedDirectory`) and the link is owned by root or us, as the kernel's
    /// protected_symlinks does in sticky directories; otherwise `.untrustedLink`. The last component is opened
    /// with `flags | O_NOFOLLOW`; a link there is followed under the same rule when `followLastLink` is set,
    /// else the open fails with ELOOP. At most 40 links (ELOOP). With `regularOnly`, a last component that exists
    /// and is not a regular file is refused before it is opened: opening a device can have effects (a watchdog
    /// arms, a tape rewinds on close), and a FIFO can block.
    public static func openWalking(_ path: [UInt8], flags: Int32, mode: mode_t = 0, followLastLink: Bool,
                            regularOnly: Bool = true) throws(WalkFailure) -> WalkedFile {
        guard !path.isEmpty else { throw .errno(ENOENT) }
        guard !path.contains(0) else { throw .errno(EINVAL) }
        var full = path
        if path.first != UInt8(ascii: "/") {
            guard let cwd = currentDirectory() else { throw .errno(errno) }
            full = cwd + [UInt8(ascii: "/")] + path
        }
        var pending = components(full)
        let trailingSlash = path.last == UInt8(ascii: "/")
        var dirfd = openPath([UInt8(ascii: "/")], relativeTo: AT_FDCWD, flags: openPathOnly | O_DIRECTORY)
        guard dirfd >= 0 else { throw .errno(errno) }
        var dirName: [UInt8] = [UInt8(ascii: "/")]
        var untrusted: String? = isTrustedDirectory(dirfd) ? nil : text(dirName)
        defer { close(dirfd) }
        var links = 0
        if pending.isEmpty { pending = [[UInt8(ascii: ".")]] }
        while !pending.isEmpty {
            let name = pending.removeFirst()
            let isLast = pending.isEmpty && !trailingSlash
            let child = dirName == [UInt8(ascii: "/")] ? dirName + name : dirName + [UInt8(ascii: "/")] + name
            if isLast, regularOnly, let (type, device) = fileType(name, in: dirfd), type != S_IFREG, type != S_IFLNK,
               !(type == S_IFCHR && device == nullDevice) {
                throw .notRegular(type)
            }
            let fd = isLast
                ? openPath(name, relativeTo: dirfd, flags: flags | O_NOFOLLOW, mode: mode)
                : openPath(name, relativeTo: dirfd, flags: openPathOnly | O_DIRECTORY | O_NOFOLLOW)
            if fd < 0 {
                let error = errno
                guard error == ELOOP || error == ENOTDIR || error == EMLINK, !isLast || followLastLink,
                      let link = linkStatus(name, in: dirfd) else { throw .errno(error) }
                // A symbolic link: follow it only where nobody else could have put it.
                links += 1
                guard links <= 40 else { throw .errno(ELOOP) }
                guard isTrustedDirectory(dirfd) else {
                    throw .untrustedLink("\(text(child)) is a symbolic link in \(text(dirName)), a directory others can write")
                }
                guard link.st_uid == 0 || link.st_uid == geteuid() else {
                    throw .untrustedLink("\(text(child)) is a symbolic link owned by uid \(link.st_uid)")
                }
                guard let target = readLink(name, in: dirfd) else { throw .errno(errno) }
                if target.first == UInt8(ascii: "/") {
                    let root = openPath([UInt8(ascii: "/")], relativeTo: AT_FDCWD, flags: openPathOnly | O_DIRECTORY)
                    guard root >= 0 else { throw .errno(errno) }
                    close(dirfd)
                    dirfd = root
                    dirName = [UInt8(ascii: "/")]
                }
                pending = components(target) + pending
                if pending.isEmpty { pending = [[UInt8(ascii: ".")]] }
                continue
            }
            if isLast {
                var status = stat()
                guard fstat(fd, &status) == 0 else { let error = errno; close(fd); throw .errno(error) }
                return WalkedFile(fd: fd, status: status, untrustedDirectory: untrusted)
            }
            if untrusted == nil, !isTrustedDirectory(fd) { untrusted = text(child) }
            close(dirfd)
            dirfd = fd
            dirName = name == [UInt8(ascii: ".")] ? dirName : child
        }
        // A path ending in "/" names a directory.
        throw .errno(EISDIR)
    }

    private static let openPathOnly = LinuxOpenFlags.pathOnly

    private static func components(_ path: [UInt8]) -> [[UInt8]] {
        path.split(separator: UInt8(ascii: "/")).map(Array.init).filter { $0 != [UInt8(ascii: ".")] }
    }

    /// Owned by root or us, and not writable by group or others unless sticky (others cannot replace our
    /// entries in a sticky directory such as /tmp).
    private static func isTrustedDirectory(_ fd: Int32) -> Bool {
        var status = stat()
        guard fstat(fd, &status) == 0 else { return false }
        let owner = status.st_uid == 0 || status.st_uid == geteuid()
        return owner && (status.st_mode & 0o022 == 0 || status.st_mode & S_ISVTX != 0)
    }

    private static func openPath(_ name: [UInt8], relativeTo dirfd: Int32, flags: Int32, mode: mode_t = 0) -> Int32 {
        var fd: Int32
        repeat {
            fd = (name + [0]).withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { openat(dirfd, $0.baseAddress!, flags | O_CLOEXEC, mode) }
            }
        } while fd < 0 && errno == EINTR
        return fd
    }

    /// /dev/null's device number (1:3), the one device `regularOnly` lets through: `-c /dev/null` is an
    /// empty configuration, and opening it has no effect.
    private static let nullDevice: UInt64 = 0x103

    /// The S_IFMT bits and device number of `name` in `dirfd` (not following a link), or nil when it does not exist.
    private static func fileType(_ name: [UInt8], in dirfd: Int32) -> (mode_t, UInt64)? {
        var status = stat()
        let rc = (name + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { fstatat(dirfd, $0.baseAddress!, &status, AT_SYMLINK_NOFOLLOW) }
        }
        return rc == 0 ? (status.st_mode & S_IFMT, UInt64(status.st_rdev)) : nil
    }

    /// "a FIFO", "a directory", ...: a file type for messages.
    public static func typeName(_ type: mode_t) -> String {
        switch type {
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFDIR: return "a directory"
        default: return "not a regular file"
        }
    }

    private static func linkStatus(_ name: [UInt8], in dirfd: Int32) -> stat? {
        var status = stat()
        let rc = (name + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { fstatat(dirfd, $0.baseAddress!, &status, AT_SYMLINK_NOFOLLOW) }
        }
        return rc == 0 && status.st_mode & S_IFMT == S_IFLNK ? status : nil
    }

    private static func readLink(_ name: [UInt8], in dirfd: Int32) -> [UInt8]? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let count = (name + [0]).withUnsafeBufferPointer { namePointer in
            namePointer.withMemoryRebound(to: CChar.self) { readlinkat(dirfd, $0.baseAddress!, &buffer, 4096) }
        }
        guard count > 0 else { return nil }
        return buffer[0..<count].map { UInt8(bitPattern: $0) }
    }

    private static func currentDirectory() -> [UInt8]? {
        var buffer = [CChar](repeating: 0, count: 4097)
        guard getcwd(&buffer, buffer.count) != nil else { return nil }
        return buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    }

    /// Path bytes as text for messages (invalid UTF-8 repaired; callers escape it).
    public static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Reads what is left of an open file, up to `limit` bytes (EFBIG beyond).
    public static func readAll(_ fd: Int32, limit: Int = 1 << 20) throws(Failure) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw Failure(errno: errno) }
            if n == 0 { break }
            result.append(contentsOf: buffer[0..<n])
            if result.count > limit { throw Failure(errno: EFBIG) }
        }
        return result
    }

    public static func fileExists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public static func fileStatus(_ path: String) -> stat? {
        var st = stat()
        return stat(path, &st) == 0 ? st : nil
    }

    /// The directory holding the running executable (for `storage-ctl.conf` beside it).
    public static func executableDirectory() -> String? {
        // Bytes, not [CChar]: the start-up needs [UInt8] anyway, a [CChar] costs one more metadata instantiation.
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes {
            readlink("/proc/self/exe", $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1)
        }
        guard n > 0 else { return nil }
        let path = String(decoding: buffer[0..<n], as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    public static func hostName() -> String {
        var buffer = [UInt8](repeating: 0, count: 256)   // bytes, as in executableDirectory
        let result = buffer.withUnsafeMutableBytes {
            gethostname($0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1)
        }
        guard result == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Writes all of `text` to `fd`: the one place output leaves the process. Short writes are
    /// completed, EINTR retried, a non-blocking descriptor (inherited from the caller) waited for.
    /// Returns nil when everything was written, else the errno of the failure: ENOSPC (`> /dev/full`),
    /// EPIPE (a closed pipe; SIGPIPE is ignored), EBADF (a standard descriptor the caller closed,
    /// which `StandardDescriptors` reopened read-only), EIO, ...
    public static func write(_ fd: Int32, _ text: String) -> Int32? {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 { offset += n; continue }
            if n == 0 { return EIO }   // no progress on a non-empty write: never spin
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:
                var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&ready, 1, -1) < 0 && errno != EINTR { return errno }
            case let failure: return failure
            }
        }
        return nil
    }

    /// open(2) with EINTR retried; the descriptor or the errno.
    public static func open(_ path: String, _ flags: Int32) -> Result<Int32, Failure> {
        while true {
            let fd = Glibc.open(path, flags)
            if fd >= 0 { return .success(fd) }
            if errno != EINTR { return .failure(Failure(errno: errno)) }
        }
    }
}

/// Buffered standard output/error as `TextOutputStream`s, flushed explicitly, so a command's
/// output leaves in one write and stays in order with its stderr lines. A failed write is kept in
/// `failure` (the first errno) and later text is dropped: the caller decides what it means.
public struct FDOutput: TextOutputStream {
    let fd: Int32
    var buffer = ""
    /// The errno of the first write that failed, if any.
    public private(set) var failure: Int32?
    public init(fd: Int32) { self.fd = fd }
    public mutating func write(_ string: String) {
        buffer += string
        if buffer.utf8.count > 65536 { flush() }
    }
    public mutating func flush() {
        if !buffer.isEmpty, failure == nil { failure = Posix.write(fd, buffer) }
        buffer = ""
    }
}
