import Foundation
import Glibc
import PRCore
import Testing
import ProcessSupport
@testable import Transports

/// Commands, built with the PRCore encoders, sent as real CDB bytes.
enum SimCDB {
    static func prOut(_ action: PersistentReserveOut.ServiceAction, type: ReservationType = .exclusiveAccess,
                      key: ReservationKey = .zero, sark: ReservationKey = .zero, aptpl: Bool = false) -> (cdb: [UInt8], data: [UInt8]) {
        let parameters = PersistentReserveOut.ParameterList(reservationKey: key, serviceActionReservationKey: sark,
                                                            activatePersistThroughPowerLoss: aptpl)
        return (PersistentReserveOut.CDB(serviceAction: action, type: type, parameterListLength: 24).encode(),
                parameters.encode())
    }

    static func prIn(_ action: PersistentReserveIn.ServiceAction) -> [UInt8] {
        PersistentReserveIn.CDB(serviceAction: action, allocationLength: 8192).encode()
    }

    /// READ(10) of one block at LBA 1 (as libiscsi's access tests).
    static let read10: [UInt8] = [0x28, 0, 0, 0, 0, 1, 0, 0, 1, 0]
    static let write10: [UInt8] = [0x2A, 0, 0, 0, 0, 1, 0, 0, 1, 0]
    static let testUnitReady: [UInt8] = [0, 0, 0, 0, 0, 0]
}

extension SimulatedLU {
    @discardableResult
    func run(_ cdb: [UInt8], _ dataOut: [UInt8] = [], dataIn: Int = 0) throws(TransportError) -> SCSICommandResult {
        try execute(cdb: cdb, dataOut: dataOut, dataInLength: dataIn, timeout: .seconds(10))
    }

    @discardableResult
    func prOut(_ action: PersistentReserveOut.ServiceAction, type: ReservationType = .exclusiveAccess,
               key: ReservationKey = .zero, sark: ReservationKey = .zero, aptpl: Bool = false) throws(TransportError) -> SCSICommandResult {
        let command = SimCDB.prOut(action, type: type, key: key, sark: sark, aptpl: aptpl)
        return try run(command.cdb, command.data)
    }

    func readKeys() throws -> ReadKeysResponse {
        let result = try run(SimCDB.prIn(.readKeys), dataIn: 8192)
        #expect(result.status == .good)
        return try #require(ReadKeysResponse.decode(result.data))
    }

    func readReservation() throws -> ReadReservationResponse {
        let result = try run(SimCDB.prIn(.readReservation), dataIn: 8192)
        #expect(result.status == .good)
        return try #require(ReadReservationResponse.decode(result.data))
    }
}

/// Fixed-format sense: key, ASC, ASCQ.
func simSense(_ result: SCSICommandResult) -> (key: UInt8, asc: UInt8, ascq: UInt8)? {
    guard result.sense.count >= 14, result.sense[0] == 0x70 else { return nil }
    return (result.sense[2] & 0x0F, result.sense[12], result.sense[13])
}

func simExpectCheckCondition(_ result: SCSICommandResult, _ key: UInt8, _ asc: UInt8, _ ascq: UInt8,
                             sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == .checkCondition, sourceLocation: sourceLocation)
    let sense = simSense(result)
    #expect(sense?.key == key && sense?.asc == asc && sense?.ascq == ascq,
            "sense \(result.sense)", sourceLocation: sourceLocation)
    #expect(result.data.isEmpty, sourceLocation: sourceLocation)
}

let simHostA = "iqn.2026-01.org.example:host-a"
let simHostB = "iqn.2026-01.org.example:host-b"

@Suite struct SimulatedLUTests {
    // MARK: Fresh LU

