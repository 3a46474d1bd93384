import Testing
@testable import StorageCtl
import PRCore
import Transports

/// The PR engine in memory, as one nexus sees it, logging every command: what `Locker` sends is
/// checked command by command. `exposesNexus: false` behaves as SG_IO, which does not know the
/// TransportID the target sees.
final class LoggingLU: SCSITransport {
    var state = LogicalUnitState()
    let nexus: Nexus
    let exposesNexus: Bool
    var log: [String] = []
    var path: String { "/dev/fake" }
    var knownNexus: Nexus? { exposesNexus ? nexus : nil }

    init(initiator: String = "iqn.2024-01.com.example:shared", exposesNexus: Bool = true) {
        nexus = Nexus(transportID: .iscsi(name: initiator), relativeTargetPortIdentifier: 1)
        self.exposesNexus = exposesNexus
    }

    func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
        run(cdb: cdb, dataOut: dataOut, dataInLength: dataInLength, from: nexus, logged: true)
    }

    @discardableResult
    func run(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, from: Nexus, logged: Bool) -> SCSICommandResult {
        let result: SCSICommandResult
        switch state.process(cdb: cdb, dataOut: dataOut, dataInLength: dataInLength, from: from) {
        case .response(let r):
            result = SCSICommandResult(status: r.status, sense: r.sense?.encodeFixed() ?? [], data: Array(r.data.prefix(dataInLength)))
        case .proceed:
            result = SCSICommandResult(status: .good)
        }
        if logged {
            let name: String
            if cdb[0] == 0x5F, let sa = PersistentReserveOut.CDB.decode(cdb)?.serviceAction {
                let p = PersistentReserveOut.ParameterList.decode(dataOut)
                name = sa == .register ? "REGISTER(\(p!.reservationKey),\(p!.serviceActionReservationKey))" : sa.name.uppercased()
            } else if cdb[0] == 0x5E {
                name = ["READ KEYS", "READ RESERVATION", "REPORT CAPABILITIES", "READ FULL STATUS"][Int(cdb[1] & 0x1F)]
            } else {
                name = "opcode \(cdb[0])"
            }
            log.append("\(name) \(result.status == .good ? "good" : result.status == .reservationConflict ? "conflict" : "other")")
        }
        return result
    }

    /// A PR OUT from `other` (another storage daemon), not logged.
    func out(_ action: PersistentReserveOut.ServiceAction, rk: UInt64, sark: UInt64, from other: Nexus? = nil) {
        let params = PersistentReserveOut.ParameterList(reservationKey: ReservationKey(rk), serviceActionReservationKey: ReservationKey(sark),
                                                        specifyInitiatorPorts: false, allTargetPorts: false,
                                                        activatePersistThroughPowerLoss: false).encode()
        let cdb = PersistentReserveOut.CDB(serviceAction: action, scope: 0, type: .exclusiveAccess, parameterListLength: 24).encode()
        run(cdb: cdb, dataOut: params, dataInLength: 0, from: other ?? nexus, logged: false)
    }
}

@Suite("Locker: register, never replace another key")
struct LockerTests {
    static let a1: UInt64 = 0xa1, b2: UInt64 = 0xb2
    static let elsewhere = Nexus(transportID: .iscsi(name: "iqn.2024-01.com.example:other"), relativeTargetPortIdentifier: 1)

    func locker(_ lu: LoggingLU, key: UInt64 = b2) -> Locker {
        var settings = Settings()
        settings.key = ReservationKey(key)
        settings.hostNames = [ReservationKey(Self.a1): "sd1", ReservationKey(Self.b2): "sd2"]
        let device = SCSIReservationDevice(transport: lu, path: "/dev/fake", commandTimeout: 5, tracer: nil, typeField: .exclusiveAccess)
        return Locker(device: Device(device), key: ReservationKey(key), type: .exclusiveAccess, aptpl: false, settings: settings)
    }

