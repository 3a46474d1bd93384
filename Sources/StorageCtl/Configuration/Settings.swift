import PRCore
import Transports

/// Everything a command needs to know about this host's configuration, after the file, the
/// environment and the command-line options have been merged (options win).
public struct Settings: Sendable, Equatable {
    /// This host's reservation key; `nil` when none is configured (read-only commands still work).
    public var key: ReservationKey?
    public var type: ReservationType = .exclusiveAccess
    /// `allow_shared_lock=1`: lock, trylock and preempt may take a type 5/6/7/8 reservation, which every
    /// registered host shares (`sharedLockRefusal`); off, they refuse it.
    public var allowSharedLock = false
    /// Seconds `lock` may wait.
    public var maxLockWait: Double = 1800
    public var aptpl = false
    /// Seconds one SCSI command may take.
    public var commandTimeout: Double = 60
    /// iSCSI-style initiator name for simulated LUs (`initiator=`), before the environment default.
    public var initiator: String?
    /// This host's initiator ports that sysfs cannot show (`initiator_ports=`): a hardware iSCSI initiator's
    /// sessions, ports of another fabric; on a simulated drive, the host's other paths. Added to what the
    /// transport finds (OwnNexuses.hostPorts): a registration of our key through one of them is ours.
    public var initiatorPorts: [TransportID] = []
    /// `backend=sgio|block`: how a block node is driven; nil: chosen by the node's kind (ReservationDevices).
    public var backend: ReservationBackend?
    public var debugLog = false
    public var debugFile = "/opt/bacula/working/storage-ctl.log"
    /// `host_<KEY>=name`: names shown next to keys in every output.
    public var hostNames: [ReservationKey: String] = [:]
    /// First retry delay of `lock` (seconds) and the cap of its exponential backoff.
    public var lockRetryInitial: Double = 0.05
    public var lockRetryMax: Double = 1.0
    /// How waiting hosts take turns (`fairness=`): `courtesy` (a releasing holder yields for a moment) or
    /// `fifo` (ticket keys: first come, first served; TicketKey).
    public var fairness: Fairness = .courtesy
    /// Where this host keeps its lock records (`run_dir`, LockRecordStore); nil: the default.
    public var runDirectory: String?
    /// Peripheral type a fresh (empty) simulated LU file takes.
    public var simType: PeripheralDeviceType = .tape
    /// The file the settings came from, if any (for messages).
    public var configPath: String?
    /// Whether the configuration file exists and was read.
    public var configLoaded = false
    /// Which file was read and why that one (`-v`, the debug log): an admin with two files must see
    /// which one won (/opt/bacula/scripts' silently wins over /etc/bacula's).
    public var configChoice = ""
    /// Owner and mode of the configuration file as read (fstat of the descriptor it was read from), and the
    /// first directory above it that others could change; checked by `SettingsLoader.checkOwnership`.
    public var configOwnership: ConfigOwnership?

    public init() {}

    /// The name configured for `key`, if any.
    public func name(of key: ReservationKey) -> String? { hostNames[key] }

    /// `{"key": "0xbac999", "name": "dir"}` (`"name": null` when unnamed): how every JSON output shows a key.
    func keyJSON(_ key: ReservationKey) -> JSON {
        .object([("key", .string(key.description)), ("name", .optional(name(of: key)))])
    }

    /// `0xbac999 (dir)` when named, else `0xbac999`: how every output shows a key.
    public func label(_ key: ReservationKey) -> String {
        if let name = hostNames[key] { return "\(key) (\(OutputText.escaped(name)))" }
        return key.description
    }

    /// Every key named in the configuration (`key` and `host_*`), for `audit`.
    public var knownKeys: Set<ReservationKey> {
        var keys = Set(hostNames.keys)
        if let key { keys.insert(key) }
        return keys
    }

