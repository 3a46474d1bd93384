import Glibc
import PRCore
import SgText
import ProcessSupport
import Transports

/// The sg_persist personality: `storage-ctl persist [sg_persist options] DEVICE`, and the executable invoked
/// as `sg_persist`. Behaves like sg_persist 1.46 (version 0.67 20190913): the same options, stdout, stderr
/// and exit statuses, sending the same CDB and parameter bytes, on any `SCSITransport` (SG_IO devices and
/// simulated LUs alike). It never retries: a UNIT ATTENTION is reported and exits 6, as sg_persist does.
///
/// Output order: sg_persist writes stderr unbuffered and stdout through stdio, so when stdout is a pipe or
/// a file (what scripts see) all stderr text comes first. `run` writes the whole stderr text, then stdout.
public enum PersistCommand {
    /// Opens DEVICE (read-only when the flag says so), as sg_persist's `sg_cmds_open_device()` does.
    public typealias DeviceOpener = (_ path: String, _ readOnly: Bool) throws(TransportError) -> any SCSITransport

    /// The command timeout sg_persist uses (`DEF_PT_TIMEOUT`).
    static let commandTimeout: Duration = .seconds(60)
    /// sg3_utils' sense buffer size (`SENSE_BUFF_LEN`): sense beyond it never reaches sg_persist.
    static let senseBufferLength = 64

    /// Runs sg_persist with `arguments` (argv without argv[0]) and returns its exit status.
    ///
    /// - Parameters:
    ///   - programName: what getopt diagnostics start with (glibc prints argv[0]; pass argv[0] when invoked
    ///     as `sg_persist`, "sg_persist" for `storage-ctl persist`).
    ///   - environment: `SG_PERSIST_IN_RDONLY` and `POSIXLY_CORRECT` are read through it.
    ///   - readTransportIDs: the bytes of `--transport-id=file=NAME` (path) or of standard input (`nil`).
    ///   - milliseconds: a monotonic clock, for the `-vvv` command durations.
    public static func run<Out: TextOutputStream, Err: TextOutputStream>(
        arguments: [String], programName: String = "sg_persist",
        environment: @escaping (String) -> String?,
        readTransportIDs: (String?) -> [UInt8]? = { _ in nil },
        milliseconds: @escaping () -> UInt64 = PersistCommand.monotonicMilliseconds,
        stdout: inout Out, stderr: inout Err,
        openDevice: @escaping DeviceOpener
    ) -> Int32 {
        let parse = PersistOptions.parse(arguments, programName: programName, environment: environment,
                                         readTransportIDs: readTransportIDs)
        var session = Session(environment: environment, openDevice: openDevice, milliseconds: milliseconds)
        session.err = parse.stderr
        session.out = parse.stdout
        let status: Int32
        if case .run(let options) = parse.outcome {
            status = session.execute(options)
        } else {
            status = parse.exitCode ?? 0
        }
        stderr.write(session.err)
        stdout.write(session.out)
        return status
    }

    /// The process: `main` calls this when invoked as `sg_persist` (`programName` is then argv[0]) or as
    /// `storage-ctl persist ...` ("sg_persist"), with the arguments after those, and exits with what it returns.
    ///
    /// Before anything is opened the standard descriptors are made safe and SIGPIPE is ignored (`ProcessStart`,
    /// as storage-ctl does); otherwise the real sg_persist's signal dispositions are kept. A standard descriptor
    /// that cannot be made safe ends it with sg_persist's "other" status.
    /// `initiator`: a simulated LU's initiator name chosen by storage-ctl's own options (`storage-ctl -c FILE
    /// persist ...`); nil: `$STORAGE_CTL_INITIATOR`, else the one derived from the host name.
    public static func runProcess(arguments: [String], programName: String, initiator: String? = nil) -> Int32 {
        guard ProcessStart.prepare() else { return PersistExit.other }
        var out = FDOutput(fd: 1)
        var err = FDOutput(fd: 2)
        let status = run(arguments: arguments, programName: programName, initiator: initiator, stdout: &out, stderr: &err)
        // sg_persist writes through stdio and its exit status ignores a failed write: so does this one
        out.flush()
        err.flush()
        return status
    }

