import Glibc
import PRCore
import Testing
import ProcessSupport
@testable import Transports

/// SGIOTransport, DeviceResolver and SCSIScan against real devices: the LIO logical unit of the test
/// bed seen through initiators A and B, and a scsi_debug tape. Skipped unless the test bed's variables
/// are set, which `scripts/testbed/sgio-integration.sh` does inside the VM:
///
///     STORAGE_CTL_TB_A_SG, STORAGE_CTL_TB_B_SG     sg nodes of the LU through A and B
///     STORAGE_CTL_TB_A_DEV, STORAGE_CTL_TB_B_DEV   its sd block devices
///     STORAGE_CTL_TB_TAPE_NST, STORAGE_CTL_TB_TAPE_SG   scsi_debug tape (run-in-vm.sh --tape)
///     STORAGE_CTL_TB_LSSCSI                        file holding `lsscsi -g` output
///     STORAGE_CTL_TB_REPORT                        file to append measurements to
///     STORAGE_CTL_TB_UNPRIVILEGED=1                the run is as an unprivileged user (EACCES checks only)
@Suite(.serialized) struct SGIOIntegrationTests {
    static func env(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        let s = String(cString: v)
        return s.isEmpty ? nil : s
    }

    static let lio = env("STORAGE_CTL_TB_A_SG") != nil && env("STORAGE_CTL_TB_B_SG") != nil && env("STORAGE_CTL_TB_UNPRIVILEGED") == nil
    static let tape = env("STORAGE_CTL_TB_TAPE_NST") != nil && env("STORAGE_CTL_TB_UNPRIVILEGED") == nil
    static let lsscsi = env("STORAGE_CTL_TB_LSSCSI") != nil && env("STORAGE_CTL_TB_UNPRIVILEGED") == nil
    static let unprivileged = env("STORAGE_CTL_TB_UNPRIVILEGED") == "1" && env("STORAGE_CTL_TB_A_SG") != nil

    static let timeout = Duration.seconds(20)
    static let keyA: ReservationKey = 0xa1
    static let keyB: ReservationKey = 0xb1

    /// Appends one line to the report file (to stdout when there is none).
    static func report(_ line: String) {
        guard let path = env("STORAGE_CTL_TB_REPORT") else { print("sgio-integration: \(line)"); return }
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { b in let s = String(b, radix: 16); return s.count < 2 ? "0" + s : s }.joined(separator: " ")
    }

    // MARK: commands

    static func prOut(_ t: SGIOTransport, _ action: PersistentReserveOut.ServiceAction, key: ReservationKey = .zero,
                      sark: ReservationKey = .zero, type: ReservationType = ReservationType(rawValue: 0)) throws -> SCSICommandResult {
        let list = PersistentReserveOut.ParameterList(reservationKey: key, serviceActionReservationKey: sark).encode()
        let cdb = PersistentReserveOut.CDB(serviceAction: action, type: type, parameterListLength: UInt32(list.count)).encode()
        return try t.execute(cdb: cdb, dataOut: list, dataInLength: 0, timeout: timeout)
    }

    static func prIn(_ t: SGIOTransport, _ action: PersistentReserveIn.ServiceAction, allocation: UInt16 = 1024) throws -> SCSICommandResult {
        let cdb = PersistentReserveIn.CDB(serviceAction: action, allocationLength: allocation).encode()
        return try t.execute(cdb: cdb, dataOut: [], dataInLength: Int(allocation), timeout: timeout)
    }

    static func testUnitReady(_ t: SGIOTransport) throws -> SCSICommandResult {
        try t.execute(cdb: [0, 0, 0, 0, 0, 0], dataOut: [], dataInLength: 0, timeout: timeout)
    }

    static func read10(_ t: SGIOTransport, lba: UInt32 = 0, blocks: UInt16 = 1, blockSize: Int = 512) throws -> SCSICommandResult {
        let cdb: [UInt8] = [0x28, 0, UInt8(lba >> 24), UInt8(lba >> 16 & 0xff), UInt8(lba >> 8 & 0xff), UInt8(lba & 0xff),
                            0, UInt8(blocks >> 8), UInt8(blocks & 0xff), 0]
        return try t.execute(cdb: cdb, dataOut: [], dataInLength: Int(blocks) * blockSize, timeout: timeout)
    }

    static func inquiry(_ t: SGIOTransport) throws -> (SCSICommandResult, StandardInquiryData?) {
        let r = try t.execute(cdb: Inquiry.CDB(allocationLength: 96).encode(), dataOut: [], dataInLength: 96, timeout: timeout)
        return (r, StandardInquiryData.decode(r.data))
    }

