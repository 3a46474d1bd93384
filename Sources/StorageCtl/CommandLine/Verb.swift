import PRCore

/// One storage-ctl command: what it is called, what it needs, and the SCSI it sends.
/// Adding a command is adding one type to `Verbs.all`.
protocol Verb: Sendable {
    static var name: String { get }
    /// `preempt KEY [--abort]`, for usage lines.
    static var synopsis: String { get }
    static var summary: String { get }
    /// Changes PR state, so it needs our key (and a configuration file that only root can change).
    static var changesState: Bool { get }
    static var supportsJSON: Bool { get }
    /// Exit 0 means we hold the reservation afterwards (lock, trylock, preempt, reserve).
    static var takesLock: Bool { get }
    /// How many arguments follow the command name.
    static var argumentCount: ClosedRange<Int> { get }
    /// The options that belong to this command (`--wait` to lock); others refuse them (CommandOptions).
    static var ownOptions: [Invocation.Option] { get }

    init(arguments: [String], invocation: Invocation) throws(StorageCtlError)
    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode
}

extension Verb {
    static var changesState: Bool { false }
    static var supportsJSON: Bool { false }
    static var takesLock: Bool { false }
    static var argumentCount: ClosedRange<Int> { 0...0 }
    static var ownOptions: [Invocation.Option] { [] }
}

/// A verb that takes no arguments after its name.
protocol NoArgumentVerb: Verb { init() }

extension NoArgumentVerb {
    init(arguments: [String], invocation: Invocation) throws(StorageCtlError) { self.init() }
}

enum Verbs {
    /// Every command taking a DEVICE, in the order `--help` lists them.
    static let all: [any Verb.Type] = [
        RegisterVerb.self, UnregisterVerb.self, LockVerb.self, TryLockVerb.self, UnlockVerb.self,
        QueryVerb.self, RegKeysVerb.self, WhoLockedVerb.self, ClearVerb.self,
        StatusVerb.self, PreemptVerb.self, ReserveVerb.self, ReleaseVerb.self, CapsVerb.self, AuditVerb.self,
        CreateVerb.self,
    ]

    static func named(_ name: String) -> (any Verb.Type)? {
        all.first { $0.name == name }
    }
}

/// What a running verb may use: the device, the merged settings, where output goes, and the
/// clock/sleeper of `lock` (injectable for tests).
final class VerbContext {
    let device: Device
    let settings: Settings
    let json: Bool
    var stdout: String = ""
    private let emitNote: (String) -> Void
    let tracer: CommandTracer?
    let sleeperFactory: () -> (Duration) -> Int32?
    /// This host's memory of the drive under our key (fairness, LockRecord); nil when the drive's
    /// path cannot be identified or no key is set. Made on first use: only lock, trylock, unlock and
    /// status need it, the other verbs pay nothing for it.
    lazy var lockRecords: LockRecordStore? = makeLockRecords()
    private let makeLockRecords: () -> LockRecordStore?

    init(device: any PersistentReservationDevice, settings: Settings, json: Bool, tracer: CommandTracer?,
         note: @escaping (String) -> Void, sleeperFactory: @escaping () -> (Duration) -> Int32?,
         lockRecords: @escaping () -> LockRecordStore? = { nil }) {
        self.device = Device(device)
        self.settings = settings
        self.json = json
        self.tracer = tracer
        self.emitNote = note
        self.sleeperFactory = sleeperFactory
        self.makeLockRecords = lockRecords
    }

    var path: String { device.path }

    /// Our key; verbs with `changesState` are only run when it is set.
    var key: ReservationKey {
        guard let key = settings.key else { preconditionFailure("changesState verbs run only with a key") }
        return key
    }

    func locker(type: ReservationType? = nil) -> Locker {
        Locker(device: device, key: key, type: type ?? settings.type, aptpl: settings.aptpl, settings: settings,
               note: { [self] in note($0) })
    }

    func print(_ line: String) { stdout += line + "\n" }

    /// A line on stderr, `storage-ctl: DEVICE: text`, that is not a failure (notes, progress).
    func note(_ text: String) {
        emitNote("\(path): \(text)")
        tracer?.record(text)   // the debug file only: -v already shows this line
    }

    func emit(_ json: JSON) { stdout += json.serialized() + "\n" }

    /// `{"key": "0xbac999", "name": "dir"}`, the shape every JSON output uses for a key (Settings.keyJSON).
    func keyJSON(_ key: ReservationKey) -> JSON { settings.keyJSON(key) }

    /// Names a holder for a busy result.
    func busy(_ holder: Holder, _ prefix: String = "locked by") -> StorageCtlError {
        StorageCtlError(.busy, "\(path): \(prefix) \(locker().describe(holder))")
    }
}
