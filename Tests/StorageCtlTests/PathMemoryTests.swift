import Foundation
import Testing
@testable import StorageCtl

/// A Control Device is followed by the drive it reached, not by its node's name: the kernel gives a path that
/// comes back another sg node, and may give the old name to another device.
@Suite("PathMemory: a Control Device followed by the drive it named")
struct PathMemoryTests {
    static let x = "naa.6001405aaaa", y = "naa.6001405bbbb"

    @Test("what to open: as named (remembered the first time), another path of the same drive, or as named with a note")
    func decisions() {
        let none: (String) -> String? = { _ in nil }
        let sg7: (String) -> String? = { $0 == Self.x ? "/dev/sg7" : nil }
        // first use: as named, remembered
        #expect(PathMemory.decide(current: Self.x, nodeGone: false, remembered: nil, livePath: none) == .asNamed(remember: Self.x))
        // the same drive as before: nothing to write
        #expect(PathMemory.decide(current: Self.x, nodeGone: false, remembered: Self.x, livePath: sg7) == .asNamed(remember: nil))
        // the node is gone (a lost path): a live path of the drive it named
        #expect(PathMemory.decide(current: nil, nodeGone: true, remembered: Self.x, livePath: sg7)
                == .otherPath(node: "/dev/sg7", note: "gone; using /dev/sg7, another path to the same drive (\(Self.x))"))
        // gone, and nothing remembered or no live path: the open's own error stands
        #expect(PathMemory.decide(current: nil, nodeGone: true, remembered: nil, livePath: sg7) == .asNamed(remember: nil))
        #expect(PathMemory.decide(current: nil, nodeGone: true, remembered: Self.x, livePath: none) == .asNamed(remember: nil))
        // the name now reaches another drive (the kernel reused it): the drive it named, through a live path
        #expect(PathMemory.decide(current: Self.y, nodeGone: false, remembered: Self.x, livePath: sg7)
                == .otherPath(node: "/dev/sg7", note: "now reaches another drive (\(Self.y)), not the one it named before (\(Self.x)); using /dev/sg7, a path to that one"))
        // ... and when that drive has no live path (replaced): as named, said, and the new drive remembered
        #expect(PathMemory.decide(current: Self.y, nodeGone: false, remembered: Self.x, livePath: none)
                == .asNamedNoting("now reaches another drive (\(Self.y)) than before (\(Self.x)), which has no live path any more: using it as named", remember: Self.y))
        // no identity in sysfs: as named, nothing remembered
        #expect(PathMemory.decide(current: nil, nodeGone: false, remembered: Self.x, livePath: sg7) == .asNamed(remember: nil))
    }

    @Test("kept in run_dir by a hash of the path: one line; only commands that change reservations write it; junk reads as nothing")
    func file() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pathmemory-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = RunDirectory(directory: dir, trace: { _ in })
        let reader = PathMemory(files: files, mayWrite: false)
        reader.remember("/dev/sg3", identity: Self.x)
        #expect(!FileManager.default.fileExists(atPath: dir), "a read-only command wrote the memory")
        let writer = PathMemory(files: files, mayWrite: true)
        writer.remember("/dev/sg3", identity: Self.x)
        #expect(reader.identity(of: "/dev/sg3") == Self.x)
        #expect(reader.identity(of: "/dev/sg4") == nil)
        let name = PathMemory.name(of: "/dev/sg3")
        #expect(name.count == 21 && name.hasPrefix("path-"))
        #expect(try String(contentsOfFile: dir + "/" + name, encoding: .utf8) == Self.x + "\n")
        #expect(try FileManager.default.attributesOfItem(atPath: dir)[.posixPermissions] as? Int == 0o700)
        for junk in ["", "\n", "naa x\n", "naa.1", String(repeating: "a", count: 400) + "\n"] {
            try junk.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            #expect(reader.identity(of: "/dev/sg3") == nil, "\(junk)")
        }
        writer.remember("/dev/sg3", identity: "naa.with space")
        #expect(reader.identity(of: "/dev/sg3") == nil)
    }
}
