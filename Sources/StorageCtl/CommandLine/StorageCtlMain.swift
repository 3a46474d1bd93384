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
            // A monitoring system reads the plugin's stdout and status: any failure is its UNKNOWN (3),
            // said once, on stdout (Icinga shows stdout and stderr together: a second copy is noise).
            if CheckCommand.isRequested(arguments) {
                stdout.write(DriveReport.checkUnknown(error.message))
                return (pluginUnknown, false)
            }
            line(error.message)
            return (error.exitCode, true)
        }
    }

    /// `storage-ctl [-c FILE] [--initiator NAME] persist [sg_persist OPTIONS] DEVICE`: the sg_persist
    /// personality, whose options are sg_persist's; storage-ctl's own before `persist` choose the simulated
    /// drive's initiator as for every other command (the two-host recipe: `-c b.conf persist -k drive`).
    public enum PersistCall: Equatable {
        /// Run the personality on `arguments`; `initiator` nil: its own default.
        case run(arguments: [String], initiator: String?)
        /// One line for stderr (`storage-ctl: ...`) and the exit status.
        case refused(String, Int32)
    }

    /// Whether `arguments` (argv without argv[0]) ask for the sg_persist personality, and how.
    public static func persistCall(_ arguments: [String], environment: (String) -> String? = Posix.environment) -> PersistCall? {
        var i = 0
        while i < arguments.count, arguments[i].hasPrefix("-"), arguments[i] != "-", arguments[i] != "--" {
            let spelled = String(arguments[i].prefix { $0 != "=" })
            i += Invocation.Option.named(spelled)?.valueName != nil && !arguments[i].contains("=") ? 2 : 1
        }
        guard i < arguments.count, arguments[i] == "persist" else { return nil }
        let rest = Array(arguments[(i + 1)...])
        if i == 0 { return .run(arguments: rest, initiator: nil) }
        do throws(StorageCtlError) {
            let invocation = try Invocation.parse(Array(arguments[..<i]))
            for option in Invocation.Option.allCases where invocation.isSet(option) && option != .config && option != .initiator {
                throw .usage("--\(option.long) does not go with persist: sg_persist's options come after it (before it: -c, --initiator)")
            }
            try invocation.validate()
            let settings = try SettingsLoader.load(invocation, environment: environment, warn: { _ in })
            return .run(arguments: rest, initiator: settings.initiator)
        } catch {
            return .refused("storage-ctl: " + OutputText.oneLine(error.message), error.exitCode.rawValue)
        }
    }

    /// `check`'s UNKNOWN as an exit status (3).
    static let pluginUnknown = ExitCode(rawValue: DriveReport.PluginState.unknown.rawValue) ?? .device

    /// One command line, in four steps: parse (`Invocation`), validate (which command, its arguments
    /// and options: usage errors before any file is read), open (settings, the device), run.
    static func execute(_ arguments: [String], environment: Environment, stdout: inout some TextOutputStream,
                        stderrLine: @escaping (String) -> Void) throws(StorageCtlError) -> ExitCode {
        let invocation = try Invocation.parse(arguments)
        if invocation.help { stdout.write(help()); return .ok }
        if invocation.version { stdout.write("storage-ctl \(version)\n"); return .ok }
        switch try validate(invocation) {
        case .deviceless(let command):
            return try command.run(invocation, environment: environment, stdout: &stdout, stderrLine: stderrLine)
        case .device(let call):
            let opened = try open(call, invocation, environment: environment, stderrLine: stderrLine)
            return try run(call, opened, stdout: &stdout)
        }
    }

    /// A DEVICE command as validated: the verb, made from its arguments, and DEVICE as given and as shown.
    struct DeviceCall {
        var verbType: any Verb.Type
        var verb: any Verb
        var devicePath: String
        /// DEVICE's own bytes (argv's), for opening and for the lock records' file names.
        var deviceBytes: [UInt8]
        /// DEVICE as every message shows it: escaped, capped (OutputText.argument).
        var shownDevice: String
        var commandName: String { verbType.name }
    }

    enum Call {
        case deviceless(any DevicelessCommand.Type)
        case device(DeviceCall)
    }

    /// Which command, with which arguments and options: everything refused here is a usage error
    /// found without reading a file or opening a device.
    static func validate(_ invocation: Invocation) throws(StorageCtlError) -> Call {
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
            try CommandOptions.refuseForeign(invocation, for: command.name)
            try invocation.validate()
            return .deviceless(command)
        }
        let devicePath = positionals.removeFirst()
        // A usage error, not a device error: nothing was named, so there is nothing to open
        // (Bacula's unset Control Device is *None*, refused as a device error when opened).
        if devicePath.isEmpty {
            throw .usage("DEVICE is empty (''): name /dev/sgN, a SCSI disk, a tape node or a simulated drive's file")
        }
        guard let deviceBytes = ArgumentBytes.original(of: devicePath) else {
            throw .usage(ArgumentBytes.ambiguity("DEVICE", shown: OutputText.argument(devicePath)))
        }
        let shownDevice = OutputText.escaped(bytes: deviceBytes, limit: OutputText.echoLimit)
        guard !positionals.isEmpty else {
            throw missingCommand(devicePath, shown: shownDevice)
        }
        let commandName = positionals.removeFirst()
        guard let verbType = Verbs.named(commandName) else {
            throw unknownCommand(commandName, after: devicePath, shown: shownDevice)
        }
        guard verbType.argumentCount.contains(positionals.count) else {
            if positionals.count > verbType.argumentCount.upperBound {
                throw .usage("\(commandName): unexpected argument '\(OutputText.argument(positionals[verbType.argumentCount.upperBound]))' (usage: storage-ctl DEVICE \(verbType.synopsis))")
            }
            throw .usage("\(commandName): missing argument (usage: storage-ctl DEVICE \(verbType.synopsis))")
        }
        if invocation.json && !verbType.supportsJSON { throw .usage("--json is not available for \(commandName)") }
        try CommandOptions.refuseForeign(invocation, for: commandName)
        try invocation.validate()
        let verb = try verbType.init(arguments: positionals, invocation: invocation)
        return .device(DeviceCall(verbType: verbType, verb: verb, devicePath: devicePath, deviceBytes: deviceBytes,
                                  shownDevice: shownDevice))
    }

    /// DEVICE alone: a command named without a DEVICE, or a typo of one; a DEVICE-looking word
    /// (`drive1`, `/dev/sg0`) is a DEVICE whose command is missing, not a typo of `drives`.
    static func missingCommand(_ devicePath: String, shown shownDevice: String) -> StorageCtlError {
        if Verbs.named(devicePath) != nil {
            return .usage("\(shownDevice): missing DEVICE (usage: storage-ctl [OPTIONS] DEVICE \(shownDevice))")
        }
        if let meant = Suggestion.command(for: devicePath, among: Verbs.all.map { $0.name } + DevicelessCommands.all.map { $0.name }) {
            let usage = DevicelessCommands.named(meant) != nil ? "storage-ctl \(meant)" : "storage-ctl DEVICE \(meant)"
            return .usage("missing COMMAND after DEVICE \(shownDevice) (did you mean \(usage)?)")
        }
        return .usage("missing COMMAND after DEVICE \(shownDevice) (try 'storage-ctl --help')")
    }

    /// DEVICE then a word that is no DEVICE command.
    static func unknownCommand(_ commandName: String, after devicePath: String, shown shownDevice: String) -> StorageCtlError {
        if Verbs.named(devicePath) != nil {
            return .usage("unknown command '\(OutputText.argument(commandName))': DEVICE comes first (storage-ctl DEVICE \(shownDevice))")
        }
        if DevicelessCommands.named(commandName) != nil || commandName == "persist" {
            return .usage("\(commandName) takes no DEVICE before it (usage: storage-ctl \(commandName == "persist" ? "persist [sg_persist OPTIONS] DEVICE" : "[OPTIONS] \(commandName)"))")
        }
        if let meant = Suggestion.command(for: commandName, among: Verbs.all.map { $0.name }) {
            return .usage("unknown command '\(OutputText.argument(commandName))'; did you mean \(meant)? (try 'storage-ctl --help')")
        }
        return .usage("unknown command '\(OutputText.argument(commandName))' (try 'storage-ctl --help')")
    }

    /// A DEVICE command's device, opened under the merged settings, and what its run needs with it.
    struct Opened {
        var device: any PersistentReservationDevice
        var context: VerbContext
        var tracer: CommandTracer
        var pendingStop: () -> Int32?
    }

    /// Reads the configuration, checks what the command needs of it (our key, a file only root can
    /// change, an exclusive lock type) and opens DEVICE.
    static func open(_ call: DeviceCall, _ invocation: Invocation, environment: Environment,
                     stderrLine: @escaping (String) -> Void) throws(StorageCtlError) -> Opened {
        let (verbType, commandName, shownDevice) = (call.verbType, call.commandName, call.shownDevice)
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
            device = try environment.openDevice(call.devicePath, request)
        } catch {
            SettingsLoader.traceChoice(settings, tracer)
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
        SettingsLoader.traceChoice(settings, tracer)
        // said by status (not only under -v): without records there are no hold ages and no fairness
        if verbType == StatusVerb.self, !invocation.json, let problem = LockRecordStore.directoryProblem(runDirectory) {
            stderrLine("\(shownDevice): note: \(LockRecordStore.recordsOffNote(problem))")
        }
        let records = { () -> LockRecordStore? in
            guard let runDirectory else { return nil }
            return settings.key.flatMap { key in
                // by DEVICE's own bytes: a repaired String would name another file
                LockRecordStore(directory: runDirectory, devicePathBytes: call.deviceBytes, key: key, clock: environment.bootClock,
                                trace: { tracer.note($0) })
            }
        }
        let context = VerbContext(device: device, settings: settings, json: invocation.json,
                                  tracer: tracer.isActive ? tracer : nil, note: stderrLine,
                                  sleeperFactory: environment.sleeper, lockRecords: records)
        return Opened(device: device, context: context, tracer: tracer, pendingStop: environment.pendingStop)
    }

    /// Runs the verb on the opened device; its stdout is written whether it succeeds or fails.
    static func run(_ call: DeviceCall, _ opened: Opened, stdout: inout some TextOutputStream) throws(StorageCtlError) -> ExitCode {
        let (context, tracer) = (opened.context, opened.tracer)
        do {
            let code = try call.verb.run(context)
            // A stop signal that came while the verb sent its SCSI: the verb finished, and its status
            // tells what it did; say so. (One that came during `lock`'s wait ended the wait: exit 5.)
            if let signal = opened.pendingStop() {
                let done = call.verbType.takesLock && code == .ok ? ": we hold the lock" : ", which was completed"
                context.note("\(ProcessSignals.name(signal)) came too late to stop \(call.commandName)\(done)")
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
               storage-ctl [OPTIONS] [-C bacula-sd.conf] check [-w S] [-c S] [-t S]
               storage-ctl [-c FILE] [--initiator NAME] persist [sg_persist OPTIONS] DEVICE
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
        text += "  persist [sg_persist OPTIONS] DEVICE  sg_persist 1.46 itself: its options, output, exit codes\n"
        let fields = StatusVerb.Field.allCases.map { $0.rawValue + "=" }
        text += "\n" + wrap("status prints " + fields.prefix(4).joined(separator: " ") + ", then where they apply "
                            + fields.dropFirst(4).joined(separator: " ") + " (README.md \"Usage\").", first: "", rest: "")
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

        """
        for code in ExitCode.allCases {
            text += wrap(code.meaning, first: "  \(code.rawValue)  ", rest: "     ")
        }
        text += """

        check exits as a Nagios plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; after check,
        -w, -c and -t are its warning, critical and timeout, as for every plugin.

        Environment:

        """
        for variable in EnvironmentVariables.all {
            text += "  " + variable.name + "\n" + wrap(variable.meaning, first: "      ", rest: "      ")
        }
        return text
    }

    /// `text` in lines of at most 80 columns, the first starting with `first`, the others with `rest`.
    static func wrap(_ text: String, first: String, rest: String) -> String {
        var result = "", line = first
        for word in text.split(separator: " ") {
            if line.count + 1 + word.count > 80, line != first, line != rest {
                result += line + "\n"
                line = rest
            }
            line += (line == first || line == rest ? "" : " ") + word
        }
        return result + line + "\n"
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}
