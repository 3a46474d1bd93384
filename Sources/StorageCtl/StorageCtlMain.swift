#if canImport(Glibc)
import Glibc
#endif
import PRCore
import ProcessSupport
import Transports

/// `storage-ctl [OPTIONS] DEVICE COMMAND [ARGS]`: parse, run one verb, report. `main.swift` only
/// calls `run` and exits with what it returns.
public enum StorageCtlMain {
    public static let version = "1.0.0"

    /// Everything the process touches, injectable so tests can drive the CLI in-process.
    public struct Environment {
        public var variable: (String) -> String?
        /// DEVICE to reservation device: `ReservationDevices.open`, the one place a backend is chosen.
        public var openDevice: (String, DeviceRequest) throws(TransportError) -> any PersistentReservationDevice
        public var sleeper: () -> (Duration) -> Int32?
        /// Takes a stop signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) that arrived and is pending, if any.
        public var pendingStop: () -> Int32? = { nil }
        /// The boot clock of lock records (hold ages, courtesy, waiters): CLOCK_BOOTTIME and this boot's id;
        /// tests set their own.
        public var bootClock: BootClock = .live

        public init(variable: @escaping (String) -> String?,
                    openDevice: @escaping (String, DeviceRequest) throws(TransportError) -> any PersistentReservationDevice,
                    sleeper: @escaping () -> (Duration) -> Int32?, pendingStop: @escaping () -> Int32? = { nil }) {
            self.variable = variable
            self.openDevice = openDevice
            self.sleeper = sleeper
            self.pendingStop = pendingStop
        }

        /// A transport of the caller's own (a logging or scripted LU in tests) behind the SCSI implementation.
        public init(variable: @escaping (String) -> String?,
                    openDevice openTransport: @escaping (String, DeviceOptions) throws(TransportError) -> any SCSITransport,
                    sleeper: @escaping () -> (Duration) -> Int32?, pendingStop: @escaping () -> Int32? = { nil }) {
            self.init(variable: variable,
                      openDevice: { (path, request) throws(TransportError) in
                          ReservationDevices.scsi(try openTransport(path, request.options), path: path, request)
                      },
                      sleeper: sleeper, pendingStop: pendingStop)
        }

        public static var live: Environment {
            Environment(
                variable: Posix.environment,
                // DEVICE is opened by the bytes given in argv, not by a repaired String (ArgumentBytes).
                openDevice: { (path, request) throws(TransportError) in
                    guard let bytes = ArgumentBytes.original(of: path) else {
                        throw TransportError(.other, ArgumentBytes.ambiguity("DEVICE", shown: OutputText.argument(path)))
                    }
                    return try DeviceResolver.withOpenablePath(bytes) { (openable: String) throws(TransportError) in
                        try ReservationDevices.open(openable, request)
                    }
                },
                sleeper: {
                    let sleeper = SignalSleeper()
                    return { sleeper.sleep($0) }
                },
                pendingStop: ProcessSignals.takePendingStop)
        }
    }

    /// Runs with the process's argv; returns the exit status. (`main` runs the sg_persist personality
    /// instead when invoked as `sg_persist` or with `persist` first.)
    ///
    /// Before anything is opened: the standard descriptors are made safe and SIGPIPE is ignored
    /// (`ProcessStart`, as the sg_persist personality does), and every signal that would end the
    /// process is blocked for good (`ProcessSignals`), so no signal can end it between a RESERVE and
    /// the exit status that reports it.
    public static func run(_ argv: [String]) -> Int32 {
        let descriptorsSafe = ProcessStart.prepare()
        var out = FDOutput(fd: 1)
        let arguments = Array(argv.dropFirst())
        ProcessSignals.holdTerminating()
        guard descriptorsSafe else { return ExitCode.outputFailed.rawValue }
        // stderr lines (progress while waiting, notes) leave at once; stdout in one write at the end.
        // A stderr line that cannot be written is lost: it never changes what the status reports.
        let stderrLine = { (line: String) in _ = Posix.write(2, line + "\n") }
        var (status, failureReported) = runReporting(arguments, environment: .live, stdout: &out, stderrLine: stderrLine)
        out.flush()
        if let failure = out.failure, !failureReported {
            stderrLine("storage-ctl: cannot write standard output: \(failure)")
            // the plugin's statuses are 0-3 only: an output lost is its UNKNOWN
            status = CheckCommand.isRequested(arguments) ? Self.pluginUnknown : .outputFailed
        }
        return status.rawValue
    }