    /// The live entry point for `runProcess`: the process environment, files and standard input for
    /// `--transport-id`, and `DeviceResolver` for DEVICE (a regular file is a simulated LU whose initiator
    /// name comes from `$STORAGE_CTL_INITIATOR`, else the one derived from the host name).
    public static func run<Out: TextOutputStream, Err: TextOutputStream>(
        arguments: [String], programName: String = "sg_persist", initiator chosen: String? = nil,
        stdout: inout Out, stderr: inout Err
    ) -> Int32 {
        let environment: (String) -> String? = { Posix.environment($0) }
        // Found at the first open, once: `-V`, `-h` and usage errors open no device and need no host name.
        var initiator: String? = chosen
        return run(arguments: arguments, programName: programName, environment: environment,
                   readTransportIDs: liveTransportIDReader(), stdout: &stdout, stderr: &stderr,
                   openDevice: { (path, _) throws(TransportError) in
                       let name = initiator ?? environment("STORAGE_CTL_INITIATOR").flatMap { $0.isEmpty ? nil : $0 }
                           ?? HostInitiator.derived()
                       initiator = name
                       return try openLive(path, initiatorName: name)
                   })
    }

    /// DEVICE through `DeviceResolver`. sg_persist's read-only opens (always for the INQUIRY, and with `-y`)
    /// are not passed on: on the test bed the real sg_persist, run as root, sends PR OUT through an O_RDONLY
    /// sg descriptor and the device executes it, and a simulated LU behaves the same way (a state file the
    /// user cannot write is opened read-only by SimulatedLU itself).
    /// DEVICE is opened by the bytes given in argv (`ArgumentBytes`), not by a repaired String.
    static func openLive(_ path: String, initiatorName: String) throws(TransportError) -> any SCSITransport {
        guard let bytes = ArgumentBytes.original(of: path) else {
            throw TransportError(.other, ArgumentBytes.ambiguity("DEVICE", shown: path))
        }
        return try DeviceResolver.open(pathBytes: bytes, options: DeviceOptions(initiatorName: initiatorName))
    }

    /// Reads `file=NAME` files, and standard input once (later reads see end of file, as a second `-X -` does).
    static func liveTransportIDReader() -> (String?) -> [UInt8]? {
        final class Once: @unchecked Sendable { var stdinRead = false }
        let once = Once()
        return { path in
            if let path { return try? Posix.readFile(path) }
            if once.stdinRead { return [] }
            once.stdinRead = true
            var bytes: [UInt8] = []
            while bytes.count < 1 << 20 {
                guard let chunk = try? FileDescriptor.standardInput.read(upTo: 4096), !chunk.isEmpty else { break }
                bytes += chunk
            }
            return bytes
        }
    }

    /// CLOCK_MONOTONIC in milliseconds.
    public static func monotonicMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(max(0, now.tv_sec)) * 1000 + UInt64(max(0, now.tv_nsec)) / 1_000_000
    }

    /// Whether argv[0] names the sg_persist personality (its basename is `sg_persist`).
    /// (Its last non-empty `/`-separated component, compared byte by byte: no array of components is built,
    /// which would cost the start-up a generic metadata instantiation.)
    public static func isInvokedAsSgPersist(_ argv0: String) -> Bool {
        var bytes = argv0.utf8[...]
        while bytes.last == UInt8(ascii: "/") { bytes = bytes.dropLast() }
        let name = "sg_persist".utf8
        guard bytes.count >= name.count, bytes.suffix(name.count).elementsEqual(name) else { return false }
        return bytes.count == name.count || bytes.dropLast(name.count).last == UInt8(ascii: "/")
    }
}

/// A device that accepts no SCSI command: what the real sg_persist meets when it opens something that is
/// not a SCSI device (its ioctl(SG_IO) fails with ENOTTY).
private final class NotSCSITransport: SCSITransport {
    let path: String
    init(path: String) { self.path = path }
    func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
        throw TransportError(.io(errno: .inappropriateIOCTLForDevice), PersistText.strerror(ENOTTY))
    }
}

