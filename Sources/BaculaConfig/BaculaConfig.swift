// The reader of the storage daemon's configuration: Bacula's parse_config() loop (src/lib/parse_conf.c, 9.6)
// over our scanner, without Bacula's per-directive tables. What it checks is what Bacula checks for every
// resource: the top level holds only `Type {` of a type bacula-sd knows; inside, `Name = value` lines at
// brace level 1 (bacula-sd.conf has no nested blocks except the `SDAddresses = { ... }` value); every
// resource has one Name, unique for its type; the file ends outside any resource. Unknown directive names
// and the types of values are not checked (Bacula refuses those; we read every directive the same way:
// the first value, a list when commas follow, and the rest of the line skipped as Bacula's handlers do).

public enum BaculaConfig {
    /// Where bacula-sd.conf is looked for when no file is named: Bacula Enterprise's and the Debian package's.
    public static let defaultPaths = ["/opt/bacula/etc/bacula-sd.conf", "/etc/bacula/bacula-sd.conf"]

    /// The resource types bacula-sd 9.6 knows (src/stored/stored_conf.c), spelled as Bacula does.
    public static let resourceTypes = ["Director", "Storage", "Device", "Messages", "Autochanger", "Cloud", "Statistics"]

    /// Directives whose value is a `{ ... }` block (store_addresses).
    static let blockDirectives: Set<String> = ["sdaddresses", "diraddresses", "fdaddresses"]

    /// Bacula's limit on a Name (MAX_RES_NAME_LENGTH).
    public static let maxNameLength = 127

    /// Limits of this reader (Bacula's own are its 5000-byte token buffer and the open-file limit).
    public static let maxTokenLength = Lexer.maxTokenLength
    public static let maxFileSize = Lexer.maxFileSize
    public static let maxTotalSize = Lexer.maxTotalSize
    public static let maxIncludeDepth = Lexer.maxIncludeDepth

    /// What bacula-sd 9.6.7 accepts in a Name: ASCII letters and digits, `:`, `.`, `-`, `_`, space.
    static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ":", ".", "-", "_", " ": return true
        default: return false
        }
    }

    /// `Control Device` -> `controldevice`.
    public static func directiveKey(_ name: String) -> String {
        String(name.lowercased().unicodeScalars.filter { !($0 == " " || $0 == "\t") })
    }

    /// Reads `path` and the files it includes.
    /// - Parameters:
    ///   - reader: where files come from (the disk by default).
    ///   - directory: what relative paths (the main file's and `@` includes') are resolved against; Bacula
    ///     uses its working directory, and so do we by default.
    public static func parse(path: String, reader: any ConfigFileReader = FileSystemConfigFiles(),
                             directory: String? = nil) throws(BaculaConfigError) -> [Resource] {
        var lexer = try Lexer(path: path, reader: reader,
                              directory: directory ?? FileSystemConfigFiles.currentDirectory())
        var parser = Parser()
        return try parser.run(&lexer)
    }
}

private struct Parser {
    var resources: [Resource] = []

    mutating func run(_ lexer: inout Lexer) throws(BaculaConfigError) -> [Resource] {
        var level = 0          // Bacula's, never reset between resources
        var open: (type: String, place: Place, name: String?, nameDirective: Directive?, directives: [Directive])?

        func fail(_ place: Place, _ message: String) -> BaculaConfigError {
            BaculaConfigError(file: place.file, line: place.line, message: message)
        }

        while true {
            let token = try lexer.next()
            if token.kind == .endOfFile { break }
            guard let current = open else {
                if token.kind == .endOfLine { continue }
                guard token.kind == .identifier else {
                    throw fail(token.place, "expected a resource type (\(BaculaConfig.resourceTypes.joined(separator: ", "))), got: \(token.shown)")
                }
                guard let type = BaculaConfig.resourceTypes.first(where: { $0.lowercased() == token.text.lowercased() }) else {
                    throw fail(token.place, "unknown resource type \"\(token.text)\" (bacula-sd knows \(BaculaConfig.resourceTypes.joined(separator: ", ")))")
                }
                open = (type, token.place, nil, nil, [])
                continue
            }
            switch token.kind {
            case .beginBlock:
                level += 1
            case .endOfLine:
                continue
            case .identifier:
                if level < 1 {
                    throw fail(token.place, "\"\(token.text)\" before the '{' of the \(current.type) resource")
                }
                if level > 1 {
                    throw fail(token.place, "\"\(token.text)\" inside nested braces: \(current.type) resources have no inner blocks")
                }
                let directive = try Self.directive(named: token, in: current.type, opened: current.place, &lexer)
                var updated = current
                if directive.key == "name" {
                    if let first = current.nameDirective {
                        throw fail(token.place, "second Name in the \(current.type) resource (the first, \"\(first.value)\", is at \(first.file):\(first.line))")
                    }
                    updated.name = directive.value
                    updated.nameDirective = directive
                }
                updated.directives.append(directive)
                open = updated
            case .endBlock:
                level -= 1
                open = nil
                guard let name = current.name else {
                    throw fail(token.place, "\(current.type) resource without a Name")
                }
                if let earlier = resources.first(where: { $0.type == current.type && $0.name == name }) {
                    throw fail(current.nameDirective.map { Place(file: $0.file, line: $0.line) } ?? token.place,
                               "second \(current.type) resource named \"\(name)\" (the first is at \(earlier.file):\(earlier.line))")
                }
                resources.append(Resource(type: current.type, name: name, directives: current.directives,
                                          file: current.place.file, line: current.place.line))
            default:
                throw fail(token.place, "unexpected \(token.kind == .equals ? "'='" : token.kind == .comma ? "','" : token.shown) in the \(current.type) resource")
            }
        }
        if let current = open {
            throw fail(current.place, "\(current.type) resource not closed: end of file reached before its '}'")
        }
        return resources
    }

