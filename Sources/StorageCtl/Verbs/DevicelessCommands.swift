import PRCore
import ProcessSupport
import Transports

/// A command that takes no DEVICE (`storage-ctl [OPTIONS] scan`): it finds its devices itself. The
/// table `DevicelessCommands.all` is what `StorageCtlMain.execute` dispatches on, `--help` lists and
/// `DocsInStepTests` holds the README and the man page to, as `Verbs.all` is for the DEVICE commands.
protocol DevicelessCommand: Sendable {
    static var name: String { get }
    /// `--help`'s one line.
    static var summary: String { get }
    /// The options that belong to this command (`--prometheus` to drives); others refuse them.
    static var ownOptions: [Invocation.Option] { get }
    /// Short letters that mean one of `ownOptions` after this command's name (`check -w`).
    static var shortOptions: [Character: Invocation.Option] { get }
    static func run<Out: TextOutputStream>(_ invocation: Invocation, environment: StorageCtlMain.Environment,
                                           stdout: inout Out, stderrLine: @escaping (String) -> Void) throws(StorageCtlError) -> ExitCode
}

extension DevicelessCommand {
    static var shortOptions: [Character: Invocation.Option] { [:] }
}

enum DevicelessCommands {
    static let all: [any DevicelessCommand.Type] = [ScanVerb.self, DrivesCommand.self, CheckCommand.self]

    static func named(_ name: String) -> (any DevicelessCommand.Type)? {
        all.first { $0.name == name }
    }

}

/// What `drives` and `check` share: reading both configurations and asking every drive.
enum DriveSurveying {
    static func survey(_ invocation: Invocation, command: String, environment: StorageCtlMain.Environment,
                       stderrLine: @escaping (String) -> Void) throws(StorageCtlError) -> (DriveSurvey, Settings, recordsOff: String?) {
        if invocation.positionals.count > 1 {
            throw .usage("\(command) takes no arguments: it reads the drives from bacula-sd.conf (-C FILE)")
        }
        // --timeout: one deadline for the whole survey. Each drive's commands get what is left of it (at
        // most command_timeout); a drive reached after it is a row saying so, not a command sent.
        let limit = try invocation.timeout.map { (text: String) throws(StorageCtlError) -> Double in
            try SettingValue.seconds(text, what: "--timeout", allowZero: false).get()
        }
        let deadline = limit.map { ContinuousClock.now + Duration.milliseconds(Int64(($0 * 1000).rounded(.up))) }
        var settings = try SettingsLoader.load(invocation, environment: environment.variable, warn: stderrLine)
        if settings.initiator == nil { settings.initiator = HostInitiator.derived() }
        let (path, drives) = try DriveSurvey.drives(configPath: invocation.baculaConfigPath,
                                                    timeout: deadline.flatMap { d in limit.map { (d, $0) } })
        let runDirectory = settings.runDirectory ?? LockRecordStore.defaultDirectory(environment: environment.variable)
        // said by drives and check (not only under -v): without records there are no hold ages and no fairness
        let recordsOff = LockRecordStore.directoryProblem(runDirectory)
        if let recordsOff { stderrLine(LockRecordStore.recordsOffNote(recordsOff)) }
        let survey = try DriveSurvey.survey(
            configPath: path, drives: drives, settings: settings,
            open: { (controlDevice: String) throws(StorageCtlError) -> any PersistentReservationDevice in
                let shown = OutputText.argument(controlDevice)
                var budget = settings
                if let deadline, let limit {
                    let left = deadline - ContinuousClock.now
                    guard left > .zero else {
                        throw StorageCtlError(.device, "\(shown): not asked: the survey's --timeout of \(DriveReport.seconds(limit)) s ran out")
                    }
                    let (seconds, attoseconds) = left.components
                    budget.commandTimeout = min(settings.commandTimeout, Double(seconds) + Double(attoseconds) / 1e18)
                }
                let tracer = CommandTracer(device: shown, verb: command, verbose: invocation.verbose, debugFile: nil,
                                           traceLine: stderrLine, warn: stderrLine)
                do throws(TransportError) {
                    return try environment.openDevice(controlDevice, DeviceRequest(budget, verbose: invocation.verbose,
                                                                                   tracer: tracer, displayPath: shown))
                } catch {
                    throw Device.error(SCSIReservationDevice.transportFailure(shown, "", error, lockDeadline: nil))
                }
            },
            records: { path, key in
                runDirectory.flatMap {
                    LockRecordStore(directory: $0, devicePath: path, key: key, clock: environment.bootClock, trace: { _ in })
                }
            },
            pendingStop: environment.pendingStop)
        return (survey, settings, recordsOff)
    }
}

