import Glibc
import ProcessSupport

/// The path-based system calls the SG_IO transport, the device resolver and `scan` need (stat, realpath,
/// readlink, directories, sysfs attributes), made through ProcessSupport's `SystemCall` and `FileDescriptor`:
/// EINTR is retried there, failure is an `Errno`, and nothing here reads the global `errno`. SG_IO itself
/// is never retried (see `SGIOTransport.execute`).
enum SGIOSyscall {
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

    /// stat(2) (follows symbolic links) or lstat(2).
    static func stat(_ path: String, followLinks: Bool = true) -> Result<FileStatus, Errno> {
        var st = Glibc.stat()
        return SystemCall.nothingOrErrno { followLinks ? callStat(path, &st) : callLstat(path, &st) }
            .map { fileStatus(st) }
    }

    /// fstat(2) of an open descriptor.
    static func fstat(_ fd: FileDescriptor) -> Result<FileStatus, Errno> {
        Result { () throws(Errno) in try fd.status() }.map(fileStatus)
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
        SystemCall.pointerOrErrno { Glibc.realpath(path, nil) }.map { p in
            defer { free(p) }
            return String(cString: p)
        }
    }

    /// readlink(2): the target of one symbolic link, as stored.
    static func readlink(_ path: String) -> Result<String, Errno> {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        return SystemCall.valueOrErrno {
            buffer.withUnsafeMutableBufferPointer { Glibc.readlink(path, $0.baseAddress!, $0.count - 1) }
        }.map { n in String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    }

    /// The names in a directory, without "." and "..", unsorted.
    static func directoryEntries(_ path: String) -> Result<[String], Errno> {
        let opened = SystemCall.pointerOrErrno { opendir(path) }
        guard case .success(let dir) = opened else { return opened.map { _ in [] } }
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
        Result { () throws(Errno) in
            let fd = try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            defer { fd.close() }
            var out: [UInt8] = []
            while out.count < limit {
                let chunk = try fd.read(upTo: 512)
                if chunk.isEmpty { break }
                out.append(contentsOf: chunk)
            }
            return Array(out.prefix(limit))
        }
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
}

// Outside `SGIOSyscall`, whose own `stat` would shadow the C functions (and `Glibc.stat` names the struct).
private func callStat(_ path: String, _ st: inout stat) -> Int32 { stat(path, &st) }
private func callLstat(_ path: String, _ st: inout stat) -> Int32 { lstat(path, &st) }
