import PRCore
import SgText

/// What `storage-ctl persist` (and the executable invoked as `sg_persist`) was asked to do, parsed from
/// sg_persist 1.46's own options exactly as sg_persist parses them (GNU getopt_long, glibc `sscanf`
/// conversions, sg3_utils' `sg_get_num`, its TransportID forms and its checks, in its order).
public struct PersistOptions: Hashable, Sendable {
    /// sg_persist's version line names this version.
    public static let version = "0.67 20190913"
    /// `MX_ALLOC_LEN`: the default and largest PR IN allocation length (the layouts' buffer, `PersistOutput`).
    public static let maximumAllocationLength: UInt32 = PersistOutput.maximumAllocationLength

    /// DEVICE (operand or `-d`).
    public var device: String
    /// Send a standard INQUIRY first and print its header lines (`-n` clears it).
    public var inquiry = true
    /// `-H` count: 1 = header + hex of the parameter data, 2 = whole response with offsets, 3 = bare hex.
    public var hex = 0
    /// `-v` count.
    public var verbose = 0
    /// `-y`: open the device read-only.
    public var readOnly = false
    /// `-yy`: open read-write even when `SG_PERSIST_IN_RDONLY` is set.
    public var forceReadWrite = false
    /// PERSISTENT RESERVE IN (true) or OUT (false).
    public var isReserveIn = true
    /// The PR IN service action (READ KEYS when none was given).
    public var inServiceAction = PersistentReserveIn.ServiceAction.readKeys
    /// The PR OUT service action (`nil` for PR IN).
    public var outServiceAction: PersistentReserveOut.ServiceAction?
    /// `-T`: the TYPE field as typed (sg_persist sends its low 4 bits).
    public var reservationTypeField: UInt32 = 0
    /// `-K`.
    public var reservationKey = ReservationKey.zero
    /// `-S`.
    public var serviceActionReservationKey = ReservationKey.zero
    /// `-Y`.
    public var allTargetPorts = false
    /// `-Z`.
    public var activatePersistThroughPowerLoss = false
    /// `-U` (REGISTER AND MOVE only).
    public var unregister = false
    /// `-Q` (REGISTER AND MOVE only), 0...0xffff.
    public var relativeTargetPortIdentifier: UInt16 = 0
    /// `-l` / `-m`: PR IN allocation length, 0...8192.
    public var allocationLength: UInt32 = PersistOptions.maximumAllocationLength
    /// `-X`: the TransportIDs, as sg_persist holds them.
    var transportIDs = PersistTransportIDs()

    public init(device: String) { self.device = device }

    /// The TransportID bytes sent with SPEC_I_PT or REGISTER AND MOVE (compacted, as sg_persist sends them).
    public var transportIDParameterData: [UInt8] { transportIDs.compacted() }
    /// How many TransportIDs `-X` gave.
    public var transportIDCount: Int { transportIDs.count }

    /// The PR OUT TYPE field sent (CDB byte 2 bits 3–0).
    public var reservationType: ReservationType { ReservationType(rawValue: UInt8(truncatingIfNeeded: reservationTypeField) & 0x0F) }
}

/// A command line sg_persist refuses, with its exact message.
public enum PersistSyntaxError: Error, Hashable, Sendable {
    /// A getopt diagnostic (unknown or ambiguous option, missing or unexpected argument). sg_persist prints
    /// it, then its short usage, and exits 0.
    case getopt(String)
    /// `bad argument to '--param-rk'` (and the other options taking a value), exit 1.
    case badArgument(option: String)
    /// `'--alloc-length' argument exceeds maximum value (8192)`, exit 1.
    case allocationLengthTooLarge(option: String)
    /// `-Q` above ffff, exit 1.
    case relativeTargetPortOutOfRange
    /// More than one DEVICE, exit 1 after the usage.
    case unexpectedArguments([String])
    /// No DEVICE, exit 1 after the usage.
    case noDevice
    /// Both `--in` and `--out`, exit 31 after the usage.
    case inAndOut
    /// `--out` without exactly one PR OUT service action (or with a PR IN one), exit 31.
    case outNeedsOneServiceAction
    /// A PR OUT service action without `--out`, exit 31.
    case serviceActionNeedsOut
    /// Several PR IN service actions, exit 31 after the usage.
    case tooManyServiceActions
    /// `--unreg` or `--relative-target-port` without `--register-move`, exit 31 after the usage.
    case registerMoveOptionWithoutRegisterMove
    /// `--register-move` without exactly one `--transport-id`, exit 31 after the usage.
    case registerMoveNeedsOneTransportID

