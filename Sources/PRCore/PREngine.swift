/// The PR engine: `process` runs one command from one nexus against the LU state (`docs/pr-rules.md` §2, §3).
///
/// Processing order (§2.0):
/// 0. A pending unit attention for N is reported first (except INQUIRY, REPORT LUNS, REQUEST SENSE, which neither
///    report nor consume one).
/// 1. (SPC-2 RESERVE is not implemented, so there is no SPC-2 conflict step.)
/// 2. Access check (§3.2) for PR OUT; the §3.1 decision for ordinary commands.
/// 3. PR OUT SA ∉ 00h–07h: CC 5/24/00.
/// 4. PARAMETER LIST LENGTH < 24, or ≠ 24 for SA ≠ 07h with SPEC_I_PT = 0: CC 5/1A/00.
/// 5. Byte 20 (SA ≠ 07h): SPEC_I_PT = 1 → CC 5/26/00 (SIP_C = 0); ALL_TG_PT = 1 on REGISTER/RAIEK → CC 5/26/00
///    (ATP_C = 0); APTPL is supported (PTPL_C = 1); other SAs ignore ALL_TG_PT and APTPL.
/// 6. The per-SA rules, one method each below.
extension LogicalUnitState {
    /// Runs one command. `dataOut` is the data-out buffer; `dataInLength` the initiator's data-in buffer size.
    public mutating func process(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, from nexus: Nexus) -> EngineOutcome {
        let nexus = nexus.normalized
        guard let opcodeByte = cdb.first else { return .response(.illegalRequest(.invalidCommandOperationCode)) }
        let opcode = OperationCode(rawValue: opcodeByte)

        // INQUIRY, REPORT LUNS and REQUEST SENSE: no UA, no conflict (§2.10, §3.3).
        if LogicalUnitState.isUnitAttentionExempt(opcode) { return .proceed }

        // Step 0: a pending unit attention wins over everything else (D24: UA before RESERVATION CONFLICT).
        if let sense = takeUnitAttention(for: nexus) {
            return .response(.checkCondition(.unitAttention, sense))
        }

        switch opcode {
        case .persistentReserveOut:
            return .response(persistentReserveOut(cdb: cdb, dataOut: dataOut, from: nexus))
        case .persistentReserveIn:
            return .response(persistentReserveIn(cdb: cdb, dataInLength: dataInLength))
        default:
            return accessDecision(for: cdb, from: nexus) == .allowed ? .proceed : .response(.reservationConflict)
        }
    }

    /// A switch, not a `Set`: building a set of `OperationCode` costs every process a conformance
    /// lookup (about 86K instructions at start-up, more than the whole PR command).
    static func isUnitAttentionExempt(_ opcode: OperationCode) -> Bool {
        switch opcode {
        case .inquiry, .reportLuns, .requestSense: return true
        default: return false
        }
    }

    // MARK: PERSISTENT RESERVE OUT

