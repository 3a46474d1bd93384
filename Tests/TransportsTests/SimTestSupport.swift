import Foundation
import Glibc
import PRCore
@testable import Transports

/// A private directory for one test's files, removed when the value goes away.
final class SimTempDirectory {
    let path: String

    init() {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/storage-ctl-sim-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        // Undo any chmod a test made, then remove everything.
        _ = chmod(path, 0o755)
        try? FileManager.default.removeItem(atPath: path)
    }

    /// A path inside the directory (not created).
    func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Creates an empty file, as `touch` does, and returns its path.
    func emptyFile(_ name: String = "lu") -> String {
        let path = file(name)
        precondition(FileManager.default.createFile(atPath: path, contents: Data()))
        return path
    }

    /// Makes a fresh simulated LU (`SimulatedLU(create: true)`, as `storage-ctl FILE create` does) and returns
    /// its path.
    func newDrive(_ name: String = "lu", deviceType: PeripheralDeviceType = .tape) -> String {
        let path = file(name)
        do {
            _ = try SimulatedLU(path: path, initiatorName: "iqn.2026-01.org.example:creator",
                                deviceTypeForNewLU: deviceType, create: true)
        } catch {
            preconditionFailure("cannot create a simulated LU at \(path): \(error)")
        }
        return path
    }
}

/// Whole-file helpers for checking that a file was or was not changed.
enum SimFileBytes {
    static func read(_ path: String) -> [UInt8] {
        [UInt8](FileManager.default.contents(atPath: path) ?? Data())
    }

    /// Replaces the file's content in place (same inode: an open simulated LU keeps seeing it).
    static func write(_ bytes: [UInt8], to path: String) {
        let fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        precondition(fd >= 0, "test file \(path) cannot be opened")
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        precondition(written == bytes.count)
    }

    /// Overwrites `bytes.count` bytes at `offset` in place, keeping the rest of the file.
    static func patch(_ path: String, at offset: Int, with bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        precondition(fd >= 0, "test file \(path) cannot be opened")
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        precondition(written == bytes.count)
    }
}

extension SimFileBytes {
    /// Writes a checksummed slot and a commit record naming it, as a commit would (a forged but consistent state).
    static func forgeCommit(_ path: String, slot: Int, sequence: UInt64, payload: [UInt8]) {
        let bytes = SimSlotContent.encode(sequence: sequence, payload: payload)
        patch(path, at: SimFormat.slotOffset(slot), with: bytes)
        let record = SimCommitRecord(sequence: sequence, slot: slot, length: payload.count,
                                     slotCRC: bytes.bigEndianInteger(at: 16, as: UInt32.self)!)
        patch(path, at: SimFormat.commitRecordOffset, with: record.encode())
    }
}

/// True when the test process can ignore file permissions (root), so chmod cannot make a file unreadable.
var simRunningAsRoot: Bool { geteuid() == 0 }
