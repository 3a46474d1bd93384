import Glibc
import PRCore
import ProcessSupport

/// A simulated SCSI logical unit whose persistent-reservation state lives in a regular file.
///
/// Every command runs the same CDB and parameter bytes through the same PR engine (`LogicalUnitState.process`)
/// that a test checks against the SPC rules; only the transport differs from a real device. Commands the engine
/// lets through (`.proceed`) are executed by `SimLUCommands` (INQUIRY, READ, ...).
///
/// **The file.** A simulated LU comes into being only when asked: an object opened with `create` (`storage-ctl
/// FILE create`) makes a missing or empty file a fresh LU, writing its header with `deviceTypeForNewLU`, and
/// makes a file emptied while it is open (`: > file`) a fresh LU again at its next command. Without `create`
/// an empty file is refused (`.notSCSIDevice`, "an empty file, not a simulated drive") and nothing is written:
/// a read-only command must not turn a planted or kernel file into a drive. A file of a kernel file system
/// (proc, sysfs, ...: `KernelFileSystem`) is refused at open, `create` or not. The
/// format (header + two checksummed state slots) is documented on `SimFormat`.
/// A file that is not ours, is of a newer format version, or has no usable state slot is refused with
/// `TransportError(.corruptState, ...)` and is never modified.
///
/// **Atomicity and isolation.** `execute` holds an exclusive `flock(2)` lock on the file for the whole
/// read–process–write, so commands from any number of processes, and from several `SimulatedLU` objects in one
/// process, are serialised and each sees the state the previous one left. The state is written (into the slot
/// not holding the current state) only when the command changed it — a PR IN that reports a unit attention
/// changes it too. A SIGKILL at any instant leaves the old state or the new one. The descriptor, opened once
/// with O_CLOEXEC, stays open for the object's lifetime, and the lock is on that open file description.
/// Threads sharing one object are serialised by a mutex.
///
/// **Read-only files.** When O_RDWR is refused (EACCES, EROFS, EPERM) or `readOnly` is asked for, the file is
/// opened O_RDONLY and locked shared. Commands that leave the state unchanged work; one that would change it
/// (a PR OUT, or any command reporting a pending unit attention) fails with
/// `TransportError(.io(errno:), "read-only...: cannot record the new state")`, the file untouched.
///
/// **Limits.** A state must fit a slot (`SimFormat.slotCapacity`, 65504 bytes). The engine's registration limit
/// (128) keeps registrations within about 31 KB even with 223-byte initiator names. Should a command still
/// produce a state too large to store, it is not stored: a PR OUT gets CHECK CONDITION 5/55/04 INSUFFICIENT
/// REGISTRATION RESOURCES; any other command gets its response without the state change being recorded.
///
/// **PREEMPT AND ABORT.** Commands run one at a time, so no other nexus ever has a command outstanding to abort;
/// `SCSIResponse.abortedNexuses` needs no action and no 2F/00 unit attention is established (TAS = 0 applies
/// only to commands actually aborted).
public final class SimulatedLU: SCSITransport, Sendable {
    /// The path the user named.
    public let path: String
    /// This object's I_T nexus: iSCSI initiator device name (TransportID format 00b), or an iSCSI port when the
    /// name ends in `,i,0xISID` (format 01b: one session of a host, a path), and target port.
    public let nexus: Nexus
    /// The nexus is known exactly: READ FULL STATUS shows it (`SCSITransport.knownNexus`).
    public var knownNexus: Nexus? { nexus }
    /// A simulated host is what its configuration says: this nexus, and its initiator ports as the
    /// configuration names them (`initiator_ports=`, added above this layer). Every port of the host
    /// reaches the file, so no list of live paths is kept: a port the configuration no longer names
    /// is a path that is gone.
    public var ownNexuses: OwnNexuses {
        var names: [String] = []
        if case .iscsiPort(let name, _) = nexus.transportID.decoded { names.append(name.lowercased()) }
        return OwnNexuses(this: nexus, hostPorts: [nexus.transportID], iscsiNames: names)
    }
    /// True when the file was opened read-only (asked for, or all the file allows).
    public var isReadOnly: Bool { !file.isWritable }

    /// No wait for the file's lock goes on past this instant (`lock`'s `max_lock_wait`), whatever the
    /// command's own timeout; nil: no such limit.
    public let lockDeadline: ContinuousClock.Instant?

    private let file: SimStateFile
    private let deviceTypeForNewLU: PeripheralDeviceType
    /// Opened to make a missing or empty file a fresh LU (`init`'s `create`).
    private let create: Bool
    private let serial = SimMutex()

