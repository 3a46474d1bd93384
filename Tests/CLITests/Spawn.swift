import Foundation
import PRCore
import Testing
import Transports
#if canImport(Glibc)
import Glibc
#endif

/// Starts a program with exactly the standard descriptors a test names (closed, /dev/full, a pipe
/// nobody reads, a file that captures), which Foundation's `Process` cannot do, and with the signal
/// mask empty and every disposition at its default, as a shell would start it.
final class Spawned {
    /// What a standard descriptor of the child is.
    enum Descriptor {
        /// Closed: the child starts without it (`2>&-`).
        case closed
        /// Opened on a path (`/dev/null`, `/dev/full`), write-only unless it is descriptor 0.
        case path(String)
        /// Written to a file that the test reads afterwards (`stdout`, `stderr`).
        case capture
        /// The write end of a pipe whose read end is already closed: every write is EPIPE/SIGPIPE.
        case brokenPipe
        /// An open descriptor of the test's (a pipe it fills or drains itself).
        case descriptor(Int32)
    }

    /// How the child ended.
    struct Ended: CustomStringConvertible {
        /// The exit status, or nil when a signal ended it.
        var status: Int32?
        /// The signal that ended it.
        var signal: Int32?
        var stdout: String
        var stderr: String
        var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
        var description: String {
            "\(status.map { "exit \($0)" } ?? "killed by signal \(signal ?? -1)")\n--- stdout:\n\(stdout)--- stderr:\n\(stderr)"
        }
    }

    let pid: pid_t
    private let capture: String
    private var reaped: Ended?

    /// Spawns `executable` (default: the built storage-ctl) with `arguments`, in `CLI.environment`.
    init(_ arguments: [String], executable: String = CLI.binary, env: [String: String] = [:],
         stdin: Descriptor = .path("/dev/null"), stdout: Descriptor = .capture, stderr: Descriptor = .capture) throws {
        capture = FileManager.default.temporaryDirectory.appendingPathComponent("spawn-\(UUID().uuidString.prefix(8))").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEnds: [Int32] = []
        defer { for fd in parentEnds { close(fd) } }
        for (fd, what) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            switch what {
            case .closed:
                posix_spawn_file_actions_addclose(&actions, fd)
            case .path(let path):
                posix_spawn_file_actions_addopen(&actions, fd, path, fd == 0 ? O_RDONLY : O_WRONLY, 0)
            case .capture:
                posix_spawn_file_actions_addopen(&actions, fd, capture + ".\(fd)", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            case .brokenPipe:
                let ends = try Spawned.pipe()
                close(ends[0])
                parentEnds.append(ends[1])
                posix_spawn_file_actions_adddup2(&actions, ends[1], fd)
            case .descriptor(let open):
                posix_spawn_file_actions_adddup2(&actions, open, fd)
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in 1...__libc_current_sigrtmax() where signal != SIGKILL && signal != SIGSTOP { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = CLI.environment(env).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        self.pid = pid
    }

    deinit {
        if reaped == nil { kill(pid, SIGKILL); _ = wait() }
        for fd in 1...2 { unlink(capture + ".\(fd)") }
    }

    func signal(_ signal: Int32) { kill(pid, signal) }

    /// Still running (not yet reaped and not a zombie)?
    var isRunning: Bool {
        guard reaped == nil else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return false }
        return !stat[close...].hasPrefix(") Z")
    }

    /// Whether the child has `signal` blocked now (`/proc/PID/status` SigBlk).
    func isBlocking(_ signal: Int32) -> Bool {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigBlk:") }),
              let mask = UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return false }
        return mask & (1 << UInt64(signal - 1)) != 0
    }

    /// Watches the child closely (every ~0.1 ms) until it ends: seconds from `start` until it first
    /// had `signal` blocked (nil if never seen), and until it ended.
    func watchLifetime(from start: Date, blocking signal: Int32) -> (blocked: Double?, ended: Double) {
        var blocked: Double?
        while isRunning {
            if blocked == nil, isBlocking(signal) { blocked = Date().timeIntervalSince(start) }
            usleep(100)
        }
        return (blocked, Date().timeIntervalSince(start))
    }

    /// The system call the child is blocked in (`/proc/PID/syscall`'s first field), nil when running.
    var blockedInSystemCall: Int? {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/syscall", encoding: .utf8)) ?? ""
        return Int(text.split(separator: " ").first ?? "")
    }

    /// Waits (polling a condition, bounded) until the child sits in one of `calls`; false if it
    /// ended or the time ran out first.
    func awaitBlocked(in calls: Set<Int>, timeout: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && isRunning {
            if let call = blockedInSystemCall, calls.contains(call) { return true }
            usleep(1000)
        }
        return false
    }

    /// Waits until the captured stderr holds `text`; false if the child ended or the time ran out first.
    func awaitStderr(containing text: String, timeout: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if captured(2).contains(text) { return true }
            if !isRunning { return captured(2).contains(text) }
            usleep(1000)
        }
        return false
    }