    /// The text sg_persist prints (before the usage, if any), ending in a newline.
    public var message: String {
        switch self {
        case .getopt(let text): return text
        case .badArgument(let option): return "bad argument to '--\(option)'\n"
        case .allocationLengthTooLarge(let option):
            return "'--\(option)' argument exceeds maximum value (\(PersistOptions.maximumAllocationLength))\n"
        case .relativeTargetPortOutOfRange: return "argument to '--relative-target-port' 0 to ffff inclusive\n"
        case .unexpectedArguments(let extra): return extra.map { "Unexpected extra argument: \($0)\n" }.joined()
        case .noDevice: return "No device name given\n"
        case .inAndOut: return "choose '--in' _or_ '--out' (not both)\n"
        case .outNeedsOneServiceAction:
            return ">> For Persistent Reserve Out one and only one appropriate\n>> service action must be chosen (e.g. '--register')\n"
        case .serviceActionNeedsOut:
            return ">> When a service action for Persistent Reserve Out is chosen the\n>> '--out' option must be given (as a safeguard)\n"
        case .tooManyServiceActions: return "Too many service actions given; choose one only\n"
        case .registerMoveOptionWithoutRegisterMove: return "--unreg or --relative-target-port only useful with --register-move\n"
        case .registerMoveNeedsOneTransportID: return "with --register-move one (and only one) --transport-id should be given\n"
        }
    }

    /// Whether sg_persist follows the message with its short usage.
    public var printsUsage: Bool {
        switch self {
        case .getopt, .unexpectedArguments, .noDevice, .inAndOut, .tooManyServiceActions,
             .registerMoveOptionWithoutRegisterMove, .registerMoveNeedsOneTransportID:
            return true
        case .badArgument, .allocationLengthTooLarge, .relativeTargetPortOutOfRange, .outNeedsOneServiceAction,
             .serviceActionNeedsOut:
            return false
        }
    }

    /// sg_persist's exit status: 0 after a getopt error (sic), 1 (SG_LIB_SYNTAX_ERROR), 31 (SG_LIB_CONTRADICT).
    public var exitCode: Int32 {
        switch self {
        case .getopt: return 0
        case .badArgument, .allocationLengthTooLarge, .relativeTargetPortOutOfRange, .unexpectedArguments, .noDevice:
            return PersistExit.syntaxError
        case .inAndOut, .outNeedsOneServiceAction, .serviceActionNeedsOut, .tooManyServiceActions,
             .registerMoveOptionWithoutRegisterMove, .registerMoveNeedsOneTransportID:
            return PersistExit.contradict
        }
    }
}

/// The result of option processing: what to do next, and everything sg_persist prints while deciding.
public struct PersistParse: Sendable {
    public enum Outcome: Sendable {
        /// Go on to the device.
        case run(PersistOptions)
        /// `-h` (level 1) or `-hh` (level 2 and more): the usage is printed; exit 0.
        case help(level: Int)
        /// `-V`: the version line is printed; exit 0.
        case version
        /// A refused command line; its message (and usage) is printed.
        case failed(PersistSyntaxError)
    }

    public var outcome: Outcome
    /// All stderr text of the option phase, in order (warnings, the error message, usage, version line).
    public var stderr: String
    /// stdout text of the option phase (the TransportID decode of `-vvv`).
    public var stdout: String

    /// `nil` when the device is to be used; otherwise sg_persist's exit status.
    public var exitCode: Int32? {
        switch outcome {
        case .run: return nil
        case .help, .version: return 0
        case .failed(let error): return error.exitCode
        }
    }
}

extension PersistOptions {
    static let shortOptions = "AcCd:GHhiIkK:l:Lm:MnoPQ:rRsS:T:UvVX:yYzZ"

