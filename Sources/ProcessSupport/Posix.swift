#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
