// How the reader gets at files: injected, so tests run on in-memory fixtures and the CLI reads the disk.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ProcessSupport

/// Why a file could not be read (the `strerror` text, or our own reason).
public struct ConfigReadFailure: Error, Equatable, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// Reads whole configuration files. `path` is absolute (relative names are resolved by the caller).
public protocol ConfigFileReader: Sendable {
    /// The file's bytes, or at most `limit + 1` of them when it is longer (so the caller can say "too large"
    /// without reading a huge file).
    func contents(of path: String, limit: Int) throws(ConfigReadFailure) -> [UInt8]
}

/// Files kept in memory, keyed by absolute path (looked up after lexical normalisation of `.`, `..`, `//`).
public struct InMemoryConfigFiles: ConfigFileReader {
    public var files: [String: [UInt8]]

    public init(_ files: [String: String]) {
        var bytes: [String: [UInt8]] = [:]
        for (path, text) in files { bytes[ConfigPath.normalized(path)] = Array(text.utf8) }
        self.files = bytes
    }

    public init(bytes: [String: [UInt8]]) {
        var normalized: [String: [UInt8]] = [:]
        for (path, data) in bytes { normalized[ConfigPath.normalized(path)] = data }
        self.files = normalized
    }

    public func contents(of path: String, limit: Int) throws(ConfigReadFailure) -> [UInt8] {
        guard let data = files[ConfigPath.normalized(path)] else { throw ConfigReadFailure("No such file or directory") }
        return data.count > limit ? Array(data.prefix(limit + 1)) : data
    }
}

/// Regular files on disk. Opened without following a FIFO into a hang (O_NONBLOCK, then refused unless the
/// file is a regular file), read with EINTR retried, never more than `limit + 1` bytes.
public struct FileSystemConfigFiles: ConfigFileReader {
    public init() {}

    public func contents(of path: String, limit: Int) throws(ConfigReadFailure) -> [UInt8] {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) } catch { throw ConfigReadFailure(error.description) }
        defer { fd.close() }
        let info: stat
        do { info = try fd.status() } catch { throw ConfigReadFailure(error.description) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw ConfigReadFailure(Errno.isDirectory.description) }
        if (info.st_mode & S_IFMT) != S_IFREG { throw ConfigReadFailure("not a regular file") }
        var result: [UInt8] = []
        while result.count <= limit {
            let chunk: [UInt8]
            do { chunk = try fd.read(upTo: min(65536, limit + 1 - result.count)) } catch { throw ConfigReadFailure(error.description) }
            if chunk.isEmpty { break }
            result.append(contentsOf: chunk)
        }
        return result
    }

    /// The process's working directory, which is what Bacula resolves relative `@` paths against (it hands
    /// them to fopen unchanged).
    public static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// Path arithmetic on strings, lexical only (no symbolic links resolved: the include depth limit is what
/// stops a loop made of links).
public enum ConfigPath {
    /// `path` if absolute, else `directory/path`.
    public static func resolve(_ path: String, against directory: String) -> String {
        if path.hasPrefix("/") { return path }
        return directory.hasSuffix("/") ? directory + path : directory + "/" + path
    }

    /// Removes `.`, empty components and `..` (never above `/`).
    public static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(component)
        }
        return "/" + parts.joined(separator: "/")
    }
}