    /// The CLI proper: arguments without argv[0]. Each stderr line (without newline, already
    /// prefixed `storage-ctl: `) goes to `stderrLine` as soon as it is known.
    public static func run(_ arguments: [String], environment: Environment,
                           stdout: inout some TextOutputStream, stderrLine: @escaping (String) -> Void) -> Int32 {
        runReporting(arguments, environment: environment, stdout: &stdout, stderrLine: stderrLine).status.rawValue
    }

    /// As `run`, also saying whether a failure line was printed (then a failed stdout adds no second one).
    static func runReporting(_ arguments: [String], environment: Environment, stdout: inout some TextOutputStream,
                             stderrLine: @escaping (String) -> Void) -> (status: ExitCode, failureReported: Bool) {
        let line = { (text: String) in stderrLine("storage-ctl: " + OutputText.oneLine(text)) }
        do {
            return (try execute(arguments, environment: environment, stdout: &stdout, stderrLine: line), false)
        } catch {
            line(error.message)
            // A monitoring system reads the plugin's stdout and status: any failure is its UNKNOWN (3).
            if CheckCommand.isRequested(arguments) {
                stdout.write(DriveReport.checkUnknown(error.message))
                return (pluginUnknown, true)
            }
            return (error.exitCode, true)
        }
    }

    /// `check`'s UNKNOWN as an exit status (3).
    static let pluginUnknown = ExitCode(rawValue: DriveReport.PluginState.unknown.rawValue) ?? .device

