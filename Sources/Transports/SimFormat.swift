import Glibc
import PRCore

/// The on-disk format of a simulated LU, version 2.
///
/// A simulated LU is a regular file: one header page (the header fields and the commit record), then two state
/// slots at fixed offsets. All integers are big-endian. Total size 135168 bytes (`SimFormat.fileSize`).
///
/// **Header fields** (offset 0; bytes 160–4095 of the page are zero). Written once, when an empty file is first
/// used, and never rewritten.
///
/// | Offset | Len | Field |
/// |---|---|---|
/// | 0 | 8 | MAGIC `STCTLSIM` (53 54 43 54 4C 53 49 4D) |
/// | 8 | 2 | FORMAT VERSION = 0002h |
/// | 10 | 2 | HEADER SIZE = 1000h (4096): offset of slot 0 |
/// | 12 | 4 | SLOT SIZE = 00010000h (65536) |
/// | 16 | 1 | SLOT COUNT = 2 |
/// | 17 | 1 | PERIPHERAL DEVICE TYPE, as INQUIRY byte 0 bits 4–0 (00h disk, 01h tape, 08h medium changer) |
/// | 18 | 6 | reserved (0) |
/// | 24 | 8 | T10 VENDOR IDENTIFICATION, ASCII, space-padded (`STORCTL `) |
/// | 32 | 16 | PRODUCT IDENTIFICATION (`SIM TAPE`, `SIM DISK`, ... space-padded) |
/// | 48 | 4 | PRODUCT REVISION LEVEL (`1.0 `) |
/// | 52 | 12 | reserved (0) |
/// | 64 | 16 | LU IDENTIFIER: 16 random bytes chosen at creation; the unit serial number (VPD 80h) and the designator (VPD 83h) are made from it, so they survive copies and renames of the file |
/// | 80 | 44 | reserved (0) |
/// | 124 | 4 | CRC-32C of bytes 0–123 |
///
/// **Commit record** (offset 128, 32 bytes): which slot holds the committed state. Rewritten by every commit.
///
/// | Offset | Len | Field |
/// |---|---|---|
/// | 128 | 4 | RECORD TAG `CMIT` (43 4D 49 54) |
/// | 132 | 1 | SLOT: 0 or 1 (0 while nothing is committed) |
/// | 133 | 3 | reserved (0) |
/// | 136 | 8 | SEQUENCE NUMBER of the committed state; 0: nothing committed yet (a fresh LU) |
/// | 144 | 4 | PAYLOAD LENGTH of the committed slot |
/// | 148 | 4 | the committed slot's CRC field |
/// | 152 | 4 | reserved (0) |
/// | 156 | 4 | CRC-32C of bytes 128–155 |
///
/// **State slot** *i* (offset 4096 + 65536 × *i*, *i* = 0, 1; 65536 bytes each):
///
/// | Offset | Len | Field |
/// |---|---|---|
/// | 0 | 4 | SLOT TAG `SLOT` (53 4C 4F 54) |
/// | 4 | 4 | PAYLOAD LENGTH *L*, at most 65504 (`SimFormat.slotCapacity`) |
/// | 8 | 8 | SEQUENCE NUMBER, ≥ 1 |
/// | 16 | 4 | CRC-32C of bytes 0–15 followed by the *L* payload bytes |
/// | 20 | 12 | reserved (0) |
/// | 32 | *L* | payload: `LogicalUnitState.encode()` |
///
/// Bytes after the payload, and the slot the commit record does not name, are left over from older or
/// uncommitted states and mean nothing.
///
/// **Reading.** A 0-byte file is a fresh LU whose header has not been written yet; it is the only file taken for
/// a fresh LU without a header. Otherwise the header fields and the commit record must check (magic, version,
/// CRCs, tags, reserved bytes). A record with SEQUENCE NUMBER 0 is a fresh LU (the slots are not read). Any
/// other record names the committed state exactly: the file must be 135168 bytes, and the slot it names must
/// hold that sequence number, length and CRC, and check. Anything else is damage to a committed state (a flipped
/// bit, a truncation, an overwrite) and is reported, never replaced by the other slot's older state or by a
/// fresh LU.
///
/// **Writing.** A commit writes the new state with one `pwrite` into the slot the record does *not* name, with
/// sequence number current + 1, and then the new record with one 32-byte `pwrite` inside the header page. The
/// record is the commit point: a SIGKILL (or ENOSPC, EFBIG, EIO) before it leaves the record naming the old
/// slot, so the old state stands and the command counts as never completed (its caller got no answer); a
/// 32-byte write inside one page is copied whole or not at all. Initialising an empty file writes the header
/// page (header fields + a record with sequence 0) with one one-page `pwrite`, then extends the file to its full
/// size (`posix_fallocate`, else `ftruncate`); a kill between the two leaves a fresh LU, and the first commit
/// completes the extension. No rename, ever: the file's inode is what the `flock(2)` lock is on.
///
/// **Durability.** No `fsync`/`fdatasync`. A SIGKILL cannot lose a completed `pwrite` (the data is in the page
/// cache, which every later reader sees), and that is the guarantee a lock helper needs. A power loss or kernel
/// crash may lose recent states or leave the record or the slot torn (then the file is reported corrupt); a
/// *simulated* LU is not required to survive that, and an `fdatasync` would cost milliseconds per command.
///
/// **Versioning.** A reader refuses a newer FORMAT VERSION by name and never writes to it. Version 1 (two slots,
/// no commit record: the newest checksummed slot won, so damage to the newest state silently rolled back to the
/// previous one) is refused with a message saying to recreate the file. A change to the payload encoding that
/// an older `LogicalUnitState(decoding:)` cannot read must bump FORMAT VERSION.
enum SimFormat {
    /// `STCTLSIM`.
    static let magic: [UInt8] = [0x53, 0x54, 0x43, 0x54, 0x4C, 0x53, 0x49, 0x4D]
    /// The version this code reads and writes.
    static let version: UInt16 = 2
    /// Size of the header page; slot 0 starts here.
    static let headerSize = 4096
    /// Bytes of the header page that carry fields (the rest is zero).
    static let headerFieldsSize = 128
    static let slotCount = 2
    static let slotSize = 65536
    static let slotHeaderSize = 32
    /// The largest `LogicalUnitState.encode()` a slot holds.
    static let slotCapacity = slotSize - slotHeaderSize
    /// `SLOT`.
    static let slotTag: [UInt8] = [0x53, 0x4C, 0x4F, 0x54]
    /// Size of an initialised file.
    static let fileSize = headerSize + slotCount * slotSize
    /// Where the commit record starts, and its size.
    static let commitRecordOffset = 128
    static let commitRecordSize = 32
    /// The bytes of the header page a reader needs: the header fields and the commit record.
    static let headerReadSize = commitRecordOffset + commitRecordSize
    /// `CMIT`.
    static let commitTag: [UInt8] = [0x43, 0x4D, 0x49, 0x54]