    /// How long `init` and `verify` wait for the file's lock by default (a live holder keeps it for microseconds).
    public static let openLockTimeout = Duration.seconds(60)

    /// Opens the simulated LU in the regular file at `path` as the I_T nexus (`initiatorName`,
    /// `relativeTargetPortIdentifier`).
    ///
    /// - Parameters:
    ///   - initiatorName: 1 to 223 printable ASCII characters without spaces (an iSCSI name such as
    ///     `iqn.2024-01.example:host1`). The PR engine compares names case-insensitively.
    ///   - relativeTargetPortIdentifier: the target port, 1–65535 (0 is reserved in SPC).
    ///   - deviceTypeForNewLU: the PERIPHERAL DEVICE TYPE given to an empty file; an initialised file keeps its own.
    ///   - readOnly: open O_RDONLY even if the file is writable (sg_persist `--readonly`).
    ///   - openTimeout: how long the open waits for the file's lock to check the file.
    ///   - lockDeadline: no wait for the file's lock (this one, or a command's) goes on past it.
    ///   - create: make a missing or empty file a fresh LU (a missing one is created, mode 0660); otherwise an
    ///     empty file is refused.
    /// - Throws: `.other` for a bad initiator name or port; `.open(errno:)` when the path cannot be opened
    ///   ("cannot open: No such file or directory", "is a directory"); `.notSCSIDevice` for a FIFO, device node
    ///   or socket; `.corruptState` for a foreign, newer or corrupt file; `.io` for read errors; `.timeout` if
    ///   another process holds the file's lock for `openTimeout` (or until `lockDeadline`).
    public init(path: String, initiatorName: String, relativeTargetPortIdentifier: UInt16 = 1,
                deviceTypeForNewLU: PeripheralDeviceType = .tape, readOnly: Bool = false,
                openTimeout: Duration = SimulatedLU.openLockTimeout,
                lockDeadline: ContinuousClock.Instant? = nil, create: Bool = false) throws(TransportError) {
        try SimulatedLU.validate(initiatorName: initiatorName)
        guard relativeTargetPortIdentifier != 0 else {
            throw TransportError(.other, "relative target port identifier 0 is reserved (use 1 to 65535)")
        }
        let file = try SimStateFile.open(path: path, readOnly: readOnly, create: create)
        self.path = path
        self.nexus = Nexus(transportID: TransportID.parse(port: initiatorName).flatMap { port in
                               if case .iscsiPort = port.decoded { return port } else { return nil }
                           } ?? .iscsi(name: initiatorName),
                           relativeTargetPortIdentifier: relativeTargetPortIdentifier)
        self.file = file
        self.deviceTypeForNewLU = deviceTypeForNewLU
        self.lockDeadline = lockDeadline
        self.create = create
        // Check (and, with `create`, initialise an empty file) now, so a bad file is reported by the open, not the first command.
        // On failure deinit closes the descriptor.
        try file.lock(timeout: lockWait(openTimeout))
        defer { file.unlock() }
        _ = try load()
    }

    deinit {
        file.close()
    }

    /// Checks an initiator name: 1 to 223 bytes, each printable ASCII other than space (21h–7Eh).
    static func validate(initiatorName name: String) throws(TransportError) {
        if let problem = initiatorNameProblem(name) { throw TransportError(.other, problem) }
    }

