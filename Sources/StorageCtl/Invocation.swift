/// The command line as the user typed it, before any file is read:
/// `storage-ctl [OPTIONS] DEVICE COMMAND [ARGS]`, options allowed anywhere before `--`
/// (Bacula's `Lock Command = "storage-ctl %l %o"` puts none at all).
public struct Invocation: Sendable, Equatable {
    public var configPath: String?
    public var key: String?
    public var type: String?
    public var wait: String?
    public var json = false
    public var initiator: String?
    public var verbose = false
    /// `preempt KEY --abort`: PREEMPT AND ABORT.
    public var abort = false
    public var help = false
    public var version = false
    public var positionals: [String] = []

    public init() {}

    /// Options that take a value, by every spelling.
    private static func valued(_ option: String) -> WritableKeyPath<Invocation, String?>? {
        switch option {
        case "-c", "--config": return \.configPath
        case "-k", "--key": return \.key
        case "-t", "--type": return \.type
        case "-w", "--wait": return \.wait
        case "--initiator": return \.initiator
        default: return nil
        }
    }

    private static func flag(_ option: String) -> WritableKeyPath<Invocation, Bool>? {
        switch option {
        case "--json": return \.json
        case "-v", "--verbose": return \.verbose
        case "--abort": return \.abort
        case "-h", "--help": return \.help
        case "-V", "--version": return \.version
        default: return nil
        }
    }

    public static func parse(_ arguments: [String]) throws(StorageCtlError) -> Invocation {
        var result = Invocation()
        var i = 0
        var optionsEnded = false
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if optionsEnded || arg == "-" || !arg.hasPrefix("-") {
                result.positionals.append(arg)
                continue
            }
            if arg == "--" { optionsEnded = true; continue }
            if let path = flag(arg) {
                result[keyPath: path] = true
                continue
            }
            // --name=value
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                let name = String(arg[..<eq])
                guard let path = valued(name) else { throw unknownOption(name) }
                result[keyPath: path] = String(arg[arg.index(after: eq)...])
                continue
            }
            if let path = valued(arg) {
                guard i < arguments.count else {
                    throw .usage("option \(OutputText.argument(arg)) needs a value (try 'storage-ctl --help')")
                }
                result[keyPath: path] = arguments[i]
                i += 1
                continue
            }
            // -kVALUE, -vkVALUE style short clusters
            if !arg.hasPrefix("--"), arg.count > 2 {
                var rest = Substring(arg.dropFirst())
                while let c = rest.first {
                    let opt = "-\(c)"
                    rest = rest.dropFirst()
                    if let path = flag(opt) { result[keyPath: path] = true; continue }
                    if let path = valued(opt) {
                        if rest.isEmpty {
                            guard i < arguments.count else {
                                throw .usage("option \(opt) needs a value (try 'storage-ctl --help')")
                            }
                            result[keyPath: path] = arguments[i]
                            i += 1
                        } else {
                            result[keyPath: path] = String(rest)
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