    /// Where slot `index` starts.
    static func slotOffset(_ index: Int) -> Int { headerSize + index * slotSize }
}

/// The header of a simulated LU's file: format and INQUIRY identity.
struct SimLUHeader: Equatable, Sendable {
    var formatVersion: UInt16 = SimFormat.version
    /// INQUIRY PERIPHERAL DEVICE TYPE (5 bits).
    var deviceType: UInt8
    /// 8 ASCII bytes.
    var vendor: [UInt8]
    /// 16 ASCII bytes.
    var product: [UInt8]
    /// 4 ASCII bytes.
    var revision: [UInt8]
    /// 16 bytes.
    var logicalUnitID: [UInt8]

    /// The header of a new LU: vendor `STORCTL `, a product naming the type, a fresh random identifier.
    static func new(deviceType: UInt8) -> SimLUHeader {
        var generator = SystemRandomNumberGenerator()
        var identifier: [UInt8] = []
        for _ in 0..<2 {
            let word: UInt64 = generator.next()
            for shift in stride(from: 56, through: 0, by: -8) { identifier.append(UInt8(truncatingIfNeeded: word >> shift)) }
        }
        return SimLUHeader(deviceType: deviceType & 0x1F, identifier: identifier)
    }

    /// A header for an LU with a given identifier (the identifier of an empty file opened read-only is made from
    /// its device and inode numbers, as nothing can be stored).
    init(deviceType: UInt8, identifier: [UInt8]) {
        self.deviceType = deviceType & 0x1F
        vendor = SimLUHeader.padded("STORCTL", to: 8)
        product = SimLUHeader.padded(SimLUHeader.productName(deviceType: deviceType & 0x1F), to: 16)
        revision = SimLUHeader.padded("1.0", to: 4)
        logicalUnitID = SimLUHeader.fitted(identifier, to: 16)
    }

