// Damaged configurations end in a reading or a `file:line` error, never a crash or a hang: the fixtures
// cut short, and with bytes replaced, inserted and deleted at random (a fixed seed, so a failure repeats).
import Foundation
import Testing
@testable import BaculaConfig

struct RobustnessTests {
    /// xorshift64*: a fixed sequence, no dependency.
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return Int((state &* 2_685_821_657_736_338_717) % UInt64(bound))
        }
    }

    static let alphabet = Array("{}=;,#@\"\\ \n\tab1/|".utf8) + [0xEF, 0xBB, 0xBF, 0xFF, 0xE9]

    static func read(_ main: [UInt8], with others: [String: [UInt8]] = [:]) -> (resources: Int, error: BaculaConfigError?) {
        var files: [String: [UInt8]] = others
        files.merge([
            "/etc/bacula/sd.conf": main,
            "/etc/bacula/inc/a.conf": Array("Device { Name = a; Control Device = /dev/sg0 }\n@inc/b.conf\n".utf8),
            "/etc/bacula/inc/b.conf": Array("Autochanger { Name = c\n Device = a\n}\n".utf8),
            "/etc/bacula/inc/c d.conf": Array("Messages { Name = m }\n".utf8),
        ]) { first, _ in first }
        do {
            let resources = try BaculaConfig.parse(path: "sd.conf", reader: InMemoryConfigFiles(bytes: files), directory: "/etc/bacula")
            _ = try BaculaConfig.drives(in: resources)
            return (resources.count, nil)
        } catch {
            return (0, error)
        }
    }

    @Test func everyPrefixOfAFixtureReadsOrFailsWithAPlace() throws {
        let text = Array("Storage { Name = s; SDAddresses = { ip = { addr = 1.2.3.4; port = 9103 } } }\n@inc/a.conf\n@\"inc/c d.conf\"\nDevice { Name = \"q d\"; Archive Device = /dev/nst0 # c\n Lock Command = \"/x \\\"%l\\\" %o\" }\n".utf8)
        var refused = 0
        for length in 0...text.count {
            let (_, error) = Self.read(Array(text.prefix(length)))
            if let error {
                refused += 1
                #expect(["sd.conf", "inc/a.conf", "inc/b.conf", "inc/c d.conf"].contains(error.file))
                #expect(error.line >= 0 && error.line <= 6)
                #expect(!error.message.isEmpty)
            }
        }
        #expect(Self.read(text).resources == 5)
        #expect(refused > 0 && refused < text.count)
    }

    @Test func randomDamageNeverCrashesOrHangs() throws {
        let original = try [UInt8](contentsOf: fixtureDirectory + "/cibou.conf")
        var includes: [String: [UInt8]] = [:]
        for name in ["inc/cibou messages.conf", "inc/cibou-vtl.conf"] {
            includes["/etc/bacula/" + name] = try [UInt8](contentsOf: fixtureDirectory + "/" + name)
        }
        #expect(Self.read(original, with: includes).resources == 9)
        var random = Random(state: 0x9E37_79B9_7F4A_7C15)
        var outcomes = (read: 0, refused: 0)
        for _ in 0..<800 {
            var bytes = original
            for _ in 0...random.next(4) {
                let at = random.next(bytes.count)
                switch random.next(3) {
                case 0: bytes[at] = Self.alphabet[random.next(Self.alphabet.count)]
                case 1: bytes.insert(Self.alphabet[random.next(Self.alphabet.count)], at: at)
                default: bytes.remove(at: at)
                }
            }
            let (_, error) = Self.read(bytes, with: includes)
            if let error {
                outcomes.refused += 1
                #expect(error.line >= 0 && error.line <= 70, "\(error)")
            } else {
                outcomes.read += 1
            }
        }
        #expect(outcomes.read > 0 && outcomes.refused > 0)
    }
}

extension Array where Element == UInt8 {
    /// The bytes of a file (tests only).
    init(contentsOf path: String) throws {
        guard let file = fopen(path, "rb") else { throw RobustnessError.cannotOpen(path) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        self = bytes
    }
}

enum RobustnessError: Error { case cannotOpen(String) }
