// The full §3.1 matrix: every reservation type × holder (H) / registered non-holder (R) / unregistered (U)
// × command class, plus the PR OUT rows (§3.2). Setup for type t: A,B RIK; A RES(t,A1); H = A, R = B, U = C.
import Testing
@testable import PRCore

struct AccessMatrixTests {
    static let types: [UInt8] = [1, 3, 5, 6, 7, 8]

    /// The §3.1 matrix rows as "H R U" letters per type ("-" where R cannot exist: types 7/8).
    static let readRow: [UInt8: String] = [1: "AAA", 3: "ACC", 5: "AAA", 6: "AAC", 7: "A-A", 8: "A-C"]
    static let writeRow: [UInt8: String] = [1: "ACC", 3: "ACC", 5: "AAC", 6: "AAC", 7: "A-C", 8: "A-C"]

    static let readClass: [(String, [UInt8])] = [
        ("READ(6)", [0x08, 0, 0, 1, 1, 0]), ("READ(10)", R10.cdb), ("READ(12)", [0xA8] + [UInt8](repeating: 0, count: 11)),
        ("READ(16)", [0x88] + [UInt8](repeating: 0, count: 15)), ("VERIFY(10)", [0x2F] + [UInt8](repeating: 0, count: 9)),
        ("VERIFY(12)", [0xAF] + [UInt8](repeating: 0, count: 11)), ("VERIFY(16)", [0x8F] + [UInt8](repeating: 0, count: 15)),
        ("PRE-FETCH(10)", [0x34] + [UInt8](repeating: 0, count: 9)), ("PRE-FETCH(16)", [0x90] + [UInt8](repeating: 0, count: 15)),
    ]
    static let modeSenseClass: [(String, [UInt8])] = [
        ("MODE SENSE(6)", MODE_SENSE_6.cdb), ("MODE SENSE(10)", [0x5A, 0, 0x3F, 0, 0, 0, 0, 0x10, 0, 0]),
        ("READ BUFFER", [0x3C] + [UInt8](repeating: 0, count: 9)), ("RECEIVE DIAGNOSTIC RESULTS", [0x1C, 0, 0, 0, 0xFF, 0]),
    ]
    static let writeClass: [(String, [UInt8])] = [
        ("WRITE(6)", [0x0A, 0, 0, 1, 1, 0]), ("WRITE(10)", W10.cdb), ("WRITE(12)", [0xAA] + [UInt8](repeating: 0, count: 11)),
        ("WRITE(16)", [0x8A] + [UInt8](repeating: 0, count: 15)),
        ("WRITE AND VERIFY(10)", [0x2E] + [UInt8](repeating: 0, count: 9)),
        ("WRITE AND VERIFY(12)", [0xAE] + [UInt8](repeating: 0, count: 11)),
        ("WRITE AND VERIFY(16)", [0x8E] + [UInt8](repeating: 0, count: 15)),
        ("WRITE SAME(10)", [0x41] + [UInt8](repeating: 0, count: 9)), ("WRITE SAME(16)", [0x93] + [UInt8](repeating: 0, count: 15)),
        ("UNMAP", [0x42] + [UInt8](repeating: 0, count: 9)), ("COMPARE AND WRITE", [0x89] + [UInt8](repeating: 0, count: 15)),
        ("SYNCHRONIZE CACHE(10)", SYNC_CACHE_10.cdb), ("SYNCHRONIZE CACHE(16)", [0x91] + [UInt8](repeating: 0, count: 15)),
        ("FORMAT UNIT", [0x04, 0, 0, 0, 0, 0]), ("MODE SELECT(6)", [0x15, 0x10, 0, 0, 0, 0]),
        ("MODE SELECT(10)", [0x55, 0x10, 0, 0, 0, 0, 0, 0, 0, 0]),
    ]
    static let alwaysAllowed: [(String, Command)] = [
        ("INQUIRY", INQUIRY), ("REPORT LUNS", REPORT_LUNS), ("REQUEST SENSE", REQUEST_SENSE), ("TEST UNIT READY", TUR),
        ("LOG SENSE", Command(cdb: [0x4D, 0, 0x40, 0, 0, 0, 0, 0x10, 0, 0])), ("READ CAPACITY(10)", READ_CAPACITY_10),
        ("READ CAPACITY(16)", READ_CAPACITY_16), ("PR IN READ KEYS", RKEYS()), ("PR IN READ RESERVATION", RRES()),
        ("PR IN REPORT CAPABILITIES", RCAP()), ("PR IN READ FULL STATUS", RFS()),
    ]

    /// A fresh LU with A,B registered and A holding type `type`.
    static func reserved(_ type: UInt8) -> LU {
        var lu = LU()
        lu.rik(A, B)
        #expect(lu.send(A, RES(type, A1)) == .good)
        return lu
    }

    static func roles(_ type: UInt8) -> [(Character, Nexus)] {
        let holder: Character = "H", registered: Character = "R", unregistered: Character = "U"
        return type >= 7 ? [(holder, A), (holder, B), (unregistered, C)] : [(holder, A), (registered, B), (unregistered, C)]
    }

    static func expected(_ row: String, role: Character) -> Outcome {
        let letters = Array(row)
        let letter = role == "H" ? letters[0] : role == "R" ? letters[1] : letters[2]
        return letter == "A" ? .good : .conflict
    }

