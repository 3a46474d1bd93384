import Glibc
import PRCore
import ProcessSupport

/// What the CLI knows when it opens a DEVICE.
public struct DeviceOptions: Sendable {
    /// The iSCSI-style initiator name of this I_T nexus (simulated LU only).
    public var initiatorName: String
    /// The peripheral device type a simulated LU made by `createSimulatedLU` reports.
    public var simDeviceType: PeripheralDeviceType
    /// `-v`: the caller will print `resolutionNote`.
    public var verbose: Bool
    /// Where sysfs is mounted (tests point this at a fake tree).
    public var sysfsRoot: String
    /// Where device nodes live (tests point this at a scratch directory).
    public var devDirectory: String
    /// Simulated LU only: how long opening it may wait for its file's lock (`command_timeout`).
    public var openTimeout: Duration
    /// Simulated LU only: no wait for its file's lock goes on past this instant (`lock`'s `max_lock_wait`).
    public var lockDeadline: ContinuousClock.Instant?
    /// `storage-ctl FILE create`: a missing or empty regular file becomes a fresh simulated LU. Off, an empty
    /// file is refused and nothing is written (the only way a simulated drive comes into being).
    public var createSimulatedLU = false

    public init(initiatorName: String, simDeviceType: PeripheralDeviceType = .tape, verbose: Bool = false,
                sysfsRoot: String = "/sys", devDirectory: String = "/dev",
                openTimeout: Duration = SimulatedLU.openLockTimeout, lockDeadline: ContinuousClock.Instant? = nil) {
        self.openTimeout = openTimeout
        self.lockDeadline = lockDeadline
        self.initiatorName = initiatorName
        self.simDeviceType = simDeviceType
        self.verbose = verbose
        self.sysfsRoot = sysfsRoot
        self.devDirectory = devDirectory
    }
}

/// Where a DEVICE argument leads: which node to open and through which transport.
public struct DeviceResolution: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A regular file: a simulated logical unit.
        case simulatedLU
        /// A character device of the sg driver.
        case scsiGeneric
        /// A SCSI disk (sd) or CD (sr) block device, the whole device.
        case scsiBlockDevice
        /// A block device sysfs does not show as SCSI (a dm-multipath map, ...): SG_IO is tried, and the
        /// kernel decides.
        case otherBlockDevice
        /// A SCSI tape node (stN, nstN and their l/m/a mode variants), replaced by the drive's sg node:
        /// the st driver allows a single opener, and that is the backup daemon.
        case scsiTape(tapeNode: String)
    }

    /// The DEVICE argument as given.
    public var path: String
    /// The node to open (equal to `path` unless resolution replaced it).
    public var nodePath: String
    public var kind: Kind
    /// The SCSI address, when sysfs told it.
    public var address: SCSIAddress?
    /// One line for `-v` saying how `path` led to `nodePath`; nil when there is nothing to say.
    public var note: String?
}

/// Turns the DEVICE argument into a transport (README.md "Usage", DEVICE):
///
/// | DEVICE | result |
/// |---|---|
/// | `*None*` (Bacula's text for an unset Control Device), empty | error |
/// | regular file | `SimulatedLU` on it |
/// | sg character device | `SGIOTransport` on it |
/// | SCSI block device, or a link to one (`/dev/disk/by-id/…`) | `SGIOTransport` on the whole device |
/// | SCSI tape node (`/dev/nst0`, `/dev/st0`, `st0l`…) | `SGIOTransport` on the drive's sg node, found through sysfs |
/// | directory, partition, other device, missing | error naming the path and why (exit 3 upstream) |
///
/// A character device is identified through sysfs before anything opens it: opening an arbitrary
/// character device can have effects (a tape rewinds on close, a watchdog arms).
public enum DeviceResolver {
    /// The sg driver's character major (linux/major.h SCSI_GENERIC_MAJOR), used only without sysfs.
    static let scsiGenericMajor: UInt32 = 21

    public static func open(_ path: String, options: DeviceOptions) throws(TransportError) -> any SCSITransport {
        try open(resolve(path, sysfsRoot: options.sysfsRoot, devDirectory: options.devDirectory,
                         creating: options.createSimulatedLU), options: options)
    }

