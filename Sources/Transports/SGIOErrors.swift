import Glibc
import PRCore
import ProcessSupport

/// errno values of open(2) and ioctl(SG_IO) turned into one line each that says what to do.
///
/// The lines omit the "storage-ctl: DEVICE:" prefix the CLI adds; they name the node actually opened
/// when it differs from the one the user named (a tape node resolved to its sg node).
enum SGIOErrors {
    /// open(2) of `node` failed with `errno`.
    static func openFailed(errno e: Int32, node: String, userPath: String,
                           status: SGIOSyscall.FileStatus? = nil) -> TransportError {
        let what = node == userPath ? node : "\(node) (the SCSI generic node of \(userPath))"
        let fileStatus: SGIOSyscall.FileStatus?
        if let status { fileStatus = status } else if case .success(let s) = SGIOSyscall.stat(node) { fileStatus = s } else { fileStatus = nil }
        let message: String
        let error = Errno(rawValue: e)
        switch error {
        case .permissionDenied:
            message = "permission denied opening \(what): it must be opened read-write; \(accessAdvice(fileStatus))"
        case .notPermitted:
            message = "operation not permitted opening \(what): a device policy (container device cgroup, security module) forbids it; run as root on the host with the device allowed"
        case .noSuchFileOrDirectory:
            message = "cannot open \(what): no such device node (is the driver loaded and the node created by udev?)"
        case .noSuchDeviceOrAddress:
            message = "cannot open \(what): no device behind the node (it is gone, not attached yet, or in error recovery)"
        case .busy:
            message = "cannot open \(what): busy, another program holds it open exclusively; the st driver allows one opener (the backup daemon), so name the drive's sg node (storage-ctl scan lists it)"
        case .noSuchDevice:
            message = "cannot open \(what): no such device (the driver for this node is not loaded, or the device is being removed)"
        case .ioError:
            message = "cannot open \(what): I/O error while opening the device"
        case .readOnlyFileSystem:
            message = "cannot open \(what) read-write: read-only file system"
        case .noMedium:
            message = "cannot open \(what): no medium"
        case .isDirectory:
            message = "cannot open \(what): is a directory, not a device"
        default:
            message = "cannot open \(what): \(error) (\(error.name))"
        }
        return TransportError(.open(errno: error), message)
    }

    /// Who may open the node, read from its owner, group and mode.
    static func accessAdvice(_ status: SGIOSyscall.FileStatus?) -> String {
        guard let status else { return "run as root, or as a member of the group that owns the node (disk, tape)" }
        let groupReadWrite = status.mode & 0o060 == 0o060
        let group = SGIOSyscall.groupName(status.groupID) ?? "gid \(status.groupID)"
        let mode = String(status.mode & 0o777, radix: 8)
        if groupReadWrite {
            return "run as root or as a member of group '\(group)' (the node is mode 0\(mode), group \(group))"
        }
        return "run as root (the node is mode 0\(mode), group \(group): not even its group may write it)"
    }

    /// ioctl(SG_IO) failed with `errno` before a SCSI outcome existed.
    static func commandFailed(errno e: Int32, cdb: [UInt8], node: String, kind: SGIOTransport.NodeKind,
                              timeoutMilliseconds: UInt32) -> TransportError {
        let command = commandName(cdb)
        let error = Errno(rawValue: e)
        switch error {
        case .timedOut:
            return timedOut(cdb: cdb, node: node, timeoutMilliseconds: timeoutMilliseconds)
        case .notPermitted, .permissionDenied:
            let via = kind == .blockDevice ? "a block device" : "an sg node"
            return TransportError(.io(errno: error),
                                  "the kernel refused to pass \(command) to \(node): sending it through \(via) needs CAP_SYS_RAWIO; run as root")
        case .interrupted:
            return TransportError(.io(errno: error),
                                  "\(command) to \(node) was interrupted by a signal; whether the device executed it is unknown")
        case .noSuchDeviceOrAddress, .noSuchDevice:
            return TransportError(.io(errno: error),
                                  "\(command) to \(node) failed: the device is gone or being removed (\(error.name))")
        case .busy:
            return TransportError(.io(errno: error), "\(command) to \(node) failed: device busy (EBUSY)")
        case .ioError:
            return TransportError(.io(errno: error), "\(command) to \(node) failed: I/O error (EIO)")
        case .noMemory:
            return TransportError(.io(errno: error),
                                  "\(command) to \(node) failed: the kernel could not allocate the transfer buffer (ENOMEM)")
        case .inappropriateIOCTLForDevice, .invalidArgument, .notSupported:
            return TransportError(.notSCSIDevice,
                                  "\(node) refused SG_IO for \(command) (\(error.name)): not a SCSI pass-through node")
        default:
            return TransportError(.io(errno: error), "\(command) to \(node) failed: \(error) (\(error.name))")
        }
    }

    static func timedOut(cdb: [UInt8], node: String, timeoutMilliseconds: UInt32) -> TransportError {
        let limit = timeoutMilliseconds == 0 ? "the kernel's default time" : "\(formatMilliseconds(timeoutMilliseconds))"
        return TransportError(.timeout, "\(commandName(cdb)) to \(node) timed out: no answer within \(limit)")
    }

    /// "Persistent reserve out (5Fh)" (sg3_utils' names, from PRCore).
    static func commandName(_ cdb: [UInt8]) -> String {
        guard let first = cdb.first else { return "empty CDB" }
        return "\(OperationCode(rawValue: first).name) (\(Hex.twoDigits(first).uppercased())h)"
    }

    /// "60 s", "1.5 s", "250 ms".
    static func formatMilliseconds(_ ms: UInt32) -> String {
        if ms < 1000 { return "\(ms) ms" }
        if ms % 1000 == 0 { return "\(ms / 1000) s" }
        return "\(ms / 1000).\(String(ms % 1000 / 100)) s"
    }
}