/// `drives`: every drive of the storage daemon's bacula-sd.conf with what its device says: the
/// listing for the admin (`--json`: the document, `--prometheus`: node_exporter's textfile format).
/// Exit 0 when every drive answered, 3 (one line naming them) when some did not: their rows are in
/// the listing all the same. `--prometheus` exits 0 once the exposition is written: a drive that did
/// not answer is `storage_ctl_drive_up 0`, which is what the alert reads.
enum DrivesCommand: DevicelessCommand {
    static let name = "drives"
    static let summary = "every drive of bacula-sd.conf (-C FILE): device, keys, holder, this host"
    static let ownOptions: [Invocation.Option] = [.baculaConfig, .prometheus, .timeout]

    static func run<Out: TextOutputStream>(_ invocation: Invocation, environment: StorageCtlMain.Environment,
                                           stdout: inout Out, stderrLine: @escaping (String) -> Void) throws(StorageCtlError) -> ExitCode {
        if invocation.json && invocation.prometheus { throw .usage("--json and --prometheus: choose one") }
        let (survey, settings, _) = try DriveSurveying.survey(invocation, command: name, environment: environment, stderrLine: stderrLine)
        if survey.rows.isEmpty {
            stderrLine("\(OutputText.argument(survey.configPath)): no Device resource has a Control Device")
        }
        if invocation.prometheus {
            stdout.write(DriveReport.prometheus(survey, settings: settings))
            return .ok
        }
        stdout.write(invocation.json ? DriveReport.json(survey, settings: settings).serialized() + "\n"
                                     : DriveReport.text(survey, settings: settings))
        let down = survey.unreachable
        if !down.isEmpty {
            // said, not thrown: a listing that could not be written is then exit 7, as for audit
            stderrLine("\(down.count) of \(survey.rows.count) drives could not be asked: "
                       + down.map { OutputText.escaped($0.drive.name) }.joined(separator: ", "))
            return .device
        }
        return .ok
    }
}

/// `check`: the Nagios/Icinga plugin. One status line `STORAGE-CTL OK - ...` with performance data,
/// one line per drive after it, exit 0/1/2/3 for OK/WARNING/CRITICAL/UNKNOWN (DriveReport.check says
/// what each means). Any failure to survey at all (a usage error, a bacula-sd.conf that cannot be read,
/// no drive in it) is UNKNOWN, exit 3, printed by `StorageCtlMain.runReporting`.
enum CheckCommand: DevicelessCommand {
    static let name = "check"
    static let summary = "Nagios/Icinga check of every drive: OK, WARNING, CRITICAL, UNKNOWN (exit 0-3)"
    static let ownOptions: [Invocation.Option] = [.baculaConfig, .heldWarning, .heldCritical, .timeout]
    /// Every Nagios plugin's -w, -c, -t (monitoring-plugins' guidelines): after `check`, not -c FILE.
    static let shortOptions: [Character: Invocation.Option] = ["w": .heldWarning, "c": .heldCritical, "t": .timeout]

    static func run<Out: TextOutputStream>(_ invocation: Invocation, environment: StorageCtlMain.Environment,
                                           stdout: inout Out, stderrLine: @escaping (String) -> Void) throws(StorageCtlError) -> ExitCode {
        if invocation.json { throw .usage("--json is not available for check (drives --json is its document)") }
        var limits = DriveReport.Limits()
        if let text = invocation.heldWarning { limits.heldWarning = try SettingValue.seconds(text, what: "--held-warning").get() }
        if let text = invocation.heldCritical { limits.heldCritical = try SettingValue.seconds(text, what: "--held-critical").get() }
        let (survey, settings, recordsOff) = try DriveSurveying.survey(invocation, command: name, environment: environment, stderrLine: stderrLine)
        if survey.rows.isEmpty {
            throw .usage("\(OutputText.argument(survey.configPath)): no Device resource has a Control Device: nothing to check")
        }
        let (text, state) = DriveReport.check(survey, settings: settings, limits: limits,
                                              recordsOff: recordsOff.map(LockRecordStore.recordsOffNote))
        stdout.write(text)
        return ExitCode(rawValue: state.rawValue) ?? .device
    }

    /// Whether `arguments` ask for `check` (so a failure is reported as the plugin's UNKNOWN).
    static func isRequested(_ arguments: [String]) -> Bool {
        if let invocation = try? Invocation.parse(arguments) { return invocation.positionals.first == name }
        return arguments.contains(name)
    }
}

extension DeviceRequest {
    /// The request a DEVICE is opened with under `settings` (`lockDeadline`: lock's budget, which also
    /// bounds waits for a simulated LU's file lock).
    init(_ settings: Settings, verbose: Bool, tracer: CommandTracer?, displayPath: String,
         lockDeadline: ContinuousClock.Instant? = nil) {
        let options = DeviceOptions(initiatorName: settings.initiator ?? "", simDeviceType: settings.simType,
                                    verbose: verbose,
                                    openTimeout: SCSIReservationDevice.commandTimeout(seconds: settings.commandTimeout),
                                    lockDeadline: lockDeadline)
        self.init(options: options, commandTimeout: settings.commandTimeout,
                  tracer: tracer?.isActive == true ? tracer : nil, type: settings.type, displayPath: displayPath)
        initiatorPorts = settings.initiatorPorts
        backend = settings.backend
    }
}
