import Testing
@testable import StorageCtl
import PRCore
import Transports

/// A backend as a new one would be written: a `PersistentReservationDevice` handed to the CLI
/// through `StorageCtlMain.Environment.openDevice`, no `SCSITransport` in sight. It answers
/// through the SCSI implementation over the in-memory engine and logs each operation, so these
/// tests see what the verbs ask of a backend, one reservation operation at a time.
final class OperationLoggingDevice: PersistentReservationDevice {
    let inner: SCSIReservationDevice
    var operations: [String] = []
    let resolutionNote: String?

    init(_ lu: LoggingLU, request: DeviceRequest, resolutionNote: String?) {
        inner = ReservationDevices.scsi(lu, path: "/dev/fake", request)
        self.resolutionNote = resolutionNote
    }

    var path: String { inner.path }
    var knownNexus: Nexus? { inner.knownNexus }

    func inquiry() throws(StorageCtlError) -> StandardInquiryData {
        operations.append("inquiry")
        return try inner.inquiry()
    }
    func register(key: ReservationKey, serviceActionKey: ReservationKey, aptpl: Bool) throws(StorageCtlError) -> ReservationOutcome {
        operations.append("register \(key) \(serviceActionKey)\(aptpl ? " aptpl" : "")")
        return try inner.register(key: key, serviceActionKey: serviceActionKey, aptpl: aptpl)
    }
    func registerAndIgnoreExistingKey(serviceActionKey: ReservationKey, aptpl: Bool) throws(StorageCtlError) -> ReservationOutcome {
        operations.append("registerAndIgnoreExistingKey \(serviceActionKey)")
        return try inner.registerAndIgnoreExistingKey(serviceActionKey: serviceActionKey, aptpl: aptpl)
    }
    func reserve(type: ReservationType, key: ReservationKey) throws(StorageCtlError) -> ReservationOutcome {
        operations.append("reserve \(type.rawValue) \(key)")
        return try inner.reserve(type: type, key: key)
    }
    func release(type: ReservationType, key: ReservationKey) throws(StorageCtlError) -> ReservationOutcome {
        operations.append("release \(type.rawValue) \(key)")
        return try inner.release(type: type, key: key)
    }
    func clear(key: ReservationKey) throws(StorageCtlError) -> ReservationOutcome {
        operations.append("clear \(key)")
        return try inner.clear(key: key)
    }
    func preempt(key: ReservationKey, victim: ReservationKey, type: ReservationType, abort: Bool) throws(StorageCtlError) -> ReservationOutcome {
        operations.append("preempt\(abort ? "AndAbort" : "") \(key) \(victim) \(type.rawValue)")
        return try inner.preempt(key: key, victim: victim, type: type, abort: abort)
    }
    func readKeys() throws(StorageCtlError) -> ReadKeysResponse {
        operations.append("readKeys")
        return try inner.readKeys()
    }
    func readReservation() throws(StorageCtlError) -> ReadReservationResponse {
        operations.append("readReservation")
        return try inner.readReservation()
    }
    func readFullStatus() throws(StorageCtlError) -> ReadFullStatusResponse? {
        operations.append("readFullStatus")
        return try inner.readFullStatus()
    }
    func reportCapabilities() throws(StorageCtlError) -> ReportCapabilitiesResponse {
        operations.append("reportCapabilities")
        return try inner.reportCapabilities()
    }
}

@Suite("PersistentReservationDevice: the seam a backend implements")
struct ReservationDeviceSeamTests {
    /// Runs the CLI with a device-level environment; returns status, stdout, stderr, the operations
    /// and the request the CLI opened the device with.
    func run(_ args: [String], note: String? = nil, arrange: (LoggingLU) -> Void = { _ in })
        -> (Int32, String, [String], [String], DeviceRequest?) {
        let lu = LoggingLU()
        arrange(lu)
        var device: OperationLoggingDevice?
        var opened: DeviceRequest?
        let env = StorageCtlMain.Environment(
            variable: { _ in nil },
            openDevice: { (_, request: DeviceRequest) throws(TransportError) -> any PersistentReservationDevice in
                opened = request
                let d = OperationLoggingDevice(lu, request: request, resolutionNote: note)
                device = d
                return d
            },
            sleeper: { { _ in nil } })
        var out = ""
        var err: [String] = []
        let code = StorageCtlMain.run(args, environment: env, stdout: &out, stderrLine: { err.append($0) })
        return (code, out, err, device?.operations ?? [], opened)
    }

