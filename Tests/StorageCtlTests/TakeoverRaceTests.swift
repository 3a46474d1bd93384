import Testing
@testable import StorageCtl
import PRCore
import Transports

/// A takeover (one PREEMPT of our own key) racing with the state it read: the device answers PREEMPT GOOD
/// whether or not it gave us the reservation (SPC P3, P5, P7), so only a look afterwards can say.
/// `beforePreempt` runs other nexuses' commands just before ours reaches the device.
final class RacingLU: SCSITransport {
    let lu = LoggingLU(initiator: "iqn.2024-01.com.example:cibou-2")
    static let otherPath = Nexus(transportID: .iscsi(name: "iqn.2024-01.com.example:cibou-1"), relativeTargetPortIdentifier: 1)
    static let dir = Nexus(transportID: .iscsi(name: "iqn.2024-01.com.example:dir"), relativeTargetPortIdentifier: 1)
    var beforePreempt: ((LoggingLU) -> Void)?
    var path: String { lu.path }
    var knownNexus: Nexus? { lu.nexus }
    /// This path and the host's other live path (cibou-1).
    var ownNexuses: OwnNexuses {
        OwnNexuses(this: lu.nexus, livePaths: [lu.nexus, Self.otherPath], hostPorts: [lu.nexus.transportID, Self.otherPath.transportID])
    }

    func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
        if cdb[0] == 0x5F, PersistentReserveOut.CDB.decode(cdb)?.serviceAction == .preempt, let hook = beforePreempt {
            beforePreempt = nil
            hook(lu)
        }
        return try lu.execute(cdb: cdb, dataOut: dataOut, dataInLength: dataInLength, timeout: timeout)
    }
}

@Suite("takeover races: never exit 0 without holding the reservation")
struct TakeoverRaceTests {
    static let ours: UInt64 = 0xbac001, dirKey: UInt64 = 0xbac999

    /// Our other path holds the drive.
    static func heldByOtherPath() -> RacingLU {
        let racing = RacingLU()
        racing.lu.out(.register, rk: 0, sark: ours, from: RacingLU.otherPath)
        racing.lu.out(.reserve, rk: ours, sark: 0, from: RacingLU.otherPath)
        return racing
    }

    @Test("no race: trylock through this path moves the reservation here (one PREEMPT), and says so")
    func plainTakeover() {
        let racing = Self.heldByOtherPath()
        let (code, _, err) = runInProcess(["-k", "bac001", "/dev/fake", "trylock"], transport: racing)
        #expect(code == 0, "\(err)")
        #expect(err.count == 1 && err[0].hasSuffix("(another live path); removed by one PREEMPT of our own key"), "\(err)")
        #expect(racing.lu.state.reservation?.holder == .nexus(racing.lu.nexus))
    }

    @Test("the other path releases and dir reserves just before our PREEMPT: trylock exits 1 naming dir, lock goes on waiting")
    func anotherKeyReservedMeanwhile() {
        for verb in ["trylock", "lock"] {
            let racing = Self.heldByOtherPath()
            racing.beforePreempt = { lu in
                lu.out(.release, rk: Self.ours, sark: 0, from: RacingLU.otherPath)
                lu.out(.register, rk: 0, sark: Self.dirKey, from: RacingLU.dir)
                lu.out(.reserve, rk: Self.dirKey, sark: 0, from: RacingLU.dir)
            }
            let args = verb == "lock" ? ["-k", "bac001", "-w", "0.05", "/dev/fake", "lock"] : ["-k", "bac001", "/dev/fake", "trylock"]
            let (code, _, err) = runInProcess(args, transport: racing)
            #expect(code == (verb == "lock" ? 4 : 1), "\(verb): \(err)")
            #expect(err.last?.contains("0xbac999") == true, "\(verb): \(err)")
            #expect(!err.contains { $0.contains("moved the reservation") }, "\(verb): \(err)")
            #expect(racing.lu.state.reservation?.holder == .nexus(RacingLU.dir), "\(verb)")
        }
    }

    @Test("the other path releases just before our PREEMPT (the drive free, our registrations gone): not acquired by that PREEMPT")
    func releasedMeanwhile() {
        let racing = Self.heldByOtherPath()
        racing.beforePreempt = { lu in lu.out(.release, rk: Self.ours, sark: 0, from: RacingLU.otherPath) }
        let (code, _, err) = runInProcess(["-k", "bac001", "/dev/fake", "trylock"], transport: racing)
        // the PREEMPT found no reservation (P7): it removed our key's registrations, this path's too, and reserved nothing
        #expect(code == 1, "\(err)")
        #expect(!err.contains { $0.contains("moved the reservation") }, "\(err)")
        #expect(racing.lu.state.reservation == nil)
    }

    @Test("unlock racing the same way: no false 'moved' line; the drive as it is now")
    func unlockRace() {
        let racing = Self.heldByOtherPath()
        racing.beforePreempt = { lu in
            lu.out(.release, rk: Self.ours, sark: 0, from: RacingLU.otherPath)
            lu.out(.register, rk: 0, sark: Self.dirKey, from: RacingLU.dir)
            lu.out(.reserve, rk: Self.dirKey, sark: 0, from: RacingLU.dir)
        }
        let (code, _, err) = runInProcess(["-k", "bac001", "/dev/fake", "unlock"], transport: racing)
        #expect(code == 0, "\(err)")
        #expect(err == ["storage-ctl: /dev/fake: not holding the lock; it is held by 0xbac999"], "\(err)")
        #expect(racing.lu.state.reservation?.holder == .nexus(RacingLU.dir))
    }
}
