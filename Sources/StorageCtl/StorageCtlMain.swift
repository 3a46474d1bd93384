#if canImport(Glibc)
import Glibc
#endif
import PRCore
import Transports

/// `storage-ctl [OPTIONS] DEVICE COMMAND [ARGS]`: parse, run one verb, report. `main.swift` only
/// calls `run` and exits with what it returns.
public enum StorageCtlMain {
    public static let version = "1.0.0"

    /// Everything the process touches, injectable so tests can drive the CLI in-process.
    public struct Environment {
        public var variable: (String) -> String?
        public var openDevice: (String, DeviceOptions) throws(TransportError) -> any SCSITransport
        public var sleeper: () -> (Duration) -> Int32?

        public static var live: Environment {
            Environment(
                variable: Posix.environment,
                // DEVICE is opened by the bytes given in argv, not by a repaired String (ArgumentBytes).
                openDevice: { (path, options) throws(TransportError) in
                    guard let bytes = ArgumentBytes.original(of: path) else {
                        throw TransportError(.other, ArgumentBytes.ambiguity("DEVICE", path))
                    }
                    return try DeviceResolver.open(pathBytes: bytes, options: options)
                },
                sleeper: {
                    let sleeper = SignalSleeper()
                    return { sleeper.sleep($0) }
                })
        }
    }

    /// Runs with the process's argv; returns the exit status.
    public static func run(_ argv: [String]) -> Int32 {
        var out = FDOutput(fd: 1)
        var err = FDOutput(fd: 2)
        let arguments = Array(argv.dropFirst())
        let status: Int32
        if PersistCommand.isInvokedAsSgPersist(argv.first ?? "") {
            status = PersistCommand.run(arguments: arguments, programName: argv.first ?? "sg_persist", stdout: &out, stderr: &err)
        } else if arguments.first == "persist" {
            status = PersistCommand.run(arguments: Array(arguments.dropFirst()), stdout: &out, stderr: &err)
        } else {
            // stderr lines (progress while waiting, notes) leave at once; stdout in one write at the end
            status = run(arguments, environment: .live, stdout: &out, stderrLine: { Posix.write(2, $0 + "\n") })
        }
        out.flush()
        err.flush()
        return status
    }

    /// The CLI proper: arguments without argv[0]. Each stderr line (without newline, already
    /// prefixed `storage-ctl: `) goes to `stderrLine` as soon as it is known.
    public static func run(_ arguments: [String], environment: Environment,
                           stdout: inout some TextOutputStream, stderrLine: @escaping (String) -> Void) -> Int32 {
        let line = { (text: String) in stderrLine("storage-ctl: " + OutputText.oneLine(text)) }
        do {
            return try execute(arguments, environment: environment, stdout: &stdout, stderrLine: line).rawValue
        } catch {
            line(error.message)
            return error.exitCode.rawValue
        }
    }