/// One run of sg_persist against a device: `main()` from the INQUIRY on, with sg_cmds and sg_pt's
/// processing of each command.
struct Session {
    var out = ""
    var err = ""
    let environment: (String) -> String?
    let openDevice: PersistCommand.DeviceOpener
    let milliseconds: () -> UInt64
    var verbose = 0

    init(environment: @escaping (String) -> String?, openDevice: @escaping PersistCommand.DeviceOpener,
         milliseconds: @escaping () -> UInt64) {
        self.environment = environment
        self.openDevice = openDevice
        self.milliseconds = milliseconds
    }

    static let inServiceActionNames = ["Read keys", "Read reservation", "Report capabilities", "Read full status",
                                       "[reserved 0x4]", "[reserved 0x5]", "[reserved 0x6]", "[reserved 0x7]"]
    static let outServiceActionNames = ["Register", "Reserve", "Release", "Clear", "Preempt", "Preempt and abort",
                                        "Register and ignore existing key", "Register and move",
                                        "Replace lost reservation", "[reserved 0x9]"]

    mutating func execute(_ options: PersistOptions) -> Int32 {
        verbose = options.verbose
        var ret: Int32 = 0
        var flagged = false
        let device = options.device
        run: do {
            if options.inquiry {
                let transport: any SCSITransport
                switch open(device, readOnly: true) {
                case .success(let opened): transport = opened
                case .failure(let failure):
                    err += "sg_persist: error opening file (ro): \(device): \(failure.message)\n"
                    ret = failure.code
                    flagged = true
                    break run
                }
                let (status, data) = inquiry(transport)
                if status == 0 {
                    out += PersistOutput.inquiryHeader(data)
                } else {
                    out += "sg_persist: SCSI INQUIRY failed on \(device)\n"
                    ret = status
                    flagged = true
                    break run
                }
            }
            var readOnly = options.readOnly
            if !options.forceReadWrite {
                if environment("SG_PERSIST_IN_RDONLY") != nil && options.isReserveIn { readOnly = true }
            } else {
                readOnly = false
            }
            let transport: any SCSITransport
            switch open(device, readOnly: readOnly) {
            case .success(let opened): transport = opened
            case .failure(let failure):
                err += "sg_persist: error opening file \(device) (r\(readOnly ? "o" : "w")): \(failure.message)\n"
                ret = failure.code
                flagged = true
                break run
            }
            if options.isReserveIn {
                ret = reserveIn(transport, options)
            } else if options.outServiceAction == .registerAndMove {
                ret = registerAndMove(transport, options)
            } else {
                ret = reserveOut(transport, options)
            }
        }
        if ret != 0 && verbose == 0 && !flagged && ret != PersistExit.okFalse {
            if let text = PersistExit.text(ret, longer: false) {
                err += "sg_persist failed: \(text)\n"
            } else {
                err += "Some error occurred [\(ret)]\n"
            }
        }
        return ret >= 0 ? ret : PersistExit.other
    }

    // MARK: opening

    struct OpenFailure: Error {
        var message: String
        var code: Int32
    }

    /// `sg_cmds_open_device()`: O_NONBLOCK, read-only or read-write.
    mutating func open(_ path: String, readOnly: Bool) -> Result<any SCSITransport, OpenFailure> {
        let flags = readOnly ? "0x800" : "0x802"
        if verbose > 1 { err += "open \(path) with flags=\(flags)\n" }
        do {
            return .success(try openDevice(path, readOnly))
        } catch {
            let failure: OpenFailure
            switch error.kind {
            case .notSCSIDevice:
                // The real tool opens it, then every ioctl(SG_IO) fails with ENOTTY.
                return .success(NotSCSITransport(path: path))
            case .open(let e), .io(let e):
                failure = OpenFailure(message: PersistText.strerror(e.rawValue), code: PersistExit.convert(errno: e.rawValue))
            case .timeout, .lockWait:
                failure = OpenFailure(message: PersistText.strerror(ETIMEDOUT), code: PersistExit.convert(errno: ETIMEDOUT))
            case .corruptState, .other:
                failure = OpenFailure(message: error.message, code: PersistExit.fileError)
            }
            if verbose > 1 { err += "scsi_pt_open_flags: open(\(path), \(flags)) failed: \(failure.message)\n" }
            return .failure(failure)
        }
    }

