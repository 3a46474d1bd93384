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
