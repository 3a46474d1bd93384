// Fuzz target: the simulated LU's file loader. A state file built from the input is written to a scratch
// file and opened the ways storage-ctl opens one (SimulatedLU.verify, read-only and writable SimulatedLU);
// the pure pieces (SimLUHeader.decode, SimSlotContent.decode, LogicalUnitState(decoding:)) are called on the
// raw bytes too.
//
// Input: byte 0 = mode. Bits 1-0 pick the layout:
//   0  the rest of the input is the whole file (small files: empty, header only, a torn first slot);
//   1  sparse: 160 header bytes (fields and commit record), a 2-byte length and that many bytes for slot 0,
//      the rest for slot 1, each placed at its real offset (4096, 69632);
//   2  well-formed pieces: header fields with a correct CRC, then per slot a selector byte (0 never written,
//      1 a checksummed slot with the input's sequence number and payload, 2 raw bytes, 3 a checksummed slot
//      torn at an offset from the input), then a commit record selector (0 nothing committed, 1 a record
//      matching slot 0 or 1 as written, 2 input bytes with a correct CRC, 3 raw bytes), so mutated payloads
//      get past the CRCs to the state decoder;
//   3  no file: the rest goes to the pure decoders.
// Bit 2: pad the file to its full initialised size. Bit 3: also run commands through a writable LU.
@testable import PRCore
@testable import Transports
import ProcessSupport
#if canImport(Glibc)
import Glibc
#endif

private let scratchPath: String = {
    let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    return "\(directory)/storage-ctl-fuzz-simfile-\(getpid()).sim"
}()

private let initiator = "iqn.2024-01.example:fuzz"

private let removeScratchAtExit: Void = {
    atexit { unlink(scratchPath) }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSimFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = removeScratchAtExit
    var input = FuzzInput(data, size)
    let mode = input.u8()
    var file: [UInt8]
    switch mode & 0x03 {
    case 0:
        file = input.rest()
    case 1:
        let header = input.take(SimFormat.headerReadSize)
        let slot0 = input.take(Int(input.u16()))
        let slot1 = input.rest()
        file = place(header: header, slots: [slot0, slot1], pad: mode & 0x04 != 0)
    case 2:
        file = wellFormed(&input, pad: mode & 0x04 != 0)
    default:
        checkPure(input.rest())
        return 0
    }
    checkPure(file)
    checkFile(file, runCommands: mode & 0x08 != 0)
    return 0
}

// MARK: building files

private func place(header: [UInt8], slots: [[UInt8]], pad: Bool) -> [UInt8] {
    var file = header
    for (index, slot) in slots.enumerated() where !slot.isEmpty {
        let offset = SimFormat.slotOffset(index)
        if file.count < offset { file += [UInt8](repeating: 0, count: offset - file.count) }
        file += slot.prefix(SimFormat.slotSize)
    }
    if pad && file.count < SimFormat.fileSize { file += [UInt8](repeating: 0, count: SimFormat.fileSize - file.count) }
    return file
}

private func wellFormed(_ input: inout FuzzInput, pad: Bool) -> [UInt8] {
    let headerMode = input.u8()
    var header: [UInt8]
    if headerMode & 0x01 == 0 {
        var fields = SimLUHeader(deviceType: input.u8(), identifier: input.take(16))
        if headerMode & 0x02 != 0 {
            fields.vendor = input.take(8)
            fields.product = input.take(16)
            fields.revision = input.take(4)
        }
        if headerMode & 0x04 != 0 { fields.formatVersion = input.u16() }
        header = Array(fields.encode().prefix(SimFormat.headerFieldsSize))
    } else {
        // Any 124 bytes behind the magic, with a correct CRC.
        header = Array(SimFormat.magic + input.take(116))
        header += [UInt8](repeating: 0, count: 124 - header.count)
        let crc = SimCRC32C.checksum(header)
        header += [UInt8(crc >> 24), UInt8(truncatingIfNeeded: crc >> 16), UInt8(truncatingIfNeeded: crc >> 8), UInt8(truncatingIfNeeded: crc)]
    }
    var slots: [[UInt8]] = []
    for _ in 0..<SimFormat.slotCount {
        let selector = input.u8()
        switch selector & 0x03 {
        case 0:
            slots.append([])
        case 1, 3:
            let sequence = selector & 0x04 != 0 ? UInt64(selector >> 3) : input.u64()
            let payload = input.take(Int(input.u16()))
            var slot = SimSlotContent.encode(sequence: sequence, payload: payload)
            if selector & 0x03 == 3 { slot = Array(slot.prefix(Int(input.u16()))) }
            slots.append(slot)
        default:
            slots.append(input.take(Int(input.u16())))
        }
    }
    let recordMode = input.u8()
    switch recordMode & 0x03 {
    case 0:
        header += SimCommitRecord.fresh.encode()
    case 1:
        let slot = Int(recordMode >> 2) % SimFormat.slotCount
        let bytes = slots[slot]
        header += SimCommitRecord(sequence: bytes.bigEndianInteger(at: 8, as: UInt64.self) ?? 0, slot: slot,
                                  length: Int(bytes.bigEndianInteger(at: 4, as: UInt32.self) ?? 0) & 0xFFFF,
                                  slotCRC: bytes.bigEndianInteger(at: 16, as: UInt32.self) ?? 0).encode()
    case 2:
        var record = input.take(28)
        record += [UInt8](repeating: 0, count: 28 - record.count)
        let crc = SimCRC32C.checksum(record)
        header += record + [UInt8(crc >> 24), UInt8(truncatingIfNeeded: crc >> 16), UInt8(truncatingIfNeeded: crc >> 8), UInt8(truncatingIfNeeded: crc)]
    default:
        header += input.take(SimFormat.commitRecordSize)
    }
    return place(header: header, slots: slots, pad: pad)
}