    static func execute(_ arguments: [String], environment: Environment, stdout: inout some TextOutputStream,
                        stderrLine: @escaping (String) -> Void) throws(StorageCtlError) -> ExitCode {
        let invocation = try Invocation.parse(arguments)
        if invocation.help { stdout.write(help()); return .ok }
        if invocation.version { stdout.write("storage-ctl \(version)\n"); return .ok }

        var positionals = invocation.positionals
        guard !positionals.isEmpty else {
            throw .usage("missing DEVICE and COMMAND (usage: storage-ctl [OPTIONS] DEVICE COMMAND; try 'storage-ctl --help')")
        }
        // `storage-ctl help`, `storage-ctl /dev/sg0 help`: the habit of git and friends (a
        // DEVICE named help, followed by a command, still works)
        let commandWord = positionals.count == 1 ? positionals[0] : positionals[1]
        if commandWord == "help" || commandWord == "version" {
            throw .usage("unknown command '\(commandWord)'; did you mean storage-ctl --\(commandWord)?")
        }
        if let command = DevicelessCommands.named(positionals[0]) {
            if invocation.abort { throw .usage("--abort goes with preempt only") }
            try DevicelessCommands.refuseForeignOptions(invocation, for: command.name)
            return try command.run(invocation, environment: environment, stdout: &stdout, stderrLine: stderrLine)
        }
        try DevicelessCommands.refuseForeignOptions(invocation, for: nil)
        let devicePath = positionals.removeFirst()
        // A usage error, not a device error: nothing was named, so there is nothing to open
        // (Bacula's unset Control Device is *None*, refused as a device error when opened).
        if devicePath.isEmpty {
            throw .usage("DEVICE is empty (''): name /dev/sgN, a SCSI disk, a tape node or a simulated drive's file")
        }
        // DEVICE as every message shows it: escaped, capped (OutputText.argument).
        guard let deviceBytes = ArgumentBytes.original(of: devicePath) else {
            throw .usage(ArgumentBytes.ambiguity("DEVICE", shown: OutputText.argument(devicePath)))
        }
        let shownDevice = OutputText.escaped(bytes: deviceBytes, limit: OutputText.echoLimit)
        guard !positionals.isEmpty else {
            if Verbs.named(devicePath) != nil {
                throw .usage("\(shownDevice): missing DEVICE (usage: storage-ctl [OPTIONS] DEVICE \(shownDevice))")
            }
            if let meant = suggestion(for: devicePath, among: Verbs.all.map { $0.name } + DevicelessCommands.all.map { $0.name }) {
                let usage = DevicelessCommands.named(meant) != nil ? "storage-ctl \(meant)" : "storage-ctl DEVICE \(meant)"
                throw .usage("missing COMMAND after DEVICE \(shownDevice) (did you mean \(usage)?)")
            }
            throw .usage("missing COMMAND after DEVICE \(shownDevice) (try 'storage-ctl --help')")
        }
        let commandName = positionals.removeFirst()
        guard let verbType = Verbs.named(commandName) else {
            if Verbs.named(devicePath) != nil {
                throw .usage("unknown command '\(OutputText.argument(commandName))': DEVICE comes first (storage-ctl DEVICE \(shownDevice))")
            }
            if DevicelessCommands.named(commandName) != nil || commandName == "persist" {
                throw .usage("\(commandName) takes no DEVICE before it (usage: storage-ctl \(commandName == "persist" ? "persist [sg_persist OPTIONS] DEVICE" : "[OPTIONS] \(commandName)"))")
            }
            if let meant = suggestion(for: commandName, among: Verbs.all.map { $0.name }) {
                throw .usage("unknown command '\(OutputText.argument(commandName))'; did you mean \(meant)? (try 'storage-ctl --help')")
            }
            throw .usage("unknown command '\(OutputText.argument(commandName))' (try 'storage-ctl --help')")
        }
        guard verbType.argumentCount.contains(positionals.count) else {
            if positionals.count > verbType.argumentCount.upperBound {
                throw .usage("\(commandName): unexpected argument '\(OutputText.argument(positionals[verbType.argumentCount.upperBound]))' (usage: storage-ctl DEVICE \(verbType.synopsis))")
            }
            throw .usage("\(commandName): missing argument (usage: storage-ctl DEVICE \(verbType.synopsis))")
        }
        if invocation.json && !verbType.supportsJSON { throw .usage("--json is not available for \(commandName)") }
        if invocation.abort && verbType != PreemptVerb.self { throw .usage("--abort goes with preempt only") }
        let verb = try verbType.init(arguments: positionals, invocation: invocation)

        var settings = try SettingsLoader.load(invocation, environment: environment.variable, warn: stderrLine)
        if verbType.changesState {
            guard settings.key != nil else { throw SettingsLoader.missingKey(commandName, settings) }
            try SettingsLoader.checkOwnership(settings)
        }
        // the Bacula lock is exclusive: a type every registrant shares is refused before anything is sent
        if verbType.takesLock, verbType != ReserveVerb.self, let refusal = settings.sharedLockRefusal(commandName) {
            throw refusal
        }
        if settings.initiator == nil { settings.initiator = HostInitiator.derived() }

        let tracer = CommandTracer(device: shownDevice, verb: commandName, verbose: invocation.verbose,
                                   debugFile: settings.debugLog ? settings.debugFile : nil,
                                   traceLine: stderrLine, warn: stderrLine)
        // lock's budget also bounds waits for a simulated LU's file lock (SCSIReservationDevice.lockDeadline).
        let lockDeadline = verbType == LockVerb.self ? ContinuousClock.now + Duration(seconds: settings.maxLockWait) : nil
        var request = DeviceRequest(settings, verbose: invocation.verbose, tracer: tracer, displayPath: shownDevice,
                                    lockDeadline: lockDeadline)
        // Only `create` makes a simulated drive; every other command refuses an empty file, unwritten.
        request.options.createSimulatedLU = verbType == CreateVerb.self
        // A Control Device is followed by the drive it reached (PathMemory); only the lock verbs write that down.
        let runDirectory = settings.runDirectory ?? LockRecordStore.defaultDirectory(environment: environment.variable)
        if let runDirectory, LockRecordStore.directoryProblem(runDirectory) == nil {
            request.pathMemory = PathMemory(files: RunDirectory(directory: runDirectory, trace: { tracer.note($0) }),
                                            mayWrite: verbType.changesState)
        }
        request.note = { stderrLine("\(shownDevice): \($0)") }
        let device: any PersistentReservationDevice
        do {
            device = try environment.openDevice(devicePath, request)
        } catch {
            tracer.record("open failed: \(error.message)")
            throw Device.error(SCSIReservationDevice.transportFailure(shownDevice, "", error, lockDeadline: lockDeadline))
        }
        // A stop signal that came before any SCSI command was sent (opening can wait: a simulated LU's
        // lock, a slow device node): stop here, nothing done.
        if let signal = environment.pendingStop() {
            tracer.record("\(ProcessSignals.name(signal)) before any command was sent")
            throw StorageCtlError(.interrupted, "\(shownDevice): interrupted by \(ProcessSignals.name(signal)) before \(commandName) sent any command; nothing was done")
        }
        if invocation.verbose, let note = device.resolutionNote {
            stderrLine("\(shownDevice): \(note)")
        }
        // said by status (not only under -v): without records there are no hold ages and no fairness
        if verbType == StatusVerb.self, !invocation.json, let problem = LockRecordStore.directoryProblem(runDirectory) {
            stderrLine("\(shownDevice): note: \(LockRecordStore.recordsOffNote(problem))")
        }
        let records = { () -> LockRecordStore? in
            guard let runDirectory else { return nil }
            return settings.key.flatMap { key in
                // by DEVICE's own bytes: a repaired String would name another file
                LockRecordStore(directory: runDirectory, devicePathBytes: deviceBytes, key: key, clock: environment.bootClock,
                                trace: { tracer.note($0) })
            }
        }
        let context = VerbContext(device: device, settings: settings, json: invocation.json,
                                  tracer: tracer.isActive ? tracer : nil, note: stderrLine,
                                  sleeperFactory: environment.sleeper, lockRecords: records)
        do {
            let code = try verb.run(context)
            // A stop signal that came while the verb sent its SCSI: the verb finished, and its status
            // tells what it did; say so. (One that came during `lock`'s wait ended the wait: exit 5.)
            if let signal = environment.pendingStop() {
                let done = verbType.takesLock && code == .ok ? ": we hold the lock" : ", which was completed"
                context.note("\(ProcessSignals.name(signal)) came too late to stop \(commandName)\(done)")
            }
            stdout.write(context.stdout)
            tracer.record("exit \(code.rawValue)")
            return code
        } catch {
            stdout.write(context.stdout)
            tracer.record("exit \(error.exitCode.rawValue): \(error.message)")
            throw error
        }
    }

