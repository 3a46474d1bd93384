import PRCore

/// `--json` documents of `query` and `caps` (schemas in the README).
enum QueryJSON {
    static func device(_ path: String, _ inquiry: StandardInquiryData) -> [(String, JSON)] {
        [
            ("device", .string(path)),
            ("vendor", .string(inquiry.vendor)),
            ("product", .string(inquiry.product)),
            ("revision", .string(inquiry.revision)),
            ("peripheral_type", .string(inquiry.peripheralDeviceType.name)),
        ]
    }

    static func transportID(_ id: TransportID) -> JSON {
        switch id.decoded {
        case .iscsiName(let name):
            return .object([("protocol", .string("iscsi")), ("name", .string(name))])
        case .iscsiPort(let name, let isid):
            return .object([("protocol", .string("iscsi")), ("name", .string(name)), ("isid", .string(isid))])
        case .fibreChannel:
            return .object([("protocol", .string("fc")), ("wwpn", .string(id.description))])
        case .sas:
            return .object([("protocol", .string("sas")), ("address", .string(id.description))])
        case .srp:
            return .object([("protocol", .string("srp")), ("port_id", .string(id.description))])
        case .sbp:
            return .object([("protocol", .string("sbp")), ("eui64", .string(id.description))])
        case .unknown(let proto, _):
            return .object([("protocol", .int(Int64(proto))), ("bytes", .string(id.description))])
        }
    }

    static func reservationJSON(_ type: ReservationType, holders: [ReservationKey], settings: Settings) -> JSON {
        .object([
            ("type", .int(Int64(type.rawValue))),
            ("type_name", .string(type.name)),
            ("holders", .array(holders.map(settings.keyJSON))),
        ])
    }

    static func render(path: String, inquiry: StandardInquiryData, status: FullStatus?,
                       keys: Registrations?, reservation: ReservationState?, settings: Settings) -> JSON {
        var members = device(path, inquiry)
        var registrations: [JSON] = []
        var reserved: JSON = .null
        if let status {
            members.append(("generation", .int(Int64(status.generation))))
            var holders: [ReservationKey] = []
            var type: ReservationType? = nil
            for d in status.descriptors {
                if d.isReservationHolder { holders.append(d.key); type = d.type }
                registrations.append(.object([
                    ("key", .string(d.key.description)),
                    ("name", .optional(settings.name(of: d.key))),
                    ("holder", .bool(d.isReservationHolder)),
                    ("all_target_ports", .bool(d.allTargetPorts)),
                    ("relative_target_port", .int(Int64(d.relativeTargetPortIdentifier))),
                    ("transport_id", transportID(d.transportID)),
                ]))
            }
            if let type { reserved = reservationJSON(type, holders: holders, settings: settings) }
        } else if let keys, let reservationResponse = reservation {
            members.append(("generation", .int(Int64(keys.generation))))
            let res = reservationResponse.reservation
            for key in keys.keys {
                let holds = res.map { $0.type.isAllRegistrants || $0.key == key } ?? false
                registrations.append(.object([
                    ("key", .string(key.description)),
                    ("name", .optional(settings.name(of: key))),
                    ("holder", .bool(holds)),
                    ("all_target_ports", .null),
                    ("relative_target_port", .null),
                    ("transport_id", .null),
                ]))
            }
            if let res {
                reserved = reservationJSON(res.type, holders: res.type.isAllRegistrants ? keys.keys : [res.key], settings: settings)
            }
        }
        members.append(("registrations", .array(registrations)))
        members.append(("reservation", reserved))
        return .object(members)
    }

    static func render(path: String, inquiry: StandardInquiryData, capabilities: ReservationCapabilities) -> JSON {
        let c = capabilities.asReport
        var members = device(path, inquiry)
        members += [
            ("replace_lost_reservation_capable", .bool(c.replaceLostReservationCapable)),
            ("compatible_reservation_handling", .bool(c.compatibleReservationHandling)),
            ("specify_initiator_ports_capable", .bool(c.specifyInitiatorPortsCapable)),
            ("all_target_ports_capable", .bool(c.allTargetPortsCapable)),
            ("persist_through_power_loss_capable", .bool(c.persistThroughPowerLossCapable)),
            ("type_mask_valid", .bool(c.typeMaskValid)),
            ("allow_commands", .int(Int64(c.allowCommands))),
            ("persist_through_power_loss_active", .bool(c.persistThroughPowerLossActivated)),
            ("types", .array(c.typeMaskValid ? c.supportedTypes.map { .object([("type", .int(Int64($0.rawValue))), ("name", .string($0.name))]) } : [])),
        ]
        return .object(members)
    }
}
