/// GNU `getopt_long` (glibc 2.26 and later) as sg_persist uses it: the same argument permutation, `--`,
/// clustered short options, attached and detached arguments, unique-prefix abbreviation of long options
/// (and glibc's rule that a prefix matching several names of the *same* option is not ambiguous), and the
/// same diagnostics, word for word. `POSIXLY_CORRECT` in the environment stops at the first operand.
struct GetoptLong {
    struct LongOption {
        let name: [UInt8]
        let takesArgument: Bool
        let code: UInt8

        init(_ name: String, _ takesArgument: Bool, _ code: Character) {
            self.name = Array(name.utf8)
            self.takesArgument = takesArgument
            self.code = code.asciiValue ?? 0
        }
    }

    /// One option found, with its argument and where that argument sits in the argv block.
    struct Found {
        let code: UInt8
        let argument: [UInt8]?
        /// The argv elements after the one holding the argument (for sg_persist's read past an argument).
        let followingArguments: [[UInt8]]
    }

    enum Event {
        case option(Found)
        /// getopt returned '?': the diagnostic it printed (one line, with newline).
        case error(String)
    }

    let shortOptions: [UInt8]
    let longOptions: [LongOption]
    let programName: String

    init(shortOptions: String, longOptions: [LongOption], programName: String) {
        self.shortOptions = Array(shortOptions.utf8)
        self.longOptions = longOptions
        self.programName = programName
    }

    /// Scans `arguments` (argv without argv[0]). Calls `handle` for each option in order; `handle` returns
    /// false to stop (sg_persist returns from main on a bad option argument). Returns the operands in order
    /// (the permutation only moves operands behind the options; their order is kept) and whether it stopped early.
    func scan(_ arguments: [String], posixlyCorrect: Bool, handle: (Event) -> Bool) -> (operands: [String], stopped: Bool) {
        let argv = arguments.map { CScan.cString($0) }
        var operands: [String] = []
        var index = 0
        while index < argv.count {
            let arg = argv[index]
            if arg == Array("--".utf8) {
                operands += argv[(index + 1)...].map(Self.text)
                return (operands, false)
            }
            let isOption = arg.count >= 2 && arg[0] == UInt8(ascii: "-")
            if !isOption {
                if posixlyCorrect {
                    operands += argv[index...].map(Self.text)
                    return (operands, false)
                }
                operands.append(Self.text(arg))
                index += 1
                continue
            }
            if arg[1] == UInt8(ascii: "-") {
                let (event, next) = longOption(argv, index: index)
                index = next
                if !handle(event) { return (operands, true) }
                if case .error = event { return (operands, true) }
                continue
            }
            // A cluster of short options.
            var position = 1
            var advanced = false
            while position < arg.count, !advanced {
                let c = arg[position]
                position += 1
                let last = position >= arg.count
                var event: Event
                if let spec = shortOptions.firstIndex(of: c), c != UInt8(ascii: ":"), c != UInt8(ascii: ";") {
                    let takesArgument = spec + 1 < shortOptions.count && shortOptions[spec + 1] == UInt8(ascii: ":")
                    if takesArgument {
                        if !last {
                            event = .option(Found(code: c, argument: Array(arg[position...]),
                                                  followingArguments: Array(argv[(index + 1)...])))
                            index += 1
                        } else if index + 1 < argv.count {
                            event = .option(Found(code: c, argument: argv[index + 1],
                                                  followingArguments: Array(argv[(index + 2)...])))
                            index += 2
                        } else {
                            event = .error("\(programName): option requires an argument -- '\(Self.text([c]))'\n")
                            index += 1
                        }
                        advanced = true
                    } else {
                        event = .option(Found(code: c, argument: nil, followingArguments: []))
                        if last {
                            index += 1
                            advanced = true
                        }
                    }
                } else {
                    event = .error("\(programName): invalid option -- '\(Self.text([c]))'\n")
                    if last {
                        index += 1
                        advanced = true
                    }
                }
                if !handle(event) { return (operands, true) }
                if case .error = event { return (operands, true) }
            }
        }
        return (operands, false)
    }

    /// glibc `process_long_option()` for an argument starting with "--".
    private func longOption(_ argv: [[UInt8]], index: Int) -> (Event, Int) {
        let arg = argv[index]
        let body = Array(arg[2...])
        let nameEnd = body.firstIndex(of: UInt8(ascii: "=")) ?? body.count
        let name = Array(body[..<nameEnd])
        var found: Int? = longOptions.firstIndex { $0.name == name }
        if found == nil {
            var ambiguous: [Int] = []
            for (optionIndex, option) in longOptions.enumerated() where option.name.starts(with: name) {
                guard let first = found else {
                    found = optionIndex
                    continue
                }
                let f = longOptions[first]
                if f.takesArgument != option.takesArgument || f.code != option.code {
                    if ambiguous.isEmpty { ambiguous.append(first) }
                    ambiguous.append(optionIndex)
                }
            }
            if !ambiguous.isEmpty {
                var message = "\(programName): option '--\(Self.text(body))' is ambiguous; possibilities:"
                for optionIndex in ambiguous { message += " '--\(Self.text(longOptions[optionIndex].name))'" }
                return (.error(message + "\n"), index + 1)
            }
        }
        guard let found else {
            return (.error("\(programName): unrecognized option '--\(Self.text(body))'\n"), index + 1)
        }
        let option = longOptions[found]
        if nameEnd < body.count {
            guard option.takesArgument else {
                return (.error("\(programName): option '--\(Self.text(option.name))' doesn't allow an argument\n"), index + 1)
            }
            return (.option(Found(code: option.code, argument: Array(body[(nameEnd + 1)...]),
                                  followingArguments: Array(argv[(index + 1)...]))), index + 1)
        }
        if option.takesArgument {
            guard index + 1 < argv.count else {
                return (.error("\(programName): option '--\(Self.text(option.name))' requires an argument\n"), index + 1)
            }
            return (.option(Found(code: option.code, argument: argv[index + 1],
                                  followingArguments: Array(argv[(index + 2)...]))), index + 2)
        }
        return (.option(Found(code: option.code, argument: nil, followingArguments: [])), index + 1)
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
