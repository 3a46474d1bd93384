// Helpers so each scenario of docs/pr-rules.md §6 reads like its table row.
import Testing
@testable import PRCore

/// Bytes from hex text; spaces ignored ("00 08 01 90").
func hex(_ text: String) -> [UInt8] {
    let digits = text.unicodeScalars.filter { $0 != " " && $0 != "\n" }.map { Character($0) }
    var bytes: [UInt8] = []
    var index = 0
    while index + 1 < digits.count {
        bytes.append(UInt8(String(digits[index...index + 1]), radix: 16)!)
        index += 2
    }
    return bytes
}

// MARK: Nexuses and keys (§6 conventions)

let A = Nexus(transportID: .iscsi(name: "iqn.1994-05.com.redhat:a", isid: 0x4000_0137_0000), relativeTargetPortIdentifier: 1)
let B = Nexus(transportID: .iscsi(name: "iqn.1994-05.com.redhat:b", isid: 0x4000_0137_0001), relativeTargetPortIdentifier: 2)
let C = Nexus(transportID: .iscsi(name: "iqn.1994-05.com.redhat:c", isid: 0x4000_0137_0002), relativeTargetPortIdentifier: 1)
let D = Nexus(transportID: .iscsi(name: "iqn.1994-05.com.redhat:d", isid: 0x4000_0137_0003), relativeTargetPortIdentifier: 2)
let allNexuses = [A, B, C, D]

let A1: UInt64 = 0xA1, A2: UInt64 = 0xA2, A3: UInt64 = 0xA3, A9: UInt64 = 0xA9
let B1: UInt64 = 0xB1, B2: UInt64 = 0xB2, B9: UInt64 = 0xB9
let C1: UInt64 = 0xC1, D1: UInt64 = 0xD1
let K1: UInt64 = 0x4B31
let DEAD: UInt64 = 0xDEAD

/// The key "A,B RIK" setups register with.
func defaultKey(_ nexus: Nexus) -> UInt64 {
    switch nexus {
    case A: return A1
    case B: return B1
    case C: return C1
    default: return D1
    }
}

func name(_ nexus: Nexus) -> String {
    switch nexus {
    case A: return "A"
    case B: return "B"
    case C: return "C"
    case D: return "D"
    default: return nexus.description
    }
}

// MARK: Commands

/// One command as an initiator sends it.
struct Command {
    var cdb: [UInt8]
    var dataOut: [UInt8] = []
    var dataInLength: Int = 0
}

/// PR OUT with a basic parameter list; `pll` defaults to the list's 24 bytes, `data` overrides the list.
func prOut(_ sa: UInt8, type: UInt8 = 0, scope: UInt8 = 0, rk: UInt64 = 0, sark: UInt64 = 0,
           specI: Bool = false, allTg: Bool = false, aptpl: Bool = false, pll: UInt32? = nil, data: [UInt8]? = nil) -> Command {
    let list = PersistentReserveOut.ParameterList(
        reservationKey: ReservationKey(rk), serviceActionReservationKey: ReservationKey(sark),
        specifyInitiatorPorts: specI, allTargetPorts: allTg, activatePersistThroughPowerLoss: aptpl).encode()
    let bytes = data ?? list
    let cdb = PersistentReserveOut.CDB(serviceAction: .init(rawValue: sa), scope: scope, type: ReservationType(rawValue: type),
                                       parameterListLength: pll ?? UInt32(bytes.count))
    return Command(cdb: cdb.encode(), dataOut: bytes)
}

func REG(_ rk: UInt64, _ sark: UInt64, aptpl: Bool = false) -> Command { prOut(0, rk: rk, sark: sark, aptpl: aptpl) }
func RIK(_ sark: UInt64, rk: UInt64 = 0) -> Command { prOut(6, rk: rk, sark: sark) }
func RES(_ type: UInt8, _ rk: UInt64, scope: UInt8 = 0) -> Command { prOut(1, type: type, scope: scope, rk: rk) }
func REL(_ type: UInt8, _ rk: UInt64) -> Command { prOut(2, type: type, rk: rk) }
func CLR(_ rk: UInt64) -> Command { prOut(3, rk: rk) }
func PRE(_ type: UInt8, _ rk: UInt64, _ sark: UInt64) -> Command { prOut(4, type: type, rk: rk, sark: sark) }
func PAA(_ type: UInt8, _ rk: UInt64, _ sark: UInt64) -> Command { prOut(5, type: type, rk: rk, sark: sark) }

/// REGISTER AND MOVE to `dest` (its TransportID; `rtpi` defaults to dest's own).
func RAM(_ rk: UInt64, _ sark: UInt64, unreg: Bool = false, aptpl: Bool = false, dest: Nexus, rtpi: UInt16? = nil) -> Command {
    let list = PersistentReserveOut.RegisterAndMoveParameterList(
        reservationKey: ReservationKey(rk), serviceActionReservationKey: ReservationKey(sark), unregister: unreg,
        activatePersistThroughPowerLoss: aptpl, relativeTargetPortIdentifier: rtpi ?? dest.relativeTargetPortIdentifier,
        transportID: dest.transportID.bytes).encode()
    return prOut(7, data: list)
}

func prIn(_ sa: UInt8, alloc: UInt16 = 16384) -> Command {
    Command(cdb: PersistentReserveIn.CDB(serviceAction: .init(rawValue: sa), allocationLength: alloc).encode(),
            dataInLength: Int(alloc))
}
func RKEYS(alloc: UInt16 = 16384) -> Command { prIn(0, alloc: alloc) }
func RRES(alloc: UInt16 = 16384) -> Command { prIn(1, alloc: alloc) }
func RCAP(alloc: UInt16 = 16384) -> Command { prIn(2, alloc: alloc) }
func RFS(alloc: UInt16 = 16384) -> Command { prIn(3, alloc: alloc) }