    @Test("§3.1 ordinary commands: READ-, MODE SENSE-, WRITE-class and ALWAYS_ALLOWED", arguments: types)
    func ordinaryCommands(type: UInt8) {
        for (role, nexus) in Self.roles(type) {
            for (label, cdb) in Self.readClass + Self.modeSenseClass {
                var lu = Self.reserved(type)
                #expect(lu.send(nexus, Command(cdb: cdb)) == Self.expected(Self.readRow[type]!, role: role),
                        "type \(type) \(role) \(label)")
            }
            for (label, cdb) in Self.writeClass {
                var lu = Self.reserved(type)
                #expect(lu.send(nexus, Command(cdb: cdb)) == Self.expected(Self.writeRow[type]!, role: role),
                        "type \(type) \(role) \(label)")
            }
            for (label, command) in Self.alwaysAllowed {
                var lu = Self.reserved(type)
                #expect(lu.send(nexus, command) == .good, "type \(type) \(role) \(label)")
            }
        }
    }

    @Test("§3.1/§3.2 PR OUT service actions", arguments: types)
    func persistentReserveOut(type: UInt8) {
        let allRegistrants = type >= 7
        /// (label, nexus, command, expected) — commands chosen so that "A" ends in GOOD under the §2 rules.
        var cells: [(String, Nexus, Command, Outcome)] = [
            ("H REGISTER", A, REG(A1, A1), .good), ("U REGISTER", C, REG(0, C1), .good),
            ("H RAIEK", A, RIK(A2), .good), ("U RAIEK", C, RIK(C1), .good),
            ("H RESERVE", A, RES(type, A1), .good), ("U RESERVE", C, RES(type, 0), .conflict),
            ("H RELEASE", A, REL(type, A1), .good), ("U RELEASE", C, REL(type, 0), .conflict),
            ("H CLEAR", A, CLR(A1), .good), ("U CLEAR", C, CLR(0), .conflict),
            ("H PREEMPT", A, PRE(type, A1, B1), .good), ("U PREEMPT", C, PRE(type, 0, A1), .conflict),
            ("H PREEMPT AND ABORT", A, PAA(type, A1, B1), .good), ("U PREEMPT AND ABORT", C, PAA(type, 0, A1), .conflict),
            ("H REGISTER AND MOVE", A, RAM(A1, C1, dest: C), allRegistrants ? .conflict : .good),  // M7 for 7/8
            ("U REGISTER AND MOVE", C, RAM(0, C1, dest: D), .conflict),
        ]
        if allRegistrants {
            // Every registrant holds: B behaves as a holder.
            cells += [("H(B) RESERVE", B, RES(type, B1), .good), ("H(B) RELEASE", B, REL(type, B1), .good),
                      ("H(B) PREEMPT", B, PRE(type, B1, A1), .good), ("H(B) REGISTER AND MOVE", B, RAM(B1, C1, dest: C), .conflict)]
        } else {
            cells += [("R REGISTER", B, REG(B1, B1), .good), ("R RAIEK", B, RIK(B2), .good),
                      ("R RESERVE", B, RES(type, B1), .conflict), ("R RELEASE", B, REL(type, B1), .good),
                      ("R CLEAR", B, CLR(B1), .good), ("R PREEMPT", B, PRE(type, B1, A1), .good),
                      ("R PREEMPT AND ABORT", B, PAA(type, B1, A1), .good),
                      ("R REGISTER AND MOVE", B, RAM(B1, C1, dest: C), .conflict)]
        }
        for (label, nexus, command, expected) in cells {
            var lu = Self.reserved(type)
            let before = lu.state
            let outcome = lu.send(nexus, command)
            #expect(outcome == expected, "type \(type) \(label)")
            if label == "R RELEASE" { #expect(lu.state == before, "RELEASE by a registered non-holder is a no-op (L4)") }
            if expected == .conflict { #expect(lu.state == before, "CONFLICT changes nothing: type \(type) \(label)") }
        }
    }

    @Test("No reservation: nothing conflicts on PR grounds")
    func noReservation() {
        for nexus in allNexuses {
            for (_, cdb) in Self.readClass + Self.modeSenseClass + Self.writeClass {
                var lu = LU()
                lu.rik(A, B)
                #expect(lu.send(nexus, Command(cdb: cdb)) == .good)
            }
        }
    }

    @Test("Tape commands are classified: positioning reads, WRITE FILEMARKS and ERASE write")
    func tapeCommands() {
        #expect(CommandAccessClass.of(cdb: [0x01, 0, 0, 0, 0, 0]) == .read)  // REWIND
        #expect(CommandAccessClass.of(cdb: [0x11, 1, 0, 0, 1, 0]) == .read)  // SPACE(6)
        #expect(CommandAccessClass.of(cdb: [0x10, 0, 0, 0, 1, 0]) == .write)  // WRITE FILEMARKS(6)
        #expect(CommandAccessClass.of(cdb: [0x19, 1, 0, 0, 0, 0]) == .write)  // ERASE(6)
        #expect(CommandAccessClass.of(cdb: [0x1B, 0, 0, 0, 0, 0]) == .write)  // LOAD UNLOAD
        #expect(CommandAccessClass.of(cdb: [0xFF]) == .write)  // unknown: conservative
        #expect(CommandAccessClass.of(cdb: []) == .write)
        #expect(CommandAccessClass.of(cdb: [0x9E, 0x10]) == .alwaysAllowed)  // READ CAPACITY(16)
        #expect(CommandAccessClass.of(cdb: [0x9E, 0x12]) == .read)  // GET LBA STATUS
    }
}
