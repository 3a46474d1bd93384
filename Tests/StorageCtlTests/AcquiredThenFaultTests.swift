import Testing
@testable import StorageCtl
import PRCore
import Transports

/// A drive whose first READ RESERVATION after a successful RESERVE fails (a command timeout, a bus
/// reset): the lock is taken, the look that follows it is lost.
private final class FailsLookAfterReserve: SCSITransport {
    let lu = LoggingLU()
    var path: String { lu.path }
    var knownNexus: Nexus? { lu.knownNexus }
    private var armed = false

    func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
        if armed, cdb[0] == 0x5E, cdb[1] & 0x1F == 0x01 {
            armed = false
            throw TransportError(.timeout, "READ RESERVATION timed out")
        }
        let result = try lu.execute(cdb: cdb, dataOut: dataOut, dataInLength: dataInLength, timeout: timeout)
        if cdb[0] == 0x5F, cdb[1] & 0x1F == 0x01, result.status == .good { armed = true }
        return result
    }
}

/// The promise "never exit non-zero holding a lock it took": once RESERVE answered GOOD, nothing
/// the verb does afterwards for its own bookkeeping (the PRgeneration for the fairness record)
/// may turn the exit status into a failure.
@Suite("Acquired, then a fault")
struct AcquiredThenFaultTests {
    @Test("trylock and lock by an unregistered host: RESERVE good, the READ RESERVATION after it fails: exit 0, not 3", arguments: ["trylock", "lock"])
    func lookAfterReserveFails(verb: String) {
        let transport = FailsLookAfterReserve()
        let (code, _, err) = runInProcess(["-k", "bac001", "/dev/fake", verb], transport: transport)
        #expect(transport.lu.state.reservation?.holder == .nexus(transport.lu.nexus), "\(transport.lu.log)")
        #expect(code == 0, "exit \(code) holding the lock it took: \(err) \(transport.lu.log)")
    }
}

/// The holder named in `preempt KEY` releases the drive, and a third host reserves it, between
/// preempt's READ RESERVATION and its PREEMPT (an admin breaking a lock that only looked stale).
private final class HolderChangesBeforePreempt: SCSITransport {
    let lu = LoggingLU()
    let victim = Nexus(transportID: .iscsi(name: "iqn.2024-01.com.example:dir"), relativeTargetPortIdentifier: 1)
    let third = Nexus(transportID: .iscsi(name: "iqn.2024-01.com.example:third"), relativeTargetPortIdentifier: 1)
    var path: String { lu.path }
    var knownNexus: Nexus? { lu.knownNexus }
    private var raced = false

    init() {
        lu.out(.register, rk: 0, sark: 0xbac999, from: victim)
        lu.out(.reserve, rk: 0xbac999, sark: 0, from: victim)
        lu.out(.register, rk: 0, sark: 0xbac555, from: third)
    }

    func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
        if !raced, cdb[0] == 0x5F, [0x04, 0x05].contains(cdb[1] & 0x1F) {
            raced = true
            lu.out(.release, rk: 0xbac999, sark: 0, from: victim)
            lu.out(.reserve, rk: 0xbac555, sark: 0, from: third)
        }
        return try lu.execute(cdb: cdb, dataOut: dataOut, dataInLength: dataInLength, timeout: timeout)
    }
}

@Suite("Preempt: exit 0 means we hold the lock")
struct PreemptRaceTests {
    /// PREEMPT of a key that no longer holds the reservation only removes its registration (SPC):
    /// the third host keeps the lock. preempt trusted its earlier look and said "we hold the lock",
    /// exit 0: two storage daemons then use the drive at once.
    @Test("preempt KEY after KEY released and another host reserved: not exit 0", arguments: ["", "--abort"])
    func holderChangedBeforePreempt(abort: String) {
        let transport = HolderChangesBeforePreempt()
        let args = ["-k", "bac001", "/dev/fake", "preempt", "bac999"] + (abort.isEmpty ? [] : [abort])
        let (code, _, err) = runInProcess(args, transport: transport)
        #expect(transport.lu.state.reservation?.holder == .nexus(transport.third), "\(transport.lu.log)")
        #expect(code != 0, "exit 0 (we hold the lock) while the third host holds it: \(err) \(transport.lu.log)")
    }
}

@Suite("Messages: our own lock of another type")
struct OwnLockOtherTypeTests {
    /// We hold the drive (type 3) through this very initiator and lock again with another type
    /// (`type=` changed in the configuration, or `-t 1` typed by hand). RESERVE of another type is
    /// refused, and the message blamed a configuration copied to two hosts, which is not the case:
    /// it should say that we hold it with another type (as `release` does: "use -t 3, or unlock").
    @Test("trylock -t 1 while we hold it with type 3 on this initiator: not 'through another initiator'")
    func ownLockOtherType() {
        let lu = LoggingLU()
        lu.out(.register, rk: 0, sark: 0xbac001)
        lu.out(.reserve, rk: 0xbac001, sark: 0)
        let (code, _, err) = runInProcess(["-k", "bac001", "-t", "1", "/dev/fake", "trylock"], transport: lu)
        #expect(lu.state.reservation?.holder == .nexus(lu.nexus))
        #expect(code == 1 && err.count == 1, "\(err)")
        #expect(err.last == "storage-ctl: /dev/fake: locked by our own key 0xbac001 with type 3 (Exclusive Access), not 1: use -t 3, or unlock first", "\(err)")
    }
}
