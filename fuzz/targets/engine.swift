// Fuzz target: the simulated LU's input side. CDB + parameter list bytes into the PR engine
// (`LogicalUnitState.process(cdb:dataOut:dataInLength:from:)`), from several I_T nexuses, one command after
// another, so every command meets a prior state built by the commands before it; ordinary commands the engine
// lets through go on to the simulated LU's own command set (SimLUCommands). After every command the
// invariants of docs/pr-rules.md §1.1 and the state file's encode/decode round trip are checked.
//
// Input: byte 0 = registration limit (0-6, 7 = the default 128), byte 1 = flags (bit 0: start with a power
// cycle), byte 2 + that many bytes: an initiator name for nexus 7, then commands until the input ends:
// one byte (bits 2-0 the nexus, bits 7-3 the kind) and the kind's operands (see `nextCommand`).
@testable import PRCore
@testable import Transports
#if canImport(Glibc)
import Glibc
#endif

private let fixedNexuses: [Nexus] = [
    Nexus(transportID: .iscsi(name: "iqn.2024-01.example:host1"), relativeTargetPortIdentifier: 1),
    Nexus(transportID: .iscsi(name: "iqn.2024-01.example:host2"), relativeTargetPortIdentifier: 1),
    // The same port as nexus 0 in other case: the engine must treat them as one.
    Nexus(transportID: .iscsi(name: "IQN.2024-01.EXAMPLE:HOST1"), relativeTargetPortIdentifier: 1),
    Nexus(transportID: .iscsi(name: "iqn.2024-01.example:host1"), relativeTargetPortIdentifier: 2),
    Nexus(transportID: .iscsi(name: "iqn.1994-05.com.redhat:a", isid: 0x4000_0137_0000), relativeTargetPortIdentifier: 1),
    Nexus(transportID: .fibreChannel(portName: 0x2100_0024_ff00_0001), relativeTargetPortIdentifier: 1),
    Nexus(transportID: .sas(address: 0x5000_c500_1234_5678), relativeTargetPortIdentifier: 3),
]

private let keyPool: [UInt64] = [0, 0xA1, 0xB2, 0xBAC001, 0xBAC999, .max]

private let ordinaryOpcodes: [UInt8] = [0x00, 0x01, 0x03, 0x08, 0x0A, 0x10, 0x11, 0x12, 0x19, 0x1A, 0x25, 0x28,
                                        0x2A, 0x2F, 0x35, 0x5A, 0x88, 0x8A, 0x9E, 0xA0, 0x1B, 0x3C, 0xC0]

private let identity = SimLUIdentity(header: SimLUHeader(deviceType: 1, identifier: Array(0..<16)),
                                     relativeTargetPortIdentifier: 1)

private struct Command {
    var cdb: [UInt8]
    var dataOut: [UInt8] = []
    var dataInLength: Int = 0
    var nexus: Nexus
}

private enum Step {
    case command(Command)
    case powerOn
    case unitAttention(Nexus)
}

private func key(_ input: inout FuzzInput, _ selector: UInt8) -> UInt64 {
    Int(selector) < keyPool.count ? keyPool[Int(selector)] : input.u64()
}