    @Test("trylock on a free LU, not registered: look, RESERVE, look again, REGISTER(0,key), RESERVE, then the generation for the lock record")
    func freeUnregistered() throws {
        let lu = LoggingLU()
        #expect(try locker(lu).attempt() == .acquired(generation: 1, wasHolding: false))
        #expect(lu.log == ["READ RESERVATION good", "RESERVE conflict", "READ RESERVATION good", "REGISTER(0x0,0xb2) good", "RESERVE good",
                           "READ RESERVATION good"])
    }

    @Test("trylock on a free LU, already registered: READ RESERVATION, RESERVE")
    func freeRegistered() throws {
        let lu = LoggingLU()
        lu.out(.register, rk: 0, sark: Self.b2)
        #expect(try locker(lu).attempt() == .acquired(generation: 1, wasHolding: false))
        #expect(lu.log == ["READ RESERVATION good", "RESERVE good"])
    }

    @Test("busy first attempt: registered costs REGISTER(key,key); not registered one REGISTER more")
    func busy() throws {
        let lu = LoggingLU()
        lu.out(.register, rk: 0, sark: Self.a1, from: Self.elsewhere)
        lu.out(.reserve, rk: Self.a1, sark: 0, from: Self.elsewhere)
        #expect(try locker(lu).attempt() == .busy(Holder(key: ReservationKey(Self.a1), type: .exclusiveAccess)))
        #expect(lu.log == ["READ RESERVATION good", "REGISTER(0xb2,0xb2) conflict", "REGISTER(0x0,0xb2) good"])
        lu.log = []
        let generation = lu.state.generation
        #expect(try locker(lu).attempt() == .busy(Holder(key: ReservationKey(Self.a1), type: .exclusiveAccess)))
        #expect(lu.log == ["READ RESERVATION good", "REGISTER(0xb2,0xb2) good"])
        #expect(lu.state.generation == generation &+ 1, "the re-registration bumps PRgeneration once, as RAIEK did")
    }

    @Test("our nexus holds another key: register refuses with exit 6 naming it from READ FULL STATUS; LU unchanged")
    func sharedKnownNexus() throws {
        let lu = LoggingLU()
        lu.out(.register, rk: 0, sark: Self.a1)
        lu.out(.reserve, rk: Self.a1, sark: 0)
        lu.out(.register, rk: 0, sark: 0xc3, from: Self.elsewhere)
        let before = lu.state.encode()
        #expect(throws: StorageCtlError.self) { try locker(lu).register() }
        do { try locker(lu).register() } catch {
            #expect(error.exitCode == .initiatorShared && error.exitCode.rawValue == 6)
            #expect(error.message.hasPrefix("/dev/fake: refusing to register 0xb2 (sd2): this initiator is registered under another key, 0xa1 (sd1), left as it is."), "\(error)")
            #expect(error.message.hasSuffix("move over with: storage-ctl -k 0xa1 /dev/fake unregister"), "\(error)")
        }
        #expect(lu.state.encode() == before)
        #expect(lu.log.prefix(3) == ["REGISTER(0xb2,0xb2) conflict", "REGISTER(0x0,0xb2) conflict", "READ FULL STATUS good"])
    }

    @Test("SG_IO-like transport (own nexus unknown): the only other key is named; with several, the candidates")
    func sharedUnknownNexus() throws {
        let lu = LoggingLU(exposesNexus: false)
        lu.out(.register, rk: 0, sark: Self.a1)
        let before = lu.state.encode()
        do { try locker(lu).register(); Issue.record("registered") } catch {
            #expect(error.exitCode == .initiatorShared)
            #expect(error.message.contains("this initiator is registered under another key, 0xa1 (sd1), left as it is."), "\(error)")
        }
        // three rounds of the two REGISTERs (a racing process on our own nexus is ruled out), then READ KEYS
        #expect(lu.log == Array(repeating: ["REGISTER(0xb2,0xb2) conflict", "REGISTER(0x0,0xb2) conflict"], count: 3).flatMap { $0 } + ["READ KEYS good"])
        #expect(lu.state.encode() == before)

        lu.out(.register, rk: 0, sark: 0xc3, from: Self.elsewhere)
        do { try locker(lu).register(); Issue.record("registered") } catch {
            #expect(error.message.contains("this initiator is registered under another key (one of 0xa1 (sd1), 0xc3), left as it is."), "\(error)")
            #expect(error.message.hasSuffix("storage-ctl -k OLD /dev/fake unregister"), "\(error)")
        }
    }

    @Test("unregister: our key in one command, not registered in two (success), another key refused (exit 6)")
    func unregister() throws {
        let lu = LoggingLU()
        lu.out(.register, rk: 0, sark: Self.b2)
        try locker(lu).unregister()
        #expect(lu.log == ["REGISTER(0xb2,0x0) good"])
        #expect(lu.state.registrations.isEmpty)
        lu.log = []
        try locker(lu).unregister()
        #expect(lu.log == ["REGISTER(0xb2,0x0) conflict", "REGISTER(0x0,0x0) good"])
        lu.out(.register, rk: 0, sark: Self.a1)
        let before = lu.state.encode()
        do { try locker(lu).unregister(); Issue.record("unregistered") } catch {
            #expect(error.exitCode == .initiatorShared)
            #expect(error.message.hasPrefix("/dev/fake: nothing unregistered: this initiator is registered under another key, 0xa1 (sd1)"), "\(error)")
        }
        #expect(lu.state.encode() == before)
    }

    func cli(_ args: [String], lu: LoggingLU) -> (Int32, String, [String]) { runInProcess(args, transport: lu) }

    @Test("SG_IO-like: our key registered through us and another initiator that holds: status says so from READ KEYS, unlock exits 1")
    func keyOnTwoInitiatorsUnknownNexus() throws {
        let lu = LoggingLU(exposesNexus: false)
        lu.out(.register, rk: 0, sark: Self.b2, from: Self.elsewhere)
        lu.out(.reserve, rk: Self.b2, sark: 0, from: Self.elsewhere)
        lu.out(.register, rk: 0, sark: Self.b2)
        var (code, out, err) = cli(["-k", "b2", "/dev/fake", "status"], lu: lu)
        #expect(code == 0 && err.isEmpty, "\(err)")
        #expect(out == "key=0xb2 registered=1 locked=0 blockedby=0xb2 keyinitiators=2\n")
        #expect(lu.log == ["READ KEYS good", "READ RESERVATION good"], "as many commands as before, and no READ FULL STATUS")
        lu.log = []
        (code, out, err) = cli(["-k", "b2", "/dev/fake", "unlock"], lu: lu)
        #expect(code == 1 && out.isEmpty)
        #expect(err == ["storage-ctl: /dev/fake: nothing released: the lock is held by 0xb2 through another initiator (is this key configured on two hosts?)"])
        #expect(lu.log == ["READ RESERVATION good", "RELEASE good", "READ RESERVATION good", "READ FULL STATUS good"])
        #expect(lu.state.reservation != nil)
    }
}