    static func help() -> String {
        var text = """
        usage: storage-ctl [OPTIONS] DEVICE COMMAND [ARGS]
               storage-ctl [OPTIONS] scan
               storage-ctl [OPTIONS] [-C bacula-sd.conf] drives [--json | --prometheus] [--timeout S]
               storage-ctl [OPTIONS] [-C bacula-sd.conf] check [--held-warning S] [--held-critical S] [--timeout S]
               storage-ctl persist [sg_persist OPTIONS] DEVICE
               storage-ctl --help | --version

        Shares tape drives and disks between hosts with SCSI-3 persistent reservations.
        Bacula: Lock Command = "/opt/bacula/scripts/storage-ctl %l %o"

        DEVICE is /dev/sgN, a SCSI disk (/dev/sdX, /dev/disk/by-id/...), a tape node
        (/dev/nstN, /dev/stN; its sg node is used), or a regular file: a simulated
        logical unit, made by storage-ctl FILE create (an empty file is not one).

        Commands:

        """
        for verb in Verbs.all {
            text += "  " + pad(verb.synopsis, 22) + verb.summary + "\n"
        }
        for command in DevicelessCommands.all {
            text += "  " + pad(command.name, 22) + command.summary + "\n"
        }
        text += "\nOptions:\n"
        for option in Invocation.Option.allCases where !option.help.isEmpty {
            // a usage too long for its column gets a line of its own
            if option.usage.count >= 22 { text += "  " + option.usage + "\n" }
            for (i, line) in option.help.enumerated() {
                text += "  " + pad(i == 0 && option.usage.count < 22 ? option.usage : "", 22) + line + "\n"
            }
        }
        text += """

        Output: results go to stdout and nowhere else. stderr carries notes (unlock when
        not holding; what clear and preempt removed; audit's count), a waiting lock's
        progress lines (one when it starts waiting, at most one every 30 s, one saying
        how long it waited when it gets the drive), warnings (unknown settings; a
        debug_file that cannot be written: one line a run) and -v traces. A failure
        adds exactly one line, always the last one: storage-ctl: DEVICE: what happened.

        Exit status:
          0  done (lock, trylock: we hold the lock)
          1  busy: another key holds the lock, or the device refused the command with
             RESERVATION CONFLICT (preempt: KEY is not registered); audit: unknown keys,
             or our key registered through more than one initiator
          2  usage or configuration error
          3  device error (cannot open, not SCSI, no PR support, SCSI or I/O error, timeout);
             drives: some drive could not be asked (its row says why)
          4  lock gave up after max_lock_wait
          5  interrupted by SIGINT, SIGTERM, SIGHUP or SIGQUIT while waiting or before the
             first command; nothing was taken
          6  our initiator is already registered under another key: two storage daemons
             share one initiator (set initiator=) or key= was changed
          7  output could not be written (stdout: full disk, closed or broken pipe)

        check exits as a Nagios plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

        """
        return text
    }

    /// The command `word` was probably meant to be (`lcok` -> `lock`): one typo away (a letter
    /// wrong, missing, extra, or two swapped), two for longer names; nil when nothing is that close.
    static func suggestion(for word: String, among names: [String]) -> String? {
        let typed = Array(word.lowercased().unicodeScalars)
        guard typed.count <= 32 else { return nil }
        var best: (name: String, distance: Int)? = nil
        for name in names {
            let d = editDistance(typed, Array(name.unicodeScalars))
            if d <= (name.count > 5 ? 2 : 1), d < (best?.distance ?? .max) { best = (name, d) }
        }
        return best?.name
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    /// neighbours each cost 1.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}