    static func describe(_ r: SCSICommandResult) -> String {
        var s = "status=\(r.status.name) host=0x\(String(r.hostStatus, radix: 16)) driver=0x\(String(r.driverStatus, radix: 16))"
        if let sense = SenseData.decode(r.sense) { s += " sense=\(sense.key.rawValue)/\(String(sense.additionalSense.asc, radix: 16))/\(String(sense.additionalSense.ascq, radix: 16)) (\(sense))" }
        return s
    }

    static func open(_ path: String) throws -> SGIOTransport {
        let t = try DeviceResolver.open(path, options: DeviceOptions(initiatorName: ""))
        return try #require(t as? SGIOTransport)
    }

    /// The first command after a PR change can be a unit attention; returns it (nil when none).
    static func pendingUnitAttention(_ t: SGIOTransport) throws -> SenseData? {
        let r = try testUnitReady(t)
        if r.status == .checkCondition, let s = SenseData.decode(r.sense), s.key == .unitAttention { return s }
        return nil
    }

    // MARK: the PR sequence on LIO

    @Test(.enabled(if: lio)) func persistentReservationsThroughTwoInitiators() throws {
        let pathA = try #require(Self.env("STORAGE_CTL_TB_A_SG"))
        let pathB = try #require(Self.env("STORAGE_CTL_TB_B_SG"))
        let a = try Self.open(pathA)
        let b = try Self.open(pathB)
        #expect(a.nodeKind == .scsiGeneric)
        Self.report("A=\(pathA) B=\(pathB) sg driver version \(a.sgVersion)")

        // Whatever the LU queued at creation (29/00 power on) is consumed here, and reported.
        for (name, t) in [("A", a), ("B", b)] {
            if let ua = try Self.pendingUnitAttention(t) { Self.report("initial unit attention via \(name): \(ua)") }
        }

        // 1. INQUIRY through A: the LIO fileio LU, data trimmed by the residual count.
        let (inqResult, inq) = try Self.inquiry(a)
        #expect(inqResult.status == .good)
        let data = try #require(inq)
        #expect(data.peripheralDeviceType == .disk)
        #expect(data.vendor.hasPrefix("LIO-ORG"))
        #expect(data.product.hasPrefix("FILEIO"))
        // ADDITIONAL LENGTH + 5 bytes exist; the allocation length caps what is transferred.
        let available = inqResult.data.count > 4 ? Int(inqResult.data[4]) + 5 : 0
        #expect(inqResult.data.count == min(96, available))
        let record = try #require(a.lastCommand)
        Self.report("INQUIRY via A: \(Self.describe(inqResult)) \(inqResult.data.count) bytes (resid \(record.residual)), '\(data.vendor)' '\(data.product)' '\(data.revision)', kernel \(record.kernelDurationMilliseconds) ms")

        // Start from a clean LU: register A, CLEAR (drops every registration), consume B's UA.
        _ = try Self.prOut(a, .registerAndIgnoreExistingKey, sark: Self.keyA)
        _ = try Self.prOut(a, .clear, key: Self.keyA)
        _ = try Self.pendingUnitAttention(b)
        let empty = try Self.prIn(a, .readKeys)
        let g0 = try #require(ReadKeysResponse.decode(empty.data))
        #expect(g0.keys.isEmpty)

        // 2. REGISTER through A and B.
        let regA = try Self.prOut(a, .register, sark: Self.keyA)
        #expect(regA.status == .good, "\(Self.describe(regA))")
        let regB = try Self.prOut(b, .register, sark: Self.keyB)
        #expect(regB.status == .good, "\(Self.describe(regB))")
        let keys = try #require(ReadKeysResponse.decode(try Self.prIn(b, .readKeys).data))
        #expect(keys.keys == [Self.keyA, Self.keyB])
        Self.report("REGISTER via A and B: GOOD; READ KEYS via B: generation \(g0.generation) -> \(keys.generation), keys \(keys.keys)")

        // Residual: an 8-byte allocation gets the header only; a large one gets exactly the keys.
        let short = try Self.prIn(a, .readKeys, allocation: 8)
        #expect(short.data.count == 8)
        let long = try Self.prIn(a, .readKeys, allocation: 4096)
        #expect(long.data.count == 8 + 8 * 2)
        Self.report("READ KEYS allocation 8 -> \(short.data.count) bytes, allocation 4096 -> \(long.data.count) bytes (resid \(a.lastCommand?.residual ?? -1))")

        // 3. RESERVE type 3 (Exclusive Access) through A.
        let reserve = try Self.prOut(a, .reserve, key: Self.keyA, type: .exclusiveAccess)
        #expect(reserve.status == .good, "\(Self.describe(reserve))")
        let held = try #require(ReadReservationResponse.decode(try Self.prIn(b, .readReservation).data))
        #expect(held.reservation?.key == Self.keyA)
        #expect(held.reservation?.type == .exclusiveAccess)

        // 4. READ(10) through B: RESERVATION CONFLICT, on the sg node and on the block device.
        let conflict = try Self.read10(b)
        #expect(conflict.status == .reservationConflict, "\(Self.describe(conflict))")
        #expect(conflict.sense.isEmpty)
        #expect(conflict.data.isEmpty)
        let conflictRecord = try #require(b.lastCommand)
        Self.report("READ(10) via B (sg) while A holds type 3: \(Self.describe(conflict)) raw status 0x\(String(conflictRecord.status.rawValue, radix: 16)) data \(conflict.data.count) bytes (resid \(conflictRecord.residual))")
        if let devB = Self.env("STORAGE_CTL_TB_B_DEV") {
            let blockB = try Self.open(devB)
            #expect(blockB.nodeKind == .blockDevice)
            let viaBlock = try Self.read10(blockB)
            #expect(viaBlock.status == .reservationConflict, "\(Self.describe(viaBlock))")
            Self.report("READ(10) via B (\(devB), SG_IO on the block device): \(Self.describe(viaBlock))")
        }
        let readA = try Self.read10(a)
        #expect(readA.status == .good)
        #expect(readA.data.count == 512)

        // 5. A CHECK CONDITION with sense: PR IN service action 1Fh is ILLEGAL REQUEST 24/00.
        let bad = try a.execute(cdb: [0x5E, 0x1F, 0, 0, 0, 0, 0, 0x04, 0x00, 0], dataOut: [], dataInLength: 1024, timeout: Self.timeout)
        #expect(bad.status == .checkCondition)
        let sense = try #require(SenseData.decode(bad.sense), "sense \(Self.hex(bad.sense))")
        #expect(sense.key == .illegalRequest)
        #expect(sense.additionalSense == .invalidFieldInCDB)
        Self.report("PR IN SA 1Fh via A: \(Self.describe(bad)) sense bytes (\(bad.sense.count)): \(Self.hex(bad.sense))")

        // 6. CLEAR through A: B sees UNIT ATTENTION 2A/03 exactly once.
        let clear = try Self.prOut(a, .clear, key: Self.keyA)
        #expect(clear.status == .good)
        let ua = try Self.testUnitReady(b)
        #expect(ua.status == .checkCondition)
        let uaSense = try #require(SenseData.decode(ua.sense))
        #expect(uaSense.key == .unitAttention)
        #expect(uaSense.additionalSense == .reservationsPreempted)
        let after = try Self.testUnitReady(b)
        #expect(after.status == .good, "\(Self.describe(after))")
        Self.report("CLEAR via A; TUR via B: \(Self.describe(ua)); again: \(Self.describe(after))")
        let cleared = try #require(ReadKeysResponse.decode(try Self.prIn(a, .readKeys).data))
        #expect(cleared.keys.isEmpty)

        // 7. Timing: per-command SG_IO cost in the guest (wall clock around execute, and the kernel's view).
        typealias Command = () throws -> SCSICommandResult
        let commands: [(String, Command)] = [
            ("PR IN READ KEYS", { try Self.prIn(a, .readKeys) }),
            ("TEST UNIT READY", { try Self.testUnitReady(a) }),
            ("PR OUT REGISTER AND IGNORE", { try Self.prOut(a, .registerAndIgnoreExistingKey, sark: Self.keyA) }),
        ]
        for (name, body) in commands {
            var wall: [UInt64] = []
            var kernel: [UInt32] = []
            for _ in 0..<100 {
                let t0 = Self.now()
                let r = try body()
                wall.append(Self.now() - t0)
                kernel.append(a.lastCommand?.kernelDurationMilliseconds ?? 0)
                #expect(r.status == .good)
            }
            wall.sort()
            kernel.sort()
            func us(_ ns: UInt64) -> String { "\(ns / 1000) us" }
            Self.report("timing \(name) x100 via A: wall median \(us(wall[50])), p10 \(us(wall[10])), p90 \(us(wall[90])), max \(us(wall[99])); kernel duration median \(kernel[50]) ms")
        }
        _ = try Self.prOut(a, .register, key: Self.keyA, sark: .zero)
        // Leave no UA behind for B (it was not registered, so there is none to consume).
    }