    static func execute(_ arguments: [String], environment: Environment, stdout: inout some TextOutputStream,
                        stderrLine: @escaping (String) -> Void) throws(StorageCtlError) -> ExitCode {
        let invocation = try Invocation.parse(arguments)
        if invocation.help { stdout.write(help()); return .ok }
        if invocation.version { stdout.write("storage-ctl \(version)\n"); return .ok }

        var positionals = invocation.positionals
        guard !positionals.isEmpty else {
            throw .usage("missing DEVICE and COMMAND (usage: storage-ctl [OPTIONS] DEVICE COMMAND; try 'storage-ctl --help')")
        }
        if positionals[0] == "scan" {
            if invocation.abort { throw .usage("--abort goes with preempt only") }
            if positionals.count > 1 { throw .usage("scan takes no arguments") }
            _ = try SettingsLoader.load(invocation, environment: environment.variable, warn: stderrLine)
            return try ScanVerb.run(json: invocation.json, stdout: &stdout)
        }
        let devicePath = positionals.removeFirst()
        // DEVICE as every message shows it: escaped, capped (OutputText.argument).
        guard let deviceBytes = ArgumentBytes.original(of: devicePath) else {
            throw .usage(ArgumentBytes.ambiguity("DEVICE", devicePath))
        }
        let shownDevice = OutputText.escaped(bytes: deviceBytes, limit: OutputText.echoLimit)
        guard !positionals.isEmpty else {
            if Verbs.named(devicePath) != nil {
                throw .usage("\(shownDevice): missing DEVICE (usage: storage-ctl [OPTIONS] DEVICE \(shownDevice))")
            }
            throw .usage("missing COMMAND after DEVICE \(shownDevice) (try 'storage-ctl --help')")
        }
        let commandName = positionals.removeFirst()
        guard let verbType = Verbs.named(commandName) else {
            if Verbs.named(devicePath) != nil {
                throw .usage("unknown command '\(OutputText.argument(commandName))': DEVICE comes first (storage-ctl DEVICE \(shownDevice))")
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
            guard settings.key != nil else {
                let whereTo = settings.configPath.map { "set key= in \(OutputText.argument($0))" } ?? "set key= in the configuration file"
                throw .usage("\(commandName) needs our reservation key: \(whereTo) or use --key")
            }
            try SettingsLoader.checkOwnership(settings)
        }
        if settings.initiator == nil { settings.initiator = SettingsLoader.derivedInitiator() }

        let tracer = CommandTracer(device: shownDevice, verb: commandName, verbose: invocation.verbose,
                                   debugFile: settings.debugLog ? settings.debugFile : nil,
                                   traceLine: stderrLine, warn: stderrLine)
        // lock's budget also bounds waits for a simulated LU's file lock (PRDevice.lockDeadline).
        let lockDeadline = verbType == LockVerb.self ? ContinuousClock.now + Duration(seconds: settings.maxLockWait) : nil
        let options = DeviceOptions(initiatorName: settings.initiator ?? "", simDeviceType: settings.simType,
                                    verbose: invocation.verbose,
                                    openTimeout: PRDevice.commandTimeout(seconds: settings.commandTimeout),
                                    lockDeadline: lockDeadline)
        let transport: any SCSITransport
        do {
            transport = try environment.openDevice(devicePath, options)
        } catch {
            tracer.record("open failed: \(error.message)")
            throw PRDevice.transportFailure(shownDevice, "", error, transportIsSimulated: true, lockDeadline: lockDeadline)
        }
        if invocation.verbose, let note = (transport as? SGIOTransport)?.resolutionNote {
            stderrLine("\(shownDevice): \(OutputText.escaped(note))")
        }
        let device = PRDevice(transport: transport, path: shownDevice, commandTimeout: settings.commandTimeout,
                              tracer: tracer.isActive ? tracer : nil, lockDeadline: lockDeadline)
        let context = VerbContext(device: device, settings: settings, json: invocation.json,
                                  tracer: tracer.isActive ? tracer : nil, note: stderrLine,
                                  sleeperFactory: environment.sleeper)
        do {
            let code = try verb.run(context)
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
               storage-ctl persist [sg_persist OPTIONS] DEVICE
               storage-ctl --help | --version

        Shares tape drives and disks between hosts with SCSI-3 persistent reservations.
        Bacula: Lock Command = "/opt/bacula/scripts/storage-ctl %l %o"

        DEVICE is /dev/sgN, a SCSI disk (/dev/sdX, /dev/disk/by-id/...), a tape node
        (/dev/nstN, /dev/stN; its sg node is used), or a regular file: a simulated
        logical unit (an empty file is a fresh one).

        Commands:

        """
        for verb in Verbs.all {
            text += "  " + pad(verb.synopsis, 22) + verb.summary + "\n"
        }
        text += "  " + pad("scan", 22) + "list SCSI generic devices like lsscsi -g (no DEVICE)\n"
        text += """

        Options:
          -c, --config FILE     configuration file (default: $STORAGE_CTL_CONF, storage-ctl.conf
                                beside the executable, /opt/bacula/scripts/storage-ctl.conf,
                                /etc/bacula/storage-ctl.conf)
          -k, --key HEX         our reservation key (overrides key= in the file)
          -t, --type T          reservation type 1,3,5,6,7,8 or wr-ex, ex-ac, wr-ex-ro,
                                ex-ac-ro, wr-ex-ar, ex-ac-ar (default 3, Exclusive Access)
          -w, --wait SECONDS    how long lock may wait (overrides max_lock_wait)
              --json            machine output (query, regkeys, wholocked, status, caps, scan, audit)
              --initiator NAME  simulated LU only: this host's initiator name
          -v, --verbose         trace each SCSI command on stderr
          -h, --help            this text
          -V, --version         print the version

        Exit status: 0 done (lock/trylock: we hold the lock), 1 busy (another key holds it),
        2 usage or configuration error, 3 device error, 4 lock gave up after max_lock_wait,
        5 interrupted by a signal while waiting.

        """
        return text
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}
