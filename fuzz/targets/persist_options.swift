// Fuzz target: the sg_persist personality's command line. PersistOptions.parse (GNU getopt_long, glibc
// sscanf, sg_get_num, TransportID arguments in every form), then, for a command line that parses, the whole
// personality (PersistCommand.run) against a scripted device, so the PR OUT parameter data built from the
// options is exercised too.
//
// Input: byte 0 = flags (bit 0 POSIXLY_CORRECT, bit 1 SG_PERSIST_IN_RDONLY, bit 2 the last NUL-separated
// piece is the content of every --transport-id file and of standard input, bit 3 such files cannot be opened,
// bit 4 run the personality, bits 6-5 how the device answers), the rest = argv (without argv[0]) as
// NUL-separated strings.
@testable import PRCore
@testable import Transports
@testable import SgPersist
@testable import SgText

/// A device answering every command the same way (INQUIRY and PR IN with plausible data).
private final class ScriptedDevice: SCSITransport {
    let path = "/dev/fuzz"
    let answer: UInt8
    var commands = 0
    init(answer: UInt8) { self.answer = answer }
    func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
        commands += 1
        fuzzCheck(commands <= 4, "the personality sent more than 4 commands")
        fuzzCheck(cdb.count >= 6 && dataInLength >= 0, "bad CDB or data-in length")
        if cdb[0] == 0x5F {
            let length = fuzzBE(cdb, 5, as: UInt32.self) ?? 0
            fuzzCheck(Int(length) == dataOut.count, "PR OUT PARAMETER LIST LENGTH \(length) but \(dataOut.count) bytes sent")
        }
        switch answer {
        case 1: return SCSICommandResult(status: .reservationConflict)
        case 2: return SCSICommandResult(status: .checkCondition, sense: SenseData(key: .unitAttention, additionalSense: .reservationsPreempted).encodeFixed())
        case 3: throw TransportError(.io(errno: .ioError), "Input/output error")
        default: break
        }
        var data: [UInt8]
        switch cdb[0] {
        case 0x12:
            data = StandardInquiryData(peripheralDeviceType: .tape, vendor: "STORCTL", product: "SIM TAPE", revision: "1.0").encode()
        case 0x5E:
            let tid = TransportID.iscsi(name: "iqn.2024-01.example:host1", isid: 0x4000_0137_0000)
            switch cdb[1] & 0x1F {
            case 0: data = ReadKeysResponse(generation: 3, keys: [ReservationKey(0xBAC001), ReservationKey(0xBAC999)]).encode()
            case 1: data = ReadReservationResponse(generation: 3, reservation: .init(key: ReservationKey(0xBAC001), type: .exclusiveAccess)).encode()
            case 2: data = ReportCapabilitiesResponse(persistThroughPowerLossCapable: true, typeMaskValid: true, allowCommands: 1, typeMask: 0xEA01).encode()
            default:
                data = ReadFullStatusResponse(generation: 3, descriptors: [
                    FullStatusDescriptor(key: ReservationKey(0xBAC001), isReservationHolder: true, type: .exclusiveAccess,
                                         relativeTargetPortIdentifier: 1, transportID: tid)]).encode()
            }
        default:
            data = []
        }
        return SCSICommandResult(status: .good, data: Array(data.prefix(dataInLength)))
    }
}

private struct Sink: TextOutputStream {
    var text = ""
    mutating func write(_ string: String) { text += string }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPersistOptions(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let flags = input.u8()
    var pieces = input.rest().split(separator: 0, omittingEmptySubsequences: false).map { Array($0) }
    var fileContent: [UInt8] = []
    if flags & 0x04 != 0, let last = pieces.popLast() { fileContent = last }
    // argv strings as CommandLine.arguments makes them (invalid UTF-8 repaired).
    let arguments = pieces.map { String(decoding: $0, as: UTF8.self) }
    let environment: (String) -> String? = { name in
        switch name {
        case "POSIXLY_CORRECT": return flags & 0x01 != 0 ? "1" : nil
        case "SG_PERSIST_IN_RDONLY": return flags & 0x02 != 0 ? "1" : nil
        default: return nil
        }
    }
    let reader: (String?) -> [UInt8]? = { _ in flags & 0x08 != 0 ? nil : fileContent }

    let parse = PersistOptions.parse(arguments, environment: environment, readTransportIDs: reader)
    switch parse.outcome {
    case .run(let options):
        fuzzCheck(parse.exitCode == nil, "run with an exit code")
        fuzzCheck(options.allocationLength <= PersistOptions.maximumAllocationLength, "allocation length \(options.allocationLength)")
        fuzzCheck(options.isReserveIn == (options.outServiceAction == nil), "PR IN/OUT")
        _ = options.transportIDParameterData
        _ = options.reservationType
    case .failed(let error):
        fuzzCheck([0, PersistExit.syntaxError, PersistExit.contradict].contains(parse.exitCode ?? -1), "syntax error exit code")
        fuzzCheck(parse.stderr.hasSuffix("\n"), "error text not ending in a newline")
        _ = error.message
    case .help, .version:
        fuzzCheck(parse.exitCode == 0, "help/version exit code")
    }

    if flags & 0x10 != 0, case .run = parse.outcome {
        var out = Sink(), err = Sink()
        let device = ScriptedDevice(answer: (flags >> 5) & 0x03)
        let status = PersistCommand.run(arguments: arguments, environment: environment, readTransportIDs: reader,
                                        milliseconds: { 1000 }, stdout: &out, stderr: &err,
                                        openDevice: { (_, _) throws(TransportError) in device })
        fuzzCheck((0...255).contains(status), "exit status \(status)")
    }
    return 0
}