    /// §2.0 steps 2–6 for one PR OUT command.
    mutating func persistentReserveOut(cdb bytes: [UInt8], dataOut: [UInt8], from nexus: Nexus) -> SCSIResponse {
        guard let cdb = PersistentReserveOut.CDB.decode(bytes) else { return .illegalRequest(.invalidFieldInCDB) }
        let action = cdb.serviceAction

        // Step 2: access check while a reservation exists and N is not a holder (§3.2).
        if reservation != nil, !holds(nexus) {
            switch action {
            case .reserve, .registerAndMove:
                return .reservationConflict
            case .release, .clear, .preempt, .preemptAndAbort:
                if registrationIndex(of: nexus) == nil { return .reservationConflict }
            default:
                break
            }
        }

        // Step 3: service action range; REPLACE LOST RESERVATION (08h) is not supported.
        guard action.rawValue <= PersistentReserveOut.ServiceAction.registerAndMove.rawValue else {
            return .illegalRequest(.invalidFieldInCDB)
        }

        // Step 4: parameter list length. Only the first PLL bytes of data-out are the parameter list.
        let length = Int(cdb.parameterListLength)
        guard length >= 24, dataOut.count >= 24 else { return .illegalRequest(.parameterListLengthError) }
        let parameterData = Array(dataOut.prefix(length))

        if action == .registerAndMove {
            guard parameterData.count == length else { return .illegalRequest(.parameterListLengthError) }
            return registerAndMove(cdb: cdb, parameterData: parameterData, from: nexus)
        }

        guard let parameters = PersistentReserveOut.ParameterList.decode(parameterData) else {
            return .illegalRequest(.parameterListLengthError)
        }
        if !parameters.specifyInitiatorPorts, length != 24 { return .illegalRequest(.parameterListLengthError) }

        // Step 5: byte 20. SIP_C = 0 and ATP_C = 0; PTPL_C = 1.
        if parameters.specifyInitiatorPorts { return .illegalRequest(.invalidFieldInParameterList) }
        let isRegistration = action == .register || action == .registerAndIgnoreExistingKey
        if isRegistration, parameters.allTargetPorts { return .illegalRequest(.invalidFieldInParameterList) }

        // Step 6.
        switch action {
        case .register: return register(parameters, from: nexus)
        case .registerAndIgnoreExistingKey: return registerAndIgnoreExistingKey(parameters, from: nexus)
        case .reserve: return reserve(type: cdb.type, scope: cdb.scope, parameters, from: nexus)
        case .release: return release(type: cdb.type, scope: cdb.scope, parameters, from: nexus)
        case .clear: return clear(parameters, from: nexus)
        case .preempt: return preempt(type: cdb.type, scope: cdb.scope, parameters, abort: false, from: nexus)
        case .preemptAndAbort: return preempt(type: cdb.type, scope: cdb.scope, parameters, abort: true, from: nexus)
        default: return .illegalRequest(.invalidFieldInCDB)
        }
    }

    /// REGISTER (00h), §2.1 rows R1–R6 and R8 (R7 is §2.0 step 5).
    mutating func register(_ parameters: PersistentReserveOut.ParameterList, from nexus: Nexus) -> SCSIResponse {
        registration(parameters, ignoringExistingKey: false, from: nexus)
    }

    /// REGISTER AND IGNORE EXISTING KEY (06h), §2.2: §2.1 with RK ignored (R1 and R4 never apply).
    mutating func registerAndIgnoreExistingKey(_ parameters: PersistentReserveOut.ParameterList, from nexus: Nexus) -> SCSIResponse {
        registration(parameters, ignoringExistingKey: true, from: nexus)
    }

    /// The shared body of REGISTER and RAIEK: R1–R6, R8; unregistering follows §2.1.1.
    private mutating func registration(_ parameters: PersistentReserveOut.ParameterList, ignoringExistingKey: Bool,
                                       from nexus: Nexus) -> SCSIResponse {
        let rk = parameters.reservationKey, sark = parameters.serviceActionReservationKey
        if let current = key(ofNormalized: nexus) {
            if !ignoringExistingKey, rk != current { return .reservationConflict }  // R4
            if !sark.isZero {
                changeKey(of: nexus, to: sark)  // R5: position kept
            } else {
                unregister(nexus)  // R6
            }
            setPTPLActive(parameters.activatePersistThroughPowerLoss)
        } else {
            if !ignoringExistingKey, !rk.isZero { return .reservationConflict }  // R1
            if !sark.isZero {
                guard registrations.count < registrationLimit else {
                    return .illegalRequest(.insufficientRegistrationResources)  // R8
                }
                addRegistration(nexus, key: sark)  // R3
                setPTPLActive(parameters.activatePersistThroughPowerLoss)
            }
            // R2: unregistered, SARK = 0: nothing but the generation.
        }
        incrementGeneration()
        return .good()
    }

    /// §2.1.1: remove N; an implicitly released type 5/6 reservation gives 2A/04 to every remaining registrant;
    /// types 1/3 release silently; a type 7/8 reservation persists unless N was the last registrant.
    private mutating func unregister(_ nexus: Nexus) {
        guard let released = removeRegistration(of: nexus) else { return }
        if released.type.isRegistrantsOnly {
            for registration in registrations { queueUnitAttention(.reservationsReleased, for: registration.nexus) }
        }
    }