    // MARK: sg_cmds_process_resp

    /// What `sg_cmds_process_resp()` made of one command.
    enum Processed {
        /// >= 0: data-in bytes received.
        case received(Int)
        /// -1: failed; `osError` is what `get_scsi_pt_os_err()` gives (0 when the failure was not an OS error).
        case failed(osError: Int32)
        /// -2: a sense category (or SCSI status category).
        case category(Int32)
    }

    struct Exchange {
        var processed: Processed
        var data: [UInt8]
    }

    /// Sends one command and processes the outcome as `sg_cmds_process_resp()` (noisy) does.
    mutating func exchange(_ transport: any SCSITransport, leadIn: String, cdb: [UInt8], dataOut: [UInt8] = [],
                           dataInLength: Int) -> Exchange {
        let start = milliseconds()
        let result: SCSICommandResult
        do {
            result = try transport.execute(cdb: cdb, dataOut: dataOut, dataInLength: dataInLength,
                                           timeout: PersistCommand.commandTimeout)
        } catch {
            switch error.kind {
            case .timeout, .lockWait:
                // On Linux a timed-out SG_IO completes with host status DID_TIME_OUT.
                return transportStatus(leadIn: leadIn, host: 0x03, driver: 0, start: start)
            case .open(let e), .io(let e):
                return osError(leadIn: leadIn, errno: e.rawValue, text: PersistText.strerror(e.rawValue))
            case .notSCSIDevice:
                return osError(leadIn: leadIn, errno: ENOTTY, text: PersistText.strerror(ENOTTY))
            case .corruptState, .other:
                return osError(leadIn: leadIn, errno: EIO, text: error.message)
            }
        }
        if verbose > 2 { err += "      duration=\(milliseconds() &- start) ms\n" }
        let data = Array(result.data.prefix(max(0, dataInLength)))
        let sense = Array(result.sense.prefix(PersistCommand.senseBufferLength))
        let status = result.status.rawValue
        let masked = status & 0x7E
        let driver = result.driverStatus & 0x0F
        if result.hostStatus != 0 || (driver != 0 && driver != 0x08) {
            err += "\(leadIn): transport: \(PersistText.transportError(hostStatus: result.hostStatus, driverStatus: result.driverStatus))\n"
            return Exchange(processed: .failed(osError: 0), data: data)
        }
        if driver == 0x08 || masked == 0x02 || masked == 0x22 {
            return senseOutcome(leadIn: leadIn, sense: sense, data: data, dataInLength: dataInLength)
        }
        if masked != 0 {
            switch status {
            case 0x18: return Exchange(processed: .category(PersistExit.reservationConflict), data: data)
            case 0x04: return Exchange(processed: .category(PersistExit.conditionMet), data: data)
            case 0x08: return Exchange(processed: .category(PersistExit.busy), data: data)
            case 0x28: return Exchange(processed: .category(PersistExit.taskSetFull), data: data)
            case 0x30: return Exchange(processed: .category(PersistExit.acaActive), data: data)
            case 0x40: return Exchange(processed: .category(PersistExit.taskAborted), data: data)
            default:
                err += "\(leadIn): scsi status: \(PersistText.scsiStatus(status))\n"
                return Exchange(processed: .failed(osError: 0), data: data)
            }
        }
        if dataInLength > 0, data.count != dataInLength, verbose > 1 {
            err += residual(leadIn: leadIn, dataIn: true, requested: dataInLength, got: data.count)
        }
        return Exchange(processed: .received(data.count), data: data)
    }

    private mutating func osError(leadIn: String, errno e: Int32, text: String) -> Exchange {
        if verbose > 0 { err += "\(leadIn): pass-through os error: \(text)\n" }
        if e == ENXIO {
            if verbose > 2 { err += "map ENXIO to SG_LIB_CAT_NOT_READY\n" }
            return Exchange(processed: .category(PersistExit.notReady), data: [])
        }
        if verbose == 0 { err += "\(leadIn): pass-through os error: \(text)\n" }
        return Exchange(processed: .failed(osError: e), data: [])
    }

