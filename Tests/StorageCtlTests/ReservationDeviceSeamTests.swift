import Testing
@testable import StorageCtl
import PRCore
import Transports

/// A backend as a new one would be written: a `PersistentReservationDevice` handed to the CLI through
/// `StorageCtlMain.Environment.openDevice`, with no SCSI anywhere: its own small model of the
/// reservation rules (registrations per nexus, one reservation), at the level of the seam's operations.
/// It logs each operation, so these tests see what the verbs ask of a backend, one at a time.
final class FakeReservationDevice: PersistentReservationDevice {
    /// Registrations in the order made: nexus name, key. This device's own nexus is `"this"`.
    var registrations: [(nexus: String, key: ReservationKey)] = []
    var reservation: (nexus: String, key: ReservationKey, type: ReservationType)?
    var generation: UInt32 = 0
    var operations: [String] = []
    /// When set, every change answers this instead (a device that refuses, or does not offer, them).
    var forcedOutcome: ReservationOutcome?
    let path = "/dev/fake"
    let knownNexus: Nexus? = nil
    let resolutionNote: String?

    init(resolutionNote: String? = nil) { self.resolutionNote = resolutionNote }

    /// Another host's registration (and reservation), as the test arranges it.
    func arrange(_ nexus: String, key: UInt64, reserve type: ReservationType? = nil) {
        registrations.append((nexus, ReservationKey(key)))
        if let type { reservation = (nexus, ReservationKey(key), type) }
    }

    private var ownKey: ReservationKey? { registrations.first { $0.nexus == "this" }?.key }

    private func change(_ name: String, _ body: () -> ReservationOutcome) -> ReservationOutcome {
        operations.append(name)
        if let forcedOutcome { return forcedOutcome }
        return body()
    }

    func inquiry() throws(ReservationDeviceError) -> StandardInquiryData {
        operations.append("inquiry")
        return StandardInquiryData(peripheralDeviceType: .disk, vendor: "FAKE", product: "seam", revision: "1")
    }
    func register(key: ReservationKey, serviceActionKey: ReservationKey, aptpl: Bool) throws(ReservationDeviceError) -> ReservationOutcome {
        change("register \(key) \(serviceActionKey)\(aptpl ? " aptpl" : "")") {
            guard (ownKey ?? ReservationKey(0)) == key else { return .conflict }
            return setOwnKey(serviceActionKey)
        }
    }
    func registerAndIgnoreExistingKey(serviceActionKey: ReservationKey, aptpl: Bool) throws(ReservationDeviceError) -> ReservationOutcome {
        change("registerAndIgnoreExistingKey \(serviceActionKey)") { setOwnKey(serviceActionKey) }
    }
    private func setOwnKey(_ key: ReservationKey) -> ReservationOutcome {
        let wasRegistered = ownKey != nil
        registrations.removeAll { $0.nexus == "this" }
        if key.rawValue != 0 {
            registrations.append(("this", key))
        } else if reservation?.nexus == "this" {
            reservation = nil
        }
        if wasRegistered || key.rawValue != 0 { generation += 1 }
        return .done
    }
    func reserve(type: ReservationType, key: ReservationKey) throws(ReservationDeviceError) -> ReservationOutcome {
        change("reserve \(type.rawValue) \(key)") {
            guard ownKey == key else { return .conflict }
            if let reservation { return reservation.nexus == "this" && reservation.type == type ? .done : .conflict }
            reservation = ("this", key, type)
            return .done
        }
    }
    func release(type: ReservationType, key: ReservationKey) throws(ReservationDeviceError) -> ReservationOutcome {
        change("release \(type.rawValue) \(key)") {
            guard ownKey == key else { return .conflict }
            guard let reservation, reservation.nexus == "this" else { return .done }
            guard reservation.type == type else { return .conflict }
            self.reservation = nil
            return .done
        }
    }
    func clear(key: ReservationKey) throws(ReservationDeviceError) -> ReservationOutcome {
        change("clear \(key)") {
            guard ownKey == key else { return .conflict }
            registrations = []
            reservation = nil
            generation += 1
            return .done
        }
    }
    func preempt(key: ReservationKey, victim: ReservationKey, type: ReservationType, abort: Bool) throws(ReservationDeviceError) -> ReservationOutcome {
        change("preempt\(abort ? "AndAbort" : "") \(key) \(victim) \(type.rawValue)") {
            guard ownKey == key, registrations.contains(where: { $0.key == victim }) else { return .conflict }
            registrations.removeAll { $0.key == victim && $0.nexus != "this" }
            if reservation?.key == victim { reservation = ("this", key, type) }
            generation += 1
            return .done
        }
    }
    func readKeys() throws(ReservationDeviceError) -> Registrations {
        operations.append("readKeys")
        return Registrations(generation: generation, keys: registrations.map(\.key))
    }
    func readReservation() throws(ReservationDeviceError) -> ReservationState {
        operations.append("readReservation")
        return ReservationState(generation: generation, reservation: reservation.map { Reservation(key: $0.key, type: $0.type) })
    }
    func readFullStatus() throws(ReservationDeviceError) -> FullStatus? {
        operations.append("readFullStatus")
        return nil
    }
    func reportCapabilities() throws(ReservationDeviceError) -> ReservationCapabilities {
        operations.append("reportCapabilities")
        return ReservationCapabilities(types: [.writeExclusive, .exclusiveAccess], persistThroughPowerLossCapable: true)
    }
}

