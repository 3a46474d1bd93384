#if canImport(Glibc)
import Glibc
#endif
import ProcessSupport

/// Where `-v` and `debug_log=1` send one line per SCSI command and per decision.
///
/// The debug file is opened append-only and created mode 0640. storage-ctl runs as root from the
/// backup daemon, so what someone else planted must not make it append to another file or block:
/// the last component is never a symbolic link (O_NOFOLLOW), a link on the way is followed only
/// where nobody else could have put it (`Posix.openWalking`), the open does not wait (O_NONBLOCK:
/// a FIFO would block it, and `lock` with it, forever), and only a regular file with one link
/// (no hard link to something else), owned by root or us, is written. A log that cannot be
/// written costs one warning, never the lock.
public final class CommandTracer {
    let device: String
    let verbose: Bool
    let debugFile: String?
    let verb: String
    private var fd: FileDescriptor?
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

    deinit { fd?.close() }

    public var isActive: Bool { verbose || debugFile != nil }

    func trace(what: String, cdb: [UInt8], outcome: String, elapsed: Duration) {
        trace(what: what, sent: "cdb [\(OutputText.hexBytes(cdb))]", outcome: outcome, elapsed: elapsed)
    }

    /// One block-layer ioctl: its request number and argument bytes where a command has its CDB.
    func trace(what: String, ioctl request: UInt, argument: [UInt8], outcome: String, elapsed: Duration) {
        trace(what: what, sent: "ioctl 0x\(String(request, radix: 16)) [\(OutputText.hexBytes(argument))]",
              outcome: outcome, elapsed: elapsed)
    }

    private func trace(what: String, sent: String, outcome: String, elapsed: Duration) {
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let line = "\(what): \(sent) -> \(outcome) (\(Self.format(ms)) ms)"
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
        let fd: FileDescriptor
        if let opened = self.fd {
            fd = opened
        } else {
            if warned { return }
            switch Self.open(debugFile) {
            case .success(let opened):
                self.fd = opened
                fd = opened
            case .failure(let reason):
                warned = true
                warn("warning: cannot write debug_file \(OutputText.escaped(debugFile, limit: OutputText.echoLimit)): \(reason.text); no debug log for this run")
                return
            }
        }
        // One write(2) per line with O_APPEND: lines from concurrent processes never interleave.
        do throws(Errno) {
            try fd.writeAll(Array("\(Self.timestamp()) [\(getpid())] \(device) \(verb): \(OutputText.escaped(text))\n".utf8))
        } catch {
            guard !warned else { return }
            warned = true
            warn("warning: cannot write debug_file \(OutputText.escaped(debugFile, limit: OutputText.echoLimit)): \(error); no more debug log for this run")
        }
    }

    struct Refusal: Error { var text: String }

    /// Opens the debug file for appending, or says why not.
    static func open(_ path: String) -> Result<FileDescriptor, Refusal> {
        let walked: Posix.WalkedFile
        do throws(Posix.WalkFailure) {
            walked = try Posix.openWalking(Array(path.utf8), flags: O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_NOCTTY,
                                           mode: 0o640, followLastLink: false)
        } catch {
            switch error {
            case .errno(let error):
                return .failure(Refusal(text: error == .tooManySymbolicLinkLevels ? "it is a symbolic link"
                                        : error == .noSuchDeviceOrAddress ? "not a regular file (a FIFO or socket)" : error.description))
            case .untrustedLink(let why):
                return .failure(Refusal(text: OutputText.escaped(why, limit: 2 * OutputText.echoLimit)))
            case .notRegular(let type):
                return .failure(Refusal(text: "it is \(Posix.typeName(type)), not a regular file"))
            }
        }
        let status = walked.status
        let refusal: String?
        switch status.st_mode & S_IFMT {
        case S_IFREG:
            // a kernel setting (/proc/sys/kernel/domainname) is a regular file of one link, owned by root
            if let kernel = try? walked.fd.kernelFileSystem() {
                refusal = "it is \(kernel.description), not a log file"
            } else if status.st_nlink != 1 {
                refusal = "it has \(status.st_nlink) hard links (a link planted to another file?)"
            } else if status.st_uid != 0 && status.st_uid != geteuid() {
                refusal = "it is owned by uid \(status.st_uid) (must be root or uid \(geteuid()))"
            } else {
                refusal = nil
            }
        default: refusal = "it is \(Posix.typeName(status.st_mode & S_IFMT)), not a regular file"
        }
        if let refusal {
            walked.fd.close()
            return .failure(Refusal(text: refusal))
        }
        return .success(walked.fd)
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
