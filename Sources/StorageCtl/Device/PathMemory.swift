import PRCore
import Transports

/// Which drive a Control Device named the last time it worked: the LU's identity (VPD 83h designator, else
/// 80h serial), kept in `run_dir` by DEVICE's path (`path-<FNV-1a of its bytes>`, one line).
///
/// The kernel names sg nodes in the order it finds devices: a path that goes away takes its node with it,
/// the path that comes back (a re-login, a replaced HBA) gets another node, and the old name may later
/// be given to another device. A Control Device is therefore followed by what it reached, not by its name:
/// when its node is gone, or now reaches another drive, storage-ctl uses a live path of the drive it named
/// before and says so (README "Several paths to one drive"). Only commands that change reservations write
/// the memory; every command reads it.
struct PathMemory {
    let files: RunDirectory
    /// Whether this command may write (the lock verbs); read-only commands only look.
    let mayWrite: Bool

    /// An LU identity as LogicalUnitIdentity writes it: printable ASCII, no space, not empty.
    static func isIdentity(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    static func name(of path: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return "path-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The identity DEVICE reached before, if remembered.
    func identity(of path: String) -> String? {
        guard let (bytes, _) = files.read(Self.name(of: path), limit: 300), bytes.last == 0x0A,
              let text = String(validating: bytes.dropLast(), as: UTF8.self), Self.isIdentity(text) else { return nil }
        return text
    }

    func remember(_ path: String, identity: String) {
        guard mayWrite, Self.isIdentity(identity) else { return }
        files.write(Self.name(of: path), Array((identity + "\n").utf8), what: "path memory")
    }

    /// What to open for DEVICE, given what it reaches now (`current`: its LU identity, nil when the node is
    /// gone or sysfs does not say), what it reached before (`remembered`) and a live path to that drive.
    enum Decision: Equatable {
        /// DEVICE as named (and remember `current` when it is new).
        case asNamed(remember: String?)
        /// Another path to the drive DEVICE named before; `note` says why, on stderr.
        case otherPath(node: String, note: String)
        /// DEVICE as named, with a note: it reaches another drive now, and the one it named has no live path.
        case asNamedNoting(String, remember: String)
    }

    static func decide(current: String?, nodeGone: Bool, remembered: String?, livePath: (String) -> String?) -> Decision {
        if nodeGone {
            if let remembered, let node = livePath(remembered) {
                return .otherPath(node: node, note: "gone; using \(node), another path to the same drive (\(remembered))")
            }
            return .asNamed(remember: nil)
        }
        guard let current else { return .asNamed(remember: nil) }
        guard let remembered, remembered != current else { return .asNamed(remember: remembered == nil ? current : nil) }
        if let node = livePath(remembered) {
            return .otherPath(node: node, note: "now reaches another drive (\(current)), not the one it named before (\(remembered)); using \(node), a path to that one")
        }
        return .asNamedNoting("now reaches another drive (\(current)) than before (\(remembered)), which has no live path any more: using it as named", remember: current)
    }
}