    /// The transport for a path `resolve` has classified (storage-ctl resolves first to choose a backend).
    public static func open(_ resolution: DeviceResolution, options: DeviceOptions) throws(TransportError) -> any SCSITransport {
        switch resolution.kind {
        case .simulatedLU:
            return try SimulatedLU(path: resolution.path, initiatorName: options.initiatorName,
                                   deviceTypeForNewLU: options.simDeviceType, openTimeout: options.openTimeout,
                                   lockDeadline: options.lockDeadline, create: options.createSimulatedLU)
        case .scsiGeneric, .scsiBlockDevice, .otherBlockDevice, .scsiTape:
            return try SGIOTransport(nodePath: resolution.nodePath, path: resolution.path, resolutionNote: resolution.note,
                                     scsiAddress: resolution.address, sysfsRoot: options.sysfsRoot)
        }
    }

    /// The open block node, for a backend that sends the block layer's own PR ioctls on it (BlockPR) and
    /// SG_IO for what those lack.
    public static func openBlockNode(_ resolution: DeviceResolution, options: DeviceOptions) throws(TransportError) -> SGIOTransport {
        guard resolution.kind == .scsiBlockDevice || resolution.kind == .otherBlockDevice else {
            throw TransportError(.other, "\(resolution.path) is not a block device node")
        }
        return try SGIOTransport(nodePath: resolution.nodePath, path: resolution.path, resolutionNote: resolution.note,
                                 scsiAddress: resolution.address, sysfsRoot: options.sysfsRoot)
    }

    /// Opens DEVICE given as the bytes the user passed. UTF-8 goes the usual way; other bytes (a Swift String
    /// cannot hold them: it would repair them to U+FFFD and name another file) are opened once, with O_PATH, by
    /// exactly those bytes, and the file is then reached through `/proc/self/fd/N`, so what is opened is what
    /// was named. The O_PATH descriptor is closed once the transport has its own.
    public static func open(pathBytes: [UInt8], options: DeviceOptions) throws(TransportError) -> any SCSITransport {
        try withOpenablePath(pathBytes) { (path: String) throws(TransportError) in try open(path, options: options) }
    }

    /// Runs `body` with a path that opens exactly the file `pathBytes` names. UTF-8 is passed as it is; other
    /// bytes (which a Swift String would repair to U+FFFD, naming another file) are opened once, with O_PATH,
    /// and `body` gets `/proc/self/fd/N`; the O_PATH descriptor is closed when `body` returns.
    public static func withOpenablePath<T>(_ pathBytes: [UInt8],
                                           _ body: (String) throws(TransportError) -> T) throws(TransportError) -> T {
        if let text = String(validating: pathBytes, as: UTF8.self) { return try body(text) }
        if pathBytes.contains(0) { throw TransportError(.other, "device path contains a NUL byte") }
        let fd: FileDescriptor
        do throws(Errno) {
            fd = try FileDescriptor.open(pathBytes: pathBytes, LinuxOpenFlags.pathOnly | O_CLOEXEC)
        } catch {
            if error == .noSuchFileOrDirectory { throw TransportError(.open(errno: error), "no such file or device") }
            throw TransportError(.open(errno: error), "cannot examine it: \(error) (\(error.name))")
        }
        defer { fd.close() }
        return try body("/proc/self/fd/\(fd.rawValue)")
    }

    /// Classifies `path` without opening it. `creating` (`storage-ctl FILE create`): a missing path is a
    /// simulated LU to be created, and anything but a regular file is refused.
    public static func resolve(_ path: String, sysfsRoot: String = "/sys", devDirectory: String = "/dev",
                               creating: Bool = false) throws(TransportError) -> DeviceResolution {
        guard creating, path != "*None*", !path.isEmpty, !path.utf8.contains(0) else {
            return try resolve(path, sysfsRoot: sysfsRoot, devDirectory: devDirectory)
        }
        switch SGIOSyscall.stat(path) {
        case .success(let status):
            guard status.type == .regular else {
                throw TransportError(.notSCSIDevice, "create makes simulated drives in regular files only; this is not one")
            }
        case .failure(let error):
            // Missing, and not a dangling symbolic link (the create's O_EXCL refuses one anyway): made by the open.
            guard error == .noSuchFileOrDirectory, case .failure = SGIOSyscall.stat(path, followLinks: false) else {
                throw lookupFailed(path, errno: error.rawValue)
            }
        }
        return DeviceResolution(path: path, nodePath: path, kind: .simulatedLU, address: nil, note: nil)
    }

