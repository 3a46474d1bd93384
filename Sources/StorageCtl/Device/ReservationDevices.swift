import PRCore
import Transports

/// What opening a DEVICE needs besides its path: the transport's options, and what a backend
/// needs to send commands the way storage-ctl always has.
public struct DeviceRequest {
    public var options: DeviceOptions
    /// `command_timeout`, seconds.
    public var commandTimeout: Double
    /// `-v` and `debug_log`; nil when neither is on.
    public var tracer: CommandTracer?
    /// The configured reservation type (`-t`, `type=`).
    public var type: ReservationType
    /// DEVICE as messages show it (escaped and capped, `OutputText.argument`); nil: the path as opened.
    public var displayPath: String?
    /// This host's initiator ports named in the configuration (`initiator_ports=`).
    public var initiatorPorts: [TransportID] = []
    /// `backend=`/`--backend`; nil: chosen by the node's kind.
    public var backend: ReservationBackend?
    /// Which drive DEVICE reached before (PathMemory); nil: not remembered, not followed.
    var pathMemory: PathMemory?
    /// A line on stderr that is not a failure: a Control Device followed to another path.
    public var note: (String) -> Void = { _ in }

    public init(options: DeviceOptions, commandTimeout: Double, tracer: CommandTracer?, type: ReservationType,
                displayPath: String? = nil) {
        self.options = options
        self.commandTimeout = commandTimeout
        self.tracer = tracer
        self.type = type
        self.displayPath = displayPath
    }
}

/// How a block node is driven (`backend=`, `--backend`).
public enum ReservationBackend: String, Sendable {
    /// SCSI commands through SG_IO (`SCSIReservationDevice`).
    case sgio
    /// The kernel's block-layer PR ioctls (`BlockReservationDevice`).
    case block
}

/// The one place a DEVICE argument becomes a `PersistentReservationDevice`: `DeviceResolver`
/// says what the path is, and `backend(for:)` picks the backend for it. A new backend is one file
/// implementing the protocol and a case here; the verbs, `Locker` and `StorageCtlMain` do not change.
public enum ReservationDevices {
    public static func open(_ path: String, _ request: DeviceRequest) throws(TransportError) -> any PersistentReservationDevice {
        let sysfs = request.options.sysfsRoot, dev = request.options.devDirectory
        let livePath = { (identity: String) in SCSIPaths.liveGenericNode(of: identity, sysfsRoot: sysfs, devDirectory: dev) }
        let resolution: DeviceResolution
        do {
            resolution = try DeviceResolver.resolve(path, sysfsRoot: sysfs, devDirectory: dev,
                                                    creating: request.options.createSimulatedLU)
        } catch {
            // a Control Device whose node is gone (a lost path): a live path of the drive it named, if remembered
            guard case .open = error.kind, let memory = request.pathMemory,
                  case .otherPath(let node, let note) = PathMemory.decide(
                      current: nil, nodeGone: true, remembered: memory.identity(of: path), livePath: livePath) else { throw error }
            return try openOtherPath(node, note: note, request)
        }
        if let memory = request.pathMemory, resolution.kind != .simulatedLU, let address = resolution.address,
           !path.hasPrefix("/proc/self/fd/") {
            switch PathMemory.decide(current: SCSIPaths.identity(of: address, sysfsRoot: sysfs)?.text, nodeGone: false,
                                     remembered: memory.identity(of: path), livePath: livePath) {
            case .asNamed(let remember):
                if let remember { memory.remember(path, identity: remember) }
            case .otherPath(let node, let note):
                return try openOtherPath(node, note: note, request)
            case .asNamedNoting(let note, let remember):
                request.note(note)
                memory.remember(path, identity: remember)
            }
        }
        switch try backend(for: resolution.kind, path: resolution.path, asked: request.backend) {
        case .sgio:
            return scsi(try DeviceResolver.open(resolution, options: request.options), path: path, request,
                        resolutionNote: resolution.note)
        case .block:
            let node = try DeviceResolver.openBlockNode(resolution, options: request.options)
            let note = [resolution.note, "backend block: the kernel's IOC_PR_* ioctls on \(resolution.nodePath)"]
                .compactMap { $0 }.joined(separator: "; ")
            return BlockReservationDevice(node: node, scsi: scsi(node, path: path, request), tracer: request.tracer,
                                          resolutionNote: OutputText.escaped(note), isMap: resolution.kind == .otherBlockDevice)
        }
    }

    /// The backend for a node, unless `asked`. A block node that is not a SCSI disk (a dm-multipath map)
    /// gets the block layer's ioctls: SG_IO on a map reaches one path per command, so a REGISTER through it
    /// would register one path of several, and the reservation be lost with that path. A SCSI disk keeps SG_IO
    /// (one path; and sd's REGISTER sets APTPL whatever `aptpl=` says). Tape drives, sg nodes and simulated
    /// drives have only SG_IO (or their file): `block` is refused for them.
    static func backend(for kind: DeviceResolution.Kind, path: String, asked: ReservationBackend?) throws(TransportError) -> ReservationBackend {
        switch kind {
        case .otherBlockDevice: return asked ?? .block
        case .scsiBlockDevice: return asked ?? .sgio
        case .simulatedLU, .scsiGeneric, .scsiTape:
            if asked == .block {
                throw TransportError(.other, "backend=block needs a block device node (/dev/sdX, /dev/dm-N, /dev/mapper/NAME); "
                                     + "\(path) is \(kind == .simulatedLU ? "a simulated drive" : "not one"): use backend=sgio")
            }
            return .sgio
        }
    }

    /// Opens another path to the drive a Control Device named, saying so (not remembered under its node's name).
    static func openOtherPath(_ node: String, note: String, _ request: DeviceRequest) throws(TransportError) -> any PersistentReservationDevice {
        request.note(note)
        var other = request
        other.pathMemory = nil
        return try open(node, other)
    }

    /// The SCSI implementation over `transport`; also how tests put a transport of their own
    /// (a logging or scripted LU) behind the CLI.
    public static func scsi(_ transport: any SCSITransport, path: String, _ request: DeviceRequest,
                            resolutionNote: String? = nil) -> SCSIReservationDevice {
        SCSIReservationDevice(transport: transport, path: request.displayPath ?? path, commandTimeout: request.commandTimeout,
                              tracer: request.tracer, typeField: request.type,
                              resolutionNote: resolutionNote.map { OutputText.escaped($0) },
                              lockDeadline: request.options.lockDeadline, configuredPorts: request.initiatorPorts)
    }
}
