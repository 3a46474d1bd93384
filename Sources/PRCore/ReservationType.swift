/// Persistent reservation TYPE (PR OUT CDB byte 2 bits 3–0; READ RESERVATION byte 21 bits 3–0; READ FULL STATUS
/// descriptor byte 13 bits 3–0). `docs/pr-rules.md` scope: types 1, 3, 5, 6, 7, 8. Unknown values stay representable.
public struct ReservationType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// SPC-4 type 1h; sg_persist calls it Write Exclusive.
    public static let writeExclusive = ReservationType(rawValue: 1)
    /// SPC-4 type 3h; sg_persist calls it Exclusive Access.
    public static let exclusiveAccess = ReservationType(rawValue: 3)
    /// SPC-4 type 5h; sg_persist calls it Write Exclusive, registrants only.
    public static let writeExclusiveRegistrantsOnly = ReservationType(rawValue: 5)
    /// SPC-4 type 6h; sg_persist calls it Exclusive Access, registrants only.
    public static let exclusiveAccessRegistrantsOnly = ReservationType(rawValue: 6)
    /// SPC-4 type 7h; sg_persist calls it Write Exclusive, all registrants.
    public static let writeExclusiveAllRegistrants = ReservationType(rawValue: 7)
    /// SPC-4 type 8h; sg_persist calls it Exclusive Access, all registrants.
    public static let exclusiveAccessAllRegistrants = ReservationType(rawValue: 8)

    /// The six defined types, in code order.
    public static let allDefined: [ReservationType] = [
        .writeExclusive, .exclusiveAccess, .writeExclusiveRegistrantsOnly,
        .exclusiveAccessRegistrantsOnly, .writeExclusiveAllRegistrants, .exclusiveAccessAllRegistrants,
    ]

    /// One of 1, 3, 5, 6, 7, 8.
    public var isDefined: Bool { [1, 3, 5, 6, 7, 8].contains(rawValue) }
    /// Types 7 and 8: every registrant is a holder (`docs/pr-rules.md` §1.1 holder = ALL).
    public var isAllRegistrants: Bool { rawValue == 7 || rawValue == 8 }
    /// Types 5 and 6.
    public var isRegistrantsOnly: Bool { rawValue == 5 || rawValue == 6 }

    /// The text sg_persist prints (`pr_type_strs`): "Exclusive Access", "obsolete [2]", "obsolete [0xa]".
    public var name: String {
        switch rawValue {
        case 1: return "Write Exclusive"
        case 3: return "Exclusive Access"
        case 5: return "Write Exclusive, registrants only"
        case 6: return "Exclusive Access, registrants only"
        case 7: return "Write Exclusive, all registrants"
        case 8: return "Exclusive Access, all registrants"
        case 0, 2, 4, 9: return "obsolete [\(rawValue)]"
        case 0xA...0xF: return "obsolete [0x\(String(rawValue, radix: 16))]"
        default: return "unknown"
        }
    }

    /// sg_persist's `--prout-type` mnemonic (`ex-ac`), or the decimal code for an undefined type.
    public var shortName: String {
        switch rawValue {
        case 1: return "wr-ex"
        case 3: return "ex-ac"
        case 5: return "wr-ex-ro"
        case 6: return "ex-ac-ro"
        case 7: return "wr-ex-ar"
        case 8: return "ex-ac-ar"
        default: return String(rawValue)
        }
    }

    public var description: String { name }

    /// Accepts the digits 1, 3, 5, 6, 7, 8 and the short names (`ex-ac`), case-insensitive. `nil` otherwise.
    public static func parse(_ text: String) -> ReservationType? {
        let lowered = text.lowercased()
        for type in allDefined where lowered == type.shortName || lowered == String(type.rawValue) {
            return type
        }
        return nil
    }
}
