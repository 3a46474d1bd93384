// The drives a storage daemon locks: every Device resource with a Control Device, with what storage-ctl
// needs to query it.
//
// Autochangers: an Autochanger's `Device = a, b` lines name its drives. bacula-sd 9.6.7 accepts a
// `Lock Command` in an Autochanger resource and refuses a `Control Device` there ("Keyword "ControlDevice"
// not permitted in this resource"); Bacula Enterprise's shared-storage guide documents both directives on
// Device resources only. So a Device without its own Lock Command takes its Autochanger's (as the daemon
// would run it), and a Control Device is always the Device's own: the SCSI generic node is per drive anyway.

/// One drive: a Device resource that has a Control Device.
public struct Drive: Equatable, Sendable {
    /// Where the Lock Command came from.
    public enum LockCommandSource: Equatable, Sendable {
        case device
        case autochanger(String)
        case none
    }

    /// The Device's Name.
    public var name: String
    public var archiveDevice: String?
    public var controlDevice: String
    public var lockCommand: String?
    public var lockCommandSource: LockCommandSource
    /// The Autochanger whose `Device` list names this device, if any (the first one, if several do).
    public var autochanger: String?
    /// Where the Device resource begins.
    public var file: String
    public var line: Int

    public init(name: String, archiveDevice: String?, controlDevice: String, lockCommand: String?,
                lockCommandSource: LockCommandSource, autochanger: String?, file: String, line: Int) {
        self.name = name
        self.archiveDevice = archiveDevice
        self.controlDevice = controlDevice
        self.lockCommand = lockCommand
        self.lockCommandSource = lockCommandSource
        self.autochanger = autochanger
        self.file = file
        self.line = line
    }
}

/// An Autochanger resource: its changer and the Devices its `Device` lines name.
public struct Autochanger: Equatable, Sendable {
    public var name: String
    public var changerDevice: String?
    /// Every name of every `Device = a, b` line, in order.
    public var devices: [String]
    public var lockCommand: String?
    /// Where the Autochanger resource begins.
    public var file: String
    public var line: Int

    public init(name: String, changerDevice: String?, devices: [String], lockCommand: String?, file: String, line: Int) {
        self.name = name
        self.changerDevice = changerDevice
        self.devices = devices
        self.lockCommand = lockCommand
        self.file = file
        self.line = line
    }
}

extension BaculaConfig {
    /// The Autochangers of a parsed configuration, in file order, checked as `drives(in:)` checks them.
    public static func autochangers(in resources: [Resource]) throws(BaculaConfigError) -> [Autochanger] {
        _ = try drives(in: resources)
        var changers: [Autochanger] = []
        for changer in resources where changer.type == "Autochanger" {
            changers.append(Autochanger(name: changer.name,
                                        changerDevice: try single("Changer Device", in: changer)?.value,
                                        devices: changer.directives(named: "Device").flatMap(\.values),
                                        lockCommand: try single("Lock Command", in: changer)?.value,
                                        file: changer.file, line: changer.line))
        }
        return changers
    }

    /// The drives of a parsed configuration, in the order of their Device resources. Refuses what bacula-sd
    /// refuses among the directives used here: one of them given twice in a resource ("Attempt to
    /// redefine"), an Autochanger naming a Device that is not defined.
    public static func drives(in resources: [Resource]) throws(BaculaConfigError) -> [Drive] {
        let devices = resources.filter { $0.type == "Device" }
        var changerOf: [String: (name: String, lockCommand: String?)] = [:]
        for changer in resources where changer.type == "Autochanger" {
            let lockCommand = try single("Lock Command", in: changer)
            if let control = changer.directive(named: "Control Device") {
                throw BaculaConfigError(file: control.file, line: control.line,
                                        message: "Control Device in Autochanger \"\(changer.name)\": bacula-sd accepts it only in a Device resource")
            }
            for list in changer.directives(named: "Device") {
                for member in list.values {
                    guard devices.contains(where: { $0.name == member }) else {
                        throw BaculaConfigError(file: list.file, line: list.line,
                                                message: "Autochanger \"\(changer.name)\" names Device \"\(member)\", which is not defined")
                    }
                    if changerOf[member] == nil { changerOf[member] = (changer.name, lockCommand?.value) }
                }
            }
        }
        var drives: [Drive] = []
        for device in devices {
            let archive = try single("Archive Device", in: device)
            let lock = try single("Lock Command", in: device)
            guard let control = try single("Control Device", in: device) else { continue }
            let changer = changerOf[device.name]
            var source = Drive.LockCommandSource.none
            var command: String?
            if let lock {
                source = .device
                command = lock.value
            } else if let changer, let inherited = changer.lockCommand {
                source = .autochanger(changer.name)
                command = inherited
            }
            drives.append(Drive(name: device.name, archiveDevice: archive?.value, controlDevice: control.value,
                                lockCommand: command, lockCommandSource: source, autochanger: changer?.name,
                                file: device.file, line: device.line))
        }
        return drives
    }

    /// The directive if given once, nil if not given, an error if given twice.
    private static func single(_ name: String, in resource: Resource) throws(BaculaConfigError) -> Directive? {
        let found = resource.directives(named: name)
        if found.count > 1 {
            throw BaculaConfigError(file: found[1].file, line: found[1].line,
                                    message: "second \(name) in \(resource.type) \"\(resource.name)\" (the first is at \(found[0].file):\(found[0].line))")
        }
        return found.first
    }
}