    static func resolve(_ path: String, sysfsRoot: String, devDirectory: String) throws(TransportError) -> DeviceResolution {
        if path == "*None*" {
            throw TransportError(.other, "no Control Device configured (Bacula passed *None*): set Control Device to the drive's sg node (storage-ctl scan lists them)")
        }
        if path.isEmpty {
            throw TransportError(.other, "no device given (empty path)")
        }
        if path.utf8.contains(0) {
            throw TransportError(.other, "device path contains a NUL byte")
        }
        let status: SGIOSyscall.FileStatus
        switch SGIOSyscall.stat(path) {
        case .success(let s): status = s
        case .failure(let error): throw lookupFailed(path, errno: error.rawValue)
        }
        let sysfs = SGIOSysfs(root: sysfsRoot)
        var dev = devDirectory
        while dev.count > 1 && dev.hasSuffix("/") { dev.removeLast() }

        switch status.type {
        case .regular:
            return DeviceResolution(path: path, nodePath: path, kind: .simulatedLU, address: nil, note: nil)
        case .directory:
            throw TransportError(.notSCSIDevice, "is a directory, not a device or a simulated LU file")
        case .characterDevice:
            return try resolveCharacterDevice(path, status: status, sysfs: sysfs, dev: dev)
        case .blockDevice:
            return try resolveBlockDevice(path, status: status, sysfs: sysfs)
        case .fifo:
            throw TransportError(.notSCSIDevice, "is a FIFO, not a device or a simulated LU file")
        case .socket:
            throw TransportError(.notSCSIDevice, "is a socket, not a device or a simulated LU file")
        case .symbolicLink, .unknown:
            throw TransportError(.notSCSIDevice, "is not a device or a simulated LU file")
        }
    }

    static func lookupFailed(_ path: String, errno e: Int32) -> TransportError {
        let error = Errno(rawValue: e)
        switch error {
        case .noSuchFileOrDirectory:
            if case .success(let s) = SGIOSyscall.stat(path, followLinks: false), s.type == .symbolicLink {
                let target = (try? SGIOSyscall.readlink(path).get()) ?? "?"
                return TransportError(.open(errno: error), "dangling symbolic link: its target \(target) does not exist")
            }
            return TransportError(.open(errno: error), "no such file or device")
        case .permissionDenied:
            return TransportError(.open(errno: error), "permission denied looking it up (a directory on the way is not searchable)")
        case .notDirectory:
            return TransportError(.open(errno: error), "a component of the path is not a directory")
        case .tooManySymbolicLinkLevels:
            return TransportError(.open(errno: error), "too many levels of symbolic links")
        case .fileNameTooLong:
            return TransportError(.open(errno: error), "path too long")
        default:
            return TransportError(.open(errno: error), "cannot examine it: \(error) (\(error.name))")
        }
    }

    static func resolveCharacterDevice(_ path: String, status: SGIOSyscall.FileStatus, sysfs: SGIOSysfs, dev: String) throws(TransportError) -> DeviceResolution {
        let number = "\(status.deviceMajor):\(status.deviceMinor)"
        guard let classDevice = sysfs.classDevice(character: true, major: status.deviceMajor, minor: status.deviceMinor) else {
            if !sysfs.isDirectory(sysfs.path("dev/char")) {
                // No sysfs (a minimal container): only the sg driver's fixed major can be trusted.
                if status.deviceMajor == scsiGenericMajor {
                    return DeviceResolution(path: path, nodePath: path, kind: .scsiGeneric, address: nil,
                                            note: "no sysfs at \(sysfs.root); character major 21 is the sg driver")
                }
                throw TransportError(.notSCSIDevice, "cannot tell what character device \(number) is: no sysfs at \(sysfs.root)")
            }
            throw TransportError(.notSCSIDevice, "character device \(number) is not known to the kernel (a stale node?)")
        }
        let subsystem = sysfs.linkName(classDevice + "/subsystem") ?? SGIOSysfs.lastComponent(parentOf(classDevice))
        let name = SGIOSysfs.lastComponent(classDevice)
        let lu = sysfs.scsiDevice(ofClassDevice: classDevice)
        switch subsystem {
        case "scsi_generic":
            return DeviceResolution(path: path, nodePath: path, kind: .scsiGeneric, address: lu?.address, note: nil)
        case "scsi_tape":
            guard let lu else {
                throw TransportError(.notSCSIDevice, "tape node \(name) has no SCSI device in sysfs")
            }
            guard let sg = sysfs.genericName(ofSCSIDevice: lu.dir) else {
                throw TransportError(.notSCSIDevice,
                                     "tape drive [\(lu.address)] (\(name)) has no SCSI generic node: load the sg driver (modprobe sg); the st node itself cannot be shared with the backup daemon")
            }
            let node = dev + "/" + sg
            try checkNode(node, matches: sysfs.attribute(lu.dir + "/scsi_generic/" + sg + "/dev"), tapeNode: path)
            return DeviceResolution(path: path, nodePath: node, kind: .scsiTape(tapeNode: name), address: lu.address,
                                    note: "tape node \(name) is drive [\(lu.address)]; using its SCSI generic node \(node) (the st driver allows one opener, the backup daemon)")
        case "scsi_changer":
            let sg = lu.flatMap { sysfs.genericName(ofSCSIDevice: $0.dir) }.map { "; the changer's own sg node is \(dev)/\($0)" } ?? ""
            throw TransportError(.notSCSIDevice,
                                 "is the medium changer node \(name), not a tape drive: name the drive's /dev/nstN or its sg node\(sg)")
        default:
            throw TransportError(.notSCSIDevice,
                                 "is character device \(number) of the \(subsystem) class (\(name)), not a SCSI generic (sg) or tape node")
        }
    }