    @Test("trylock on a free drive, not registered: the operations Locker asks for, in order")
    func trylock() {
        let (code, _, err, operations, request) = run(["-k", "b2", "-t", "1", "/dev/fake", "trylock"])
        #expect(code == 0, "\(err)")
        #expect(operations == ["readReservation", "reserve 1 0xb2", "readReservation", "register 0x0 0xb2", "reserve 1 0xb2", "readReservation"])
        #expect(request?.type == .writeExclusive, "the backend learns the configured type")
    }

    @Test("preempt --abort and clear reach the backend as preempt(abort:) and clear(key:)")
    func preemptAndClear() {
        let other = Nexus(transportID: .iscsi(name: "iqn.2024-01.com.example:other"), relativeTargetPortIdentifier: 1)
        let (code, _, err, operations, _) = run(["-k", "b2", "--abort", "/dev/fake", "preempt", "a1"]) { lu in
            lu.out(.register, rk: 0, sark: 0xa1, from: other)
            lu.out(.reserve, rk: 0xa1, sark: 0, from: other)
            lu.out(.register, rk: 0, sark: 0xb2)
        }
        #expect(code == 0, "\(err)")
        #expect(operations == ["readReservation", "register 0xb2 0xb2", "preemptAndAbort 0xb2 0xa1 3", "readReservation"])
        let cleared = run(["-k", "b2", "/dev/fake", "clear"]) { lu in lu.out(.register, rk: 0, sark: 0xb2) }
        #expect(cleared.0 == 0, "\(cleared.2)")
        #expect(cleared.3 == ["readKeys", "readReservation", "register 0xb2 0xb2", "clear 0xb2"])
    }

    @Test("-v prints the backend's resolution note before any command; without -v, nothing")
    func resolutionNote() {
        let note = "tape node nst0 is drive [1:0:0:0]; using its SCSI generic node /dev/sg1"
        var (code, out, err, _, _) = run(["-v", "/dev/fake", "regkeys"], note: note)
        #expect(code == 0 && out.isEmpty, "\(err)")
        #expect(err.first == "storage-ctl: /dev/fake: \(note)")
        (code, out, err, _, _) = run(["/dev/fake", "regkeys"], note: note)
        #expect(code == 0 && err.isEmpty, "\(err)")
    }

    @Test("outcomes as values; require and failure turn them into the CLI's exit codes and messages")
    func outcomes() throws {
        let lu = LoggingLU()
        let device = ReservationDevices.scsi(lu, path: "/dev/fake", DeviceRequest(options: DeviceOptions(initiatorName: ""),
                                                                                commandTimeout: 5, tracer: nil, type: .exclusiveAccess))
        // PR OUT other than REGISTER from an unregistered nexus: RESERVATION CONFLICT (SPC)
        #expect(try device.release(type: .exclusiveAccess, key: ReservationKey(0xb2)) == .conflict)
        #expect(try device.reserve(type: .exclusiveAccess, key: ReservationKey(0xb2)) == .conflict)
        #expect(try device.unregister(key: ReservationKey(0), aptpl: false) == .good, "REGISTER 0 -> 0 unregistered: a no-op")
        #expect(lu.log == ["RELEASE conflict", "RESERVE conflict", "REGISTER(0x0,0x0) good"])
        do {
            try device.require(.conflict, .reserve, conflict: "is our key registered?")
            Issue.record("no error")
        } catch {
            #expect(error.exitCode == .busy)
            #expect(error.message == "/dev/fake: PERSISTENT RESERVE OUT (RESERVE) refused with RESERVATION CONFLICT (is our key registered?)")
        }
        let unsupported = SenseData(key: .illegalRequest, additionalSense: .invalidCommandOperationCode)
        #expect(device.failure(.register, unsupported).exitCode == .device)
        #expect(device.failure(.register, unsupported).message.hasPrefix("/dev/fake: persistent reservations are not supported by this device"))
    }