    /// sg_persist's long option table, in its order (the order decides what an abbreviation matches).
    static let longOptions: [GetoptLong.LongOption] = [
        .init("alloc-length", true, "l"), .init("alloc_length", true, "l"), .init("clear", false, "C"),
        .init("device", true, "d"), .init("help", false, "h"), .init("hex", false, "H"), .init("in", false, "i"),
        .init("maxlen", true, "m"), .init("no-inquiry", false, "n"), .init("no_inquiry", false, "n"),
        .init("out", false, "o"), .init("param-alltgpt", false, "Y"), .init("param_alltgpt", false, "Y"),
        .init("param-aptpl", false, "Z"), .init("param_aptpl", false, "Z"), .init("param-rk", true, "K"),
        .init("param_rk", true, "K"), .init("param-sark", true, "S"), .init("param_sark", true, "S"),
        .init("param-unreg", false, "U"), .init("param_unreg", false, "U"), .init("preempt", false, "P"),
        .init("preempt-abort", false, "A"), .init("preempt_abort", false, "A"), .init("prout-type", true, "T"),
        .init("prout_type", true, "T"), .init("read-full-status", false, "s"), .init("read_full_status", false, "s"),
        .init("read-keys", false, "k"), .init("read_keys", false, "k"), .init("readonly", false, "y"),
        .init("read-reservation", false, "r"), .init("read_reservation", false, "r"), .init("read-status", false, "s"),
        .init("read_status", false, "s"), .init("register", false, "G"), .init("register-ignore", false, "I"),
        .init("register_ignore", false, "I"), .init("register-move", false, "M"), .init("register_move", false, "M"),
        .init("release", false, "L"), .init("relative-target-port", true, "Q"),
        .init("relative_target_port", true, "Q"), .init("replace-lost", false, "z"), .init("replace_lost", false, "z"),
        .init("report-capabilities", false, "c"), .init("report_capabilities", false, "c"),
        .init("reserve", false, "R"), .init("transport-id", true, "X"), .init("transport_id", true, "X"),
        .init("unreg", false, "U"), .init("verbose", false, "v"), .init("version", false, "V"),
    ]