    /// `SIM DISK`, `SIM TAPE`, `SIM CHANGER`, or `SIM LU` for other types.
    static func productName(deviceType: UInt8) -> String {
        switch deviceType {
        case 0x00: return "SIM DISK"
        case 0x01: return "SIM TAPE"
        case 0x08: return "SIM CHANGER"
        default: return "SIM LU"
        }
    }

    /// The header page (4096 bytes).
    func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: SimFormat.headerSize)
        writer.writeBytes(SimFormat.magic)
        writer.writeInteger(formatVersion)
        writer.writeInteger(UInt16(SimFormat.headerSize))
        writer.writeInteger(UInt32(SimFormat.slotSize))
        writer.writeInteger(UInt8(SimFormat.slotCount))
        writer.writeInteger(deviceType)
        writer.writeZeros(6)
        writer.writeBytes(SimLUHeader.fitted(vendor, to: 8))
        writer.writeBytes(SimLUHeader.fitted(product, to: 16))
        writer.writeBytes(SimLUHeader.fitted(revision, to: 4))
        writer.writeZeros(12)
        writer.writeBytes(SimLUHeader.fitted(logicalUnitID, to: 16))
        writer.writeZeros(44)
        writer.writeInteger(SimCRC32C.checksum(writer.bytes))
        writer.writeZeros(SimFormat.headerSize - SimFormat.headerFieldsSize)
        return writer.bytes
    }

    /// Why a file's first bytes are not a header this code can use.
    enum DecodeError: Error, Equatable {
        /// No magic: some other file.
        case foreign
        /// A later version of storage-ctl wrote it.
        case newerVersion(UInt16)
        /// An earlier version wrote it, in a format this one no longer reads.
        case olderVersion(UInt16)
        /// Ours, but damaged.
        case corrupt(String)
    }

    /// Decodes the first bytes of a non-empty file (up to one page; fewer when the file is shorter).
    static func decode(_ bytes: [UInt8]) throws(DecodeError) -> SimLUHeader {
        guard bytes.count >= SimFormat.magic.count, Array(bytes.prefix(SimFormat.magic.count)) == SimFormat.magic else {
            throw .foreign
        }
        guard let version = bytes.bigEndianInteger(at: 8, as: UInt16.self) else { throw .corrupt("file is too short") }
        if version > SimFormat.version { throw .newerVersion(version) }
        if version == 0 { throw .corrupt("format version 0") }
        guard bytes.count >= SimFormat.headerFieldsSize else { throw .corrupt("file is too short") }
        let fields = Array(bytes.prefix(SimFormat.headerFieldsSize))
        guard fields.bigEndianInteger(at: 124, as: UInt32.self) == SimCRC32C.checksum(fields.prefix(124)) else {
            throw .corrupt("checksum mismatch")
        }
        if version < SimFormat.version { throw .olderVersion(version) }
        guard fields[18..<24].allSatisfy({ $0 == 0 }), fields[52..<64].allSatisfy({ $0 == 0 }),
              fields[80..<124].allSatisfy({ $0 == 0 }) else {
            throw .corrupt("reserved bytes are not zero")
        }
        guard fields.bigEndianInteger(at: 10, as: UInt16.self) == UInt16(SimFormat.headerSize),
              fields.bigEndianInteger(at: 12, as: UInt32.self) == UInt32(SimFormat.slotSize),
              fields[16] == UInt8(SimFormat.slotCount) else {
            throw .corrupt("unexpected slot layout")
        }
        var header = SimLUHeader(deviceType: fields[17], identifier: Array(fields[64..<80]))
        header.formatVersion = version
        header.vendor = Array(fields[24..<32])
        header.product = Array(fields[32..<48])
        header.revision = Array(fields[48..<52])
        return header
    }

    private static func padded(_ text: String, to length: Int) -> [UInt8] {
        fitted(Array(text.utf8), to: length, pad: 0x20)
    }

    private static func fitted(_ bytes: [UInt8], to length: Int, pad: UInt8 = 0) -> [UInt8] {
        Array(bytes.prefix(length)) + [UInt8](repeating: pad, count: max(0, length - bytes.count))
    }
}