    /// RESERVE (01h), §2.3 rows V1–V8.
    mutating func reserve(type: ReservationType, scope: UInt8, _ parameters: PersistentReserveOut.ParameterList,
                          from nexus: Nexus) -> SCSIResponse {
        guard let current = key(ofNormalized: nexus) else { return .reservationConflict }  // V1
        guard parameters.reservationKey == current else { return .reservationConflict }  // V2
        guard type.isDefined else { return .illegalRequest(.invalidFieldInCDB) }  // V3
        guard scope == 0 else { return .illegalRequest(.invalidFieldInCDB) }  // V4
        guard let existing = reservation else {
            setReservation(Reservation(type: type, scope: scope, holder: type.isAllRegistrants ? .allRegistrants : .nexus(nexus)))
            return .good()  // V5: gen unchanged
        }
        guard holds(nexus) else { return .reservationConflict }  // V6
        return existing.type == type && existing.scope == scope ? .good() : .reservationConflict  // V7, V8
    }

    /// RELEASE (02h), §2.4 rows L1–L6.
    mutating func release(type: ReservationType, scope: UInt8, _ parameters: PersistentReserveOut.ParameterList,
                          from nexus: Nexus) -> SCSIResponse {
        guard let current = key(ofNormalized: nexus) else { return .reservationConflict }  // L1
        guard parameters.reservationKey == current else { return .reservationConflict }  // L2
        guard let existing = reservation else { return .good() }  // L3
        guard holds(nexus) else { return .good() }  // L4
        guard existing.type == type, existing.scope == scope else {
            return .illegalRequest(.invalidReleaseOfPersistentReservation)  // L5
        }
        setReservation(nil)  // L6: registrations kept, gen unchanged
        if existing.type.isRegistrantsOnly || existing.type.isAllRegistrants {
            for registration in registrations where registration.nexus != nexus {
                queueUnitAttention(.reservationsReleased, for: registration.nexus)
            }
        }
        return .good()
    }

    /// CLEAR (03h), §2.5 rows C1–C3. TYPE, SCOPE and SARK are ignored.
    mutating func clear(_ parameters: PersistentReserveOut.ParameterList, from nexus: Nexus) -> SCSIResponse {
        guard let current = key(ofNormalized: nexus) else { return .reservationConflict }  // C1
        guard parameters.reservationKey == current else { return .reservationConflict }  // C2
        let others = registrations.map(\.nexus).filter { $0 != nexus }
        setReservation(nil)  // C3
        removeAllRegistrations()
        for other in others { queueUnitAttention(.reservationsPreempted, for: other) }
        incrementGeneration()
        return .good()
    }

    /// PREEMPT (04h) and PREEMPT AND ABORT (05h), §2.6 cases P1–P7 (first match applies) and P-val.
    /// With `abort`, the response lists every other nexus that lost its registration or the reservation.
    mutating func preempt(type: ReservationType, scope: UInt8, _ parameters: PersistentReserveOut.ParameterList,
                          abort: Bool, from nexus: Nexus) -> SCSIResponse {
        guard let current = key(ofNormalized: nexus) else { return .reservationConflict }
        guard parameters.reservationKey == current else { return .reservationConflict }
        let sark = parameters.serviceActionReservationKey
        let newHolder: Holder = type.isAllRegistrants ? .allRegistrants : .nexus(nexus)
        var affected: [Nexus] = []

        if let existing = reservation {
            if existing.type.isAllRegistrants {
                if sark.isZero {
                    // P1: every other registration goes; N gets a new reservation.
                    if let invalid = preemptValidation(type: type, scope: scope) { return invalid }
                    affected = removePreempted({ _ in true }, issuer: nexus, keepingIssuer: true)
                    setReservation(Reservation(type: type, scope: scope, holder: newHolder))
                } else {
                    // P2: registrations with key SARK go (N kept); the reservation persists (I2).
                    guard registrations.contains(where: { $0.key == sark }) else { return .reservationConflict }
                    affected = removePreempted({ $0 == sark }, issuer: nexus, keepingIssuer: true)
                }
            } else if case .nexus(let holder) = existing.holder, let holderKey = key(ofNormalized: holder), sark == holderKey {
                // P3: the holder is preempted; N holds a reservation of the CDB's TYPE.
                if let invalid = preemptValidation(type: type, scope: scope) { return invalid }
                setReservation(nil)
                affected = removePreempted({ $0 == sark }, issuer: nexus, keepingIssuer: true)
                if holder != nexus, !affected.contains(holder) { affected.append(holder) }
                setReservation(Reservation(type: type, scope: scope, holder: newHolder))
                if existing.type != type || existing.scope != scope {
                    for registration in registrations where registration.nexus != nexus {
                        queueUnitAttention(.reservationsReleased, for: registration.nexus)
                    }
                }
            } else if sark.isZero {
                return .illegalRequest(.invalidFieldInParameterList)  // P4
            } else {
                // P5: removal only, N included if its key is SARK; reservation unchanged.
                guard registrations.contains(where: { $0.key == sark }) else { return .reservationConflict }
                affected = removePreempted({ $0 == sark }, issuer: nexus, keepingIssuer: false)
            }
        } else if sark.isZero {
            return .illegalRequest(.invalidFieldInParameterList)  // P6
        } else {
            // P7: as P5.
            guard registrations.contains(where: { $0.key == sark }) else { return .reservationConflict }
            affected = removePreempted({ $0 == sark }, issuer: nexus, keepingIssuer: false)
        }
        incrementGeneration()
        var response = SCSIResponse.good()
        if abort { response.abortedNexuses = affected.filter { $0 != nexus } }
        return response
    }

