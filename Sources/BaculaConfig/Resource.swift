// What a bacula-sd.conf holds once read: resources of directives, each with the place it came from.

/// `Name = value` inside a resource.
public struct Directive: Equatable, Sendable {
    /// The key: the name lower-cased with spaces removed (`Control Device` -> `controldevice`), as Bacula
    /// compares directive names (case-insensitively, after its scanner dropped the spaces).
    public var key: String
    /// The name as written, without its spaces (`ControlDevice`).
    public var name: String
    /// The value as Bacula's string handlers store it: the first token after `=` (quotes removed, escapes
    /// applied; an unquoted value ends where the scanner ends it, and Bacula ignores the rest of the line).
    public var value: String
    /// The comma-separated list as Bacula's list handlers read it (`Device = a, b` -> `["a", "b"]`): `value`,
    /// then one entry per comma that immediately follows an entry.
    public var values: [String]
    /// Where the directive's name is: the file as named, and its 1-based line.
    public var file: String
    public var line: Int

    public init(key: String, name: String, value: String, values: [String], file: String, line: Int) {
        self.key = key
        self.name = name
        self.value = value
        self.values = values
        self.file = file
        self.line = line
    }
}

/// `Type { ... }`: a Storage, Director, Device, Autochanger, Messages, Cloud or Statistics resource.
public struct Resource: Equatable, Sendable {
    /// The resource type as Bacula spells it (`Autochanger`, whatever case and spacing the file used).
    public var type: String
    /// Its `Name` directive (Bacula refuses a resource without one).
    public var name: String
    public var directives: [Directive]
    /// Where the type word is.
    public var file: String
    public var line: Int

    public init(type: String, name: String, directives: [Directive], file: String, line: Int) {
        self.type = type
        self.name = name
        self.directives = directives
        self.file = file
        self.line = line
    }

    /// Every directive with this name (compared as Bacula does: case and spaces ignored).
    public func directives(named name: String) -> [Directive] {
        let key = BaculaConfig.directiveKey(name)
        return directives.filter { $0.key == key }
    }

    /// The first directive with this name.
    public func directive(named name: String) -> Directive? {
        directives(named: name).first
    }
}