    private mutating func transportStatus(leadIn: String, host: UInt16, driver: UInt16, start: UInt64) -> Exchange {
        if verbose > 2 { err += "      duration=\(milliseconds() &- start) ms\n" }
        err += "\(leadIn): transport: \(PersistText.transportError(hostStatus: host, driverStatus: driver))\n"
        return Exchange(processed: .failed(osError: 0), data: [])
    }

    /// `sg_cmds_process_helper()`.
    private mutating func senseOutcome(leadIn: String, sense: [UInt8], data: [UInt8], dataInLength: Int) -> Exchange {
        let category = PersistText.senseCategory(sense)
        var noisy = true
        var checkDataIn = false
        switch category {
        case PersistExit.notReady, PersistExit.invalidOperationCode, PersistExit.illegalRequest,
             PersistExit.lbaOutOfRange, PersistExit.abortedCommand, PersistExit.copyAborted, PersistExit.dataProtect,
             PersistExit.protection, PersistExit.noSense, PersistExit.miscompare:
            noisy = false
        case PersistExit.recovered, PersistExit.mediumHard:
            checkDataIn = true
        default:
            break
        }
        if verbose > 0 || noisy {
            if !leadIn.isEmpty { err += "\(leadIn):\n" }
            err += PersistText.sense(sense, raw: verbose > 1)
            if dataInLength > 0, data.count != dataInLength, verbose > 2 || checkDataIn || !data.isEmpty {
                err += residual(leadIn: leadIn, dataIn: true, requested: dataInLength, got: data.count)
            }
        }
        return Exchange(processed: .category(category), data: data)
    }

