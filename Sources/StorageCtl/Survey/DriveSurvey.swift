import BaculaConfig
import PRCore
import ProcessSupport
import Transports

/// Every drive of a storage daemon's `bacula-sd.conf`, each asked what `query` and `status` would ask
/// (INQUIRY, the keys and the holder, this host's standing as `status` reads it (OwnState), its lock record): the one model that `drives`,
/// `drives --json`, `check` and `drives --prometheus` render (DriveReport). A drive that cannot be
/// asked is a row with its error; it never ends the survey.
struct DriveSurvey {
    /// The bacula-sd.conf read, as given or found.
    var configPath: String
    var rows: [Row]

    struct Row {
        var drive: Drive
        /// Other drives of the file naming the same Control Device (shown, not refused: bacula-sd allows it).
        var sharesControlDeviceWith: [String] = []
        /// Why the drive could not be asked (the line a device command would fail with); nil when it answered.
        var error: String?
        var inquiry: StandardInquiryData?
        /// READ KEYS: one entry per registration, in device order.
        var keys: [ReservationKey] = []
        /// Registered keys storage-ctl.conf does not name (`key`, `host_*`), once each.
        var unknownKeys: [ReservationKey] = []
        var reservation: Reservation?
        /// This host's key registered / holding the lock; nil when no key is configured.
        var registered: Bool?
        var locked: Bool?
        /// Registrations with this host's key when it is also registered through another initiator
        /// (`keyinitiators=` as in `status`); 0 otherwise.
        var keyInitiators = 0
        /// Keys registered through initiators that may be more than one host (OwnState.keysOnSeveralHosts).
        var keysOnSeveralHosts: [(key: ReservationKey, count: Int)] = []
        /// Our key through this host's other live paths, and through paths of this host that are gone;
        /// its registrations through live paths, this one included (OwnState.pathsWithOurKey).
        var livePaths: [Nexus] = []
        var stalePaths: [Nexus] = []
        var pathsWithOurKey = 0
        /// Whole seconds this host has held the drive, by its lock record; nil when unknown.
        var heldFor: Int64?
        /// Hosts waiting in line (`fairness=fifo`), oldest first.
        var waiters: [TicketKey] = []

        var isUp: Bool { error == nil }

        /// The Lock Command runs storage-ctl (its first word's last component).
        var lockCommandIsStorageCtl: Bool {
            guard let command = drive.lockCommand,
                  let program = command.split(separator: " ", omittingEmptySubsequences: true).first else { return false }
            return program.split(separator: "/").last == "storage-ctl"
        }
    }

    /// Reads `bacula-sd.conf` (`-C FILE`, else the first of `BaculaConfig.defaultPaths` that exists):
    /// a file it cannot read or parse is a configuration error (exit 2) naming `file:line`.
    /// `timeout`: the survey's `--timeout` (its deadline and the seconds given), which reading the file and
    /// its includes counts against too: a reader that stops at it (`DeadlineConfigFiles`).
    static func drives(configPath: String?, timeout: (deadline: ContinuousClock.Instant, seconds: Double)? = nil)
        throws(StorageCtlError) -> (path: String, drives: [Drive]) {
        let path: String
        if let configPath {
            if configPath.isEmpty { throw .usage("empty bacula-sd.conf name (-C '')") }
            // BaculaConfig reads paths as text; bytes that are not UTF-8 cannot be named to it faithfully.
            guard let bytes = ArgumentBytes.original(of: configPath) else {
                throw .usage(ArgumentBytes.ambiguity("-C", shown: OutputText.argument(configPath)))
            }
            guard String(validating: bytes, as: UTF8.self) != nil else {
                throw .usage("-C \(OutputText.escaped(bytes: bytes, limit: OutputText.echoLimit)): a bacula-sd.conf path must be UTF-8 text (Bacula's own reader takes text)")
            }
            path = configPath
        } else {
            guard let found = BaculaConfig.defaultPaths.first(where: Posix.fileExists) else {
                throw .usage("no bacula-sd.conf at \(BaculaConfig.defaultPaths.joined(separator: " or ")); name one with -C FILE")
            }
            path = found
        }
        do {
            // Relative paths (FILE and `@` includes) are taken from the working directory, as bacula-sd does.
            let reader: any ConfigFileReader = timeout.map { DeadlineConfigFiles(deadline: $0.deadline, seconds: $0.seconds) }
                ?? FileSystemConfigFiles()
            return (path, try BaculaConfig.drives(in: BaculaConfig.parse(path: path, reader: reader)))
        } catch {
            throw .usage(OutputText.escaped(error.description, limit: 2 * OutputText.echoLimit))
        }
    }

