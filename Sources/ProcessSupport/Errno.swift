#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An error number from a failed system call: the one errno type of the program (swift-system's `Errno`).
///
/// Only the system-call layer (`SystemCall.swift`, `FileDescriptor`) reads the C library's `errno`; everything
/// above gets an `Errno`. Unknown values stay representable. Where a number must be kept for an exit status
/// or a `TransportError`, `rawValue` is that number.
public struct Errno: RawRepresentable, Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The value the C library's `errno` holds now. Read only right after a failed call, by the wrappers.
    static var current: Errno { Errno(rawValue: errno) }

    /// The C library's text for the number ("No such file or directory"): the program's one strerror(3) call.
    public var description: String {
        // glibc returns a static string for known values and "Unknown error N" otherwise.
        guard let text = strerror(rawValue) else { return "error \(rawValue)" }
        return String(cString: text)
    }

    /// The C name of the values a user of this tool meets ("EACCES"); "errno N" otherwise.
    public var name: String {
        switch self {
        case .notPermitted: return "EPERM"
        case .noSuchFileOrDirectory: return "ENOENT"
        case .interrupted: return "EINTR"
        case .ioError: return "EIO"
        case .noSuchDeviceOrAddress: return "ENXIO"
        case .badFileDescriptor: return "EBADF"
        case .wouldBlock: return "EAGAIN"
        case .noMemory: return "ENOMEM"
        case .permissionDenied: return "EACCES"
        case .badAddress: return "EFAULT"
        case .busy: return "EBUSY"
        case .noSuchDevice: return "ENODEV"
        case .notDirectory: return "ENOTDIR"
        case .isDirectory: return "EISDIR"
        case .invalidArgument: return "EINVAL"
        case .tooManyOpenFiles: return "EMFILE"
        case .tooManyOpenFilesInSystem: return "ENFILE"
        case .inappropriateIOCTLForDevice: return "ENOTTY"
        case .readOnlyFileSystem: return "EROFS"
        case .tooManySymbolicLinkLevels: return "ELOOP"
        case .fileNameTooLong: return "ENAMETOOLONG"
        case .overflow: return "EOVERFLOW"
        case .messageTooLong: return "EMSGSIZE"
        case .notSupported: return "EOPNOTSUPP"
        case .timedOut: return "ETIMEDOUT"
        case .noMedium: return "ENOMEDIUM"
        case .outOfDomain: return "EDOM"
        default: return "errno \(rawValue)"
        }
    }

    /// Operation not permitted. The corresponding C error is `EPERM`.
    public static let notPermitted = Errno(rawValue: EPERM)
    /// No such file or directory. The corresponding C error is `ENOENT`.
    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    /// Interrupted by a signal before anything was done. The corresponding C error is `EINTR`.
    public static let interrupted = Errno(rawValue: EINTR)
    /// Input/output error. The corresponding C error is `EIO`.
    public static let ioError = Errno(rawValue: EIO)
    /// No such device or address. The corresponding C error is `ENXIO`.
    public static let noSuchDeviceOrAddress = Errno(rawValue: ENXIO)
    /// Bad file descriptor. The corresponding C error is `EBADF`.
    public static let badFileDescriptor = Errno(rawValue: EBADF)
    /// Resource temporarily unavailable (a non-blocking call that would wait, a lock held elsewhere).
    /// The corresponding C error is `EAGAIN` (`EWOULDBLOCK` on Linux).
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    /// Cannot allocate memory. The corresponding C error is `ENOMEM`.
    public static let noMemory = Errno(rawValue: ENOMEM)
    /// Permission denied. The corresponding C error is `EACCES`.
    public static let permissionDenied = Errno(rawValue: EACCES)
    /// Bad address. The corresponding C error is `EFAULT`.
    public static let badAddress = Errno(rawValue: EFAULT)
    /// Device or resource busy. The corresponding C error is `EBUSY`.
    public static let busy = Errno(rawValue: EBUSY)
    /// File exists. The corresponding C error is `EEXIST`.
    public static let fileExists = Errno(rawValue: EEXIST)
    /// No such device. The corresponding C error is `ENODEV`.
    public static let noSuchDevice = Errno(rawValue: ENODEV)
    /// Not a directory. The corresponding C error is `ENOTDIR`.
    public static let notDirectory = Errno(rawValue: ENOTDIR)
    /// Is a directory. The corresponding C error is `EISDIR`.
    public static let isDirectory = Errno(rawValue: EISDIR)
    /// Invalid argument. The corresponding C error is `EINVAL`.
    public static let invalidArgument = Errno(rawValue: EINVAL)
    /// Too many open files in this process. The corresponding C error is `EMFILE`.
    public static let tooManyOpenFiles = Errno(rawValue: EMFILE)
    /// Too many open files in the system. The corresponding C error is `ENFILE`.
    public static let tooManyOpenFilesInSystem = Errno(rawValue: ENFILE)
    /// Inappropriate ioctl for device. The corresponding C error is `ENOTTY`.
    public static let inappropriateIOCTLForDevice = Errno(rawValue: ENOTTY)
    /// File too large. The corresponding C error is `EFBIG`.
    public static let fileTooLarge = Errno(rawValue: EFBIG)
    /// No space left on device. The corresponding C error is `ENOSPC`.
    public static let noSpace = Errno(rawValue: ENOSPC)
    /// Read-only file system. The corresponding C error is `EROFS`.
    public static let readOnlyFileSystem = Errno(rawValue: EROFS)
    /// Too many links. The corresponding C error is `EMLINK`.
    public static let tooManyLinks = Errno(rawValue: EMLINK)
    /// Broken pipe. The corresponding C error is `EPIPE`.
    public static let brokenPipe = Errno(rawValue: EPIPE)
    /// Numerical argument out of domain. The corresponding C error is `EDOM`.
    public static let outOfDomain = Errno(rawValue: EDOM)
    /// Too many levels of symbolic links. The corresponding C error is `ELOOP`.
    public static let tooManySymbolicLinkLevels = Errno(rawValue: ELOOP)
    /// File name too long. The corresponding C error is `ENAMETOOLONG`.
    public static let fileNameTooLong = Errno(rawValue: ENAMETOOLONG)
    /// Value too large for defined data type. The corresponding C error is `EOVERFLOW`.
    public static let overflow = Errno(rawValue: EOVERFLOW)
    /// Message too long. The corresponding C error is `EMSGSIZE`.
    public static let messageTooLong = Errno(rawValue: EMSGSIZE)
    /// Operation not supported. The corresponding C error is `EOPNOTSUPP`.
    public static let notSupported = Errno(rawValue: EOPNOTSUPP)
    /// Connection timed out (SG_IO: the command's timeout ran out). The corresponding C error is `ETIMEDOUT`.
    public static let timedOut = Errno(rawValue: ETIMEDOUT)
    /// No medium found. The corresponding C error is `ENOMEDIUM`.
    public static let noMedium = Errno(rawValue: ENOMEDIUM)
}
