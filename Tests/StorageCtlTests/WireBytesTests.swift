import Foundation
import Testing
@testable import StorageCtl
import PRCore
import Transports

/// A transport that passes every command to another one and records what was sent, byte for
/// byte: the CDB, the data-out buffer (a PR OUT parameter list) and the data-in buffer's size.
/// The tests below pin, per verb, exactly what goes on the wire, so a refactoring of the layers
/// above `SCSITransport` that changes a single byte (a TYPE field SPC says is ignored, an
/// allocation length, the APTPL bit) fails here rather than on a customer's drive.
final class RecordingTransport: SCSITransport {
    let inner: any SCSITransport
    /// One line a command: `cdb <hex>`, then `out <hex>` (data-out) or `in <n>` (data-in size).
    var sent: [String] = []

    init(_ inner: any SCSITransport) { self.inner = inner }

    var path: String { inner.path }
    var knownNexus: Nexus? { inner.knownNexus }

    func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
        var line = "cdb " + Self.hex(cdb)
        if !dataOut.isEmpty { line += " out " + Self.hex(dataOut) }
        if dataInLength > 0 { line += " in \(dataInLength)" }
        sent.append(line)
        return try inner.execute(cdb: cdb, dataOut: dataOut, dataInLength: dataInLength, timeout: timeout)
    }

    /// Lower-case hex in groups of 8 bytes (a reservation key is one group).
    static func hex(_ bytes: [UInt8]) -> String {
        var groups: [String] = []
        var i = 0
        while i < bytes.count {
            groups.append(bytes[i..<min(i + 8, bytes.count)].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
            i += 8
        }
        return groups.joined(separator: ".")
    }
}

@Suite("Wire bytes: what each verb sends")
struct WireBytesTests {
    static let a1: UInt64 = 0xa1, b2: UInt64 = 0xb2
    static let elsewhere = Nexus(transportID: .iscsi(name: "iqn.2024-01.com.example:other"), relativeTargetPortIdentifier: 1)

    // The commands, by their bytes. PR OUT: 5f, service action, scope/type, 4 reserved, parameter
    // list length 24 (00000018), control. The 24-byte list: RK, SARK, 4 obsolete bytes, then the
    // SPEC_I_PT/ALL_TG_PT/APTPL byte, a reserved byte and 2 obsolete ones.
    static let readKeys = "cdb 5e00000000000020.0000 in 8192"
    static let readReservation = "cdb 5e01000000000020.0000 in 8192"
    static let reportCapabilities = "cdb 5e02000000000020.0000 in 8192"
    static let readFullStatus = "cdb 5e03000000000020.0000 in 8192"
    static let inquiry = "cdb 120000006000 in 96"

    /// A PR OUT as sent: `sa` service action, `type` in the CDB, RK and SARK, `flags` (APTPL = 1).
    static func out(_ sa: UInt8, type: UInt8, rk: UInt64, sark: UInt64, flags: UInt8 = 0) -> String {
        func key(_ k: UInt64) -> String {
            let digits = String(k, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        let cdb = "5f" + (sa < 16 ? "0" : "") + String(sa, radix: 16) + "0" + String(type, radix: 16) + "0000000000.1800"
        return "cdb \(cdb) out \(key(rk)).\(key(sark)).00000000" + (flags < 16 ? "0" : "") + String(flags, radix: 16) + "000000"
    }

    /// Runs `args` against a fresh LU arranged by `arrange`, returning the exit status and what was sent.
    func run(_ args: [String], exposesNexus: Bool = true, arrange: (LoggingLU) -> Void = { _ in }) -> (Int32, [String], String, [String]) {
        let lu = LoggingLU(exposesNexus: exposesNexus)
        arrange(lu)
        let recorder = RecordingTransport(lu)
        let (code, out, err) = runInProcess(args, transport: recorder)
        return (code, recorder.sent, out, err)
    }

    /// Another host (a1) registered and holding an Exclusive Access reservation.
    static func otherHolds(_ lu: LoggingLU) {
        lu.out(.register, rk: 0, sark: a1, from: elsewhere)
        lu.out(.reserve, rk: a1, sark: 0, from: elsewhere)
    }

    static func weAreRegistered(_ lu: LoggingLU) { lu.out(.register, rk: 0, sark: b2) }

    static func weHold(_ lu: LoggingLU) {
        lu.out(.register, rk: 0, sark: b2)
        lu.out(.reserve, rk: b2, sark: 0)
    }

    @Test("register on an unregistered nexus: REGISTER(key,key) conflicts, REGISTER(0,key); TYPE field = -t")
    func register() {
        let (code, sent, _, err) = run(["-k", "b2", "-t", "wr-ex", "/dev/fake", "register"])
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.out(0, type: 1, rk: Self.b2, sark: Self.b2), Self.out(0, type: 1, rk: 0, sark: Self.b2)])
    }

