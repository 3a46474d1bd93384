import Foundation
import PRCore
import Testing
@testable import SgPersist
@testable import SgText

/// The "Additional sense:" line for every ASC/ASCQ pair, against sg3_utils 1.46 (captured with
/// `sg_decode_sense` into `Tests/Fixtures/sg_persist/asc-ascq-sg3_utils-1.46.json`: the 2038 pairs it has a
/// text for). PRCore's table is generated from that file (scripts/gen-asc-table), so every pair must match:
/// the text for the 2038 named pairs, sg3_utils' hex forms for the rest.
@Suite("sg_persist ASC/ASCQ texts")
struct PersistSenseTableTests {
    static let sg3utils: [String: String] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sg_persist/asc-ascq-sg3_utils-1.46.json")
        guard let data = try? Data(contentsOf: url) else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: data)) ?? [:]
    }()

    static func key(_ asc: Int, _ ascq: Int) -> String { String(format: "%02x%02x", asc, ascq) }

    @Test("no pair prints a text that differs from sg3_utils'")
    func noWrongText() {
        #expect(Self.sg3utils.count == 2038)
        var wrong: [String] = []
        var missing = 0
        for asc in 0...0xFF {
            for ascq in 0...0xFF {
                let ours = PersistText.additionalSense(asc: UInt8(asc), ascq: UInt8(ascq))
                if let text = Self.sg3utils[Self.key(asc, ascq)] {
                    if ours == "Additional sense: " + text { continue }
                    if ours.hasPrefix("Additional sense: ") { wrong.append("\(Self.key(asc, ascq)): \(ours)") } else { missing += 1 }
                } else {
                    let hexForm: String
                    if asc >= 0x80 {
                        hexForm = String(format: "vendor specific ASC=%02x, ASCQ=%02x (hex)", asc, ascq)
                    } else if ascq >= 0x80 {
                        hexForm = String(format: "ASC=%02x, vendor specific qualification ASCQ=%02x (hex)", asc, ascq)
                    } else {
                        hexForm = String(format: "ASC=%02x, ASCQ=%02x (hex)", asc, ascq)
                    }
                    if ours != hexForm { wrong.append("\(Self.key(asc, ascq)): \(ours)") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(20))")
        #expect(missing == 0, "pairs sg3_utils names but PRCore lacks: \(missing)")
    }

    @Test("the texts a PR exchange meets are all there", arguments: [
        (0x2A, 0x03), (0x2A, 0x04), (0x2A, 0x05), (0x29, 0x00), (0x29, 0x07), (0x24, 0x00), (0x26, 0x00), (0x26, 0x04),
        (0x1A, 0x00), (0x20, 0x00), (0x55, 0x04), (0x2F, 0x00), (0x08, 0x00), (0x04, 0x00), (0x3F, 0x0E), (0x2C, 0x09),
    ])
    func prCodes(_ pair: (Int, Int)) {
        let expected = Self.sg3utils[Self.key(pair.0, pair.1)].map { "Additional sense: " + $0 }
        #expect(PersistText.additionalSense(asc: UInt8(pair.0), ascq: UInt8(pair.1)) == expected)
    }
}
