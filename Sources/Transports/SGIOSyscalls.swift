import Glibc

/// The system calls the SG_IO transport, the device resolver and `scan` need, each wrapped once.
///
/// Every wrapper retries EINTR and reports failure as an `Errno`; nothing above this file reads the
/// global `errno`. Exceptions, on purpose: `close(2)` is never retried (on Linux the descriptor is gone
/// even when it reports EINTR, and a retry could close someone else's), and SG_IO is never retried
/// (see `SGIOTransport.execute`).
enum SGIOSyscall {
    /// An errno value from a failed call.
    struct Errno: Error, Equatable {
        var rawValue: Int32
    }

    /// What `stat(2)` says about a path, reduced to what we decide on.
    struct FileStatus: Equatable {
        enum FileType: Equatable {
            case regular, directory, characterDevice, blockDevice, symbolicLink, fifo, socket, unknown
        }
        var type: FileType
        /// Major and minor number of a device node (0 otherwise).
        var deviceMajor: UInt32
        var deviceMinor: UInt32
        var mode: UInt32
        var ownerUID: UInt32
        var groupID: UInt32
        var size: Int64
    }

    /// How often a call interrupted by a signal is retried before its EINTR is reported.
    static let eintrRetries = 100

    static func open(_ path: String, flags: Int32) -> Result<Int32, Errno> {
        for _ in 0...eintrRetries {
            let fd = Glibc.open(path, flags)
            if fd >= 0 { return .success(fd) }
            let e = errno
            if e != EINTR { return .failure(Errno(rawValue: e)) }
        }
        return .failure(Errno(rawValue: EINTR))
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// stat(2) (follows symbolic links) or lstat(2).
    static func stat(_ path: String, followLinks: Bool = true) -> Result<FileStatus, Errno> {
        var st = Glibc.stat()
        for _ in 0...eintrRetries {
            let rc: Int32
            if followLinks { rc = callStat(path, &st) } else { rc = callLstat(path, &st) }
            if rc == 0 { return .success(fileStatus(st)) }
            let e = errno
            if e != EINTR { return .failure(Errno(rawValue: e)) }
        }
        return .failure(Errno(rawValue: EINTR))
    }

    static func fstat(_ fd: Int32) -> Result<FileStatus, Errno> {
        var st = Glibc.stat()
        for _ in 0...eintrRetries {
            if callFstat(fd, &st) == 0 { return .success(fileStatus(st)) }
            let e = errno
            if e != EINTR { return .failure(Errno(rawValue: e)) }
        }
        return .failure(Errno(rawValue: EINTR))
    }

    private static func fileStatus(_ st: Glibc.stat) -> FileStatus {
        let type: FileStatus.FileType
        switch st.st_mode & S_IFMT {
        case S_IFREG: type = .regular
        case S_IFDIR: type = .directory
        case S_IFCHR: type = .characterDevice
        case S_IFBLK: type = .blockDevice
        case S_IFLNK: type = .symbolicLink
        case S_IFIFO: type = .fifo
        case S_IFSOCK: type = .socket
        default: type = .unknown
        }
        // glibc's dev_t encoding (gnu_dev_major/minor), spelled out because the macros are not imported.
        let rdev = UInt64(st.st_rdev)
        let major = UInt32(truncatingIfNeeded: ((rdev >> 8) & 0xfff) | ((rdev >> 32) & 0xffff_f000))
        let minor = UInt32(truncatingIfNeeded: (rdev & 0xff) | ((rdev >> 12) & 0xffff_ff00))
        return FileStatus(type: type, deviceMajor: major, deviceMinor: minor, mode: UInt32(st.st_mode),
                          ownerUID: st.st_uid, groupID: st.st_gid, size: Int64(st.st_size))
    }

    /// realpath(3): the canonical absolute path, every symbolic link resolved.
    static func realpath(_ path: String) -> Result<String, Errno> {
        guard let p = Glibc.realpath(path, nil) else { return .failure(Errno(rawValue: errno)) }
        defer { free(p) }
        return .success(String(cString: p))
    }

    /// readlink(2): the target of one symbolic link, as stored.
    static func readlink(_ path: String) -> Result<String, Errno> {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = buffer.withUnsafeMutableBufferPointer { Glibc.readlink(path, $0.baseAddress!, $0.count - 1) }
        if n < 0 { return .failure(Errno(rawValue: errno)) }
        let bytes = buffer[0..<n].map { UInt8(bitPattern: $0) }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    /// The names in a directory, without "." and "..", unsorted.
    static func directoryEntries(_ path: String) -> Result<[String], Errno> {
        guard let dir = opendir(path) else { return .failure(Errno(rawValue: errno)) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
                let bytes = raw.prefix(while: { $0 != 0 })
                return String(decoding: bytes, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return .success(names)
    }

    /// The contents of a small file (a sysfs attribute), at most `limit` bytes.
    static func readSmallFile(_ path: String, limit: Int = 4096) -> Result<[UInt8], Errno> {
        let fd: Int32
        switch open(path, flags: O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) {
        case .success(let f): fd = f
        case .failure(let e): return .failure(e)
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        var interrupted = 0
        while out.count < limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                let e = errno
                if e == EINTR && interrupted < eintrRetries { interrupted += 1; continue }
                return .failure(Errno(rawValue: e))
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return .success(Array(out.prefix(limit)))
    }

    /// The name of a group, for messages ("group 'tape'"); nil when unknown.
    static func groupName(_ gid: UInt32) -> String? {
        var group = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>? = nil
        var buffer = [CChar](repeating: 0, count: 4096)
        let rc = buffer.withUnsafeMutableBufferPointer {
            getgrgid_r(gid, &group, $0.baseAddress, $0.count, &result)
        }
        guard rc == 0, result != nil, let name = group.gr_name else { return nil }
        return String(cString: name)
    }

    /// strerror(3) text, e.g. "Permission denied".
    static func describe(_ e: Int32) -> String {
        // glibc returns a static string for known values and "Unknown error N" otherwise.
        guard let text = strerror(e) else { return "error \(e)" }
        return String(cString: text)
    }

    /// The C name of the errno values a user of this tool meets ("EACCES"); "errno N" otherwise.
    static func name(_ e: Int32) -> String {
        switch e {
        case EPERM: return "EPERM"
        case ENOENT: return "ENOENT"
        case EINTR: return "EINTR"
        case EIO: return "EIO"
        case ENXIO: return "ENXIO"
        case EBADF: return "EBADF"
        case EAGAIN: return "EAGAIN"
        case ENOMEM: return "ENOMEM"
        case EACCES: return "EACCES"
        case EFAULT: return "EFAULT"
        case EBUSY: return "EBUSY"
        case ENODEV: return "ENODEV"
        case ENOTDIR: return "ENOTDIR"
        case EISDIR: return "EISDIR"
        case EINVAL: return "EINVAL"
        case EMFILE: return "EMFILE"
        case ENFILE: return "ENFILE"
        case ENOTTY: return "ENOTTY"
        case EROFS: return "EROFS"
        case ELOOP: return "ELOOP"
        case ENAMETOOLONG: return "ENAMETOOLONG"
        case EOVERFLOW: return "EOVERFLOW"
        case EMSGSIZE: return "EMSGSIZE"
        case EOPNOTSUPP: return "EOPNOTSUPP"
        case ETIMEDOUT: return "ETIMEDOUT"
        case ENOMEDIUM: return "ENOMEDIUM"
        case EDOM: return "EDOM"
        default: return "errno \(e)"
        }
    }
}

// Outside `SGIOSyscall`, whose own `stat`/`fstat` would shadow the C functions (and `Glibc.stat` names the struct).
private func callStat(_ path: String, _ st: inout stat) -> Int32 { stat(path, &st) }
private func callLstat(_ path: String, _ st: inout stat) -> Int32 { lstat(path, &st) }
private func callFstat(_ fd: Int32, _ st: inout stat) -> Int32 { fstat(fd, &st) }