    /// Why `name` cannot be an initiator name (1 to 223 bytes, each printable ASCII other than space), or nil.
    /// The one rule: the CLI checks `initiator=`/`--initiator` with it too (a configuration error there).
    public static func initiatorNameProblem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        let rule = "must be 1 to 223 printable ASCII characters without spaces"
        guard !bytes.isEmpty else { return "invalid initiator name (empty): \(rule)" }
        guard bytes.count <= 223 else { return "invalid initiator name (\(bytes.count) bytes): \(rule)" }
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            let shown = String(decoding: bytes.map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
            return "invalid initiator name \"\(shown)\": \(rule)"
        }
        // NAME,i,0xISID is one iSCSI session (a path); anything else with ",i,0x" is a mistyped one, not a name
        let lowercased = bytes.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }
        if lowercased.contains(bytes: Array(",i,0x".utf8)), TransportID.parse(port: name) == nil {
            return "invalid initiator port \"\(name)\": an iSCSI session is NAME,i,0xISID, with 1 to 12 hex digits and no comma in NAME"
        }
        return nil
    }

    // MARK: SCSITransport

    /// Runs one command atomically: lock, read the state, `process`, execute an allowed ordinary command, write
    /// the state if it changed, unlock. `timeout` bounds the wait for the lock (non-positive: one try), and so
    /// does `lockDeadline`.
    ///
    /// SCSI outcomes (CHECK CONDITION with fixed-format sense, RESERVATION CONFLICT) are in the result. Throws
    /// only when the command's outcome cannot be delivered or recorded: `.other` for a CDB of 0 or more than
    /// 260 bytes, `.timeout`, `.corruptState`, `.io` (read-only file, full file system, I/O error). After a
    /// throw the file holds the state from before the command.
    public func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
        guard (1...260).contains(cdb.count) else {
            throw TransportError(.other, "invalid CDB length \(cdb.count) (1 to 260 bytes)")
        }
        let dataInLength = max(0, dataInLength)
        serial.lock()
        defer { serial.unlock() }
        try file.lock(timeout: lockWait(timeout))
        defer { file.unlock() }

        let (snapshot, identity) = try load()
        let before = try SimulatedLU.decodeState(snapshot)
        var state = before
        var response: SCSIResponse
        switch state.process(cdb: cdb, dataOut: dataOut, dataInLength: dataInLength, from: nexus) {
        case .response(let engineResponse):
            response = engineResponse
        case .proceed:
            response = SimLUCommands.execute(cdb: cdb, dataInLength: dataInLength, identity: identity)
        }
        if state != before {
            let payload = state.encode()
            if payload.count <= SimFormat.slotCapacity {
                try file.commit(payload, after: snapshot)
            } else if cdb[0] == OperationCode.persistentReserveOut.rawValue {
                response = .checkCondition(.illegalRequest, .insufficientRegistrationResources)
            }
        }
        return SCSICommandResult(status: response.status, sense: response.sense?.encodeFixed() ?? [],
                                 data: Array(response.data.prefix(dataInLength)))
    }

    /// How long a wait for the file's lock may last: `timeout`, cut short by `lockDeadline` but never below
    /// `lockDeadlineGrace`: another storage-ctl holds the lock for microseconds, and `lock -w 0` (or an attempt
    /// just before the deadline) must not fail on that.
    private func lockWait(_ timeout: Duration) -> Duration {
        guard let lockDeadline else { return timeout }
        return min(timeout, max(ContinuousClock.now.duration(to: lockDeadline), SimulatedLU.lockDeadlineGrace))
    }

    /// How far past `lockDeadline` a wait for the file's lock may go.
    public static let lockDeadlineGrace = Duration.milliseconds(50)

    // MARK: Testing hooks

    /// Power-cycles the LU (`LogicalUnitState.powerOn()`): PRgeneration 0, registrations and reservation kept
    /// only with APTPL, a 29/00 unit attention for every nexus. For tests of power loss; storage-ctl never does it.
    public func powerCycle(timeout: Duration = .seconds(60)) throws(TransportError) {
        serial.lock()
        defer { serial.unlock() }
        try file.lock(timeout: timeout)
        defer { file.unlock() }
        let (snapshot, _) = try load()
        let before = try SimulatedLU.decodeState(snapshot)
        var state = before
        state.powerOn()
        if state != before {
            try file.commit(state.encode(), after: snapshot)
        }
    }

    // MARK: Loading

    /// Reads the current snapshot under the lock; an empty file is initialised when this object was opened
    /// with `create` (and can write), and refused otherwise, unwritten. Returns the snapshot and the identity
    /// to report.
    private func load() throws(TransportError) -> (SimSnapshot, SimLUIdentity) {
        var snapshot = try file.readSnapshot()
        if snapshot.header == nil {
            guard create else { throw SimulatedLU.notADrive }
            let header = SimLUHeader.new(deviceType: deviceTypeForNewLU.rawValue)
            try file.initialise(header)
            snapshot.header = header
            snapshot.fileSize = SimFormat.fileSize
        }
        guard let header = snapshot.header else { throw SimulatedLU.notADrive }
        return (snapshot, SimLUIdentity(header: header, relativeTargetPortIdentifier: nexus.relativeTargetPortIdentifier))
    }

    /// An empty file opened without `create`: the one line the user sees.
    static let notADrive = TransportError(.notSCSIDevice, "an empty file, not a simulated drive; nothing was "
                                          + "written (storage-ctl DEVICE create makes one)")

    /// The snapshot's state, or a fresh LU's when nothing was ever committed.
    static func decodeState(_ snapshot: SimSnapshot) throws(TransportError) -> LogicalUnitState {
        guard let payload = snapshot.payload else { return LogicalUnitState() }
        do {
            return try LogicalUnitState(decoding: payload)
        } catch {
            throw TransportError(.corruptState,
                                 "simulated LU state is corrupt (slot \(snapshot.currentSlot ?? 0): \(error))")
        }
    }
}
