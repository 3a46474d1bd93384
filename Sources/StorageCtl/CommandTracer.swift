#if canImport(Glibc)
import Glibc
#endif
import ProcessSupport

/// Where `-v` and `debug_log=1` send one line per SCSI command and per decision.
///
/// The debug file is opened append-only, created mode 0640 and never through a symbolic link
/// (O_NOFOLLOW): storage-ctl runs as root from the backup daemon, and a link planted in a
/// writable directory must not make it append to an arbitrary file. A log that cannot be
/// written costs a warning, never the lock.
public final class CommandTracer {
    let device: String
    let verbose: Bool
    let debugFile: String?
    let verb: String
    private var fd: Int32 = -1
    private var warned = false
    private let warn: (String) -> Void
    private let traceLine: (String) -> Void

    public init(device: String, verb: String, verbose: Bool, debugFile: String?,
                traceLine: @escaping (String) -> Void, warn: @escaping (String) -> Void) {
        self.device = device
        self.verb = verb
        self.verbose = verbose
        self.debugFile = debugFile
        self.traceLine = traceLine
        self.warn = warn
    }

    deinit { if fd >= 0 { close(fd) } }

    public var isActive: Bool { verbose || debugFile != nil }

    func trace(what: String, cdb: [UInt8], outcome: String, elapsed: Duration) {
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let line = "\(what): cdb [\(OutputText.hexBytes(cdb))] -> \(outcome) (\(Self.format(ms)) ms)"
        if verbose { traceLine("\(device): \(line)") }
        log(line)
    }

    /// A decision worth recording (`waiting: held by 0xbac999`, `acquired after 12.3 s`).
    public func note(_ text: String) {
        if verbose { traceLine("\(device): \(text)") }
        log(text)
    }

    /// A line already shown on stderr: only the debug file gets it.
    public func record(_ text: String) { log(text) }

    static func format(_ ms: Double) -> String {
        let hundredths = Int((ms * 100).rounded())
        let frac = hundredths % 100
        return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
    }

    private func log(_ text: String) {
        // after one failed open this run logs nothing, so the warning below is true and said once
        guard let debugFile, !warned else { return }
        if fd < 0 {
            repeat {
                fd = open(debugFile, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0o640)
            } while fd < 0 && errno == EINTR
            if fd < 0 {
                if !warned {
                    warned = true
                    warn("warning: cannot write debug_file \(debugFile): \(Posix.errorText(errno)); no debug log for this run")
                }
                return
            }
        }
        // One write(2) per line with O_APPEND: lines from concurrent processes never interleave.
        if let failure = Posix.write(fd, "\(Self.timestamp()) [\(getpid())] \(device) \(verb): \(OutputText.escaped(text))\n"),
           !warned {
            warned = true
            warn("warning: cannot write debug_file \(debugFile): \(Posix.errorText(failure))")
        }
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        let base = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let millis = now.tv_nsec / 1_000_000
        return base + "." + String(repeating: "0", count: millis < 10 ? 2 : millis < 100 ? 1 : 0) + String(millis)
    }
}