    /// The registered `keys` the configuration does not name, once each, in device order: what
    /// `audit` lists and `drives`/`check` report as unknown.
    public func unknownKeys(among keys: [ReservationKey]) -> [ReservationKey] {
        let known = knownKeys
        var unknown: [ReservationKey] = []
        // a waiting host's ticket key is that host's configured key, waiting (TicketKey)
        for key in keys.map(TicketKey.configuredKey) where !known.contains(key) && !unknown.contains(key) { unknown.append(key) }
        return unknown
    }
}

/// How waiting `lock`s on several hosts take turns (README "Fairness").
public enum Fairness: String, Sendable, Equatable {
    /// A host that releases a drive others waited for yields it for one courtesy window (LockRecord);
    /// among several waiters the first to poll wins. What other tools see is untouched: the default.
    case courtesy
    /// Waiters register ticket keys and are served in arrival order (TicketKey). Other tools see the
    /// ticket keys while hosts wait. Needs a configured key of at most 32 bits (else courtesy).
    case fifo
}

extension Settings {
    /// The scheme `lock` uses: `fairness`, unless fifo was asked with a key too wide for a ticket; then why not.
    var effectiveFairness: (Fairness, note: String?) {
        guard fairness == .fifo, let key else { return (.courtesy, nil) }
        if type.isRegistrantsOnly || type.isAllRegistrants {
            // every registrant shares such a reservation: a ticket would be a holder too
            return (.courtesy, "fairness=fifo is for exclusive locks (type 1 or 3); type \(type.rawValue) is shared: courtesy instead")
        }
        if TicketKey.fits(key) { return (.fifo, nil) }
        return (.courtesy, "fairness=fifo needs a key of at most 8 hex digits (a ticket takes the upper 32 bits); "
                + "\(key) is wider: courtesy instead")
    }
}

/// What `SettingsLoader.checkOwnership` needs to know about the configuration file that was read.
public struct ConfigOwnership: Sendable, Equatable {
    public var uid: UInt32
    public var mode: UInt32
    public var untrustedDirectory: String?
}

/// The settings this version understands, with how to parse each. Unknown names get a warning,
/// because a typo (`max_lock_wiat=60`) must not silently leave the default in place.
enum SettingName: String, CaseIterable {
    case key, type, aptpl, initiator, backend
    case initiatorPorts = "initiator_ports"
    case debugLog = "debug_log"
    case debugFile = "debug_file"
    case maxLockWait = "max_lock_wait"
    case commandTimeout = "command_timeout"
    case lockRetryInitial = "lock_retry_initial"
    case lockRetryMax = "lock_retry_max"
    case simType = "sim_type"
    case runDir = "run_dir"
    case allowSharedLock = "allow_shared_lock"
    case fairness
    /// The original script's path to sg_persist: accepted and ignored (we talk to the device ourselves).
    case sgPersist = "SG_PERSIST"
}

/// Value parsers shared by the configuration file and the command-line options, so both accept
/// exactly the same spellings and give the same messages.
public enum SettingValue {
    /// A key as the contract allows: 1-16 hex digits, optional 0x, not zero.
    public static func key(_ text: String) -> Result<ReservationKey, StorageCtlError> {
        do {
            let key = try ReservationKey.parse(text)
            if key.rawValue == 0 {
                return .failure(.usage("invalid key '\(OutputText.argument(text))': zero is not a reservation key (it means 'none' to the device)"))
            }
            return .success(key)
        } catch {
            return .failure(.usage("invalid key '\(OutputText.argument(text))': \(error)"))
        }
    }

    public static func type(_ text: String) -> Result<ReservationType, StorageCtlError> {
        if let type = ReservationType.parse(text) { return .success(type) }
        return .failure(.usage("invalid reservation type '\(OutputText.argument(text))': use 1, 3, 5, 6, 7, 8 or wr-ex, ex-ac, wr-ex-ro, ex-ac-ro, wr-ex-ar, ex-ac-ar"))
    }

