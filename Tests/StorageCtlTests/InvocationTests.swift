import Testing
@testable import StorageCtl

@Suite("Command line")
struct InvocationTests {
    @Test("Bacula's form: DEVICE COMMAND, no options")
    func bacula() throws {
        let inv = try Invocation.parse(["/dev/sg0", "lock"])
        #expect(inv.positionals == ["/dev/sg0", "lock"])
        #expect(inv.configPath == nil && !inv.json && !inv.verbose)
    }

    @Test("options anywhere, every spelling")
    func spellings() throws {
        let inv = try Invocation.parse(["-c", "a.conf", "/dev/sg0", "--key=bac001", "lock", "-t", "wr-ex", "--wait", "5", "-v", "--json", "--initiator", "iqn.x:y"])
        #expect(inv.configPath == "a.conf")
        #expect(inv.key == "bac001")
        #expect(inv.type == "wr-ex")
        #expect(inv.wait == "5")
        #expect(inv.verbose && inv.json)
        #expect(inv.initiator == "iqn.x:y")
        #expect(inv.positionals == ["/dev/sg0", "lock"])
        let clustered = try Invocation.parse(["-vkbac002", "f", "status"])
        #expect(clustered.verbose && clustered.key == "bac002")
        let dashes = try Invocation.parse(["--", "-weird-file", "query"])
        #expect(dashes.positionals == ["-weird-file", "query"])
    }

    @Test("every option of the table parses by each of its spellings, and --help lists it from the table")
    func table() throws {
        for option in Invocation.Option.allCases {
            var spellings = ["--\(option.long)"]
            if let short = option.short { spellings.append("-\(short)") }
            for spelling in spellings {
                let arguments = option.valueName == nil ? [spelling, "f", "q"] : [spelling, "v1", "f", "q"]
                let inv = try Invocation.parse(arguments)
                #expect(inv.positionals == ["f", "q"], "\(spelling)")
                var expected = Invocation()
                expected.positionals = ["f", "q"]
                switch option {
                case .config: expected.configPath = "v1"
                case .baculaConfig: expected.baculaConfigPath = "v1"
                case .prometheus: expected.prometheus = true
                case .heldWarning: expected.heldWarning = "v1"
                case .heldCritical: expected.heldCritical = "v1"
                case .timeout: expected.timeout = "v1"
                case .key: expected.key = "v1"
                case .type: expected.type = "v1"
                case .wait: expected.wait = "v1"
                case .initiator: expected.initiator = "v1"
                case .backend: expected.backend = "v1"
                case .json: expected.json = true
                case .verbose: expected.verbose = true
                case .abort: expected.abort = true
                case .help: expected.help = true
                case .version: expected.version = true
                }
                #expect(inv == expected, "\(spelling)")
            }
            if !option.help.isEmpty {
                #expect(StorageCtlMain.help().contains("\n  \(option.usage)"), "--help lacks \(option.usage)")
            }
        }
    }

    @Test("unknown options and missing values are usage errors", arguments: [
        (["--frobnicate"], "unknown option '--frobnicate' (try 'storage-ctl --help')"),
        (["-x"], "unknown option '-x' (try 'storage-ctl --help')"),
        (["-vx"], "unknown option '-x' (try 'storage-ctl --help')"),
        (["--bogus=1"], "unknown option '--bogus' (try 'storage-ctl --help')"),
        (["f", "lock", "-k"], "option -k needs a value (try 'storage-ctl --help')"),
    ])
    func errors(arguments: [String], message: String) {
        #expect(throws: StorageCtlError(.usage, message)) { _ = try Invocation.parse(arguments) }
    }
}