    /// Asks every drive, in the file's order. `open` opens one Control Device (the CLI's `openDevice`
    /// with this invocation's options); `records` gives this host's lock record of a drive, if any.
    /// A stop signal between two drives ends the survey (exit 5).
    static func survey(configPath: String, drives: [Drive], settings: Settings,
                       open: (String) throws(StorageCtlError) -> any PersistentReservationDevice,
                       records: (String, ReservationKey) -> LockRecordStore?,
                       pendingStop: () -> Int32?) throws(StorageCtlError) -> DriveSurvey {
        var rows: [Row] = []
        for drive in drives {
            if let signal = pendingStop() {
                throw StorageCtlError(.interrupted, "interrupted by \(ProcessSignals.name(signal)) while asking the drives; nothing was changed")
            }
            var row = Row(drive: drive)
            row.sharesControlDeviceWith = drives.filter { $0.name != drive.name && $0.controlDevice == drive.controlDevice }.map(\.name)
            do throws(StorageCtlError) {
                try ask(Device(open(drive.controlDevice)), into: &row, settings: settings, records: records)
            } catch {
                row.error = error.message
            }
            rows.append(row)
        }
        return DriveSurvey(configPath: configPath, rows: rows)
    }

    private static func ask(_ device: Device, into row: inout Row, settings: Settings,
                            records: (String, ReservationKey) -> LockRecordStore?) throws(StorageCtlError) {
        row.inquiry = try device.inquiry()
        if let key = settings.key {
            // this host's standing read as `status` reads it, the keys and the holder with it
            let own = try OwnState.read(Locker(device: device, key: key, type: settings.type, aptpl: settings.aptpl, settings: settings))
            (row.keys, row.reservation, row.waiters) = (own.keys, own.reservation, own.waiters)
            (row.registered, row.locked) = (own.registered, own.locked)
            row.keyInitiators = own.elsewhere ? own.keyRegistrations : 0
            row.keysOnSeveralHosts = own.keysOnSeveralHosts(ourKey: key)
            (row.livePaths, row.stalePaths, row.pathsWithOurKey) = (own.livePaths, own.stalePaths, own.pathsWithOurKey)
            if own.locked { row.heldFor = records(row.drive.controlDevice, key)?.heldFor() }
        } else {
            let keys = try device.readKeys().keys
            (row.keys, row.waiters) = (keys.map(TicketKey.configuredKey), TicketKey.line(in: keys))
            row.reservation = try device.readReservation().reservation
            row.keysOnSeveralHosts = row.keys.registeredMoreThanOnce
        }
        row.unknownKeys = settings.unknownKeys(among: row.keys)
    }

    var unreachable: [Row] { rows.filter { !$0.isUp } }
    var withUnknownKeys: [Row] { rows.filter { !$0.unknownKeys.isEmpty } }
}

/// Files on disk, read only until the survey's deadline: a bacula-sd.conf of thousands of `@` includes (or
/// long chains of symbolic links) takes seconds to read, and a monitoring system kills a check that
/// outlives its own timeout, learning nothing. Every file read (the main one, each include) checks it.
struct DeadlineConfigFiles: ConfigFileReader {
    let deadline: ContinuousClock.Instant
    let seconds: Double

    func contents(of path: String, limit: Int) throws(ConfigReadFailure) -> [UInt8] {
        guard ContinuousClock.now < deadline else {
            throw ConfigReadFailure("not read: the survey's --timeout of \(DriveReport.seconds(seconds)) s ran out while reading the configuration")
        }
        return try FileSystemConfigFiles().contents(of: path, limit: limit)
    }
}