// MARK: pure decoders

private func checkPure(_ bytes: [UInt8]) {
    _ = try? SimLUHeader.decode(Array(bytes.prefix(SimFormat.headerFieldsSize)))
    if case .success(let record) = SimCommitRecord.decode(Array(bytes.dropFirst(SimFormat.commitRecordOffset).prefix(SimFormat.commitRecordSize))) {
        fuzzCheck(record.slot < SimFormat.slotCount && record.length <= SimFormat.slotCapacity, "decoded record fields")
        fuzzCheck(SimCommitRecord.decode(record.encode()) == .success(record), "record does not survive encode/decode")
    }
    for start in [0, SimFormat.headerSize, SimFormat.slotOffset(1)] where start <= bytes.count {
        let slot = Array(bytes[start...].prefix(SimFormat.slotSize))
        for complete in [false, true] {
            switch SimSlotContent.decode(slot, isComplete: complete) {
            case .needsBytes(let count):
                fuzzCheck(!complete, "a complete slot asks for more bytes")
                fuzzCheck(count > slot.count && count <= SimFormat.slotSize, "slot asks for \(count) bytes having \(slot.count)")
            case .content(.valid(let sequence, let payload)):
                fuzzCheck(sequence > 0 && payload.count <= SimFormat.slotCapacity, "valid slot fields")
                checkState(payload)
            case .content:
                break
            }
        }
    }
    checkState(bytes)
}

/// A payload LogicalUnitState accepts is a state the engine could have produced, and re-encodes to itself.
private func checkState(_ payload: [UInt8]) {
    guard let state = try? LogicalUnitState(decoding: payload) else { return }
    var seen = Set<Nexus>()
    for registration in state.registrations {
        fuzzCheck(!registration.key.isZero && seen.insert(registration.nexus).inserted, "decoded registrations")
        fuzzCheck(registration.nexus.normalized == registration.nexus, "decoded nexus not canonical")
    }
    if let reservation = state.reservation {
        fuzzCheck(reservation.type.isDefined && reservation.scope == 0, "decoded reservation type/scope")
        switch reservation.holder {
        case .nexus(let holder): fuzzCheck(!reservation.type.isAllRegistrants && state.isRegistered(holder), "decoded I1")
        case .allRegistrants: fuzzCheck(reservation.type.isAllRegistrants && !state.registrations.isEmpty, "decoded I2")
        }
    }
    let again = try? LogicalUnitState(decoding: state.encode())
    fuzzCheck(again == state, "decoded state does not survive encode/decode")
}

// MARK: through the file