    // MARK: tape-node resolution (scsi_debug tape)

    @Test(.enabled(if: tape)) func tapeNodesResolveToTheirSgNode() throws {
        let nst = try #require(Self.env("STORAGE_CTL_TB_TAPE_NST"))
        let expectedSg = try #require(Self.env("STORAGE_CTL_TB_TAPE_SG"))
        // /dev/nst0 -> /dev/st0: the rewinding node of the same drive.
        let st = DeviceResolver.parentOf(nst) + "/" + SGIOSysfs.lastComponent(nst).dropFirst()
        for path in [nst, st, nst + "l", st + "a"] {
            let r = try DeviceResolver.resolve(path)
            #expect(r.nodePath == expectedSg, "\(path)")
            let t = try Self.open(path)
            #expect(t.nodePath == expectedSg)
            #expect(t.path == path)
            let (result, inq) = try Self.inquiry(t)
            #expect(result.status == .good)
            #expect(inq?.peripheralDeviceType == .tape)
            Self.report("\(path) -> \(t.nodePath): \(t.resolutionNote ?? "-"); INQUIRY type \(inq?.peripheralDeviceType.rawValue ?? 255) '\(inq?.vendor ?? "")' '\(inq?.product ?? "")'")
        }
        // scsi_debug's tape has no PR support: PR IN comes back as a CHECK CONDITION, not an error.
        let t = try Self.open(nst)
        _ = try Self.pendingUnitAttention(t)
        let pr = try Self.prIn(t, .readKeys)
        #expect(pr.status == .checkCondition)
        Self.report("PR IN READ KEYS to the scsi_debug tape: \(Self.describe(pr))")

        // The st driver allows one opener: while we hold the tape node, opening it again is EBUSY
        // and the message says what to do.
        let holder = Glibc.open(nst, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        #expect(holder >= 0, "open \(nst): errno \(errno)")
        defer { if holder >= 0 { close(holder) } }
        do {
            _ = try SGIOTransport(nodePath: nst)
            Issue.record("second open of \(nst) succeeded")
        } catch {
            #expect(error.kind == .open(errno: Errno(rawValue: EBUSY)), "\(error)")
            Self.report("second open of \(nst) while held: \(error.message)")
        }
        // ... while the drive's sg node still opens: that is why the resolver goes there.
        let sg = try SGIOTransport(nodePath: expectedSg, path: nst)
        #expect(try Self.inquiry(sg).0.status == .good)

        // A real timeout: scsi_debug ignores every command (opts bit 4 with every_nth=1), the kernel
        // aborts it after our 1.5 s, and the transport throws .timeout.
        let knobs = "/sys/bus/pseudo/drivers/scsi_debug"
        guard Self.writeFile(knobs + "/every_nth", "1"), Self.writeFile(knobs + "/opts", "4") else {
            Self.report("scsi_debug knobs not writable; timeout check skipped")
            return
        }
        let t0 = Self.now()
        do {
            let r = try sg.execute(cdb: [0, 0, 0, 0, 0, 0], dataOut: [], dataInLength: 0, timeout: .milliseconds(1500))
            Issue.record("ignored command returned \(Self.describe(r))")
        } catch {
            #expect(error.kind == .timeout, "\(error)")
            Self.report("TUR to the tape with scsi_debug ignoring commands, timeout 1.5 s: \(error.message) after \((Self.now() - t0) / 1_000_000) ms; host \(sg.lastCommand.map { "\($0.hostStatus) driver \($0.driverStatus)" } ?? "-")")
        }
        _ = Self.writeFile(knobs + "/opts", "0")
        _ = Self.writeFile(knobs + "/every_nth", "0")
        // The drive answers again (after the error handler's abort/reset, maybe with a UA first).
        let again = try Self.testUnitReady(sg)
        Self.report("TUR to the tape after restoring scsi_debug: \(Self.describe(again))")
    }

    static func writeFile(_ path: String, _ text: String) -> Bool {
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    // MARK: scan vs lsscsi -g

    @Test(.enabled(if: lsscsi)) func scanPrintsWhatLsscsiPrints() throws {
        let path = try #require(Self.env("STORAGE_CTL_TB_LSSCSI"))
        let expected = try #require(try? SGIOSyscall.readSmallFile(path, limit: 65536).get())
        let ours = SCSIScan.formatLikeLsscsi(try SCSIScan.scan())
        let theirs = String(decoding: expected, as: UTF8.self)
        #expect(ours == theirs)
        Self.report("scan == lsscsi -g: \(ours == theirs)")
        for line in ours.split(separator: "\n") { Self.report("scan: \(line)") }
        if ours != theirs {
            for line in theirs.split(separator: "\n") { Self.report("lsscsi: \(line)") }
        }
    }

    // MARK: without privileges

    @Test(.enabled(if: unprivileged)) func unprivilegedOpenSaysWhichPrivilege() throws {
        let pathA = try #require(Self.env("STORAGE_CTL_TB_A_SG"))
        for path in [pathA] + [Self.env("STORAGE_CTL_TB_A_DEV"), Self.env("STORAGE_CTL_TB_TAPE_NST")].compactMap({ $0 }) {
            do {
                _ = try DeviceResolver.open(path, options: DeviceOptions(initiatorName: ""))
                Issue.record("opened \(path) without privileges")
            } catch {
                #expect(error.kind == .open(errno: Errno(rawValue: EACCES)), "\(error)")
                Self.report("unprivileged open of \(path): \(error.message)")
            }
        }
    }
}
