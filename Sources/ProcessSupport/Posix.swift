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

/// What the command layers (storage-ctl and the sg_persist personality) ask of the system beyond a
/// `FileDescriptor` (reading the configuration file, the environment, writing output), built on
/// `SystemCall` and `FileDescriptor`: failures are `Errno`s, EINTR is retried there.
public enum Posix {
    /// An environment variable's bytes as they are (no UTF-8 repair): for paths.
    public static func environmentBytes(_ name: String) -> [UInt8]? {
        guard let value = getenv(name) else { return nil }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self), count: strlen(value)))
    }

    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// Reads a whole (small) file; refuses a directory.
    public static func readFile(_ path: String, limit: Int = 1 << 20) throws(Errno) -> [UInt8] {
        let fd = try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC)
        defer { fd.close() }
        if (try fd.status().st_mode & S_IFMT) == S_IFDIR { throw .isDirectory }
        return try fd.readAll(limit: limit)
    }

    /// A file opened by `openWalking`, with what was seen on the way.
    public struct WalkedFile {
        public var fd: FileDescriptor
        /// fstat(2) of `fd`: what was opened, not what the path names a moment later.
        public var status: stat
        /// The first directory on the way (from `/` down) that someone other than root or us could change:
        /// not owned by root or the effective uid, or writable by group or others without the sticky bit.
        public var untrustedDirectory: String?
    }

    public enum WalkFailure: Error {
        /// A system call failed (ENOENT, EACCES, ELOOP, ...).
        case errno(Errno)
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
        guard !path.isEmpty else { throw .errno(.noSuchFileOrDirectory) }
        guard !path.contains(0) else { throw .errno(.invalidArgument) }
        var full = path
        if path.first != UInt8(ascii: "/") {
            full = try currentDirectory().mapError(WalkFailure.errno).get() + [UInt8(ascii: "/")] + path
        }
        var pending = components(full)
        let trailingSlash = path.last == UInt8(ascii: "/")
        var dirfd = try openPath([UInt8(ascii: "/")], relativeTo: .currentWorkingDirectory,
                                 flags: openPathOnly | O_DIRECTORY).mapError(WalkFailure.errno).get()
        var dirName: [UInt8] = [UInt8(ascii: "/")]
        var untrusted: String? = isTrustedDirectory(dirfd) ? nil : text(dirName)
        defer { dirfd.close() }
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
            let opened = isLast
                ? openPath(name, relativeTo: dirfd, flags: flags | O_NOFOLLOW, mode: mode)
                : openPath(name, relativeTo: dirfd, flags: openPathOnly | O_DIRECTORY | O_NOFOLLOW)
            let fd: FileDescriptor
            switch opened {
            case .success(let descriptor):
                fd = descriptor
            case .failure(let error):
                guard error == .tooManySymbolicLinkLevels || error == .notDirectory || error == .tooManyLinks,
                      !isLast || followLastLink, let link = linkStatus(name, in: dirfd) else { throw .errno(error) }
                // A symbolic link: follow it only where nobody else could have put it.
                links += 1
                guard links <= 40 else { throw .errno(.tooManySymbolicLinkLevels) }
                guard isTrustedDirectory(dirfd) else {
                    throw .untrustedLink("\(text(child)) is a symbolic link in \(text(dirName)), a directory others can write")
                }
                guard link.st_uid == 0 || link.st_uid == geteuid() else {
                    throw .untrustedLink("\(text(child)) is a symbolic link owned by uid \(link.st_uid)")
                }
                let target = try Result { () throws(Errno) in try dirfd.linkTarget(of: name) }.mapError(WalkFailure.errno).get()
                if target.first == UInt8(ascii: "/") {
                    let root = try openPath([UInt8(ascii: "/")], relativeTo: .currentWorkingDirectory,
                                            flags: openPathOnly | O_DIRECTORY).mapError(WalkFailure.errno).get()
                    dirfd.close()
                    dirfd = root
                    dirName = [UInt8(ascii: "/")]
                }
                pending = components(target) + pending
                if pending.isEmpty { pending = [[UInt8(ascii: ".")]] }
                continue
            }
            if isLast {
                let status: stat
                do throws(Errno) { status = try fd.status() } catch { fd.close(); throw .errno(error) }
                return WalkedFile(fd: fd, status: status, untrustedDirectory: untrusted)
            }
            if untrusted == nil, !isTrustedDirectory(fd) { untrusted = text(child) }
            dirfd.close()
            dirfd = fd
            dirName = name == [UInt8(ascii: ".")] ? dirName : child
        }
        // A path ending in "/" names a directory.
        throw .errno(.isDirectory)
    }

    private static let openPathOnly = LinuxOpenFlags.pathOnly

    private static func components(_ path: [UInt8]) -> [[UInt8]] {
        path.split(separator: UInt8(ascii: "/")).map(Array.init).filter { $0 != [UInt8(ascii: ".")] }
    }

    /// Owned by root or us, and not writable by group or others unless sticky (others cannot replace our
    /// entries in a sticky directory such as /tmp).
    private static func isTrustedDirectory(_ fd: FileDescriptor) -> Bool {
        guard let status = try? fd.status() else { return false }
        let owner = status.st_uid == 0 || status.st_uid == geteuid()
        return owner && (status.st_mode & 0o022 == 0 || status.st_mode & S_ISVTX != 0)
    }

    private static func openPath(_ name: [UInt8], relativeTo dirfd: FileDescriptor, flags: Int32,
                                 mode: mode_t = 0) -> Result<FileDescriptor, Errno> {
        Result { () throws(Errno) in try dirfd.open(at: name, flags | O_CLOEXEC, permissions: mode) }
    }

    /// /dev/null's device number (1:3), the one device `regularOnly` lets through: `-c /dev/null` is an
    /// empty configuration, and opening it has no effect.
    private static let nullDevice: UInt64 = 0x103

    /// The S_IFMT bits and device number of `name` in `dirfd` (not following a link), or nil when it does not exist.
    private static func fileType(_ name: [UInt8], in dirfd: FileDescriptor) -> (mode_t, UInt64)? {
        guard let status = try? dirfd.status(of: name, followingLinks: false) else { return nil }
        return (status.st_mode & S_IFMT, UInt64(status.st_rdev))
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

    private static func linkStatus(_ name: [UInt8], in dirfd: FileDescriptor) -> stat? {
        guard let status = try? dirfd.status(of: name, followingLinks: false) else { return nil }
        return status.st_mode & S_IFMT == S_IFLNK ? status : nil
    }

    private static func currentDirectory() -> Result<[UInt8], Errno> {
        var buffer = [CChar](repeating: 0, count: 4097)
        return SystemCall.pointerOrErrno { getcwd(&buffer, buffer.count) }
            .map { _ in buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) } }
    }

    /// Path bytes as text for messages (invalid UTF-8 repaired; callers escape it).
    public static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// mkdir(2).
    public static func makeDirectory(_ path: String, permissions: mode_t) throws(Errno) {
        try SystemCall.nothingOrErrno { mkdir(path, permissions) }.get()
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
    /// Returns nil when everything was written, else the failure: ENOSPC (`> /dev/full`), EPIPE (a
    /// closed pipe; SIGPIPE is ignored), EBADF (a standard descriptor the caller closed, which
    /// `StandardDescriptors` reopened read-only), EIO, ...
    public static func write(_ fd: Int32, _ text: String) -> Errno? {
        do throws(Errno) {
            try FileDescriptor(rawValue: fd).writeAll(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }
}

/// Buffered standard output/error as `TextOutputStream`s, flushed explicitly, so a command's
/// output leaves in one write and stays in order with its stderr lines. A failed write is kept in
/// `failure` (the first errno) and later text is dropped: the caller decides what it means.
public struct FDOutput: TextOutputStream {
    let fd: Int32
    var buffer = ""
    /// The first write that failed, if any.
    public private(set) var failure: Errno?
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