    /// Parses sg_persist's command line (without argv[0]). Never traps, whatever the input.
    ///
    /// - Parameters:
    ///   - programName: the name getopt puts before its diagnostics (glibc uses argv[0]).
    ///   - environment: `POSIXLY_CORRECT` changes getopt's scanning.
    ///   - readTransportIDs: the contents of `--transport-id=file=NAME` (or of standard input for `-`);
    ///     `nil` when it cannot be opened.
    public static func parse(_ arguments: [String], programName: String = "sg_persist",
                             environment: (String) -> String? = { _ in nil },
                             readTransportIDs: (String?) -> [UInt8]? = { _ in nil }) -> PersistParse {
        var options = PersistOptions(device: "")
        var stderr = ""
        var stdout = ""
        var device: String?
        var help = 0
        var wantIn = false, wantOut = false
        var inCount = 0, outCount = 0
        var inAction: UInt8?
        var outAction: UInt8?
        var verboseGiven = false, versionGiven = false
        var failure: PersistSyntaxError?

        let getopt = GetoptLong(shortOptions: shortOptions, longOptions: longOptions, programName: programName)
        let (operands, _) = getopt.scan(arguments, posixlyCorrect: environment("POSIXLY_CORRECT") != nil) { event in
            let found: GetoptLong.Found
            switch event {
            case .error(let text):
                failure = .getopt(text)
                return false
            case .option(let option):
                found = option
            }
            let argument = found.argument ?? []
            switch found.code {
            case UInt8(ascii: "A"): outAction = PersistentReserveOut.ServiceAction.preemptAndAbort.rawValue; outCount += 1
            case UInt8(ascii: "c"): inAction = PersistentReserveIn.ServiceAction.reportCapabilities.rawValue; inCount += 1
            case UInt8(ascii: "C"): outAction = PersistentReserveOut.ServiceAction.clear.rawValue; outCount += 1
            case UInt8(ascii: "d"): device = GetoptLong.text(argument)
            case UInt8(ascii: "G"): outAction = PersistentReserveOut.ServiceAction.register.rawValue; outCount += 1
            case UInt8(ascii: "h"): help += 1
            case UInt8(ascii: "H"): options.hex += 1
            case UInt8(ascii: "i"): wantIn = true
            case UInt8(ascii: "I"):
                outAction = PersistentReserveOut.ServiceAction.registerAndIgnoreExistingKey.rawValue; outCount += 1
            case UInt8(ascii: "k"): inAction = PersistentReserveIn.ServiceAction.readKeys.rawValue; inCount += 1
            case UInt8(ascii: "K"):
                guard let value = CScan.scanHex64(argument) else {
                    failure = .badArgument(option: "param-rk")
                    return false
                }
                options.reservationKey = ReservationKey(rawValue: value)
            case UInt8(ascii: "l"), UInt8(ascii: "m"):
                let name = found.code == UInt8(ascii: "m") ? "maxlen" : "alloc-length"
                let length: UInt32?
                if found.code == UInt8(ascii: "m") {
                    let number = CScan.sgGetNum(argument, warnings: &stderr)
                    length = number == -1 ? nil : UInt32(bitPattern: number)
                } else {
                    length = CScan.scanHex32(argument)
                }
                guard let length else {
                    failure = .badArgument(option: name)
                    return false
                }
                guard length <= maximumAllocationLength else {
                    failure = .allocationLengthTooLarge(option: name)
                    return false
                }
                options.allocationLength = length
            case UInt8(ascii: "L"): outAction = PersistentReserveOut.ServiceAction.release.rawValue; outCount += 1
            case UInt8(ascii: "M"): outAction = PersistentReserveOut.ServiceAction.registerAndMove.rawValue; outCount += 1
            case UInt8(ascii: "n"): options.inquiry = false
            case UInt8(ascii: "o"): wantOut = true
            case UInt8(ascii: "P"): outAction = PersistentReserveOut.ServiceAction.preempt.rawValue; outCount += 1
            case UInt8(ascii: "Q"):
                guard let value = CScan.scanHex32(argument) else {
                    failure = .badArgument(option: "relative-target-port")
                    return false
                }
                guard value <= 0xFFFF else {
                    failure = .relativeTargetPortOutOfRange
                    return false
                }
                options.relativeTargetPortIdentifier = UInt16(value)
            case UInt8(ascii: "r"): inAction = PersistentReserveIn.ServiceAction.readReservation.rawValue; inCount += 1
            case UInt8(ascii: "R"): outAction = PersistentReserveOut.ServiceAction.reserve.rawValue; outCount += 1
            case UInt8(ascii: "s"): inAction = PersistentReserveIn.ServiceAction.readFullStatus.rawValue; inCount += 1
            case UInt8(ascii: "S"):
                guard let value = CScan.scanHex64(argument) else {
                    failure = .badArgument(option: "param-sark")
                    return false
                }
                options.serviceActionReservationKey = ReservationKey(rawValue: value)
            case UInt8(ascii: "T"):
                guard let value = CScan.scanHex32(argument) else {
                    failure = .badArgument(option: "prout-type")
                    return false
                }
                options.reservationTypeField = value
            case UInt8(ascii: "U"): options.unregister = true
            case UInt8(ascii: "v"): verboseGiven = true; options.verbose += 1
            case UInt8(ascii: "V"): versionGiven = true
            case UInt8(ascii: "X"):
                var after: [UInt8] = []
                for following in found.followingArguments { after += following + [0] }
                guard options.transportIDs.add(argument: argument, memoryAfter: after, reader: readTransportIDs,
                                               diagnostics: &stderr) else {
                    failure = .badArgument(option: "transport-id")
                    return false
                }
            case UInt8(ascii: "y"):
                if !options.forceReadWrite {
                    if options.readOnly {
                        options.forceReadWrite = true
                        options.readOnly = false
                    } else {
                        options.readOnly = true
                    }
                }
            case UInt8(ascii: "Y"): options.allTargetPorts = true
            case UInt8(ascii: "z"):
                outAction = PersistentReserveOut.ServiceAction.replaceLostReservation.rawValue; outCount += 1
            case UInt8(ascii: "Z"): options.activatePersistThroughPowerLoss = true
            default:
                break
            }
            return true
        }

        func finish(_ outcome: PersistParse.Outcome) -> PersistParse {
            PersistParse(outcome: outcome, stderr: stderr, stdout: stdout)
        }
        func fail(_ error: PersistSyntaxError) -> PersistParse {
            stderr += error.message
            if error.printsUsage { stderr += PersistUsage.text(level: 1) }
            return finish(.failed(error))
        }

        if let failure { return fail(failure) }
        var extra = operands
        if !extra.isEmpty, device == nil { device = extra.removeFirst() }
        if !extra.isEmpty { return fail(.unexpectedArguments(extra)) }
        if help > 0 {
            stderr += PersistUsage.text(level: help)
            return finish(.help(level: help))
        }
        if verboseGiven && versionGiven { stderr += "Not in DEBUG mode, so '-vV' has no special action\n" }
        if versionGiven {
            stderr += "version: \(version)\n"
            return finish(.version)
        }
        guard let device else { return fail(.noDevice) }
        options.device = device
        if wantOut && wantIn { return fail(.inAndOut) }
        if wantOut {
            options.isReserveIn = false
            guard outCount == 1, inCount == 0, let outAction else { return fail(.outNeedsOneServiceAction) }
            options.outServiceAction = PersistentReserveOut.ServiceAction(rawValue: outAction)
        } else {
            if outCount > 0 { return fail(.serviceActionNeedsOut) }
            if inCount == 0 {
                stderr += ">> No service action given; assume Persistent Reserve In command\n>> with Read Keys service action\n"
                inAction = PersistentReserveIn.ServiceAction.readKeys.rawValue
            } else if inCount > 1 {
                return fail(.tooManyServiceActions)
            }
            options.inServiceAction = PersistentReserveIn.ServiceAction(rawValue: inAction ?? 0)
        }
        let isRegisterMove = options.outServiceAction == .registerAndMove
        if (options.unregister || options.relativeTargetPortIdentifier != 0) && !isRegisterMove {
            return fail(.registerMoveOptionWithoutRegisterMove)
        }
        if isRegisterMove && options.transportIDs.count != 1 { return fail(.registerMoveNeedsOneTransportID) }
        if let action = options.outServiceAction,
           [.reserve, .release, .preempt, .preemptAndAbort].contains(action), options.reservationTypeField == 0 {
            stderr += "warning>>> --prout-type probably needs to be given\n"
        }
        if options.verbose > 2 && options.transportIDs.count > 0 {
            stderr += "number of tranport-ids decoded from command line (or stdin): \(options.transportIDs.count)\n"
            stderr += "  Decode given transport-ids:\n"
            for k in 0..<options.transportIDs.count {
                stdout += PersistText.transportID(leadIn: "      ", options.transportIDs.slot(k))
            }
        }
        return finish(.run(options))
    }
}