    @Test func anEmptyFileIsNotADriveAndStaysEmpty() throws {
        let directory = SimTempDirectory()
        let path = directory.emptyFile()
        let before = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
        let refusal = TransportError(.notSCSIDevice, "an empty file, not a simulated drive; nothing was written "
                                     + "(storage-ctl DEVICE create makes one)")
        #expect(throws: refusal) { try SimulatedLU(path: path, initiatorName: simHostA) }
        #expect(throws: refusal) { try SimulatedLU(path: path, initiatorName: simHostA, readOnly: true) }
        #expect(SimFileBytes.read(path).isEmpty)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date == before)
        // A read-only file asked to become one cannot: nothing written either.
        #expect(chmod(path, 0o444) == 0)
        if !simRunningAsRoot {
            #expect(throws: TransportError(.io(errno: Errno(rawValue: EACCES)), "read-only (Permission denied): cannot record the new state")) {
                try SimulatedLU(path: path, initiatorName: simHostA, create: true)
            }
            #expect(SimFileBytes.read(path).isEmpty)
        }
    }

    @Test func aKernelFileIsNeverADrive() throws {
        // /proc/self/comm: a regular file of size 0 that holds content, and whose writing renames the process.
        let comm = SimFileBytes.read("/proc/self/comm")
        let refusal = TransportError(.notSCSIDevice, "a file of the kernel's proc file system, never a simulated "
                                     + "drive; nothing was written")
        #expect(throws: refusal) { try SimulatedLU(path: "/proc/self/comm", initiatorName: simHostA) }
        #expect(throws: refusal) { try SimulatedLU(path: "/proc/self/comm", initiatorName: simHostA, create: true) }
        #expect(SimFileBytes.read("/proc/self/comm") == comm)
        if FileManager.default.fileExists(atPath: "/sys/kernel/uevent_seqnum") {
            #expect(throws: TransportError(.notSCSIDevice, "a file of the kernel's sysfs file system, never a "
                                           + "simulated drive; nothing was written")) {
                try SimulatedLU(path: "/sys/kernel/uevent_seqnum", initiatorName: simHostA, create: true)
            }
        }
    }

    @Test func createMakesAMissingOrEmptyFileAFreshLU() throws {
        let directory = SimTempDirectory()
        let missing = directory.file("missing")
        _ = try SimulatedLU(path: missing, initiatorName: simHostA, create: true)
        #expect(SimFileBytes.read(missing).count == SimFormat.fileSize)
        let mode = try FileManager.default.attributesOfItem(atPath: missing)[.posixPermissions] as? Int
        #expect(mode.map { $0 & 0o7 } == 0)
        // A dangling symbolic link is not followed to create its target.
        #expect(symlink(directory.file("target"), directory.file("dangling")) == 0)
        #expect(throws: TransportError(.open(errno: Errno(rawValue: EEXIST)), "cannot open: File exists")) {
            try SimulatedLU(path: directory.file("dangling"), initiatorName: simHostA, create: true)
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("target")))
        // An existing drive is kept as it is.
        let lu = try SimulatedLU(path: missing, initiatorName: simHostA)
        try lu.prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        let bytes = SimFileBytes.read(missing)
        _ = try SimulatedLU(path: missing, initiatorName: simHostB, create: true)
        #expect(SimFileBytes.read(missing) == bytes)
    }

    @Test func aNewDriveIsInitialised() throws {
        let directory = SimTempDirectory()
        let path = directory.emptyFile()
        let lu = try SimulatedLU(path: path, initiatorName: simHostA, create: true)
        #expect(SimFileBytes.read(path).count == SimFormat.fileSize)
        #expect(!lu.isReadOnly)
        #expect(lu.nexus == Nexus(transportID: .iscsi(name: simHostA), relativeTargetPortIdentifier: 1))

        let report = try SimulatedLU.verify(path: path)
        #expect(report.isInitialised && report.formatVersion == 2 && report.deviceType == .tape)
        #expect(report.vendor == "STORCTL" && report.product == "SIM TAPE" && report.revision == "1.0")
        #expect(report.currentSlot == nil && report.sequence == 0 && report.slots == [.empty, .empty])
        #expect(report.state == LogicalUnitState())

        #expect(try lu.run(SimCDB.testUnitReady).status == .good)
        let keys = try lu.readKeys()
        #expect(keys.generation == 0 && keys.keys.isEmpty)
        // Nothing changed, nothing written.
        #expect(try SimulatedLU.verify(path: path).sequence == 0)
    }

    @Test func theDeviceTypeOfANewLUIsKeptByLaterOpens() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive(deviceType: .disk)
        let lu = try SimulatedLU(path: path, initiatorName: simHostB, deviceTypeForNewLU: .tape, create: true)
        let inquiry = try lu.run(Inquiry.CDB().encode(), dataIn: 255)
        let data = try #require(StandardInquiryData.decode(inquiry.data))
        #expect(data.peripheralDeviceType == .disk && data.product == "SIM DISK" && !data.removable)
    }

    // MARK: Two nexuses on one file

    @Test func twoObjectsShareOneLU() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let a = try SimulatedLU(path: path, initiatorName: simHostA)
        let b = try SimulatedLU(path: path, initiatorName: simHostB, relativeTargetPortIdentifier: 2)

        #expect(try a.prOut(.registerAndIgnoreExistingKey, sark: 0xA).status == .good)
        #expect(try b.prOut(.registerAndIgnoreExistingKey, sark: 0xB).status == .good)
        #expect(try a.prOut(.reserve, type: .exclusiveAccess, key: 0xA).status == .good)

        let keys = try b.readKeys()
        #expect(keys.keys == [0xA, 0xB] && keys.generation == 2)
        #expect(try b.readReservation().reservation == .init(key: 0xA, type: .exclusiveAccess))

        // Exclusive Access: the registered non-holder may neither read nor write; the holder may.
        let conflict = try b.run(SimCDB.read10, dataIn: 512)
        #expect(conflict.status == .reservationConflict && conflict.sense.isEmpty && conflict.data.isEmpty)
        #expect(try b.run(SimCDB.write10, [UInt8](repeating: 0, count: 512)).status == .reservationConflict)
        #expect(try b.prOut(.reserve, type: .exclusiveAccess, key: 0xB).status == .reservationConflict)
        let read = try a.run(SimCDB.read10, dataIn: 512)
        #expect(read.status == .good && read.data == [UInt8](repeating: 0, count: 512))

        #expect(try a.prOut(.release, type: .exclusiveAccess, key: 0xA).status == .good)
        #expect(try b.run(SimCDB.read10, dataIn: 512).status == .good)
        #expect(try b.prOut(.reserve, type: .exclusiveAccess, key: 0xB).status == .good)
        #expect(try a.run(SimCDB.read10, dataIn: 512).status == .reservationConflict)

        // A third object, opened later, sees all of it.
        let c = try SimulatedLU(path: path, initiatorName: "iqn.2026-01.org.example:host-c")
        #expect(try c.readReservation().reservation == .init(key: 0xB, type: .exclusiveAccess))
        let report = try SimulatedLU.verify(path: path)
        #expect(report.state.registrations.map(\.key) == [0xA, 0xB])
        #expect(report.sequence == 5)
        #expect(report.stateSummary.hasPrefix("generation=0x2 registrations=2 reservation=type 3 (Exclusive Access) holder=0xb "))
    }

    @Test func initiatorNamesCompareWithoutRegardToCase() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let lower = try SimulatedLU(path: path, initiatorName: "iqn.2026-01.org.example:host")
        let upper = try SimulatedLU(path: path, initiatorName: "IQN.2026-01.ORG.EXAMPLE:HOST")
        #expect(try lower.prOut(.registerAndIgnoreExistingKey, sark: 0x1).status == .good)
        #expect(try upper.prOut(.reserve, key: 0x1).status == .good)
        #expect(try lower.run(SimCDB.read10, dataIn: 512).status == .good)
    }

    @Test func aSecondRTPIIsAnotherNexus() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let port1 = try SimulatedLU(path: path, initiatorName: simHostA, relativeTargetPortIdentifier: 1)
        let port2 = try SimulatedLU(path: path, initiatorName: simHostA, relativeTargetPortIdentifier: 2)
        try port1.prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        try port1.prOut(.reserve, key: 0x1)
        #expect(try port2.run(SimCDB.read10, dataIn: 512).status == .reservationConflict)
    }

    // MARK: Files that are not usable

    @Test func aForeignFileIsRefusedAndLeftAlone() throws {
        let directory = SimTempDirectory()
        let path = directory.file("foreign")
        let content = Array("#!/bin/sh\necho this is not a simulated LU\n".utf8)
        SimFileBytes.write(content, to: try simCreate(path))
        try simExpectRefused(path, content: content,
                             TransportError(.corruptState, "not a storage-ctl simulated LU (unrecognised format)"))
        // One byte is not ours either.
        SimFileBytes.write([0x0A], to: path)
        try simExpectRefused(path, content: [0x0A],
                             TransportError(.corruptState, "not a storage-ctl simulated LU (unrecognised format)"))
    }

    @Test func aZeroFilledFileIsNotTakenForAFreshLU() throws {
        let directory = SimTempDirectory()
        let path = try simCreate(directory.file("zeros"))
        #expect(truncate(path, 1 << 20) == 0)  // `truncate -s 1M`: not empty, so not a fresh LU
        try simExpectRefused(path, content: [UInt8](repeating: 0, count: 1 << 20),
                             TransportError(.corruptState, "not a storage-ctl simulated LU (unrecognised format)"))
    }

    @Test func anExhaustedSequenceNumberIsRefusedNotWrapped() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let lu = try SimulatedLU(path: path, initiatorName: simHostA)
        try lu.prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        let state = try SimulatedLU.verify(path: path).state.encode()
        SimFileBytes.forgeCommit(path, slot: 1, sequence: .max, payload: state)
        let content = SimFileBytes.read(path)
        #expect(try lu.readKeys().keys == [0x1])  // reading is fine
        #expect(throws: TransportError(.corruptState, "simulated LU state is corrupt (sequence number exhausted)")) {
            try lu.prOut(.registerAndIgnoreExistingKey, sark: 0x2)
        }
        #expect(SimFileBytes.read(path) == content)
    }

    @Test func aNewerFormatVersionIsRefusedByName() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        try SimulatedLU(path: path, initiatorName: simHostA).prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        // A version-3 header with a valid checksum, as a newer storage-ctl would write it.
        var header = SimLUHeader.decodeForTest(SimFileBytes.read(path))
        header.formatVersion = 3
        SimFileBytes.patch(path, at: 0, with: Array(header.encode().prefix(SimFormat.headerFieldsSize)))
        try simExpectRefused(path, content: SimFileBytes.read(path), TransportError(
            .corruptState, "simulated LU format version 3 is newer than this storage-ctl supports (version 2)"))
        // Version 1 (no commit record) is refused with what to do.
        header.formatVersion = 1
        SimFileBytes.patch(path, at: 0, with: Array(header.encode().prefix(SimFormat.headerFieldsSize)))
        try simExpectRefused(path, content: SimFileBytes.read(path), TransportError(
            .corruptState, "simulated LU format version 1 is no longer read (this storage-ctl uses version 2); "
            + "recreate the file (storage-ctl FILE create on an empty file makes a fresh LU; its registrations are lost)"))
    }

    @Test func aDamagedHeaderIsRefused() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        _ = try SimulatedLU(path: path, initiatorName: simHostA)
        SimFileBytes.patch(path, at: 30, with: [0xFF])
        try simExpectRefused(path, content: SimFileBytes.read(path),
                             TransportError(.corruptState, "simulated LU header is corrupt (checksum mismatch)"))
    }

    @Test func bothSlotsCorruptIsRefusedNeverReset() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let lu = try SimulatedLU(path: path, initiatorName: simHostA)
        try lu.prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        try lu.prOut(.reserve, key: 0x1)
        SimFileBytes.patch(path, at: SimFormat.slotOffset(0) + 40, with: [0xDE, 0xAD])
        SimFileBytes.patch(path, at: SimFormat.slotOffset(1) + 40, with: [0xBE, 0xEF])
        let content = SimFileBytes.read(path)
        let error = TransportError(.corruptState, "simulated LU state is corrupt (committed state (slot 1, "
                                   + "sequence 2) is damaged: checksum mismatch)")
        try simExpectRefused(path, content: content, error)
        // The object that was open before the damage refuses too, and writes nothing.
        #expect(throws: error) { try lu.prOut(.release, key: 0x1) }
        #expect(SimFileBytes.read(path) == content)
    }

    @Test func aValidSlotTheEngineCannotDecodeIsCorrupt() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let lu = try SimulatedLU(path: path, initiatorName: simHostA)
        try lu.prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        // A checksummed, committed slot whose payload is not a PR state.
        SimFileBytes.forgeCommit(path, slot: 1, sequence: 9, payload: Array("garbage".utf8))
        let error = #expect(throws: TransportError.self) { try lu.run(SimCDB.testUnitReady) }
        #expect(error?.kind == .corruptState)
        #expect(error?.message.hasPrefix("simulated LU state is corrupt (slot 1: ") == true)
    }

    @Test func damageToTheCommittedSlotIsReportedNotRolledBack() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let lu = try SimulatedLU(path: path, initiatorName: simHostA)
        try lu.prOut(.registerAndIgnoreExistingKey, sark: 0x1)  // sequence 1, slot 0
        try lu.prOut(.reserve, key: 0x1)                        // sequence 2, slot 1
        #expect(try SimulatedLU.verify(path: path).currentSlot == 1)

        // Garbage over the committed slot's payload: slot 0 still holds the valid older state (unreserved), which
        // must not come back.
        SimFileBytes.patch(path, at: SimFormat.slotOffset(1) + SimFormat.slotHeaderSize,
                           with: [UInt8](repeating: 0x5A, count: 64))
        let error = TransportError(.corruptState, "simulated LU state is corrupt (committed state (slot 1, "
                                   + "sequence 2) is damaged: checksum mismatch)")
        try simExpectRefused(path, content: SimFileBytes.read(path), error)
        #expect(throws: error) { try lu.readReservation() }
    }

    @Test func aSlotWrittenButNotCommittedIsIgnored() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let lu = try SimulatedLU(path: path, initiatorName: simHostA)
        try lu.prOut(.registerAndIgnoreExistingKey, sark: 0x1)  // sequence 1, slot 0
        // A process killed after writing the next state into slot 1 but before the commit record: a complete,
        // checksummed slot with a higher sequence number. The command never completed; the old state stands.
        var next = try SimulatedLU.verify(path: path).state
        let command = SimCDB.prOut(.reserve, key: 0x1)
        _ = next.process(cdb: command.cdb, dataOut: command.data, dataInLength: 0, from: lu.nexus)
        SimFileBytes.patch(path, at: SimFormat.slotOffset(1), with: SimSlotContent.encode(sequence: 2, payload: next.encode()))
        let report = try SimulatedLU.verify(path: path)
        #expect(report.currentSlot == 0 && report.sequence == 1)
        #expect(report.slots == [.valid(sequence: 1, length: report.state.encode().count),
                                 .valid(sequence: 2, length: next.encode().count)])
        #expect(try lu.readReservation().reservation == nil)

        // The next change is written over the uncommitted slot, with the next sequence number.
        try lu.prOut(.reserve, key: 0x1)
        let repaired = try SimulatedLU.verify(path: path)
        #expect(repaired.currentSlot == 1 && repaired.sequence == 2 && repaired.state.reservation != nil)
    }

    @Test func aFileEmptiedWhileOpenIsAFreshLUAgainOnlyForItsCreator() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let creator = try SimulatedLU(path: path, initiatorName: simHostA, create: true)
        let user = try SimulatedLU(path: path, initiatorName: simHostB)
        try creator.prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        SimFileBytes.write([], to: path)  // `: > file`
        #expect(throws: SimulatedLU.notADrive) { try user.readKeys() }
        #expect(SimFileBytes.read(path).isEmpty)
        #expect(try creator.readKeys().keys.isEmpty)
        #expect(SimFileBytes.read(path).count == SimFormat.fileSize)
    }

    @Test func openErrorsNameWhatIsWrong() throws {
        let directory = SimTempDirectory()
        #expect(throws: TransportError(.open(errno: Errno(rawValue: ENOENT)), "cannot open: No such file or directory")) {
            try SimulatedLU(path: directory.file("missing"), initiatorName: simHostA)
        }
        #expect(throws: TransportError(.open(errno: Errno(rawValue: EISDIR)), "is a directory")) {
            try SimulatedLU(path: directory.path, initiatorName: simHostA)
        }
        #expect(throws: TransportError(.open(errno: Errno(rawValue: EISDIR)), "is a directory")) {
            try SimulatedLU(path: directory.path, initiatorName: simHostA, readOnly: true)
        }
        #expect(throws: TransportError(.open(errno: Errno(rawValue: ENOTDIR)), "cannot open: Not a directory")) {
            try SimulatedLU(path: directory.newDrive("plain") + "/below", initiatorName: simHostA)
        }
        let fifo = directory.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: TransportError(.notSCSIDevice, "not a regular file, so not a simulated LU")) {
            try SimulatedLU(path: fifo, initiatorName: simHostA)
        }
        #expect(throws: TransportError(.notSCSIDevice, "not a regular file, so not a simulated LU")) {
            try SimulatedLU(path: "/dev/null", initiatorName: simHostA, readOnly: true)
        }
    }

    @Test(.disabled(if: simRunningAsRoot, "root opens any file"))
    func anUnreadableFileIsRefused() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        #expect(chmod(path, 0o000) == 0)
        #expect(throws: TransportError(.open(errno: Errno(rawValue: EACCES)), "cannot open: Permission denied")) {
            try SimulatedLU(path: path, initiatorName: simHostA)
        }
    }

    @Test func invalidInitiatorNamesAndPortsAreRefused() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let rule = "must be 1 to 223 printable ASCII characters without spaces"
        #expect(throws: TransportError(.other, "invalid initiator name (empty): \(rule)")) {
            try SimulatedLU(path: path, initiatorName: "")
        }
        #expect(throws: TransportError(.other, "invalid initiator name \"iqn.x host\": \(rule)")) {
            try SimulatedLU(path: path, initiatorName: "iqn.x host")
        }
        #expect(throws: TransportError(.other, "invalid initiator name \"iqn.x?y\": \(rule)")) {
            try SimulatedLU(path: path, initiatorName: "iqn.x\ny")
        }
        #expect(throws: TransportError(.other, "invalid initiator name \"caf??\": \(rule)")) {
            try SimulatedLU(path: path, initiatorName: "café")
        }
        #expect(throws: TransportError(.other, "invalid initiator name (224 bytes): \(rule)")) {
            try SimulatedLU(path: path, initiatorName: String(repeating: "x", count: 224))
        }
        _ = try SimulatedLU(path: path, initiatorName: String(repeating: "x", count: 223))
        _ = try SimulatedLU(path: path, initiatorName: "!")
        #expect(throws: TransportError(.other, "relative target port identifier 0 is reserved (use 1 to 65535)")) {
            try SimulatedLU(path: path, initiatorName: simHostA, relativeTargetPortIdentifier: 0)
        }
        // Nothing was written by the refused opens; the accepted ones initialised the file.
        #expect(try SimulatedLU.verify(path: path).sequence == 0)
    }

    // MARK: Read-only

    @Test func aReadOnlyOpenServesReadsAndRefusesChanges() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        try SimulatedLU(path: path, initiatorName: simHostA).prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        let content = SimFileBytes.read(path)

        let lu = try SimulatedLU(path: path, initiatorName: simHostB, readOnly: true)
        #expect(lu.isReadOnly)
        #expect(try lu.readKeys().keys == [0x1])
        #expect(try lu.run(Inquiry.CDB().encode(), dataIn: 96).status == .good)
        #expect(throws: TransportError(.io(errno: Errno(rawValue: EROFS)), "read-only: cannot record the new state")) {
            try lu.prOut(.registerAndIgnoreExistingKey, sark: 0x2)
        }
        #expect(SimFileBytes.read(path) == content)
    }

    @Test func aReadOnlyEmptyFileIsRefusedUnwritten() throws {
        let directory = SimTempDirectory()
        let path = directory.emptyFile()
        #expect(throws: SimulatedLU.notADrive) {
            try SimulatedLU(path: path, initiatorName: simHostA, deviceTypeForNewLU: .disk, readOnly: true)
        }
        #expect(SimFileBytes.read(path).isEmpty)
        let report = try SimulatedLU.verify(path: path)
        #expect(!report.isInitialised && report.deviceType == nil && report.currentSlot == nil)
    }

    @Test(.disabled(if: simRunningAsRoot, "root may write a 0444 file"))
    func aFileWithoutWritePermissionFallsBackToReadOnly() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        try SimulatedLU(path: path, initiatorName: simHostA).prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        #expect(chmod(path, 0o444) == 0)
        let content = SimFileBytes.read(path)
        let lu = try SimulatedLU(path: path, initiatorName: simHostB)
        #expect(lu.isReadOnly)
        #expect(try lu.readKeys().keys == [0x1])
        #expect(throws: TransportError(.io(errno: Errno(rawValue: EACCES)), "read-only (Permission denied): cannot record the new state")) {
            try lu.prOut(.registerAndIgnoreExistingKey, sark: 0x2)
        }
        #expect(SimFileBytes.read(path) == content)
    }

    @Test func aPendingUnitAttentionCannotBeConsumedReadOnly() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let writer = try SimulatedLU(path: path, initiatorName: simHostA)
        try writer.prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        try writer.powerCycle()
        let reader = try SimulatedLU(path: path, initiatorName: simHostB, readOnly: true)
        // Reporting the 29/00 would change the state (the UA is consumed): refused, file untouched.
        let content = SimFileBytes.read(path)
        #expect(throws: TransportError(.io(errno: Errno(rawValue: EROFS)), "read-only: cannot record the new state")) {
            try reader.run(SimCDB.testUnitReady)
        }
        #expect(SimFileBytes.read(path) == content)
        // INQUIRY neither reports nor consumes a UA.
        #expect(try reader.run(Inquiry.CDB().encode(), dataIn: 96).status == .good)
    }

    // MARK: Power cycle and unit attentions

    @Test func powerCycleClearsRegistrationsWithoutAPTPLAndRaisesAUnitAttention() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let a = try SimulatedLU(path: path, initiatorName: simHostA)
        let b = try SimulatedLU(path: path, initiatorName: simHostB)
        try a.prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        try a.prOut(.reserve, key: 0x1)
        try a.powerCycle()

        simExpectCheckCondition(try b.run(SimCDB.testUnitReady), 6, 0x29, 0x00)
        #expect(try b.run(SimCDB.testUnitReady).status == .good)  // consumed, and that was recorded
        simExpectCheckCondition(try a.run(SimCDB.prIn(.readKeys), dataIn: 8192), 6, 0x29, 0x00)
        let keys = try a.readKeys()
        #expect(keys.keys.isEmpty && keys.generation == 0)
    }

    @Test func powerCycleKeepsRegistrationsWithAPTPL() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let a = try SimulatedLU(path: path, initiatorName: simHostA)
        try a.prOut(.registerAndIgnoreExistingKey, sark: 0x1, aptpl: true)
        try a.prOut(.reserve, key: 0x1)
        try a.powerCycle()
        let b = try SimulatedLU(path: path, initiatorName: simHostB)
        simExpectCheckCondition(try b.run(SimCDB.read10, dataIn: 512), 6, 0x29, 0x00)
        #expect(try b.run(SimCDB.read10, dataIn: 512).status == .reservationConflict)
        #expect(try b.readKeys().generation == 0)
    }

    // MARK: State that does not fit

    @Test func aStateTooLargeForASlotIsRefusedNotWritten() throws {
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let a = try SimulatedLU(path: path, initiatorName: simHostA)
        try a.prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        try a.prOut(.reserve, key: 0x1)
        let before = SimFileBytes.read(path)

        // REGISTER AND MOVE to a destination whose TransportID alone is bigger than a slot.
        let name = "iqn.2026-01.org.example:" + String(repeating: "z", count: SimFormat.slotCapacity)
        let destination = TransportID.iscsi(name: name).bytes
        let parameters = PersistentReserveOut.RegisterAndMoveParameterList(
            reservationKey: 0x1, serviceActionReservationKey: 0x2, relativeTargetPortIdentifier: 1, transportID: destination)
        let data = parameters.encode()
        let cdb = PersistentReserveOut.CDB(serviceAction: .registerAndMove, type: .exclusiveAccess,
                                           parameterListLength: UInt32(data.count)).encode()
        simExpectCheckCondition(try a.run(cdb, data), 5, 0x55, 0x04)  // INSUFFICIENT REGISTRATION RESOURCES
        #expect(SimFileBytes.read(path) == before)
        #expect(try a.readReservation().reservation == .init(key: 0x1, type: .exclusiveAccess))
    }

    @Test func theRegistrationLimitFitsASlotWithLongestNames() throws {
        // 128 registrations (the engine's limit), each with a 223-byte initiator name, each with a queued
        // unit attention: the state must still fit a slot.
        var state = LogicalUnitState()
        let nexuses = (0..<state.registrationLimit).map { index in
            let name = "iqn.2026-01.org.example:" + String(repeating: "n", count: 190) + String(format: "%09d", index)
            return Nexus(transportID: .iscsi(name: String(name.prefix(223))), relativeTargetPortIdentifier: 1)
        }
        for (index, nexus) in nexuses.enumerated() {
            let command = SimCDB.prOut(.registerAndIgnoreExistingKey, sark: ReservationKey(UInt64(index + 1)))
            let outcome = state.process(cdb: command.cdb, dataOut: command.data, dataInLength: 0, from: nexus)
            #expect(outcome == .response(.good()))
        }
        let reserve = SimCDB.prOut(.reserve, type: .writeExclusiveAllRegistrants, key: 1)
        #expect(state.process(cdb: reserve.cdb, dataOut: reserve.data, dataInLength: 0, from: nexuses[0]) == .response(.good()))
        let release = SimCDB.prOut(.release, type: .writeExclusiveAllRegistrants, key: 1)
        #expect(state.process(cdb: release.cdb, dataOut: release.data, dataInLength: 0, from: nexuses[0]) == .response(.good()))
        let size = state.encode().count
        #expect(size <= SimFormat.slotCapacity, "\(size) bytes")
    }

    // MARK: Transport-level errors

    @Test func badCDBLengthsAreTransportErrors() throws {
        let directory = SimTempDirectory()
        let lu = try SimulatedLU(path: directory.newDrive(), initiatorName: simHostA)
        #expect(throws: TransportError(.other, "invalid CDB length 0 (1 to 260 bytes)")) { try lu.run([]) }
        #expect(throws: TransportError(.other, "invalid CDB length 261 (1 to 260 bytes)")) {
            try lu.run([UInt8](repeating: 0, count: 261))
        }
    }

    @Test func aFullFileSystemKeepsThePreviousState() throws {
        // The commit path with a write cut short by ENOSPC (fault injected at the storage layer), seen through
        // the LU: the error is one line, the state is the previous one.
        let directory = SimTempDirectory()
        let path = directory.newDrive()
        let lu = try SimulatedLU(path: path, initiatorName: simHostA)
        try lu.prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        let file = try SimStateFile.open(path: path, readOnly: false)
        defer { file.close() }
        var changed = try SimulatedLU.verify(path: path).state
        let command = SimCDB.prOut(.reserve, key: 0x1)
        _ = changed.process(cdb: command.cdb, dataOut: command.data, dataInLength: 0, from: lu.nexus)
        #expect(throws: TransportError(.io(errno: Errno(rawValue: ENOSPC)),
                                       "file system full: cannot record the new state (the previous state is kept)")) {
            try file.lockedCommit(changed.encode(), failAfterBytes: 20)
        }
        #expect(try lu.readReservation().reservation == nil)
        #expect(try SimulatedLU.verify(path: path).sequence == 1)
    }
}