/// The commit record: which slot holds the committed state (see `SimFormat`).
struct SimCommitRecord: Equatable, Sendable {
    /// 0 when nothing is committed yet.
    var sequence: UInt64
    var slot: Int
    var length: Int
    /// The committed slot's CRC field.
    var slotCRC: UInt32

    /// The record of an LU with nothing committed.
    static let fresh = SimCommitRecord(sequence: 0, slot: 0, length: 0, slotCRC: 0)

    /// The 32 bytes at `SimFormat.commitRecordOffset`.
    func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: SimFormat.commitRecordSize)
        writer.writeBytes(SimFormat.commitTag)
        writer.writeInteger(UInt8(slot))
        writer.writeZeros(3)
        writer.writeInteger(sequence)
        writer.writeInteger(UInt32(length))
        writer.writeInteger(slotCRC)
        writer.writeZeros(4)
        writer.writeInteger(SimCRC32C.checksum(writer.bytes))
        return writer.bytes
    }

    /// Decodes the record; the reason when it does not check.
    static func decode(_ bytes: [UInt8]) -> Result<SimCommitRecord, SimCorruption> {
        func corrupt(_ why: String) -> Result<SimCommitRecord, SimCorruption> {
            .failure(SimCorruption(details: "commit record: \(why)"))
        }
        guard bytes.count >= SimFormat.commitRecordSize else { return corrupt("file ends inside it") }
        let record = Array(bytes.prefix(SimFormat.commitRecordSize))
        guard record.bigEndianInteger(at: 28, as: UInt32.self) == SimCRC32C.checksum(record.prefix(28)) else {
            return corrupt("checksum mismatch")
        }
        guard Array(record.prefix(4)) == SimFormat.commitTag, record[5..<8].allSatisfy({ $0 == 0 }),
              record[24..<28].allSatisfy({ $0 == 0 }),
              let sequence = record.bigEndianInteger(at: 8, as: UInt64.self),
              let length = record.bigEndianInteger(at: 16, as: UInt32.self),
              let slotCRC = record.bigEndianInteger(at: 20, as: UInt32.self) else {
            return corrupt("bad tag or reserved bytes")
        }
        guard Int(record[4]) < SimFormat.slotCount, length <= UInt32(SimFormat.slotCapacity) else {
            return corrupt("slot \(record[4]), length \(length) out of range")
        }
        if sequence == 0, record[4] != 0 || length != 0 || slotCRC != 0 {
            return corrupt("fields set without a committed state")
        }
        return .success(SimCommitRecord(sequence: sequence, slot: Int(record[4]), length: Int(length),
                                        slotCRC: slotCRC))
    }
}

