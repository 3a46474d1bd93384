import Glibc
import PRCore
import Testing
import ProcessSupport
@testable import Transports

/// The SG_IO transport without a device: the status rules, the timeout conversion, the error lines.
/// The same code against real devices: SGIOIntegrationTests (in the test-bed VM).
@Suite struct SGIOTransportTests {
    let readKeys: [UInt8] = [0x5E, 0x00, 0, 0, 0, 0, 0, 0x10, 0, 0]

    // MARK: status rules

    @Test func goodStaysGood() throws {
        let s = try SGIOTransport.interpret(status: .good, host: .ok, driver: .ok, cdb: readKeys, node: "/dev/sg0", timeoutMilliseconds: 1000)
        #expect(s == .good)
    }

    @Test func scsiErrorsAreResultsNotThrows() throws {
        for status in [ScsiStatus.checkCondition, .busy, .reservationConflict, .taskSetFull, ScsiStatus(rawValue: 0x3c)] {
            let s = try SGIOTransport.interpret(status: status, host: .ok, driver: .sense, cdb: readKeys, node: "/dev/sg0", timeoutMilliseconds: 1000)
            #expect(s == status)
        }
    }

    @Test func nexusFailureWithGoodStatusIsReservationConflict() throws {
        let s = try SGIOTransport.interpret(status: .good, host: .nexusFailure, driver: .ok, cdb: readKeys, node: "/dev/sg0", timeoutMilliseconds: 1000)
        #expect(s == .reservationConflict)
        let t = try SGIOTransport.interpret(status: .reservationConflict, host: .nexusFailure, driver: .ok, cdb: readKeys, node: "/dev/sg0", timeoutMilliseconds: 1000)
        #expect(t == .reservationConflict)
    }