    /// A non-negative number of seconds (`1800`, `0.5`); no sign, no exponent, no inf/nan.
    public static func seconds(_ text: String, what: String, allowZero: Bool = true) -> Result<Double, StorageCtlError> {
        let scalars = Array(text.unicodeScalars)
        var digitsBefore = 0, digitsAfter = 0, sawDot = false, ok = !scalars.isEmpty
        for c in scalars {
            if ("0"..."9").contains(c) { if sawDot { digitsAfter += 1 } else { digitsBefore += 1 } }
            else if c == ".", !sawDot { sawDot = true }
            else { ok = false; break }
        }
        if sawDot && digitsAfter == 0 { ok = false }
        guard ok, digitsBefore > 0, let value = Double(text), value.isFinite else {
            return .failure(.usage("invalid \(what) '\(OutputText.argument(text))': expected a number of seconds, 0 or more"))
        }
        guard value <= 315_360_000 else {
            return .failure(.usage("invalid \(what) '\(OutputText.argument(text))': too large (at most 315360000 s, ten years)"))
        }
        if !allowZero && value == 0 {
            return .failure(.usage("invalid \(what) '\(OutputText.argument(text))': must be more than 0"))
        }
        return .success(value)
    }

    /// A retry delay of `lock`: at least 1 ms, so a waiter can never poll the device in a tight loop
    /// (a delay that rounds to 0 ns once sent thousands of PR commands a second).
    public static func retryDelay(_ text: String, what: String) -> Result<Double, StorageCtlError> {
        seconds(text, what: what).flatMap { value in
            value >= 0.001 ? .success(value)
                : .failure(.usage("invalid \(what) '\(OutputText.argument(text))': must be at least 0.001 (1 ms)"))
        }
    }

    /// `initiator_ports=`: initiator ports separated by spaces (TransportID.parse(port:)); empty: none.
    public static func ports(_ text: String) -> Result<[TransportID], StorageCtlError> {
        var ports: [TransportID] = []
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            guard let port = TransportID.parse(port: String(word)) else {
                return .failure(.usage("invalid initiator port '\(OutputText.argument(String(word)))' in initiator_ports: "
                    + "use NAME,i,0xISID (iSCSI), fcp,HEX16 (Fibre Channel) or sas,HEX16 (SAS), separated by spaces"))
            }
            ports.append(port)
        }
        return .success(ports)
    }

    public static func flag(_ text: String, what: String) -> Result<Bool, StorageCtlError> {
        switch text {
        case "0", "no", "false", "off": return .success(false)
        case "1", "yes", "true", "on": return .success(true)
        default: return .failure(.usage("invalid \(what) '\(OutputText.argument(text))': expected 0 or 1"))
        }
    }

    public static func backend(_ text: String, what: String) -> Result<ReservationBackend, StorageCtlError> {
        guard let backend = ReservationBackend(rawValue: text) else {
            return .failure(.usage("invalid \(what) '\(OutputText.argument(text))': expected sgio or block"))
        }
        return .success(backend)
    }

    public static func simType(_ text: String) -> Result<PeripheralDeviceType, StorageCtlError> {
        switch text {
        case "tape": return .success(.tape)
        case "disk": return .success(.disk)
        default: return .failure(.usage("invalid sim_type '\(OutputText.argument(text))': expected tape or disk"))
        }
    }
}