/// Creates an empty file at `path` and returns the path.
func simCreate(_ path: String) throws -> String {
    try #require(FileManager.default.createFile(atPath: path, contents: Data()))
    return path
}

/// `SimulatedLU.init`, a read-only open and `verify` all refuse the file with `error`; its bytes do not change.
func simExpectRefused(_ path: String, content: [UInt8], _ error: TransportError,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(throws: error, sourceLocation: sourceLocation) { try SimulatedLU(path: path, initiatorName: simHostA) }
    #expect(throws: error, sourceLocation: sourceLocation) {
        try SimulatedLU(path: path, initiatorName: simHostA, readOnly: true)
    }
    #expect(throws: error, sourceLocation: sourceLocation) { try SimulatedLU.verify(path: path) }
    #expect(SimFileBytes.read(path) == content, "file changed", sourceLocation: sourceLocation)
}

extension SimLUHeader {
    static func decodeForTest(_ bytes: [UInt8]) -> SimLUHeader {
        do { return try SimLUHeader.decode(bytes) } catch { fatalError("test file header: \(error)") }
    }
}

/// Real file systems: a full one and a read-only one (tmpfs mounts: root only; skipped where mounting is not
/// allowed).
@Suite struct SimulatedLUMountTests {
    @Test(.enabled(if: simRunningAsRoot, "mounting a tmpfs needs root"))
    func aFullFileSystemIsOneClearErrorAndKeepsTheState() throws {
        let directory = SimTempDirectory()
        let mountPoint = directory.file("tmpfs")
        #expect(mkdir(mountPoint, 0o700) == 0)
        // Two pages: the header and slot 0's first page fit; the slot area cannot be preallocated.
        guard mount("tmpfs", mountPoint, "tmpfs", 0, "size=8k") == 0 else { return }  // no CAP_SYS_ADMIN here
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        let path = try simCreate(mountPoint + "/lu")

        let lu = try SimulatedLU(path: path, initiatorName: simHostA, create: true)
        #expect(try lu.prOut(.registerAndIgnoreExistingKey, sark: 0x1).status == .good)  // slot 0
        let content = SimFileBytes.read(path)
        #expect(throws: TransportError(.io(errno: Errno(rawValue: ENOSPC)),
                                       "file system full: cannot record the new state (the previous state is kept)")) {
            try lu.prOut(.reserve, key: 0x1)  // slot 1: no page left
        }
        #expect(try lu.readReservation().reservation == nil)
        #expect(try lu.readKeys().keys == [0x1])
        let report = try SimulatedLU.verify(path: path)
        #expect(report.currentSlot == 0 && report.sequence == 1)
        #expect(SimFileBytes.read(path).prefix(SimFormat.slotOffset(1)) == content.prefix(SimFormat.slotOffset(1)))
    }
}