    @Test func midLayerVerdictOnSenseKeepsTheStatus() throws {
        // 6.1 marks ILLEGAL REQUEST 24/00 with DID_TARGET_FAILURE: the CHECK CONDITION is the answer.
        let s = try SGIOTransport.interpret(status: .checkCondition, host: .targetFailure, driver: .sense, cdb: readKeys, node: "/dev/sg0", timeoutMilliseconds: 1000)
        #expect(s == .checkCondition)
        #expect(throws: TransportError.self) {
            try SGIOTransport.interpret(status: .good, host: .targetFailure, driver: .ok, cdb: readKeys, node: "/dev/sg0", timeoutMilliseconds: 1000)
        }
    }

    @Test func timeoutsThrowTimeout() {
        for (host, driver) in [(SGIOHostStatus.timeOut, SGIODriverStatus.ok), (.ok, .timeout), (.ok, SGIODriverStatus(rawValue: 0x26))] {
            do {
                _ = try SGIOTransport.interpret(status: .good, host: host, driver: driver, cdb: readKeys, node: "/dev/sg3", timeoutMilliseconds: 60_000)
                Issue.record("no error for \(host) \(driver)")
            } catch {
                #expect(error.kind == .timeout)
                #expect(error.message == "Persistent reserve in (5Eh) to /dev/sg3 timed out: no answer within 60 s")
            }
        }
    }

    @Test func deliveryFailuresThrowWithTheHostStatusName() {
        do {
            _ = try SGIOTransport.interpret(status: .good, host: .noConnect, driver: .ok, cdb: readKeys, node: "/dev/sg1", timeoutMilliseconds: 1000)
            Issue.record("no error")
        } catch {
            #expect(error.kind == .other)
            #expect(error.message.contains("DID_NO_CONNECT (0x01)"))
            #expect(!error.message.contains("\n"))
        }
        // Even with a status byte, a transport failure makes the outcome unknown.
        #expect(throws: TransportError.self) {
            try SGIOTransport.interpret(status: .checkCondition, host: .transportDisrupted, driver: .sense, cdb: readKeys, node: "/dev/sg1", timeoutMilliseconds: 1000)
        }
        #expect(throws: TransportError.self) {
            try SGIOTransport.interpret(status: .good, host: .ok, driver: .error, cdb: readKeys, node: "/dev/sg1", timeoutMilliseconds: 1000)
        }
    }

    @Test func unknownHostAndDriverValuesHaveNames() {
        #expect(SGIOHostStatus(rawValue: 0x11).description == "DID_NEXUS_FAILURE (0x11)")
        #expect(SGIOHostStatus(rawValue: 0x7f).name == "DID_0x7f")
        #expect(SGIODriverStatus(rawValue: 0x08).name == "DRIVER_SENSE")
        #expect(SGIODriverStatus(rawValue: 0x0f).name == "DRIVER_0x0f")
    }

    // MARK: arguments

    @Test func argumentsSGIOCannotCarryAreRefused() throws {
        try SGIOTransport.validate(cdb: readKeys, dataOutCount: 0, dataInLength: 16)
        try SGIOTransport.validate(cdb: [UInt8](repeating: 0, count: 16), dataOutCount: 24, dataInLength: 0)
        let bad: [([UInt8], Int, Int, String)] = [
            ([], 0, 0, "a CDB of 0 bytes cannot be sent through SG_IO (1 to 16 bytes)"),
            ([UInt8](repeating: 0, count: 17), 0, 0, "a CDB of 17 bytes cannot be sent through SG_IO (1 to 16 bytes)"),
            (readKeys, 0, -1, "a data transfer of -1 bytes is out of range for SG_IO (0 to 16777216)"),
            (readKeys, 0, Int.max, "a data transfer of \(Int.max) bytes is out of range for SG_IO (0 to 16777216)"),
            (readKeys, 24, 16, "bidirectional commands are not supported (24 bytes out, 16 in)"),
        ]
        for (cdb, out, inLength, message) in bad {
            #expect(throws: TransportError(.other, message)) {
                try SGIOTransport.validate(cdb: cdb, dataOutCount: out, dataInLength: inLength)
            }
        }
    }

    // MARK: data-in

    @Test func dataIsTrimmedByTheResidual() {
        let buffer = [UInt8](1...10)
        #expect(SGIOTransport.transferredData(buffer, residual: 0, status: .good) == buffer)
        #expect(SGIOTransport.transferredData(buffer, residual: 4, status: .good) == [1, 2, 3, 4, 5, 6])
        #expect(SGIOTransport.transferredData(buffer, residual: 10, status: .good) == [])
        // Nonsense from a driver never traps.
        #expect(SGIOTransport.transferredData(buffer, residual: -3, status: .good) == buffer)
        #expect(SGIOTransport.transferredData(buffer, residual: 99, status: .good) == [])
        #expect(SGIOTransport.transferredData([], residual: 5, status: .good) == [])
    }

    @Test func commandsNotExecutedTransferNothing() {
        let buffer = [UInt8](repeating: 0, count: 512)
        for status in [ScsiStatus.reservationConflict, .busy, .taskSetFull, .acaActive, .taskAborted] {
            #expect(SGIOTransport.transferredData(buffer, residual: 0, status: status) == [], "\(status)")
        }
        #expect(SGIOTransport.transferredData(buffer, residual: 12, status: .checkCondition).count == 500)
    }

    // MARK: timeout conversion

    @Test func timeoutIsRoundedUpToMilliseconds() {
        #expect(SGIOTransport.milliseconds(.seconds(60)) == 60_000)
        #expect(SGIOTransport.milliseconds(.milliseconds(1)) == 1)
        #expect(SGIOTransport.milliseconds(.microseconds(1)) == 1)
        #expect(SGIOTransport.milliseconds(.microseconds(1500)) == 2)
        #expect(SGIOTransport.milliseconds(.zero) == 0)
        #expect(SGIOTransport.milliseconds(.seconds(-5)) == 0)
        #expect(SGIOTransport.milliseconds(.seconds(Int64.max)) == UInt32.max - 1)
        #expect(SGIOTransport.milliseconds(.seconds(4_294_967)) == UInt32.max - 1)
    }

    // MARK: opening

    @Test func openMissingNodeSaysSo() {
        do {
            _ = try SGIOTransport(nodePath: "/nonexistent/sg9")
            Issue.record("opened a missing node")
        } catch {
            #expect(error.kind == .open(errno: Errno(rawValue: ENOENT)))
            #expect(error.message.hasPrefix("cannot open /nonexistent/sg9: no such device node"))
        }
    }

    @Test func regularFileIsNotADevice() throws {
        let dir = try SGIOTempDir()
        let file = dir.path + "/lu"
        try dir.write(file, "")
        do {
            _ = try SGIOTransport(nodePath: file)
            Issue.record("opened a regular file")
        } catch {
            #expect(error.kind == .notSCSIDevice)
        }
    }

    @Test func characterDeviceWithoutSGIOIsRefused() {
        // /dev/null answers SG_GET_VERSION_NUM with ENOTTY.
        do {
            _ = try SGIOTransport(nodePath: "/dev/null", path: "/dev/tape0")
            Issue.record("opened /dev/null as SCSI")
        } catch {
            #expect(error.kind == .notSCSIDevice)
            #expect(error.message.contains("ENOTTY"))
        }
    }

    // MARK: error lines

    @Test func openErrorsAreOneClearLineEach() {
        let status = SGIOSyscall.FileStatus(type: .characterDevice, deviceMajor: 21, deviceMinor: 2, mode: 0o20660,
                                           ownerUID: 0, groupID: 0, size: 0)
        let cases: [(Int32, String)] = [
            (EACCES, "permission denied opening /dev/sg2 (the SCSI generic node of /dev/nst0): it must be opened read-write; run as root or as a member of group 'root' (the node is mode 0660, group root)"),
            (EPERM, "operation not permitted opening /dev/sg2 (the SCSI generic node of /dev/nst0): a device policy"),
            (ENOENT, "cannot open /dev/sg2 (the SCSI generic node of /dev/nst0): no such device node"),
            (ENXIO, "cannot open /dev/sg2 (the SCSI generic node of /dev/nst0): no device behind the node"),
            (EBUSY, "cannot open /dev/sg2 (the SCSI generic node of /dev/nst0): busy, another program holds it open exclusively; the st driver allows one opener"),
            (ENODEV, "cannot open /dev/sg2 (the SCSI generic node of /dev/nst0): no such device"),
            (EIO, "cannot open /dev/sg2 (the SCSI generic node of /dev/nst0): I/O error"),
            (EMFILE, "cannot open /dev/sg2 (the SCSI generic node of /dev/nst0): Too many open files (EMFILE)"),
        ]
        for (e, prefix) in cases {
            let err = SGIOErrors.openFailed(errno: e, node: "/dev/sg2", userPath: "/dev/nst0", status: status)
            #expect(err.kind == .open(errno: Errno(rawValue: e)))
            #expect(err.message.hasPrefix(prefix), "\(err.message)")
            #expect(!err.message.contains("\n"))
        }
    }

    @Test func accessAdviceNamesThePrivilege() {
        let tape = SGIOSyscall.FileStatus(type: .characterDevice, deviceMajor: 21, deviceMinor: 0, mode: 0o20660,
                                         ownerUID: 0, groupID: 0, size: 0)
        #expect(SGIOErrors.accessAdvice(tape).contains("member of group"))
        let rootOnly = SGIOSyscall.FileStatus(type: .characterDevice, deviceMajor: 21, deviceMinor: 0, mode: 0o20600,
                                             ownerUID: 0, groupID: 0, size: 0)
        #expect(SGIOErrors.accessAdvice(rootOnly).hasPrefix("run as root (the node is mode 0600"))
    }

    @Test func commandErrorsAreOneClearLineEach() {
        let prOut: [UInt8] = [0x5F, 0x01, 0x03, 0, 0, 0, 0, 0, 0x18, 0]
        let perm = SGIOErrors.commandFailed(errno: EPERM, cdb: prOut, node: "/dev/sda", kind: .blockDevice, timeoutMilliseconds: 1000)
        #expect(perm.message == "the kernel refused to pass Persistent reserve out (5Fh) to /dev/sda: sending it through a block device needs CAP_SYS_RAWIO; run as root")
        #expect(perm.kind == .io(errno: Errno(rawValue: EPERM)))
        let timeout = SGIOErrors.commandFailed(errno: ETIMEDOUT, cdb: prOut, node: "/dev/sg0", kind: .scsiGeneric, timeoutMilliseconds: 1500)
        #expect(timeout.kind == .timeout)
        #expect(timeout.message.hasSuffix("within 1.5 s"))
        let interrupted = SGIOErrors.commandFailed(errno: EINTR, cdb: prOut, node: "/dev/sg0", kind: .scsiGeneric, timeoutMilliseconds: 0)
        #expect(interrupted.message.contains("unknown"))
        let notSCSI = SGIOErrors.commandFailed(errno: ENOTTY, cdb: prOut, node: "/dev/vda", kind: .blockDevice, timeoutMilliseconds: 0)
        #expect(notSCSI.kind == .notSCSIDevice)
    }

    @Test func commandNamesCarryTheOpcode() {
        #expect(SGIOErrors.commandName([0x12, 0, 0, 0, 36, 0]) == "Inquiry (12h)")
        #expect(SGIOErrors.commandName([0x05]).hasSuffix("(05h)"))
        #expect(SGIOErrors.commandName([]) == "empty CDB")
    }
}
