import Transports

/// The command line as the user typed it, before any file is read:
/// `storage-ctl [OPTIONS] DEVICE COMMAND [ARGS]`, options allowed anywhere before `--`
/// (Bacula's `Lock Command = "storage-ctl %l %o"` puts none at all). After a command that gives
/// short letters a meaning of its own (`check -w -c -t`, every Nagios plugin's), they mean that.
public struct Invocation: Sendable, Equatable {
    public var configPath: String?
    public var key: String?
    public var type: String?
    public var wait: String?
    public var json = false
    public var initiator: String?
    /// `--backend sgio|block`: how a block node is driven (overrides backend=).
    public var backend: String?
    public var verbose = false
    /// `preempt KEY --abort`: PREEMPT AND ABORT.
    public var abort = false
    /// `-C FILE`: the storage daemon's bacula-sd.conf (`drives`, `check`).
    public var baculaConfigPath: String?
    /// `drives --prometheus`.
    public var prometheus = false
    /// `check --held-warning SECONDS`, `--held-critical SECONDS`, as typed.
    public var heldWarning: String?
    public var heldCritical: String?
    /// `drives --timeout SECONDS`, `check --timeout SECONDS`: the whole survey's time limit, as typed.
    public var timeout: String?
    public var help = false
    public var version = false
    public var positionals: [String] = []

    public init() {}

    /// Every option, declared once: parsing, `--help` and the test that keeps the README and the
    /// man page in step all read this table.
    public enum Option: CaseIterable, Sendable {
        case config, baculaConfig, key, type, wait, json, prometheus, heldWarning, heldCritical, timeout, initiator, backend, verbose, abort, help, version

        /// `-c`; nil when there is only a long form.
        public var short: Character? {
            switch self {
            case .config: "c"
            case .baculaConfig: "C"
            case .key: "k"
            case .type: "t"
            case .wait: "w"
            case .verbose: "v"
            case .help: "h"
            case .version: "V"
            case .json, .prometheus, .heldWarning, .heldCritical, .timeout, .initiator, .backend, .abort: nil
            }
        }

        public var long: String {
            switch self {
            case .config: "config"
            case .baculaConfig: "sd-config"
            case .key: "key"
            case .type: "type"
            case .wait: "wait"
            case .json: "json"
            case .prometheus: "prometheus"
            case .heldWarning: "held-warning"
            case .heldCritical: "held-critical"
            case .timeout: "timeout"
            case .initiator: "initiator"
            case .backend: "backend"
            case .verbose: "verbose"
            case .abort: "abort"
            case .help: "help"
            case .version: "version"
            }
        }

        /// The value's name in usage text; nil for a flag.
        public var valueName: String? {
            switch self {
            case .config, .baculaConfig: "FILE"
            case .key: "HEX"
            case .type: "T"
            case .wait, .heldWarning, .heldCritical, .timeout: "SECONDS"
            case .initiator: "NAME"
            case .backend: "NAME"
            case .json, .prometheus, .verbose, .abort, .help, .version: nil
            }
        }

        /// `--help`'s text, one string a line; empty for an option that belongs to one command
        /// (`--abort` is part of `preempt KEY [--abort]`).
        public var help: [String] {
            switch self {
            case .config: ["configuration file (default: $STORAGE_CTL_CONF, storage-ctl.conf",
                           "beside the executable, /opt/bacula/scripts/storage-ctl.conf,",
                           "/etc/bacula/storage-ctl.conf)"]
            case .baculaConfig: ["drives, check: the storage daemon's bacula-sd.conf (default:",
                                 "/opt/bacula/etc/bacula-sd.conf, /etc/bacula/bacula-sd.conf)"]
            case .key: ["our reservation key (overrides key= in the file)"]
            case .type: ["reservation type 1,3,5,6,7,8 or wr-ex, ex-ac, wr-ex-ro,",
                         "ex-ac-ro, wr-ex-ar, ex-ac-ar (default 3, Exclusive Access)"]
            case .wait: ["lock: how long it may wait (overrides max_lock_wait)"]
            case .json: ["machine output (query, regkeys, wholocked, status, caps, scan, audit,", "drives)"]
            case .prometheus: ["drives: Prometheus text format (node_exporter textfile collector)"]
            case .heldWarning: ["check (check -w): WARNING when this host has held a drive", "this long"]
            case .heldCritical: ["check (check -c): CRITICAL when this host has held a drive", "this long"]
            case .timeout: ["drives, check: time limit of the whole survey; drives not", "asked by then are rows with that error (default: none;", "check -t)"]
            case .initiator: ["simulated LU only: this host's initiator name"]
            case .backend: ["block nodes: sgio (SCSI commands) or block (the kernel's", "IOC_PR_* ioctls); overrides backend= (default: by node kind)"]
            case .verbose: ["trace each SCSI command on stderr"]
            case .abort: []
            case .help: ["this text"]
            case .version: ["print the version"]
            }
        }

        /// `-c, --config FILE` or `    --json`, as `--help` lists it.
        public var usage: String {
            (short.map { "-\($0), " } ?? "    ") + "--" + long + (valueName.map { " " + $0 } ?? "")
        }

