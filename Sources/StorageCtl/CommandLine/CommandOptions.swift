/// Which options belong to which commands, as the commands declare them (`Verb.ownOptions`,
/// `DevicelessCommand.ownOptions`, `DevicelessCommand.shortOptions`): an option no command declares
/// is everyone's (`-c`, `-k`, `-v`, ...); one that some command declares is refused, in one line, by
/// every other (`trylock -w 5` has no wait to bound and must not look as if it had).
enum CommandOptions {
    /// The commands `option` belongs to; empty for an option of every command. (A loop over the commands, not
    /// an array of (name, options) tuples: built at every start-up, that cost ~60K instructions.)
    static func owners(of option: Invocation.Option) -> [String] {
        var names: [String] = []
        for verb in Verbs.all where verb.ownOptions.contains(option) { names.append(verb.name) }
        for command in DevicelessCommands.all where command.ownOptions.contains(option) { names.append(command.name) }
        return names
    }

    /// The first option set in `invocation` that belongs to other commands than `name`, refused with a
    /// usage error saying which commands it goes with (and, where `name` gives the letter a meaning of
    /// its own, where to put it: `storage-ctl -w 60 check` is `--wait`, check's `-w` comes after it).
    static func refuseForeign(_ invocation: Invocation, for name: String) throws(StorageCtlError) {
        for option in Invocation.Option.allCases where invocation.isSet(option) {
            let owners = owners(of: option)
            guard !owners.isEmpty, !owners.contains(name) else { continue }
            var text = "--\(option.long) goes with \(owners.joined(separator: " and ")) only"
            if let letter = option.short, let own = DevicelessCommands.named(name)?.shortOptions[letter] {
                text += " (\(name)'s -\(letter) is --\(own.long): put it after \(name))"
            }
            throw .usage(text)
        }
    }
}