private func nextStep(_ input: inout FuzzInput, nexuses: [Nexus]) -> Step {
    let op = input.u8()
    let nexus = nexuses[Int(op & 0x07)]
    let kind = op >> 3
    switch kind {
    case 0...11:
        // A PR OUT with a well-formed 24-byte parameter list (or a REGISTER AND MOVE list).
        let saType = input.u8()
        let keys = input.u8()
        let flags = input.u8()
        let action = saType & 0x07
        let scope: UInt8 = flags & 0x20 != 0 ? input.u8() & 0x0F : 0
        let cdbType = ReservationType(rawValue: saType >> 4)
        let rk = key(&input, keys & 0x07), sark = key(&input, (keys >> 3) & 0x07)
        var parameters: [UInt8]
        if action == 7 {
            let tid: [UInt8]
            let rtpi: UInt16
            if flags & 0x40 != 0 {
                tid = input.shortBlob()
                rtpi = input.u16()
            } else {
                let destination = nexuses[Int((flags >> 2) & 0x07)]
                tid = destination.transportID.bytes
                rtpi = destination.relativeTargetPortIdentifier
            }
            parameters = PersistentReserveOut.RegisterAndMoveParameterList(
                reservationKey: ReservationKey(rk), serviceActionReservationKey: ReservationKey(sark),
                unregister: flags & 0x80 != 0, activatePersistThroughPowerLoss: flags & 0x01 != 0,
                relativeTargetPortIdentifier: rtpi, transportID: tid).encode()
        } else {
            parameters = PersistentReserveOut.ParameterList(
                reservationKey: ReservationKey(rk), serviceActionReservationKey: ReservationKey(sark),
                specifyInitiatorPorts: flags & 0x1C == 0x1C, allTargetPorts: flags & 0x1C == 0x18,
                activatePersistThroughPowerLoss: flags & 0x01 != 0).encode()
        }
        let cdb = PersistentReserveOut.CDB(serviceAction: .init(rawValue: action), scope: scope, type: cdbType,
                                           parameterListLength: UInt32(parameters.count)).encode()
        return .command(Command(cdb: cdb, dataOut: parameters, nexus: nexus))
    case 12...15:
        // A PR IN.
        let selector = input.u8()
        let action = selector & 0x80 != 0 ? selector & 0x1F : selector & 0x03
        let allocation = input.u16()
        let dataIn = selector & 0x40 != 0 ? Int(input.u16()) : Int(allocation)
        let cdb = PersistentReserveIn.CDB(serviceAction: .init(rawValue: action), allocationLength: allocation).encode()
        return .command(Command(cdb: cdb, dataInLength: dataIn, nexus: nexus))
    case 16...19:
        // An ordinary command: known opcode, operand bytes from the input.
        let opcode = ordinaryOpcodes[Int(input.u8()) % ordinaryOpcodes.count]
        let length = opcode < 0x20 ? 6 : opcode < 0x60 ? 10 : opcode < 0xA0 ? 16 : 12
        var cdb = [opcode] + input.take(length - 1)
        cdb += [UInt8](repeating: 0, count: length - cdb.count)
        return .command(Command(cdb: cdb, dataInLength: Int(input.u16()), nexus: nexus))
    case 24:
        return .powerOn
    case 25:
        return .unitAttention(nexus)
    default:
        // Raw bytes: any CDB (1-260 bytes as SimulatedLU accepts), any data-out, any data-in size.
        var cdb = input.shortBlob()
        if cdb.isEmpty { cdb = [input.u8()] }
        let dataOut = input.take(Int(input.u16() & 0x0FFF))
        return .command(Command(cdb: cdb, dataOut: dataOut, dataInLength: Int(input.u16()), nexus: nexus))
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEngine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let limitSelector = Int(input.u8() & 0x07)
    let flags = input.u8()
    var state = LogicalUnitState(registrationLimit: limitSelector == 7 ? LogicalUnitState.defaultRegistrationLimit : limitSelector)
    if flags & 0x01 != 0 { state.powerOn() }

    // Nexus 7: an initiator name as `--initiator` or `initiator=` gives it (SimulatedLU's rule), else a fixed one.
    let nameBytes = input.shortBlob()
    var nexuses = fixedNexuses
    let name = String(decoding: nameBytes, as: UTF8.self)
    if (try? SimulatedLU.validate(initiatorName: name)) != nil {
        nexuses.append(Nexus(transportID: .iscsi(name: name), relativeTargetPortIdentifier: 1))
    } else {
        nexuses.append(Nexus(transportID: .iscsi(name: "iqn.2024-01.example:fuzz"), relativeTargetPortIdentifier: 2))
    }

    checkState(state, nexuses: nexuses)
    var steps = 0
    while !input.isAtEnd && steps < 64 {
        steps += 1
        let before = state
        switch nextStep(&input, nexuses: nexuses) {
        case .powerOn:
            state.powerOn()
        case .unitAttention(let nexus):
            state.establishUnitAttention(.commandsClearedByAnotherInitiator, for: nexus)
        case .command(let command):
            let outcome = state.process(cdb: command.cdb, dataOut: command.dataOut, dataInLength: command.dataInLength,
                                        from: command.nexus)
            if tracing { trace(command, outcome, state) }
            checkOutcome(outcome, command: command, before: before, after: state)
        }
        checkState(state, nexuses: nexuses)
    }
    return 0
}

/// FUZZ_TRACE=1: print each command and its outcome (to read what a crash input does).
private let tracing = getenv("FUZZ_TRACE") != nil

private func trace(_ command: Command, _ outcome: EngineOutcome, _ state: LogicalUnitState) {
    var line = "\(command.nexus): cdb \(fuzzHex(command.cdb)) out \(command.dataOut.count) in \(command.dataInLength) -> "
    switch outcome {
    case .proceed: line += "proceed"
    case .response(let response):
        line += "status \(response.status.name)"
        if let sense = response.sense { line += " \(sense.key.name) \(sense.additionalSense)" }
        if !response.data.isEmpty { line += " data \(fuzzHex(Array(response.data.prefix(24))))" }
    }
    line += " | gen \(state.generation) regs \(state.registrations.map { "\($0.key)" }) res \(String(describing: state.reservation?.type.rawValue))\n"
    _ = line.withCString { fputs($0, stderr) }
}

private func checkOutcome(_ outcome: EngineOutcome, command: Command, before: LogicalUnitState, after: LogicalUnitState) {
    let opcode = command.cdb[0]
    guard case .response(let response) = outcome else {
        // An ordinary command the rules allow: PR state untouched; the simulated LU executes it.
        fuzzCheck(after == before, "a command the engine let through changed the state")
        fuzzCheck(opcode != 0x5E && opcode != 0x5F, "PR command returned .proceed")
        _ = SimLUCommands.execute(cdb: command.cdb, dataInLength: command.dataInLength, identity: identity)
        return
    }
    fuzzCheck((response.status == .checkCondition) == (response.sense != nil), "sense iff CHECK CONDITION")
    let isUnitAttention = response.status == .checkCondition && response.sense?.key == .unitAttention
    if isUnitAttention {
        // Reporting a unit attention consumes it and nothing else.
        fuzzCheck(after.registrations == before.registrations && after.reservation == before.reservation
                  && after.generation == before.generation && after.ptplActive == before.ptplActive,
                  "reporting a unit attention changed the reservation state")
        return
    }
    if response.status != .good {
        fuzzCheck(after == before, "a failed command (status \(response.status.rawValue), sense \(String(describing: response.sense))) changed the state")
    }
    if !response.abortedNexuses.isEmpty {
        fuzzCheck(opcode == 0x5F && (command.cdb[1] & 0x1F) == 5 && response.status == .good, "aborted nexuses outside PREEMPT AND ABORT")
        fuzzCheck(!response.abortedNexuses.contains(command.nexus.normalized), "PREEMPT AND ABORT aborts its issuer")
    }
    if opcode == 0x5E {
        fuzzCheck(after == before, "PR IN changed the state")
        fuzzCheck(response.data.count <= max(0, command.dataInLength), "PR IN returned more than the data-in buffer")
        if response.status == .good { checkPRInData(response.data, cdb: command.cdb, state: after) }
    }
    if opcode == 0x5F, response.status == .good {
        fuzzCheck(after.generation == before.generation || after.generation == before.generation &+ 1,
                  "PR OUT moved the generation by more than one")
    }
}

/// PR IN data, decoded with PRCore's own decoders, against the state it describes.
private func checkPRInData(_ data: [UInt8], cdb: [UInt8], state: LogicalUnitState) {
    switch cdb[1] & 0x1F {
    case 0:
        guard let keys = ReadKeysResponse.decode(data) else { return }
        fuzzCheck(keys.generation == state.generation, "READ KEYS generation")
        fuzzCheck(Int(keys.additionalLength) == 8 * state.registrations.count, "READ KEYS additional length")
        fuzzCheck(keys.keys == Array(state.registrations.map(\.key).prefix(keys.keys.count)), "READ KEYS keys")
    case 1:
        guard let reservation = ReadReservationResponse.decode(data) else { return }
        fuzzCheck((reservation.additionalLength != 0) == (state.reservation != nil), "READ RESERVATION presence")
        if let held = reservation.reservation {
            fuzzCheck(held.type == state.reservation?.type, "READ RESERVATION type")
            if state.reservation?.type.isAllRegistrants == true { fuzzCheck(held.key.isZero, "all-registrants key is not 0") }
        }
    case 3:
        guard let full = ReadFullStatusResponse.decode(data) else { return }
        for (index, descriptor) in full.descriptors.enumerated() {
            guard index < state.registrations.count else { fuzzCheck(false, "READ FULL STATUS has extra descriptors"); return }
            let registration = state.registrations[index]
            fuzzCheck(descriptor.key == registration.key, "READ FULL STATUS key")
            fuzzCheck(descriptor.transportID == registration.nexus.transportID, "READ FULL STATUS TransportID")
            fuzzCheck(descriptor.isReservationHolder == state.isHolder(registration.nexus), "READ FULL STATUS R_HOLDER")
        }
    default:
        break
    }
}

/// docs/pr-rules.md §1.1 invariants, and the state file's encoding round trip.
private func checkState(_ state: LogicalUnitState, nexuses: [Nexus]) {
    fuzzCheck(state.registrations.count <= max(state.registrationLimit, 0), "more registrations than the limit")
    var seen = Set<Nexus>()
    for registration in state.registrations {
        fuzzCheck(!registration.key.isZero, "a registration with key 0")
        fuzzCheck(registration.nexus.normalized == registration.nexus, "a registration not in canonical form: \(registration.nexus)")
        fuzzCheck(seen.insert(registration.nexus).inserted, "two registrations for one nexus")
    }
    if let reservation = state.reservation {
        fuzzCheck(reservation.type.isDefined, "reservation of undefined type \(reservation.type.rawValue)")
        fuzzCheck(reservation.scope == 0, "I3: scope \(reservation.scope)")
        switch reservation.holder {
        case .nexus(let holder):
            fuzzCheck(!reservation.type.isAllRegistrants, "a type 7/8 reservation with one holder")
            fuzzCheck(state.isRegistered(holder), "I1: the holder of a type \(reservation.type.rawValue) reservation is not registered")
        case .allRegistrants:
            fuzzCheck(reservation.type.isAllRegistrants, "an all-registrants reservation of type \(reservation.type.rawValue)")
            fuzzCheck(!state.registrations.isEmpty, "I2: an all-registrants reservation without registrants")
        }
    }
    for nexus in nexuses {
        if state.isHolder(nexus) {
            fuzzCheck(state.accessDecision(for: [0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0], from: nexus) == .allowed,
                      "the holder may not write")
        }
        _ = state.pendingUnitAttentions(for: nexus)
    }
    let encoded = state.encode()
    do {
        let decoded = try LogicalUnitState(decoding: encoded)
        fuzzCheck(decoded == state, "state file encoding round trip changed the state")
    } catch {
        fuzzCheck(false, "a state the engine produced does not decode: \(error)")
    }
}