    /// The sg node we are about to open must be the one sysfs named (same device number).
    static func checkNode(_ node: String, matches number: String?, tapeNode: String) throws(TransportError) {
        let status: SGIOSyscall.FileStatus
        switch SGIOSyscall.stat(node) {
        case .success(let s): status = s
        case .failure(let error):
            if error == .noSuchFileOrDirectory {
                throw TransportError(.open(errno: error), "the drive's SCSI generic node \(node) does not exist (udev did not create it?)")
            }
            throw TransportError(.open(errno: error), "cannot examine the drive's SCSI generic node \(node): \(error)")
        }
        guard status.type == .characterDevice else {
            throw TransportError(.notSCSIDevice, "\(node), the drive's SCSI generic node by name, is not a character device")
        }
        if let number, number != "\(status.deviceMajor):\(status.deviceMinor)" {
            throw TransportError(.notSCSIDevice,
                                 "\(node) is device \(status.deviceMajor):\(status.deviceMinor), but the drive's sg device is \(number): stale /dev entry")
        }
    }

    static func resolveBlockDevice(_ path: String, status: SGIOSyscall.FileStatus, sysfs: SGIOSysfs) throws(TransportError) -> DeviceResolution {
        let node: String
        switch SGIOSyscall.realpath(path) {
        case .success(let r): node = r
        case .failure: node = path
        }
        let via = node == path ? "" : "\(path) is \(node); "
        guard let classDevice = sysfs.classDevice(character: false, major: status.deviceMajor, minor: status.deviceMinor) else {
            return DeviceResolution(path: path, nodePath: node, kind: .otherBlockDevice, address: nil,
                                    note: via.isEmpty ? nil : via + "trying SG_IO on it")
        }
        let name = SGIOSysfs.lastComponent(classDevice)
        if sysfs.exists(classDevice + "/partition") {
            let whole = SGIOSysfs.lastComponent(parentOf(classDevice))
            let number = sysfs.attribute(classDevice + "/partition") ?? "?"
            throw TransportError(.notSCSIDevice,
                                 "is partition \(number) of \(whole): reservations belong to the whole device, name /dev/\(whole) (or its sg node)")
        }
        if let lu = sysfs.scsiDevice(ofClassDevice: classDevice) {
            return DeviceResolution(path: path, nodePath: node, kind: .scsiBlockDevice, address: lu.address,
                                    note: via.isEmpty ? nil : via + "SCSI device [\(lu.address)] (\(name))")
        }
        return DeviceResolution(path: path, nodePath: node, kind: .otherBlockDevice, address: nil,
                                note: "\(via)block device \(name) is not a SCSI disk in sysfs; trying SG_IO on it")
    }

    static func parentOf(_ p: String) -> String {
        guard let slash = p.lastIndex(of: "/"), slash != p.startIndex else { return "/" }
        return String(p[..<slash])
    }
}