private func checkFile(_ bytes: [UInt8], runCommands: Bool) {
    writeScratch(bytes)
    let verified: SimFileReport?
    do {
        verified = try SimulatedLU.verify(path: scratchPath, timeout: .seconds(5))
    } catch {
        fuzzCheck(error.kind == .corruptState, "verify failed with \(error.kind): \(error.message)")
        fuzzCheck(!error.message.utf8.contains(0x0A), "error message spans lines")
        verified = nil
    }
    fuzzCheck(readScratch() == bytes, "verify changed the file")
    if let verified {
        // Only a 0-byte file is fresh without a header; otherwise the state is exactly what the record names.
        fuzzCheck(verified.isInitialised || bytes.isEmpty, "a non-empty file without a header was accepted")
        if verified.isInitialised {
            fuzzCheck(bytes.count >= SimFormat.headerReadSize, "a file shorter than its header page fields was accepted")
            let record = try? SimCommitRecord.decode(Array(bytes[SimFormat.commitRecordOffset..<SimFormat.headerReadSize])).get()
            fuzzCheck(record?.sequence == verified.sequence, "the state is not the one the commit record names")
            if verified.sequence > 0 { fuzzCheck(bytes.count == SimFormat.fileSize, "a committed state in a file of the wrong size") }
        }
    }
    let probe = PersistentReserveIn.CDB(serviceAction: .readFullStatus).encode()

    // Read-only open: a file verify accepts opens; one it refuses is refused by the open or the first command.
    do {
        let lu = try SimulatedLU(path: scratchPath, initiatorName: initiator, readOnly: true)
        do {
            _ = try lu.execute(cdb: probe, dataOut: [], dataInLength: 8192, timeout: .seconds(5))
            fuzzCheck(verified != nil, "a read-only LU ran a command on a file verify refused")
        } catch {
            // Read-only: a pending unit attention cannot be recorded (io); anything else means the file is bad.
            fuzzCheck(error.kind == .corruptState ? verified == nil : error.kind == .io(errno: .readOnlyFileSystem),
                      "read-only command: \(error.kind): \(error.message)")
        }
    } catch {
        if bytes.isEmpty {
            // an empty file is not a drive unless asked for (storage-ctl FILE create)
            fuzzCheck(error == SimulatedLU.notADrive, "read-only open of an empty file: \(error.message)")
        } else {
            fuzzCheck(verified == nil, "read-only SimulatedLU refused a file verify accepted: \(error.message)")
            fuzzCheck(error.kind == .corruptState, "read-only open: \(error.kind): \(error.message)")
        }
    }
    fuzzCheck(readScratch() == bytes, "a read-only open changed the file")

    // Writable open: the same verdicts; an initialised file is not rewritten by the open (an empty one is
    // refused unwritten, and gets its header only when created on purpose), and a refused file is never
    // modified.
    if bytes.isEmpty {
        do {
            _ = try SimulatedLU(path: scratchPath, initiatorName: initiator)
            fuzzCheck(false, "an empty file opened as a drive without create")
        } catch {
            fuzzCheck(error == SimulatedLU.notADrive, "writable open of an empty file: \(error.message)")
        }
        fuzzCheck(readScratch().isEmpty, "an empty file was written without create")
    }
    let lu: SimulatedLU
    do {
        lu = try SimulatedLU(path: scratchPath, initiatorName: initiator, create: true)
    } catch {
        fuzzCheck(verified == nil, "SimulatedLU refused a file verify accepted: \(error.message)")
        fuzzCheck(readScratch() == bytes, "a refused file was modified (a corrupt file must never be reset)")
        return
    }
    if !bytes.isEmpty { fuzzCheck(readScratch() == bytes, "opening an initialised file changed it") }
    guard let before = verified else {
        do {
            _ = try lu.execute(cdb: probe, dataOut: [], dataInLength: 8192, timeout: .seconds(5))
            fuzzCheck(false, "a command ran on a file verify refused")
        } catch {
            fuzzCheck(error.kind == .corruptState, "command on a refused file: \(error.kind): \(error.message)")
        }
        fuzzCheck(readScratch() == bytes, "a refused file was modified (a corrupt file must never be reset)")
        return
    }
    guard runCommands else { return }

    // Commands on a loaded state: whatever they do, the file stays loadable, and the sequence only grows.
    let key = ReservationKey(0xF022)
    let commands: [([UInt8], [UInt8], Int)] = [
        (PersistentReserveIn.CDB(serviceAction: .readKeys).encode(), [], 8192),
        (PersistentReserveOut.CDB(serviceAction: .registerAndIgnoreExistingKey).encode(),
         PersistentReserveOut.ParameterList(serviceActionReservationKey: key).encode(), 0),
        (PersistentReserveOut.CDB(serviceAction: .reserve, type: .exclusiveAccess).encode(),
         PersistentReserveOut.ParameterList(reservationKey: key).encode(), 0),
        (probe, [], 8192),
    ]
    for (cdb, dataOut, dataIn) in commands {
        do {
            _ = try lu.execute(cdb: cdb, dataOut: dataOut, dataInLength: dataIn, timeout: .seconds(5))
        } catch {
            fuzzCheck(error.kind == .corruptState, "command on a loaded LU failed: \(error.kind): \(error.message)")
        }
    }
    do {
        let after = try SimulatedLU.verify(path: scratchPath, timeout: .seconds(5))
        fuzzCheck(after.sequence >= before.sequence, "the sequence number went back")
    } catch {
        fuzzCheck(false, "after commands the file no longer loads: \(error.message)")
    }
}

private func writeScratch(_ bytes: [UInt8]) {
    let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    fuzzCheck(fd >= 0, "cannot create \(scratchPath)")
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        fuzzCheck(written > 0, "cannot write \(scratchPath)")
        offset += written
    }
    close(fd)
}

private func readScratch() -> [UInt8] {
    let fd = open(scratchPath, O_RDONLY | O_CLOEXEC)
    fuzzCheck(fd >= 0, "cannot open \(scratchPath)")
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        bytes += chunk[0..<count]
    }
    return bytes
}