    /// P-val: TYPE ∉ {1,3,5,6,7,8} or SCOPE ≠ 0 gives CC 5/24/00 (only for P1 and P3).
    private func preemptValidation(type: ReservationType, scope: UInt8) -> SCSIResponse? {
        type.isDefined && scope == 0 ? nil : .illegalRequest(.invalidFieldInCDB)
    }

    /// Remove(K, keep): removes every registration whose key matches, except the issuer's when `keepingIssuer`;
    /// queues 2A/05 for each removed nexus other than the issuer. Returns the removed nexuses.
    private mutating func removePreempted(_ matches: (ReservationKey) -> Bool, issuer: Nexus, keepingIssuer: Bool) -> [Nexus] {
        let victims = registrations.filter { matches($0.key) && !(keepingIssuer && $0.nexus == issuer) }.map(\.nexus)
        for victim in victims {
            removeRegistration(of: victim)
            if victim != issuer { queueUnitAttention(.registrationsPreempted, for: victim) }
        }
        return victims
    }

    /// REGISTER AND MOVE (07h), §2.7 rows M1–M9.
    mutating func registerAndMove(cdb: PersistentReserveOut.CDB, parameterData: [UInt8], from nexus: Nexus) -> SCSIResponse {
        guard let current = key(ofNormalized: nexus) else { return .reservationConflict }  // M1
        guard let declared = PersistentReserveOut.RegisterAndMoveParameterList.transportIDParameterDataLength(in: parameterData),
              UInt64(declared) + 24 == UInt64(parameterData.count),
              let parameters = PersistentReserveOut.RegisterAndMoveParameterList.decode(parameterData) else {
            return .illegalRequest(.invalidFieldInParameterList)  // M2
        }
        guard parameters.reservationKey == current else { return .reservationConflict }  // M3
        guard !parameters.serviceActionReservationKey.isZero else { return .illegalRequest(.invalidFieldInParameterList) }  // M4
        guard let existing = reservation else { return .illegalRequest(.invalidFieldInCDB) }  // M5
        guard holds(nexus) else { return .reservationConflict }  // M6
        guard !existing.type.isAllRegistrants else { return .reservationConflict }  // M7
        // M8: the destination must be a well-formed TransportID naming another I_T nexus.
        guard let tid = TransportID.decode(atStartOf: parameters.transportID), tid.bytes.count == parameters.transportID.count,
              LogicalUnitState.isUsableDestination(tid), parameters.relativeTargetPortIdentifier != 0 else {
            return .illegalRequest(.invalidFieldInParameterList)
        }
        let destination = Nexus(transportID: tid, relativeTargetPortIdentifier: parameters.relativeTargetPortIdentifier).normalized
        guard destination != nexus else { return .illegalRequest(.invalidFieldInParameterList) }

        // M9.
        if registrationIndex(of: destination) != nil {
            changeKey(of: destination, to: parameters.serviceActionReservationKey)
        } else {
            guard registrations.count < registrationLimit else { return .illegalRequest(.insufficientRegistrationResources) }
            addRegistration(destination, key: parameters.serviceActionReservationKey)
        }
        setReservation(Reservation(type: existing.type, scope: existing.scope, holder: .nexus(destination)))
        if parameters.unregister { removeRegistration(of: nexus) }  // N is no longer the holder: no implicit release
        setPTPLActive(parameters.activatePersistThroughPowerLoss)
        incrementGeneration()
        return .good()
    }