    /// `Name = value ...` from the name on: Bacula's `=` check and a generic version of its store handlers.
    static func directive(named nameToken: Token, in type: String, opened: Place,
                          _ lexer: inout Lexer) throws(BaculaConfigError) -> Directive {
        let key = BaculaConfig.directiveKey(nameToken.text)
        func fail(_ place: Place, _ message: String) -> BaculaConfigError {
            BaculaConfigError(file: place.file, line: place.line, message: message)
        }
        let equals = try lexer.next(skipEndOfLine: true)
        if equals.kind == .beginBlock,
           let inner = BaculaConfig.resourceTypes.first(where: { $0.lowercased() == key }) {
            throw fail(nameToken.place, "\(inner) resource inside the \(type) resource that begins at \(opened.file):\(opened.line): is that one's '}' missing?")
        }
        guard equals.kind == .equals else {
            throw fail(equals.place, "expected '=' after \"\(nameToken.text)\", got: \(equals.shown)")
        }
        // Names (Name, and the Device list of an Autochanger, read by store_alist_res) are Bacula's T_NAME:
        // a number is refused there. That list must also end its line (Bacula's lex_check_eol).
        let isDeviceList = type == "Autochanger" && key == "device"
        let isName = key == "name" || isDeviceList
        func value(after what: String) throws(BaculaConfigError) -> String {
            let token = try lexer.next()
            switch token.kind {
            case .number where isName:
                throw fail(token.place, "expected a name after \"\(what)\", got the number \(token.text)")
            case .identifier, .unquotedString, .quotedString, .number:
                return token.text
            case .beginBlock where BaculaConfig.blockDirectives.contains(key):
                return try block(&lexer)
            default:
                throw fail(token.place, "expected a value after \"\(what)\", got: \(token.kind == .equals ? "'='" : token.kind == .beginBlock ? "'{'" : token.kind == .comma ? "','" : token.shown)")
            }
        }
        let first = try value(after: "\(nameToken.text) =")
        if key == "name" {
            // Bacula's is_name_valid (9.6.7 allows letters, digits and ":.-_ ").
            if first.isEmpty {
                throw fail(nameToken.place, "empty Name")
            }
            if first.utf8.count > BaculaConfig.maxNameLength {
                throw fail(nameToken.place, "Name longer than \(BaculaConfig.maxNameLength) characters")
            }
            if let bad = first.unicodeScalars.first(where: { !BaculaConfig.isNameCharacter($0) }) {
                throw fail(nameToken.place, "character \"\(bad)\" not allowed in the Name \"\(first)\" (bacula-sd allows letters, digits, ':', '.', '-', '_' and space)")
            }
        }
        var values = [first]
        while lexer.lastChar == Int(UInt8(ascii: ",")) {
            _ = try lexer.next()                       // the comma
            values.append(try value(after: ","))
        }
        if isDeviceList {
            let end = try lexer.next()
            guard end.kind == .endOfLine || end.kind == .endOfFile else {
                throw fail(end.place, "unexpected \(end.kind == .endBlock ? "'}'" : end.kind == .comma ? "','" : end.kind == .equals ? "'='" : end.shown) after the Device list of Autochanger: bacula-sd wants the list to end its line, with a comma right after each name but the last")
            }
            return Directive(key: key, name: nameToken.text, value: first, values: values,
                             file: nameToken.place.file, line: nameToken.place.line)
        }
        // Bacula's scan_to_eol: the rest of the logical line is ignored, up to a '}' which closes the resource.
        while true {
            let token = try lexer.next()
            if token.kind == .endOfLine || token.kind == .endOfFile { break }
            if token.kind == .endBlock { lexer.ungetLastChar(); break }
        }
        return Directive(key: key, name: nameToken.text, value: first, values: values,
                         file: nameToken.place.file, line: nameToken.place.line)
    }

    /// A `{ ... }` value (SDAddresses): its tokens joined by single spaces, ends of lines left out.
    static func block(_ lexer: inout Lexer) throws(BaculaConfigError) -> String {
        var depth = 1
        var parts = ["{"]
        let start = lexer.tokenStart
        while depth > 0 {
            let token = try lexer.next(skipEndOfLine: true)
            switch token.kind {
            case .endOfFile:
                throw BaculaConfigError(file: start.file, line: start.line, message: "'{' of an address block not closed")
            case .beginBlock: depth += 1; parts.append("{")
            case .endBlock: depth -= 1; parts.append("}")
            case .equals: parts.append("=")
            case .comma: parts.append(",")
            case .endOfLine: continue
            case .quotedString: parts.append("\"\(token.text)\"")
            default: parts.append(token.text)
            }
        }
        return parts.joined(separator: " ")
    }
}