extension Settings {
    /// Applies a parsed file. Errors name `file:line`; warnings (unknown names) are returned.
    public mutating func apply(_ file: ConfigFile) throws(StorageCtlError) -> [String] {
        var warnings: [String] = []
        func fail(_ entry: ConfigFile.Entry, _ error: StorageCtlError) -> StorageCtlError {
            StorageCtlError(.usage, "\(OutputText.argument(file.path)):\(entry.line): \(error.message)")
        }
        for entry in file.entries {
            if entry.name.hasPrefix("host_") {
                let keyText = String(entry.name.dropFirst(5))
                switch SettingValue.key(keyText) {
                case .success(let key):
                    if entry.value.isEmpty { throw fail(entry, .usage("\(entry.name): empty name")) }
                    hostNames[key] = entry.value
                case .failure(let error): throw fail(entry, error)
                }
                continue
            }
            guard let name = SettingName(rawValue: entry.name) else {
                let meant = Suggestion.closest(to: entry.name, among: SettingName.allCases.map(\.rawValue))
                warnings.append("\(OutputText.argument(file.path)):\(entry.line): warning: unknown setting '\(OutputText.argument(entry.name))' ignored"
                                + (meant.map { "; did you mean \($0)?" } ?? ""))
                continue
            }
            do throws(StorageCtlError) {
                try apply(name, entry.value)
            } catch {
                throw fail(entry, error)
            }
        }
        return warnings
    }

    mutating func apply(_ name: SettingName, _ value: String) throws(StorageCtlError) {
        switch name {
        case .key: key = try SettingValue.key(value).get()
        case .type: type = try SettingValue.type(value).get()
        case .aptpl: aptpl = try SettingValue.flag(value, what: "aptpl").get()
        case .debugLog: debugLog = try SettingValue.flag(value, what: "debug_log").get()
        case .debugFile:
            if value.isEmpty { throw .usage("debug_file: empty path") }
            // A C path ends at the first NUL: "/a\0/b" would silently be "/a".
            if value.utf8.contains(0) { throw .usage("debug_file: a path cannot contain a NUL byte") }
            debugFile = value
        case .initiator:
            if value.isEmpty { throw .usage("initiator: empty name") }
            if let problem = SimulatedLU.initiatorNameProblem(value) { throw .usage("initiator: \(problem)") }
            initiator = value
        case .initiatorPorts: initiatorPorts = try SettingValue.ports(value).get()
        case .backend: backend = try SettingValue.backend(value, what: "backend").get()
        case .maxLockWait: maxLockWait = try SettingValue.seconds(value, what: "max_lock_wait").get()
        case .commandTimeout: commandTimeout = try SettingValue.seconds(value, what: "command_timeout", allowZero: false).get()
        case .lockRetryInitial: lockRetryInitial = try SettingValue.retryDelay(value, what: "lock_retry_initial").get()
        case .lockRetryMax: lockRetryMax = try SettingValue.retryDelay(value, what: "lock_retry_max").get()
        case .simType: simType = try SettingValue.simType(value).get()
        case .runDir:
            guard value.hasPrefix("/") else { throw .usage("run_dir: must be an absolute path") }
            runDirectory = value
        case .sgPersist: break
        case .allowSharedLock: allowSharedLock = try SettingValue.flag(value, what: "allow_shared_lock").get()
        case .fairness:
            guard let mode = Fairness(rawValue: value) else {
                throw .usage("invalid fairness '\(OutputText.argument(value))': expected courtesy or fifo")
            }
            fairness = mode
        }
    }

    /// Why `command` (lock, trylock, preempt: the Bacula lock) must not take a reservation of our `type`, or
    /// nil. Types 5/6 (registrants only) and 7/8 (all registrants) let every registered host use the drive,
    /// and a host whose `lock` waits is registered (its heartbeat): two storage daemons would both "hold" the
    /// drive. Correct SCSI, so `allow_shared_lock=1` allows it for whoever means it; `reserve` is raw and
    /// never refused.
    func sharedLockRefusal(_ command: String) -> StorageCtlError? {
        guard type.isRegistrantsOnly || type.isAllRegistrants, !allowSharedLock else { return nil }
        return .usage("\(command) with type \(type.rawValue) (\(type.name)) is not exclusive: every host registered on "
                      + "the drive, a waiting lock's included, would use it too; use type 1 or 3 (set "
                      + "allow_shared_lock=1 to take a shared lock on purpose)")
    }
}