    /// A destination TransportID the engine can identify: iSCSI format 00b/01b, FC, SAS, SRP or SBP.
    private static func isUsableDestination(_ tid: TransportID) -> Bool {
        if case .unknown = tid.decoded { return false }
        return true
    }

    func key(ofNormalized nexus: Nexus) -> ReservationKey? {
        registrationIndex(of: nexus).map { registrations[$0].key }
    }

    // MARK: PERSISTENT RESERVE IN

    /// READ KEYS, READ RESERVATION, REPORT CAPABILITIES, READ FULL STATUS (§4.1–§4.5); data cut to
    /// min(ALLOCATION LENGTH, data-in buffer, full length), ADDITIONAL LENGTH untruncated (D22: never an error).
    func persistentReserveIn(cdb bytes: [UInt8], dataInLength: Int) -> SCSIResponse {
        guard let cdb = PersistentReserveIn.CDB.decode(bytes) else { return .illegalRequest(.invalidFieldInCDB) }
        let full: [UInt8]
        switch cdb.serviceAction {
        case .readKeys: full = readKeys().encode()
        case .readReservation: full = readReservation().encode()
        case .reportCapabilities: full = reportCapabilities().encode()
        case .readFullStatus: full = readFullStatus().encode()
        default: return .illegalRequest(.invalidFieldInCDB)
        }
        let count = min(Int(cdb.allocationLength), max(0, dataInLength), full.count)
        return .good(Array(full.prefix(count)))
    }

    /// READ KEYS data (§4.2): every key in registration order.
    public func readKeys() -> ReadKeysResponse {
        ReadKeysResponse(generation: generation, keys: registrations.map(\.key))
    }

    /// READ RESERVATION data (§4.3): the holder's key, 0 for types 7/8.
    public func readReservation() -> ReadReservationResponse {
        guard let reservation else { return ReadReservationResponse(generation: generation, reservation: nil) }
        var holderKey = ReservationKey.zero
        if case .nexus(let holder) = reservation.holder { holderKey = key(ofNormalized: holder) ?? .zero }
        return ReadReservationResponse(generation: generation,
                                       reservation: .init(key: holderKey, scope: reservation.scope, type: reservation.type))
    }

    /// REPORT CAPABILITIES data (§4.4): `00 08 01 90|PTPL_A EA 01 00 00`.
    public func reportCapabilities() -> ReportCapabilitiesResponse {
        ReportCapabilitiesResponse(persistThroughPowerLossCapable: true, typeMaskValid: true, allowCommands: 1,
                                   persistThroughPowerLossActivated: ptplActive, typeMask: 0xEA01)
    }

    /// READ FULL STATUS data (§4.5): one descriptor per registration; R_HOLDER and TYPE for every holder.
    public func readFullStatus() -> ReadFullStatusResponse {
        let descriptors = registrations.map { registration -> FullStatusDescriptor in
            let holder = holds(registration.nexus)
            return FullStatusDescriptor(key: registration.key, allTargetPorts: false, isReservationHolder: holder,
                                        scope: holder ? reservation?.scope ?? 0 : 0,
                                        type: holder ? reservation?.type ?? ReservationType(rawValue: 0) : ReservationType(rawValue: 0),
                                        relativeTargetPortIdentifier: registration.nexus.relativeTargetPortIdentifier,
                                        transportID: registration.nexus.transportID)
        }
        return ReadFullStatusResponse(generation: generation, descriptors: descriptors)
    }
}
