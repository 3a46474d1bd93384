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

/// The one place a DEVICE argument becomes a `PersistentReservationDevice`: `DeviceResolver`
/// says what the path is, and the switch below picks the backend for it. A new backend (the
/// kernel's `IOC_PR_*` ioctls on a block device, NVMe) is one file implementing the protocol
/// and one case here; the verbs, `Locker` and `StorageCtlMain` do not change.
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
        switch resolution.kind {
        case .simulatedLU, .scsiGeneric, .scsiBlockDevice, .otherBlockDevice, .scsiTape:
            return scsi(try DeviceResolver.open(resolution, options: request.options), path: path, request,
                        resolutionNote: resolution.note)
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