/// READ(10) / WRITE(10) of 1 block at LBA 1.
let R10 = Command(cdb: [0x28, 0, 0, 0, 0, 1, 0, 0, 1, 0], dataInLength: 512)
let W10 = Command(cdb: [0x2A, 0, 0, 0, 0, 1, 0, 0, 1, 0], dataOut: [UInt8](repeating: 0, count: 512))
let TUR = Command(cdb: [0x00, 0, 0, 0, 0, 0])
let INQUIRY = Command(cdb: Inquiry.CDB().encode(), dataInLength: 96)
let REPORT_LUNS = Command(cdb: [0xA0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0], dataInLength: 4096)
let REQUEST_SENSE = Command(cdb: [0x03, 0, 0, 0, 18, 0], dataInLength: 18)
let READ_CAPACITY_10 = Command(cdb: [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], dataInLength: 8)
let READ_CAPACITY_16 = Command(cdb: [0x9E, 0x10] + [UInt8](repeating: 0, count: 8) + [0, 0, 0, 32, 0, 0], dataInLength: 32)
let SYNC_CACHE_10 = Command(cdb: [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0])
let MODE_SENSE_6 = Command(cdb: [0x1A, 0, 0x3F, 0, 0xFF, 0], dataInLength: 255)

// MARK: Outcomes

/// What a step expects: GOOD (or an allowed ordinary command), RESERVATION CONFLICT, or CHECK CONDITION k/AA/QQ.
enum Outcome: Equatable, CustomStringConvertible {
    case good
    case conflict
    case checkCondition(UInt8, UInt8, UInt8)

    var description: String {
        switch self {
        case .good: return "GOOD"
        case .conflict: return "CONFLICT"
        case .checkCondition(let k, let a, let q): return "CC \(k)/\(Hex.twoDigits(a))/\(Hex.twoDigits(q))"
        }
    }
}

func CC(_ key: UInt8, _ asc: UInt8, _ ascq: UInt8) -> Outcome { .checkCondition(key, asc, ascq) }

/// The result of one step.
struct StepResult {
    var outcome: Outcome
    var data: [UInt8]
    var aborted: [Nexus]
}

/// Where a scenario expects the reservation.
enum Res: Equatable {
    case none
    case held(Nexus, UInt8)
    case all(UInt8)
}

// MARK: The LU under test

struct LU {
    var state: LogicalUnitState

    init(generation: UInt32? = nil) {
        state = generation.map { LogicalUnitState(generation: $0) } ?? LogicalUnitState()
    }

    /// Sends one command and classifies the answer.
    @discardableResult
    mutating func run(_ nexus: Nexus, _ command: Command) -> StepResult {
        switch state.process(cdb: command.cdb, dataOut: command.dataOut, dataInLength: command.dataInLength, from: nexus) {
        case .proceed:
            return StepResult(outcome: .good, data: [], aborted: [])
        case .response(let response):
            let outcome: Outcome
            switch response.status {
            case .good: outcome = .good
            case .reservationConflict:
                #expect(response.sense == nil, "RESERVATION CONFLICT carries no sense")
                outcome = .conflict
            case .checkCondition:
                let sense = response.sense!
                // The sense bytes decode to the same sense (§4.9 fixed format).
                #expect(SenseData.decode(response.senseBytes) == sense)
                outcome = .checkCondition(sense.key.rawValue, sense.additionalSense.asc, sense.additionalSense.ascq)
            default: outcome = .checkCondition(0xFF, 0xFF, 0xFF)
            }
            return StepResult(outcome: outcome, data: response.data, aborted: response.abortedNexuses)
        }
    }

    /// Sends one command and returns only its outcome.
    @discardableResult
    mutating func send(_ nexus: Nexus, _ command: Command) -> Outcome { run(nexus, command).outcome }

    /// "A,B RIK": each nexus RIK(its default key), expecting GOOD.
    mutating func rik(_ nexuses: Nexus..., sourceLocation: SourceLocation = #_sourceLocation) {
        for nexus in nexuses {
            #expect(send(nexus, RIK(defaultKey(nexus))) == .good, sourceLocation: sourceLocation)
        }
    }

    /// Checks Keys, Res and Gen columns, and (when given) the UA column: the complete set of pending UAs
    /// for A–D, where a nexus not listed must have none.
    func expect(keys: [(Nexus, UInt64)], res: Res, gen: UInt32, uas: [Nexus: [AdditionalSense]]? = nil,
                sourceLocation: SourceLocation = #_sourceLocation) {
        let actualKeys = state.registrations.map { "\(name($0.nexus)):\(String($0.key.rawValue, radix: 16))" }
        let expectedKeys = keys.map { "\(name($0.0)):\(String($0.1, radix: 16))" }
        #expect(actualKeys == expectedKeys, "Keys", sourceLocation: sourceLocation)
        #expect(currentRes == res, "Res", sourceLocation: sourceLocation)
        #expect(state.generation == gen, "Gen", sourceLocation: sourceLocation)
        if let uas {
            for nexus in allNexuses {
                #expect(state.pendingUnitAttentions(for: nexus) == (uas[nexus] ?? []), "UA for \(name(nexus))",
                        sourceLocation: sourceLocation)
            }
        }
    }

    var currentRes: Res {
        guard let reservation = state.reservation else { return .none }
        switch reservation.holder {
        case .allRegistrants: return .all(reservation.type.rawValue)
        case .nexus(let holder): return .held(holder, reservation.type.rawValue)
        }
    }
}

let RA03 = AdditionalSense.reservationsPreempted
let RA04 = AdditionalSense.reservationsReleased
let RA05 = AdditionalSense.registrationsPreempted
