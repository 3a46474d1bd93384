#if canImport(Glibc)
import Glibc
#endif
import ProcessSupport

/// This host's small files between storage-ctl runs (`run_dir`): lock records (LockRecordStore) and which
/// drive a Control Device named (PathMemory). One directory owned by us and writable by nobody else,
/// files opened relative to it without following symbolic links, each one short line replaced by
/// rename, so a crash leaves the old file or the new one, never half of one. Every failure is silent to
/// the command (these files only ever help); `trace` gets one line.
struct RunDirectory {
    let directory: String
    let trace: (String) -> Void

    /// One short file's bytes (at most `limit`) and status; nil when missing, not a regular file of ours,
    /// or longer.
    func read(_ name: String, limit: Int = 256) -> (bytes: [UInt8], status: stat)? {
        guard let dir = open(create: false) else { return nil }
        defer { dir.close() }
        guard let fd = try? dir.open(at: Array(name.utf8), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) else { return nil }
        defer { fd.close() }
        guard let st = try? fd.status(), (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == geteuid(),
              let bytes = try? fd.readAll(limit: limit) else { return nil }
        return (bytes, st)
    }

    /// Replaces `name` with `bytes` (written to a temporary file, then renamed over it).
    func write(_ name: String, _ bytes: [UInt8], what: String) {
        guard let dir = open(create: true) else { return }
        defer { dir.close() }
        let temporary = ".\(name).\(getpid())"
        let temporaryName = Array(temporary.utf8)
        try? dir.removeFile(named: temporaryName)
        let fd: FileDescriptor
        do throws(Errno) {
            fd = try dir.open(at: temporaryName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, permissions: 0o600)
        } catch {
            trace("\(what): cannot create \(directory)/\(temporary): \(error)")
            return
        }
        let written = Result { () throws(Errno) in try fd.writeAll(bytes) }
        fd.close()
        if case .failure(let error) = written {
            trace("\(what): cannot write \(directory)/\(temporary): \(error)")
            try? dir.removeFile(named: temporaryName)
            return
        }
        do throws(Errno) {
            try dir.renameFile(named: temporaryName, to: Array(name.utf8))
        } catch {
            trace("\(what): cannot write \(directory)/\(name): \(error)")
            try? dir.removeFile(named: temporaryName)
        }
    }

    func remove(_ name: String) {
        guard let dir = open(create: false) else { return }
        defer { dir.close() }
        try? dir.removeFile(named: Array(name.utf8))
    }

    /// A directory in which no other user (root aside) can create or swap an entry: ours, writable by nobody else.
    static func isPrivate(_ st: stat) -> Bool {
        st.st_uid == geteuid() && st.st_mode & 0o022 == 0
    }

    /// Opens the directory, creating it (0700) when asked; refuses one that is a link, not ours, or
    /// writable by group or others (someone could plant or swap files in it).
    func open(create: Bool) -> FileDescriptor? {
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        var opened = Result { () throws(Errno) in try FileDescriptor.open(directory, flags) }
        if case .failure(.noSuchFileOrDirectory) = opened, create {
            do throws(Errno) {
                try Posix.makeDirectory(directory, permissions: 0o700)
            } catch {
                if error != .fileExists {
                    trace("lock record: cannot create \(directory): \(error)")
                    return nil
                }
            }
            opened = Result { () throws(Errno) in try FileDescriptor.open(directory, flags) }
        }
        let fd: FileDescriptor
        switch opened {
        case .success(let descriptor): fd = descriptor
        case .failure(let error):
            if error != .noSuchFileOrDirectory { trace("lock record: cannot open \(directory): \(error)") }
            return nil
        }
        guard let st = try? fd.status(), Self.isPrivate(st) else {
            trace("lock record: \(directory) is not a directory of ours writable only by us; fairness memory off")
            fd.close()
            return nil
        }
        return fd
    }
}