        static func named(_ spelling: String, shortOverrides: [Character: Option] = [:]) -> Option? {
            if spelling.hasPrefix("--") { return allCases.first { "--" + $0.long == spelling } }
            if spelling.count == 2, let letter = spelling.last, let option = shortOverrides[letter] { return option }
            return allCases.first { $0.short.map { "-\($0)" } == spelling }
        }

        /// Refuses a value this option cannot take, before any file is read or device opened (one
        /// line naming the option); the same checks `SettingsLoader` and the commands convert with.
        func validate(_ value: String) throws(StorageCtlError) {
            switch self {
            case .key: _ = try SettingValue.key(value).get()
            case .type: _ = try SettingValue.type(value).get()
            case .wait, .heldWarning, .heldCritical: _ = try SettingValue.seconds(value, what: "--" + long).get()
            case .timeout: _ = try SettingValue.seconds(value, what: "--" + long, allowZero: false).get()
            case .initiator:
                if value.isEmpty { throw .usage("--initiator: empty name") }
                if let problem = SimulatedLU.initiatorNameProblem(value) { throw .usage("--initiator: \(problem)") }
            case .backend: _ = try SettingValue.backend(value, what: "--backend").get()
            case .config, .baculaConfig, .json, .prometheus, .verbose, .abort, .help, .version: break
            }
        }
    }

    /// The value given for `option`; nil for a flag or an option not given.
    func value(of option: Option) -> String? {
        switch option {
        case .config: configPath
        case .baculaConfig: baculaConfigPath
        case .key: key
        case .type: type
        case .wait: wait
        case .heldWarning: heldWarning
        case .heldCritical: heldCritical
        case .timeout: timeout
        case .initiator: initiator
        case .backend: backend
        case .json, .prometheus, .verbose, .abort, .help, .version: nil
        }
    }

    /// Every option given with a value that option refuses: the first one, as a usage error.
    func validate() throws(StorageCtlError) {
        for option in Option.allCases {
            if let value = value(of: option) { try option.validate(value) }
        }
    }

    /// Sets an option; `value` is nil for a flag.
    private mutating func set(_ option: Option, _ value: String?) {
        switch option {
        case .config: configPath = value
        case .baculaConfig: baculaConfigPath = value
        case .heldWarning: heldWarning = value
        case .heldCritical: heldCritical = value
        case .timeout: timeout = value
        case .prometheus: prometheus = true
        case .key: key = value
        case .type: type = value
        case .wait: wait = value
        case .initiator: initiator = value
        case .backend: backend = value
        case .json: json = true
        case .verbose: verbose = true
        case .abort: abort = true
        case .help: help = true
        case .version: version = true
        }
    }

    /// Whether `option` was given.
    func isSet(_ option: Option) -> Bool {
        switch option {
        case .json: json
        case .prometheus: prometheus
        case .verbose: verbose
        case .abort: abort
        case .help: help
        case .version: version
        default: value(of: option) != nil
        }
    }

    public static func parse(_ arguments: [String]) throws(StorageCtlError) -> Invocation {
        var result = Invocation()
        var i = 0
        var optionsEnded = false
        // the short letters of the command named so far (`check -w`): a command is the first word
        var overrides: [Character: Option] = [:]
        let valued = { (spelling: String) in
            Option.named(spelling, shortOverrides: overrides).flatMap { $0.valueName == nil ? nil : $0 }
        }
        let flag = { (spelling: String) in
            Option.named(spelling, shortOverrides: overrides).flatMap { $0.valueName == nil ? $0 : nil }
        }
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if optionsEnded || arg == "-" || !arg.hasPrefix("-") {
                if result.positionals.isEmpty { overrides = DevicelessCommands.named(arg)?.shortOptions ?? [:] }
                result.positionals.append(arg)
                continue
            }
            if arg == "--" { optionsEnded = true; continue }
            if let option = flag(arg) {
                result.set(option, nil)
                continue
            }
            // --name=value
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                let name = String(arg[..<eq])
                guard let option = valued(name) else { throw unknownOption(name) }
                result.set(option, String(arg[arg.index(after: eq)...]))
                continue
            }
            if let option = valued(arg) {
                guard i < arguments.count else {
                    throw .usage("option \(OutputText.argument(arg)) needs a value (try 'storage-ctl --help')")
                }
                result.set(option, arguments[i])
                i += 1
                continue
            }
            // -kVALUE, -vkVALUE style short clusters
            if !arg.hasPrefix("--"), arg.count > 2 {
                var rest = Substring(arg.dropFirst())
                while let c = rest.first {
                    let opt = "-\(c)"
                    rest = rest.dropFirst()
                    if let option = flag(opt) { result.set(option, nil); continue }
                    if let option = valued(opt) {
                        if rest.isEmpty {
                            guard i < arguments.count else {
                                throw .usage("option \(opt) needs a value (try 'storage-ctl --help')")
                            }
                            result.set(option, arguments[i])
                            i += 1
                        } else {
                            result.set(option, String(rest))
                        }
                        rest = ""
                        continue
                    }
                    throw unknownOption(opt)
                }
                continue
            }
            throw unknownOption(arg)
        }
        return result
    }

    private static func unknownOption(_ name: String) -> StorageCtlError {
        .usage("unknown option '\(OutputText.argument(name))' (try 'storage-ctl --help')")
    }
}