/// Damage to a simulated LU's file: it is reported (exit 3), never reset.
struct SimCorruption: Error, Equatable, Sendable {
    var details: String
    var message: String { "simulated LU state is corrupt (\(details))" }
}

/// What one state slot holds.
enum SimSlotContent: Equatable, Sendable {
    /// Never written: all zero, or beyond the end of the file.
    case empty
    /// A complete state.
    case valid(sequence: UInt64, payload: [UInt8])
    /// Damaged or torn. `sequence` is the SEQUENCE NUMBER field when the tag was there (it may be garbage).
    case invalid(reason: String, sequence: UInt64?)

    /// Encodes a slot's header and payload (the bytes one commit writes).
    static func encode(sequence: UInt64, payload: [UInt8]) -> [UInt8] {
        var writer = ByteWriter(capacity: SimFormat.slotHeaderSize + payload.count)
        writer.writeBytes(SimFormat.slotTag)
        writer.writeInteger(UInt32(payload.count))
        writer.writeInteger(sequence)
        var crc = SimCRC32C()
        crc.update(writer.bytes)
        crc.update(payload)
        writer.writeInteger(crc.value)
        writer.writeZeros(SimFormat.slotHeaderSize - 20)
        writer.writeBytes(payload)
        return writer.bytes
    }

    /// Decodes a slot from the first `bytes.count` bytes of it. `isComplete` says that no more bytes exist:
    /// the whole slot was read, or the read stopped at the end of the file. Without it, the result may ask for
    /// more: `.needsBytes(n)`, the total from the slot's start.
    static func decode(_ bytes: [UInt8], isComplete: Bool) -> SimSlotDecoding {
        let header = Array(bytes.prefix(SimFormat.slotHeaderSize))
        guard header.count == SimFormat.slotHeaderSize, Array(header.prefix(4)) == SimFormat.slotTag,
              let length = header.bigEndianInteger(at: 4, as: UInt32.self),
              let sequence = header.bigEndianInteger(at: 8, as: UInt64.self),
              let storedCRC = header.bigEndianInteger(at: 16, as: UInt32.self) else {
            // No tag: empty only if every byte of the slot is zero, which takes the whole slot to tell.
            guard isComplete || bytes.count >= SimFormat.slotSize else { return .needsBytes(SimFormat.slotSize) }
            if bytes.prefix(SimFormat.slotSize).allSatisfy({ $0 == 0 }) { return .content(.empty) }
            return .content(.invalid(reason: "no slot tag", sequence: nil))
        }
        guard length <= UInt32(SimFormat.slotCapacity) else {
            return .content(.invalid(reason: "payload length \(length) exceeds the slot", sequence: sequence))
        }
        let total = SimFormat.slotHeaderSize + Int(length)
        guard bytes.count >= total else {
            if !isComplete { return .needsBytes(total) }
            return .content(.invalid(reason: "file ends inside the slot", sequence: sequence))
        }
        guard header[20..<32].allSatisfy({ $0 == 0 }) else {
            return .content(.invalid(reason: "reserved bytes are not zero", sequence: sequence))
        }
        let payload = Array(bytes[SimFormat.slotHeaderSize..<total])
        var crc = SimCRC32C()
        crc.update(header.prefix(16))
        crc.update(payload)
        guard crc.value == storedCRC else { return .content(.invalid(reason: "checksum mismatch", sequence: sequence)) }
        guard sequence > 0 else { return .content(.invalid(reason: "sequence number 0", sequence: sequence)) }
        return .content(.valid(sequence: sequence, payload: payload))
    }
}

/// The result of decoding a slot from the bytes read so far.
enum SimSlotDecoding: Equatable, Sendable {
    case content(SimSlotContent)
    /// Read this many bytes from the slot's start and decode again.
    case needsBytes(Int)
}