    /// LIO's RESERVE from an unregistered nexus: CHECK CONDITION NOT READY, LOGICAL UNIT
    /// COMMUNICATION FAILURE where SPC says RESERVATION CONFLICT (docs/pr-rules.md D15).
    final class LIOLikeLU: SCSITransport {
        let lu = LoggingLU()
        /// RESERVEs answered LIO's way (the engine's log shows its own, SPC, answer).
        var rewritten = 0
        var path: String { lu.path }
        var knownNexus: Nexus? { lu.knownNexus }
        func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
            let result = try lu.execute(cdb: cdb, dataOut: dataOut, dataInLength: dataInLength, timeout: timeout)
            if cdb[0] == 0x5F, cdb[1] & 0x1F == 1 || cdb[1] & 0x1F == 2, result.status == .reservationConflict,
               !lu.state.isRegistered(lu.nexus) {
                rewritten += 1
                let sense = SenseData(key: .notReady, additionalSense: .logicalUnitCommunicationFailure)
                return SCSICommandResult(status: .checkCondition, sense: sense.encodeFixed())
            }
            return result
        }
    }

    @Test("LIO's 2/08/00 on RESERVE is the conflict, in trylock and reserve alike (D15)")
    func lioReserveQuirk() throws {
        var lio = LIOLikeLU()
        var (code, _, err) = runInProcess(["-k", "b2", "/dev/fake", "trylock"], transport: lio)
        #expect(code == 0, "\(err)")
        #expect(lio.rewritten == 1)
        #expect(lio.lu.log == ["READ RESERVATION good", "RESERVE conflict", "READ RESERVATION good", "REGISTER(0x0,0xb2) good", "RESERVE good",
                               "READ RESERVATION good"])
        lio = LIOLikeLU()
        (code, _, err) = runInProcess(["-k", "b2", "/dev/fake", "reserve"], transport: lio)
        #expect(code == 1 && lio.rewritten == 1)
        #expect(err == ["storage-ctl: /dev/fake: PERSISTENT RESERVE OUT (RESERVE) refused with RESERVATION CONFLICT (is our key registered?)"])
        let device = ReservationDevices.scsi(LIOLikeLU(), path: "/dev/fake",
                                             DeviceRequest(options: DeviceOptions(initiatorName: ""), commandTimeout: 5, tracer: nil, type: .exclusiveAccess))
        #expect(try device.reserve(type: .exclusiveAccess, key: ReservationKey(0xb2)) == .conflict)
    }

    /// RELEASE from an unregistered nexus: LIO answers 2/08/00 with no reservation, and also while another session
    /// of the same initiator name holds one (its access check lets them through; seen on the test bed, phase 15).
    @Test("LIO's 2/08/00 on RELEASE is the conflict too (D15): release says so, instead of a device failure")
    func lioReleaseQuirk() throws {
        let lio = LIOLikeLU()
        let (code, _, err) = runInProcess(["-k", "b2", "/dev/fake", "release"], transport: lio)
        #expect(lio.rewritten == 1)
        #expect(code == 1, "\(err)")
        #expect(err == ["storage-ctl: /dev/fake: PERSISTENT RESERVE OUT (RELEASE) refused with RESERVATION CONFLICT (our key is not registered through this initiator)"])
        let device = ReservationDevices.scsi(LIOLikeLU(), path: "/dev/fake",
                                             DeviceRequest(options: DeviceOptions(initiatorName: ""), commandTimeout: 5, tracer: nil, type: .exclusiveAccess))
        #expect(try device.release(type: .exclusiveAccess, key: ReservationKey(0xb2)) == .conflict)
    }
}