extension SimulatedLUMountTests {
    @Test(.enabled(if: simRunningAsRoot, "mounting a tmpfs needs root"))
    func aReadOnlyFileSystemFallsBackToReadOnly() throws {
        let directory = SimTempDirectory()
        let mountPoint = directory.file("tmpfs")
        #expect(mkdir(mountPoint, 0o700) == 0)
        guard mount("tmpfs", mountPoint, "tmpfs", 0, "size=1m") == 0 else { return }  // no CAP_SYS_ADMIN here
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        let path = try simCreate(mountPoint + "/lu")
        try SimulatedLU(path: path, initiatorName: simHostA, create: true).prOut(.registerAndIgnoreExistingKey, sark: 0x1)
        #expect(mount("tmpfs", mountPoint, "tmpfs", UInt(MS_REMOUNT | MS_RDONLY), "size=1m") == 0)
        let content = SimFileBytes.read(path)

        // O_RDWR fails with EROFS even for root: the LU opens read-only by itself.
        let lu = try SimulatedLU(path: path, initiatorName: simHostB)
        #expect(lu.isReadOnly)
        #expect(try lu.readKeys().keys == [0x1])
        #expect(throws: TransportError(.io(errno: Errno(rawValue: EROFS)), "read-only: cannot record the new state")) {
            try lu.prOut(.registerAndIgnoreExistingKey, sark: 0x2)
        }
        #expect(SimFileBytes.read(path) == content)
    }
}
