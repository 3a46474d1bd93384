import Glibc
@testable import Transports

/// A scratch directory for one test (fake sysfs trees, device nodes, state files), removed on deinit.
final class SGIOTempDir {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let path: String

    init() throws {
        var template = Array("/tmp/storage-ctl-sgio-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Failure(description: "mkdtemp failed: errno \(errno)")
        }
        path = String(cString: p)
    }

    deinit { Self.removeTree(path) }

    func mkdir(_ p: String) throws {
        var current = ""
        for part in p.split(separator: "/") {
            current += "/" + part
            if Glibc.mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw Failure(description: "mkdir \(current): errno \(errno)")
            }
        }
    }

    func write(_ p: String, _ text: String) throws {
        if let slash = p.lastIndex(of: "/") { try mkdir(String(p[..<slash])) }
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Failure(description: "open \(p): errno \(errno)") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else { throw Failure(description: "write \(p)") }
    }

    func symlink(_ target: String, at p: String) throws {
        if let slash = p.lastIndex(of: "/") { try mkdir(String(p[..<slash])) }
        guard Glibc.symlink(target, p) == 0 else { throw Failure(description: "symlink \(p): errno \(errno)") }
    }

    /// A character (or block) device node; false when this process may not create one.
    func mknod(_ p: String, char: Bool = true, major: UInt32, minor: UInt32, mode: UInt32 = 0o600) -> Bool {
        let dev = (UInt64(major & 0xfff) << 8) | (UInt64(major & ~0xfff) << 32)
            | UInt64(minor & 0xff) | (UInt64(minor & ~0xff) << 12)
        let kind = char ? S_IFCHR : S_IFBLK
        return Glibc.mknod(p, kind | mode_t(mode), dev_t(dev)) == 0
    }

    static func removeTree(_ p: String) {
        var st = stat()
        guard lstat(p, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            if case .success(let names) = SGIOSyscall.directoryEntries(p) {
                for name in names { removeTree(p + "/" + name) }
            }
            rmdir(p)
        } else {
            unlink(p)
        }
    }
}