    private func captured(_ fd: Int) -> String {
        (try? String(contentsOfFile: capture + ".\(fd)", encoding: .utf8)) ?? ""
    }

    /// Waits for the end (bounded: SIGKILL after `timeout`, which the result then shows).
    func wait(timeout: Double = 60) -> Ended {
        if let reaped { return reaped }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date() > deadline { kill(pid, SIGKILL) }
            usleep(500)
        }
        let signal = status & 0x7f
        let ended = Ended(status: signal == 0 ? (status >> 8) & 0xff : nil, signal: signal == 0 ? nil : signal,
                          stdout: captured(1), stderr: captured(2))
        reaped = ended
        return ended
    }

    /// A pipe whose ends no other child inherits (tests run in parallel; a read end kept open by
    /// another process would keep a "broken" pipe alive). pipe2(2) is not imported, so FD_CLOEXEC
    /// follows at once.
    static func pipe() throws -> [Int32] {
        var ends: [Int32] = [-1, -1]
        guard Glibc.pipe(&ends) == 0 else { throw POSIXError(.EMFILE) }
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return ends
    }

    /// Runs to the end.
    static func run(_ arguments: [String], executable: String = CLI.binary, env: [String: String] = [:],
                    stdin: Descriptor = .path("/dev/null"), stdout: Descriptor = .capture,
                    stderr: Descriptor = .capture) throws -> Ended {
        try Spawned(arguments, executable: executable, env: env, stdin: stdin, stdout: stdout, stderr: stderr).wait()
    }
}

/// System call numbers for `awaitBlocked` (x86_64 and arm64).
enum SystemCall {
    #if arch(x86_64)
    static let write = 1
    static let nanosleep: Set<Int> = [35, 230]   // nanosleep, clock_nanosleep
    static let sigtimedwait = 128
    static let poll: Set<Int> = [7, 271]   // poll, ppoll
    #elseif arch(arm64)
    static let write = 64
    static let nanosleep: Set<Int> = [101, 115]
    static let sigtimedwait = 137
    static let poll: Set<Int> = [73]
    #endif
}

extension Site {
    /// The key holding the reservation, read from the simulated LU's file (no process, no SCSI).
    func holderKey() throws -> String? {
        guard let state = try SimulatedLU.verify(path: drive).currentState else { return nil }
        guard let holder = state.reservationHolder else { return nil }
        return state.key(of: holder)?.description
    }

    /// The registered keys, from the file.
    func registeredKeys() throws -> [String] {
        try SimulatedLU.verify(path: drive).currentState?.registrations.map { $0.key.description } ?? []
    }

    /// Takes the simulated LU's flock(2) lock, as a process in the middle of a command holds it: every
    /// storage-ctl on the drive waits (polling with nanosleep) until `release`.
    func holdFileLock() throws -> FileLockHold {
        let fd = open(drive, O_RDWR | O_CLOEXEC)
        guard fd >= 0, flock(fd, LOCK_EX) == 0 else { throw POSIXError(.EBADF) }
        return FileLockHold(fd: fd)
    }
}

final class FileLockHold {
    private var fd: Int32
    init(fd: Int32) { self.fd = fd }
    func release() { if fd >= 0 { close(fd); fd = -1 } }
    deinit { release() }
}