/// sg_persist's usage texts.
enum PersistUsage {
    static func text(level: Int) -> String { level < 2 ? main : other }

    static let main = """
        Usage: sg_persist [OPTIONS] [DEVICE]
          where the main OPTIONS are:
            --clear|-C                 PR Out: Clear
            --help|-h                  print usage message, twice for more
            --in|-i                    request PR In command (default)
            --out|-o                   request PR Out command
            --param-rk=RK|-K RK        PR Out parameter reservation key
                                       (RK is in hex)
            --param-sark=SARK|-S SARK    PR Out parameter service action
                                         reservation key (SARK is in hex)
            --preempt|-P               PR Out: Preempt
            --preempt-abort|-A         PR Out: Preempt and Abort
            --prout-type=TYPE|-T TYPE    PR Out type field (see '-hh')
            --read-full-status|-s      PR In: Read Full Status
            --read-keys|-k             PR In: Read Keys (default)
            --read-reservation|-r      PR In: Read Reservation
            --read-status|-s           PR In: Read Full Status
            --register|-G              PR Out: Register
            --register-ignore|-I       PR Out: Register and Ignore
            --register-move|-M         PR Out: Register and Move
                                       for '--register-move'
            --release|-L               PR Out: Release
            --replace-lost|-x          PR Out: Replace Lost Reservation
            --report-capabilities|-c   PR In: Report Capabilities
            --reserve|-R               PR Out: Reserve
            --unreg|-U                 optional with PR Out Register and Move

        Performs a SCSI PERSISTENT RESERVE (IN or OUT) command. Invoking
        'sg_persist DEVICE' will do a PR In Read Keys command. Use '-hh'
        for more options and TYPE meanings.

        """

    static let other = """
        Usage: sg_persist [OPTIONS] [DEVICE]
          where the other OPTIONS are:
            --alloc-length=LEN|-l LEN    allocation length hex value (used with
                                         PR In only) (default: 8192 (2000 in hex))
            --device=DEVICE|-d DEVICE    supply DEVICE as an option rather than
                                         an argument
            --hex|-H                   output response in hex (for PR In commands)
            --maxlen=LEN|-m LEN        allocation length in decimal, by default.
                                       like --alloc-len= (def: 8192, 8k, 2000h)
            --no-inquiry|-n            skip INQUIRY (default: do INQUIRY)
            --param-alltgpt|-Y         PR Out parameter 'ALL_TG_PT'
            --param-aptpl|-Z           PR Out parameter 'APTPL'
            --readonly|-y              open DEVICE read-only (def: read-write)
            --relative-target-port=RTPI|-Q RTPI    relative target port identifier
            --transport-id=TIDS|-X TIDS    one or more TransportIDs can
                                           be given in several forms
            --verbose|-v               output additional debug information
            --version|-V               output version string

        For the main options use '--help' or '-h' once.


        PR Out TYPE field value meanings:
          0:    obsolete (was 'read shared' in SPC)
          1:    write exclusive
          2:    obsolete (was 'read exclusive')
          3:    exclusive access
          4:    obsolete (was 'shared access')
          5:    write exclusive, registrants only
          6:    exclusive access, registrants only
          7:    write exclusive, all registrants
          8:    exclusive access, all registrants

        """
}