@Suite("PersistentReservationDevice: the seam a backend implements")
struct ReservationDeviceSeamTests {
    /// Runs the CLI with a device-level environment; returns status, stdout, stderr, the operations
    /// and the request the CLI opened the device with.
    func run(_ args: [String], note: String? = nil, arrange: (FakeReservationDevice) -> Void = { _ in })
        -> (Int32, String, [String], [String], DeviceRequest?) {
        let device = FakeReservationDevice(resolutionNote: note)
        arrange(device)
        var opened: DeviceRequest?
        let env = StorageCtlMain.Environment(
            variable: { _ in nil },
            openDevice: { (_, request: DeviceRequest) throws(TransportError) -> any PersistentReservationDevice in
                opened = request
                return device
            },
            sleeper: { { _ in nil } })
        var out = ""
        var err: [String] = []
        let code = StorageCtlMain.run(args, environment: env, stdout: &out, stderrLine: { err.append($0) })
        return (code, out, err, device.operations, opened)
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
        let (code, _, err, operations, _) = run(["-k", "b2", "--abort", "/dev/fake", "preempt", "a1"]) { device in
            device.arrange("other", key: 0xa1, reserve: .exclusiveAccess)
            device.arrange("this", key: 0xb2)
        }
        #expect(code == 0, "\(err)")
        #expect(operations == ["readReservation", "register 0xb2 0xb2", "preemptAndAbort 0xb2 0xa1 3", "readReservation"])
        let cleared = run(["-k", "b2", "/dev/fake", "clear"]) { device in device.arrange("this", key: 0xb2) }
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

    @Test("outcomes and device errors as values; Device turns them into the CLI's exit codes and messages")
    func outcomes() throws {
        let fake = FakeReservationDevice()
        let device = Device(fake)
        // a change other than REGISTER from an unregistered nexus: a conflict
        #expect(try device.release(type: .exclusiveAccess, key: ReservationKey(0xb2)) == .conflict)
        #expect(try device.reserve(type: .exclusiveAccess, key: ReservationKey(0xb2)) == .conflict)
        #expect(try device.unregister(key: ReservationKey(0), aptpl: false) == .done, "REGISTER 0 -> 0 unregistered: a no-op")
        #expect(fake.operations == ["release 3 0xb2", "reserve 3 0xb2", "register 0x0 0x0"])
        do {
            try device.require(.conflict, .reserve, conflict: "is our key registered?")
            Issue.record("no error")
        } catch {
            #expect(error.exitCode == .busy)
            #expect(error.message == "/dev/fake: PERSISTENT RESERVE OUT (RESERVE) refused with RESERVATION CONFLICT (is our key registered?)")
        }
        let unsupported = device.failure(.register, .unsupported(reason: "Invalid command operation code"))
        #expect(unsupported == StorageCtlError(.device, "/dev/fake: persistent reservations are not supported by this device "
                                                   + "(PERSISTENT RESERVE OUT (REGISTER): Invalid command operation code)"))
        #expect(device.failure(.reserve, .failed(reason: "Not Ready: Logical unit not ready"))
                == StorageCtlError(.device, "/dev/fake: PERSISTENT RESERVE OUT (RESERVE) failed: Not Ready: Logical unit not ready"))
        // the device layer's errors: one exit code each
        #expect(Device.error(.failed("/dev/fake", "gone")) == StorageCtlError(.device, "/dev/fake: gone"))
        #expect(Device.error(ReservationDeviceError(.conflict, "/dev/fake: refused")).exitCode == .busy)
        #expect(Device.error(ReservationDeviceError(.gaveUp, "/dev/fake: waited")).exitCode == .timedOut)
    }

    @Test("a backend that does not offer a change: lock says so, exit 3, naming the operation")
    func unsupportedBackend() {
        let (code, _, err, operations, _) = run(["-k", "b2", "/dev/fake", "trylock"]) { device in
            device.forcedOutcome = .unsupported(reason: "not offered by this fake")
        }
        #expect(code == 3)
        #expect(err == ["storage-ctl: /dev/fake: persistent reservations are not supported by this device (PERSISTENT RESERVE OUT (RESERVE): not offered by this fake)"])
        #expect(operations == ["readReservation", "reserve 3 0xb2"])
    }

    @Test("caps from a backend that reads no SCSI: the values in sg_persist's layout, nothing invented")
    func capsWithoutSCSI() {
        let (code, out, err, operations, _) = run(["/dev/fake", "caps"])
        #expect(code == 0, "\(err)")
        #expect(operations == ["inquiry", "reportCapabilities"])
        #expect(out.hasSuffix("""
            Report capabilities response:
              Replace Lost Reservation Capable(RLR_C): 0
              Compatible Reservation Handling(CRH): 0
              Specify Initiator Ports Capable(SIP_C): 0
              All Target Ports Capable(ATP_C): 0
              Persist Through Power Loss Capable(PTPL_C): 1
              Type Mask Valid(TMV): 1
              Allow Commands: 0
              Persist Through Power Loss Active(PTPL_A): 0
                Support indicated in Type mask:
                  Write Exclusive, all registrants: 0
                  Exclusive Access, registrants only: 0
                  Write Exclusive, registrants only: 0
                  Exclusive Access: 1
                  Write Exclusive: 1
                  Exclusive Access, all registrants: 0

            """), "\(out)")
    }

    @Test("the backend by node kind: a map gets the block layer's ioctls, everything else SG_IO; block refused where there is none")
    func backendByNodeKind() throws {
        #expect(try ReservationDevices.backend(for: .otherBlockDevice, path: "/dev/dm-0", asked: nil) == .block)
        #expect(try ReservationDevices.backend(for: .otherBlockDevice, path: "/dev/dm-0", asked: .sgio) == .sgio)
        #expect(try ReservationDevices.backend(for: .scsiBlockDevice, path: "/dev/sdb", asked: nil) == .sgio)
        #expect(try ReservationDevices.backend(for: .scsiBlockDevice, path: "/dev/sdb", asked: .block) == .block)
        #expect(try ReservationDevices.backend(for: .scsiGeneric, path: "/dev/sg1", asked: nil) == .sgio)
        #expect(try ReservationDevices.backend(for: .scsiTape(tapeNode: "/dev/nst0"), path: "/dev/nst0", asked: nil) == .sgio)
        #expect(throws: TransportError(.other, "backend=block needs a block device node (/dev/sdX, /dev/dm-N, /dev/mapper/NAME); "
                                       + "/dev/sg1 is not one: use backend=sgio")) {
            try ReservationDevices.backend(for: .scsiGeneric, path: "/dev/sg1", asked: .block)
        }
        #expect(throws: TransportError.self) { try ReservationDevices.backend(for: .simulatedLU, path: "/tmp/d", asked: .block) }
    }

    // The SCSI backend's own readings of devices' deviations: inside SCSIReservationDevice, nowhere above.

    /// SPC's answer to a RELEASE of the wrong type, 5/26/04 INVALID RELEASE OF PERSISTENT RESERVATION.
    final class WrongTypeReleaseLU: SCSITransport {
        let lu = LoggingLU()
        var path: String { lu.path }
        var knownNexus: Nexus? { lu.knownNexus }
        func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
            if cdb[0] == 0x5F, cdb[1] & 0x1F == 2 {
                let sense = SenseData(key: .illegalRequest, additionalSense: .invalidReleaseOfPersistentReservation)
                return SCSICommandResult(status: .checkCondition, sense: sense.encodeFixed())
            }
            return try lu.execute(cdb: cdb, dataOut: dataOut, dataInLength: dataInLength, timeout: timeout)
        }
    }

    @Test("SPC's 5/26/04 on RELEASE is the conflict inside the SCSI backend (D4): release names the lock's type, exit 2")
    func wrongTypeRelease() throws {
        let device = ReservationDevices.scsi(WrongTypeReleaseLU(), path: "/dev/fake",
                                             DeviceRequest(options: DeviceOptions(initiatorName: ""), commandTimeout: 5, tracer: nil, type: .exclusiveAccess))
        #expect(try device.release(type: .writeExclusive, key: ReservationKey(0xb2)) == .conflict)
        let lu = WrongTypeReleaseLU()
        lu.lu.out(.register, rk: 0, sark: 0xb2)
        lu.lu.out(.reserve, rk: 0xb2, sark: 0)
        let (code, _, err) = runInProcess(["-k", "b2", "-t", "1", "/dev/fake", "release"], transport: lu)
        #expect(code == 2)
        #expect(err == ["storage-ctl: /dev/fake: the lock is held with type 3 (Exclusive Access), not 1; use -t 3, or unlock"])
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