    @Test("register with aptpl=1 in the configuration: the APTPL bit on both REGISTERs")
    func registerAPTPL() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wirebytes-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let conf = dir.appendingPathComponent("storage-ctl.conf").path
        #expect(FileManager.default.createFile(atPath: conf, contents: Data("aptpl=1\n".utf8), attributes: [.posixPermissions: 0o600]))
        let (code, sent, _, err) = run(["-c", conf, "-k", "b2", "/dev/fake", "register"])
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.out(0, type: 3, rk: Self.b2, sark: Self.b2, flags: 1), Self.out(0, type: 3, rk: 0, sark: Self.b2, flags: 1)])
    }

    @Test("unregister while registered: REGISTER(key,0)")
    func unregister() {
        let (code, sent, _, err) = run(["-k", "b2", "/dev/fake", "unregister"], arrange: Self.weAreRegistered)
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.out(0, type: 3, rk: Self.b2, sark: 0)])
    }

    @Test("unregister when not registered: REGISTER(key,0) conflicts, REGISTER(0,0)")
    func unregisterNotRegistered() {
        let (code, sent, _, err) = run(["-k", "b2", "/dev/fake", "unregister"])
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.out(0, type: 3, rk: Self.b2, sark: 0), Self.out(0, type: 3, rk: 0, sark: 0)])
    }

    @Test("trylock on a free drive, not registered: READ RESERVATION, RESERVE, READ RESERVATION, REGISTER(0,key), RESERVE, READ RESERVATION")
    func trylockFree() {
        let (code, sent, _, err) = run(["-k", "b2", "/dev/fake", "trylock"])
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.readReservation, Self.out(1, type: 3, rk: Self.b2, sark: 0), Self.readReservation,
                         Self.out(0, type: 3, rk: 0, sark: Self.b2), Self.out(1, type: 3, rk: Self.b2, sark: 0), Self.readReservation])
    }

    @Test("trylock on a free drive, registered, type 1: READ RESERVATION, RESERVE type 1")
    func trylockFreeRegistered() {
        let (code, sent, _, err) = run(["-k", "b2", "-t", "1", "/dev/fake", "trylock"], arrange: Self.weAreRegistered)
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.readReservation, Self.out(1, type: 1, rk: Self.b2, sark: 0)])
    }

    @Test("lock, trylock and preempt with a shared type (5, 6, 7, 8): exit 2, one line, nothing sent; reserve sends it",
          arguments: ["5", "6", "7", "8", "wr-ex-ar"])
    func sharedTypeIsRefusedForTheLock(type: String) {
        let names = ["5": "Write Exclusive, registrants only", "6": "Exclusive Access, registrants only",
                     "7": "Write Exclusive, all registrants", "8": "Exclusive Access, all registrants",
                     "wr-ex-ar": "Write Exclusive, all registrants"]
        let number = type == "wr-ex-ar" ? "7" : type
        for verb in [["lock"], ["trylock"], ["preempt", "b9"]] {
            let (code, sent, out, err) = run(["-k", "b2", "-t", type, "/dev/fake"] + verb, arrange: Self.weAreRegistered)
            #expect(code == 2 && sent.isEmpty && out.isEmpty)
            #expect(err == ["storage-ctl: \(verb[0]) with type \(number) (\(names[type]!)) is not exclusive: every host "
                            + "registered on the drive, a waiting lock's included, would use it too; use type 1 or 3 "
                            + "(set allow_shared_lock=1 to take a shared lock on purpose)"])
        }
        let (code, sent, _, _) = run(["-k", "b2", "-t", type, "/dev/fake", "reserve"], arrange: Self.weAreRegistered)
        #expect(code == 0 && sent.count == 1)
    }

    @Test("lock on a busy drive, one poll (-w 0): READ RESERVATION, REGISTER(key,key), REGISTER(0,key); exit 4")
    func lockBusyPoll() {
        let (code, sent, _, err) = run(["-k", "b2", "-w", "0", "/dev/fake", "lock"], arrange: Self.otherHolds)
        #expect(code == 4, "\(err)")
        #expect(sent == [Self.readReservation, Self.out(0, type: 3, rk: Self.b2, sark: Self.b2), Self.out(0, type: 3, rk: 0, sark: Self.b2)])
    }

    @Test("lock, registered, on a busy drive: the poll's heartbeat is one REGISTER(key,key)")
    func lockBusyPollRegistered() {
        let (code, sent, _, err) = run(["-k", "b2", "-w", "0", "/dev/fake", "lock"]) { lu in
            Self.otherHolds(lu)
            Self.weAreRegistered(lu)
        }
        #expect(code == 4, "\(err)")
        #expect(sent == [Self.readReservation, Self.out(0, type: 3, rk: Self.b2, sark: Self.b2)])
    }

    @Test("unlock while holding: READ RESERVATION, RELEASE with the held type, READ RESERVATION")
    func unlock() {
        let (code, sent, _, err) = run(["-k", "b2", "-t", "1", "/dev/fake", "unlock"], arrange: Self.weHold)
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.readReservation, Self.out(2, type: 3, rk: Self.b2, sark: 0), Self.readReservation])
    }

    @Test("unlock when another holds (nexus known): READ RESERVATION, READ FULL STATUS")
    func unlockNotHolding() {
        let (code, sent, _, err) = run(["-k", "b2", "/dev/fake", "unlock"], arrange: Self.otherHolds)
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.readReservation, Self.readFullStatus])
    }

    @Test("clear: READ KEYS, READ RESERVATION, REGISTER(key,key), REGISTER(0,key), CLEAR; TYPE field = -t")
    func clear() {
        let (code, sent, _, err) = run(["-k", "b2", "-t", "5", "/dev/fake", "clear"], arrange: Self.otherHolds)
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.readKeys, Self.readReservation, Self.out(0, type: 5, rk: Self.b2, sark: Self.b2),
                         Self.out(0, type: 5, rk: 0, sark: Self.b2), Self.out(3, type: 5, rk: Self.b2, sark: 0)])
    }

    @Test("preempt KEY: READ RESERVATION, REGISTER(key,key), REGISTER(0,key), PREEMPT SARK = KEY, READ RESERVATION (is it ours now?)")
    func preempt() {
        let (code, sent, _, err) = run(["-k", "b2", "/dev/fake", "preempt", "a1"], arrange: Self.otherHolds)
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.readReservation, Self.out(0, type: 3, rk: Self.b2, sark: Self.b2),
                         Self.out(0, type: 3, rk: 0, sark: Self.b2), Self.out(4, type: 3, rk: Self.b2, sark: Self.a1),
                         Self.readReservation])
    }

    @Test("preempt KEY --abort, registered, type 1: READ RESERVATION, REGISTER(key,key), PREEMPT AND ABORT, READ RESERVATION")
    func preemptAbort() {
        let (code, sent, _, err) = run(["-k", "b2", "-t", "1", "--abort", "/dev/fake", "preempt", "a1"]) { lu in
            Self.otherHolds(lu)
            Self.weAreRegistered(lu)
        }
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.readReservation, Self.out(0, type: 1, rk: Self.b2, sark: Self.b2), Self.out(5, type: 1, rk: Self.b2, sark: Self.a1),
                         Self.readReservation])
    }

    @Test("preempt KEY that holds nothing: PREEMPT, then trylock's READ RESERVATION, RESERVE")
    func preemptRegistrationOnly() {
        let (code, sent, _, err) = run(["-k", "b2", "/dev/fake", "preempt", "a1"]) { lu in
            lu.out(.register, rk: 0, sark: Self.a1, from: Self.elsewhere)
            Self.weAreRegistered(lu)
        }
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.readReservation, Self.out(0, type: 3, rk: Self.b2, sark: Self.b2), Self.out(4, type: 3, rk: Self.b2, sark: Self.a1),
                         Self.readReservation, Self.out(1, type: 3, rk: Self.b2, sark: 0)])
    }

    @Test("reserve, registered, type 8: one RESERVE")
    func reserve() {
        let (code, sent, _, err) = run(["-k", "b2", "-t", "8", "/dev/fake", "reserve"], arrange: Self.weAreRegistered)
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.out(1, type: 8, rk: Self.b2, sark: 0)])
    }

    @Test("reserve, not registered: RESERVE conflicts, then READ RESERVATION; exit 1")
    func reserveUnregistered() {
        let (code, sent, _, err) = run(["-k", "b2", "/dev/fake", "reserve"])
        #expect(code == 1, "\(err)")
        #expect(sent == [Self.out(1, type: 3, rk: Self.b2, sark: 0), Self.readReservation])
    }

    @Test("release while holding: one RELEASE with -t's type")
    func release() {
        let (code, sent, _, err) = run(["-k", "b2", "/dev/fake", "release"], arrange: Self.weHold)
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.out(2, type: 3, rk: Self.b2, sark: 0)])
    }

    @Test("release with the wrong type: RELEASE, then READ RESERVATION to say which; exit 2")
    func releaseWrongType() {
        let (code, sent, _, err) = run(["-k", "b2", "-t", "1", "/dev/fake", "release"], arrange: Self.weHold)
        #expect(code == 2, "\(err)")
        #expect(sent == [Self.out(2, type: 1, rk: Self.b2, sark: 0), Self.readReservation])
    }

    /// A drive that answers INQUIRY (`query`, `caps`), another host (a1) holding it.
    func runWithInquiry(_ args: [String]) -> (Int32, [String], String, [String]) {
        let us = Nexus(transportID: .iscsi(name: "iqn.2024-01.com.example:shared"), relativeTargetPortIdentifier: 1)
        let lu = ScriptedLU(nexus: us, vendor: Array("VENDOR".utf8), product: Array("DRIVE".utf8), revision: Array("0001".utf8))
        lu.register(ReservationKey(Self.a1), as: Self.elsewhere, reserve: .exclusiveAccess)
        let recorder = RecordingTransport(lu)
        let (code, out, err) = runInProcess(args, transport: recorder)
        return (code, recorder.sent, out, err)
    }

    @Test("query: INQUIRY, READ FULL STATUS")
    func query() {
        let (code, sent, _, err) = runWithInquiry(["/dev/fake", "query"])
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.inquiry, Self.readFullStatus])
    }

    @Test("regkeys: READ KEYS")
    func regkeys() {
        let (code, sent, out, err) = run(["/dev/fake", "regkeys"], arrange: Self.otherHolds)
        #expect(code == 0 && out == "0xa1\n", "\(err)")
        #expect(sent == [Self.readKeys])
    }

    @Test("wholocked: READ RESERVATION; for an all-registrants type READ KEYS too")
    func wholocked() {
        var (code, sent, _, err) = run(["/dev/fake", "wholocked"], arrange: Self.otherHolds)
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.readReservation])
        let allRegistrants: (LoggingLU) -> Void = { lu in
            Self.weAreRegistered(lu)
            lu.run(cdb: PersistentReserveOut.CDB(serviceAction: .reserve, scope: 0, type: .writeExclusiveAllRegistrants,
                                                 parameterListLength: 24).encode(),
                   dataOut: PersistentReserveOut.ParameterList(reservationKey: ReservationKey(Self.b2), serviceActionReservationKey: ReservationKey(0),
                                                               specifyInitiatorPorts: false, allTargetPorts: false,
                                                               activatePersistThroughPowerLoss: false).encode(),
                   dataInLength: 0, from: lu.nexus, logged: false)
        }
        (code, sent, _, err) = run(["/dev/fake", "wholocked"], arrange: allRegistrants)
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.readReservation, Self.readKeys])
    }

    @Test("status where the nexus is known: READ FULL STATUS, READ RESERVATION; where not (SG_IO): READ KEYS, READ RESERVATION")
    func status() {
        var (code, sent, _, err) = run(["-k", "b2", "/dev/fake", "status"], arrange: Self.otherHolds)
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.readFullStatus, Self.readReservation])
        (code, sent, _, err) = run(["-k", "b2", "/dev/fake", "status"], exposesNexus: false, arrange: Self.otherHolds)
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.readKeys, Self.readReservation])
    }

    @Test("caps: INQUIRY, REPORT CAPABILITIES")
    func caps() {
        let (code, sent, _, err) = runWithInquiry(["/dev/fake", "caps"])
        #expect(code == 0, "\(err)")
        #expect(sent == [Self.inquiry, Self.reportCapabilities])
    }

    /// With our key and a known nexus, audit reads READ FULL STATUS instead of READ KEYS: it sorts our key's
    /// registrations into this host's paths and other hosts' (README "Several paths to one drive"). Still two commands.
    @Test("audit: READ FULL STATUS (our key, nexus known) or READ KEYS (nexus unknown, or no key), then READ RESERVATION")
    func audit() {
        var (code, sent, _, err) = run(["-k", "b2", "/dev/fake", "audit"], arrange: Self.otherHolds)
        #expect(code == 1, "\(err)")
        #expect(sent == [Self.readFullStatus, Self.readReservation])
        (code, sent, _, err) = run(["-k", "b2", "/dev/fake", "audit"], exposesNexus: false, arrange: Self.otherHolds)
        #expect(code == 1, "\(err)")
        #expect(sent == [Self.readKeys, Self.readReservation])
        (code, sent, _, err) = run(["/dev/fake", "audit"], arrange: Self.otherHolds)
        #expect(code == 1, "\(err)")
        #expect(sent == [Self.readKeys, Self.readReservation])
    }
}