    private func residual(leadIn: String, dataIn: Bool, requested: Int, got: Int) -> String {
        "    \(leadIn): pass-through requested \(requested) bytes (data-\(dataIn ? "in), got" : "out) but reported")  got \(got) bytes\(dataIn ? "" : " sent")\n"
    }

    /// The exit status an sg_ll_* function makes of a processed command.
    private func status(_ processed: Processed) -> Int32 {
        switch processed {
        case .failed(let e): return PersistExit.convert(errno: e)
        case .category(let c): return c == PersistExit.recovered || c == PersistExit.noSense ? 0 : c
        case .received: return 0
        }
    }

    // MARK: commands

    /// `sg_simple_inquiry()`: 36 bytes of standard INQUIRY data.
    mutating func inquiry(_ transport: any SCSITransport) -> (Int32, [UInt8]) {
        let cdb = Inquiry.CDB(allocationLength: 36).encode()
        if verbose > 0 { err += "    inquiry cdb: \(PersistText.commandString(cdb))\n" }
        let exchange = exchange(transport, leadIn: "inquiry", cdb: cdb, dataInLength: 36)
        if case .received(let count) = exchange.processed, count < 4 {
            if verbose > 0 { err += "sg_ll_inquiry_com: got too few bytes (\(count))\n" }
            return (PersistExit.malformed, [])
        }
        return (status(exchange.processed), exchange.data)
    }

    /// `prin_work()`.
    mutating func reserveIn(_ transport: any SCSITransport, _ options: PersistOptions) -> Int32 {
        let action = options.inServiceAction
        let length = Int(options.allocationLength)
        let cdb = PersistentReserveIn.CDB(serviceAction: action, allocationLength: UInt16(truncatingIfNeeded: length)).encode()
        let name = "Persistent reservation in"
        if verbose > 0 { err += "    \(name) cdb: \(PersistText.commandString(cdb))\n" }
        let exchange = exchange(transport, leadIn: name, cdb: cdb, dataInLength: length)
        if case .received(let count) = exchange.processed, verbose > 2, count > 0 {
            err += "    \(name): response"
            if verbose == 3 {
                err += (count > 256 ? ", first 256 bytes" : "") + ":\n"
                err += PersistText.hexDump(exchange.data, count: min(count, 256), noASCII: -1)
            } else {
                err += ":\n" + PersistText.hexDump(exchange.data, count: count, noASCII: 0)
            }
        }
        let result = status(exchange.processed)
        if result != 0 {
            let sa = Int(action.rawValue)
            let what = sa < Session.inServiceActionNames.count ? Session.inServiceActionNames[sa] : "service action=0x\(PersistText.hex(sa))"
            err += "PR in (\(what)): " + failureText(result) + "\n"
            return result
        }
        let rendered = PersistOutput.reserveIn(action, data: exchange.data, allocationLength: options.allocationLength,
                                               hex: options.hex, verbose: verbose)
        out += rendered.stdout
        err += rendered.stderr
        return rendered.exitCode
    }

    private func failureText(_ status: Int32) -> String {
        switch status {
        case PersistExit.invalidOperationCode: return "command not supported"
        case PersistExit.illegalRequest: return "bad field in cdb or parameter list (perhaps unsupported service action)"
        default: return PersistExit.categoryText(status, verbose: verbose)
        }
    }

    /// `sg_ll_persistent_reserve_out()` with sg_persist's verbose output.
    private mutating func sendReserveOut(_ transport: any SCSITransport, action: PersistentReserveOut.ServiceAction,
                                         type: ReservationType, parameters: [UInt8]) -> Int32 {
        // sg3_utils puts the length in CDB bytes 7-8 (16 bits).
        let cdb = PersistentReserveOut.CDB(serviceAction: action, scope: 0, type: type,
                                           parameterListLength: UInt32(UInt16(truncatingIfNeeded: parameters.count))).encode()
        let name = "Persistent reservation out"
        if verbose > 0 {
            err += "    \(name) cdb: \(PersistText.commandString(cdb))\n"
            if verbose > 1 {
                err += "    \(name) parameters:\n"
                err += PersistText.hexDump(parameters, count: parameters.count, noASCII: 0)
            }
        }
        return status(exchange(transport, leadIn: name, cdb: cdb, dataOut: parameters, dataInLength: 0).processed)
    }

    /// `prout_work()`: every PR OUT service action but REGISTER AND MOVE.
    mutating func reserveOut(_ transport: any SCSITransport, _ options: PersistOptions) -> Int32 {
        let action = options.outServiceAction ?? .register
        let transportIDs = options.transportIDParameterData
        var parameters = PersistentReserveOut.ParameterList(
            reservationKey: options.reservationKey, serviceActionReservationKey: options.serviceActionReservationKey,
            specifyInitiatorPorts: !transportIDs.isEmpty, allTargetPorts: options.allTargetPorts,
            activatePersistThroughPowerLoss: options.activatePersistThroughPowerLoss).encode()
        if !transportIDs.isEmpty {
            var writer = ByteWriter()
            writer.writeInteger(UInt32(truncatingIfNeeded: transportIDs.count))
            parameters += writer.bytes + transportIDs
        }
        let result = sendReserveOut(transport, action: action, type: options.reservationType, parameters: parameters)
        if result != 0 || verbose > 0 {
            let sa = Int(action.rawValue)
            let what = sa < Session.outServiceActionNames.count ? Session.outServiceActionNames[sa] : "service action=0x\(PersistText.hex(sa))"
            if result != 0 {
                err += "PR out (\(what)): " + failureText(result) + "\n"
            } else {
                err += "PR out: command (\(what)) successful\n"
            }
        }
        return result
    }

    /// `prout_reg_move_work()`.
    mutating func registerAndMove(_ transport: any SCSITransport, _ options: PersistOptions) -> Int32 {
        let parameters = PersistentReserveOut.RegisterAndMoveParameterList(
            reservationKey: options.reservationKey, serviceActionReservationKey: options.serviceActionReservationKey,
            unregister: options.unregister, activatePersistThroughPowerLoss: options.activatePersistThroughPowerLoss,
            relativeTargetPortIdentifier: options.relativeTargetPortIdentifier,
            transportID: options.transportIDParameterData).encode()
        let result = sendReserveOut(transport, action: .registerAndMove, type: options.reservationType, parameters: parameters)
        if result != 0 {
            err += "PR out (register and move): " + failureText(result) + "\n"
        } else if verbose > 0 {
            err += "PR out: 'register and move' command successful\n"
        }
        return result
    }
}
