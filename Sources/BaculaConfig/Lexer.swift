// The scanner of Bacula's configuration language, as Bacula's src/lib/lex.c defines it (9.6), written anew:
//
// - Input is read line by line; every line, the last one too, ends with an end-of-line mark, and `;` counts
//   as an end of line. `#` starts a comment to the end of the line; nothing else is a comment (`//` and
//   `/* */` are ordinary characters: bacula-sd 9.6.7 refuses them at the top level).
// - An identifier starts with a letter and continues over letters, SKIPPING spaces and tabs between them:
//   `Control Device` scans as `ControlDevice`, and an unquoted value `LTO Tape` as `LTOTape`. A character
//   that is neither letter, space nor a delimiter turns it into an unquoted string (`LT09_1_Drive0`).
// - A number is digits; followed by anything but space, end of line, `,` or `;` it becomes a string.
// - An unquoted string runs to a space, end of line, `=`, `{`, `}`, `;`, `,` or `#`.
// - A quoted string runs to the next unescaped `"`, over line ends: a backslash keeps the next character
//   whatever it is (`\"` is `"`, `\\` is `\`, `\n` is `n`), an end of line inside adds nothing, the newline
//   character of the line does.
// - Outside tokens, a backslash followed by a space or the end of the line drops the rest of the line and
//   joins the next one (no end of line is produced); a backslash before anything else is dropped with it.
// - `@path` (to a space, end of line, `{`, `}`, `;`, `,`, `"` or `#`) or `@"path"` (with backslash escapes)
//   inserts a file at that point. The character that ended the path comes after the included text. Relative
//   paths are used as they are, i.e. relative to the working directory (Bacula hands them to fopen).
//   `@|command` would run a command: refused here.
// - A UTF-8 byte order mark at the start of a file is skipped; a UTF-16 one is refused.
//
// Our limits (Bacula has none but its 5000-byte token buffer and the process's open files), each refused with
// a `file:line` error: a token of at most 4999 bytes (Bacula's buffer), a file of at most 4 MiB, 16 MiB in all,
// includes nested at most 16 deep, no file including itself (directly or through others). NUL and other
// control bytes (all below 0x20 except tab, line feed, vertical tab, form feed, carriage return; and 0x7F)
// are refused as binary data anywhere in a file; token text must be valid UTF-8.

/// One unit the scanner produces.
struct Token: Equatable {
    enum Kind: Equatable {
        case endOfFile, endOfLine, beginBlock, endBlock, equals, comma
        case identifier, unquotedString, quotedString, number
    }

    var kind: Kind
    var text: String
    var place: Place

    /// How an error message names the token: its text, or what it is.
    var shown: String {
        switch kind {
        case .endOfFile: return "end of file"
        case .endOfLine: return "end of line"
        case .quotedString: return "\"\(text)\""
        default: return text
        }
    }
}

/// A file and 1-based line.
struct Place: Equatable {
    var file: String
    var line: Int
}

struct Lexer {
    static let maxTokenLength = 4999
    static let maxFileSize = 4 * 1024 * 1024
    static let maxTotalSize = 16 * 1024 * 1024
    static let maxIncludeDepth = 16

    /// A character: a byte 0...255, or one of the two marks.
    typealias Char = Int
    static let endOfLine: Char = -2
    static let endOfFile: Char = -1

    private struct Frame {
        var name: String          // as written
        var normalizedPath: String
        var bytes: [UInt8]
        var position = 0
        var line = 0
        var lineEnd = 0
        var inLine = false
        /// The parent's character that ended the `@path`, delivered again after this file's last line.
        var resume: (Char, Place)?
    }

    private var frames: [Frame] = []
    private var pushedBack: (Char, Place)?
    private var totalSize = 0
    private let reader: any ConfigFileReader
    private let directory: String

    /// The last character read: what Bacula's `lc->ch` holds after a token (the character that ended it).
    private(set) var lastChar: Char = endOfLine
    private var lastPlace = Place(file: "", line: 0)
    /// Where the last token began.
    private(set) var tokenStart = Place(file: "", line: 0)

    init(path: String, reader: any ConfigFileReader, directory: String) throws(BaculaConfigError) {
        self.reader = reader
        self.directory = directory
        try open(name: path, at: nil, resume: nil)
    }

    // MARK: files

    private mutating func open(name: String, at place: Place?, resume: (Char, Place)?) throws(BaculaConfigError) {
        let errorPlace = place ?? Place(file: name, line: 0)
        func fail(_ message: String) -> BaculaConfigError {
            BaculaConfigError(file: errorPlace.file, line: errorPlace.line, message: message)
        }
        if name.hasPrefix("|") {
            throw fail("\"@\(name)\" would run a command: storage-ctl does not run commands named in bacula-sd.conf")
        }
        let absolute = ConfigPath.resolve(name, against: directory)
        let normalized = ConfigPath.normalized(absolute)
        if place != nil {
            if let loopStart = frames.firstIndex(where: { $0.normalizedPath == normalized }) {
                let chain = (frames[loopStart...].map(\.name) + [name]).joined(separator: " -> ")
                throw fail("include loop: \(chain)")
            }
            if frames.count > Self.maxIncludeDepth {
                throw fail("includes nested more than \(Self.maxIncludeDepth) deep at \"\(name)\"")
            }
        }
        let bytes: [UInt8]
        do {
            bytes = try reader.contents(of: absolute, limit: Self.maxFileSize)
        } catch {
            throw fail(place == nil ? "cannot read: \(error.reason)"
                                    : "cannot read included file \"\(name)\": \(error.reason)")
        }
        if bytes.count > Self.maxFileSize {
            throw BaculaConfigError(file: name, line: 0,
                                    message: "file larger than the limit of \(Self.maxFileSize) bytes")
        }
        totalSize += bytes.count
        if totalSize > Self.maxTotalSize {
            throw fail("the configuration and its includes exceed \(Self.maxTotalSize) bytes")
        }
        try Self.refuseBinary(bytes, name: name)
        frames.append(Frame(name: name, normalizedPath: normalized, bytes: bytes, resume: resume))
    }

    private static func refuseBinary(_ bytes: [UInt8], name: String) throws(BaculaConfigError) {
        if bytes.count >= 2 && ((bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF)) {
            throw BaculaConfigError(file: name, line: 1, message: "UTF-16 text: save the file as UTF-8")
        }
        var line = 1
        for byte in bytes {
            if byte == 0x0A { line += 1; continue }
            if byte == 0x7F || (byte < 0x20 && byte != 0x09 && byte != 0x0B && byte != 0x0C && byte != 0x0D) {
                let hex = String(byte, radix: 16, uppercase: true)
                throw BaculaConfigError(file: name, line: line,
                                        message: "binary data (byte 0x\(hex.count == 1 ? "0" + hex : hex)): not a configuration file")
            }
        }
    }

    // MARK: characters

    /// Bacula's lex_get_char: the next character, end-of-line marks included, crossing into and out of
    /// included files.
    private mutating func get() -> Char {
        if let (char, place) = pushedBack {
            pushedBack = nil
            lastChar = char
            lastPlace = place
            return char
        }
        while true {
            guard !frames.isEmpty else {
                lastChar = Self.endOfFile
                return Self.endOfFile
            }
            let top = frames.count - 1
            if !frames[top].inLine {
                if frames[top].position >= frames[top].bytes.count {
                    let finished = frames.removeLast()
                    if let (char, place) = finished.resume {
                        lastChar = char
                        lastPlace = place
                        return char
                    }
                    frames.append(finished)   // the main file stays, at its end
                    lastChar = Self.endOfFile
                    lastPlace = Place(file: finished.name, line: finished.line)
                    return Self.endOfFile
                }
                frames[top].line += 1
                frames[top].inLine = true
                let bytes = frames[top].bytes
                var end = frames[top].position
                while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                frames[top].lineEnd = min(end + 1, bytes.count)
            }
            let place = Place(file: frames[top].name, line: frames[top].line)
            lastPlace = place
            if frames[top].position < frames[top].lineEnd {
                let byte = frames[top].bytes[frames[top].position]
                frames[top].position += 1
                lastChar = Int(byte)
                return lastChar
            }
            frames[top].inLine = false
            lastChar = Self.endOfLine
            return Self.endOfLine
        }
    }

    /// Bacula's lex_unget_char: the last character comes again.
    private mutating func unget() {
        pushedBack = (lastChar, lastPlace)
    }

    /// The character that ended the last token comes again (after a `}` that closes a resource).
    mutating func ungetLastChar() { unget() }

    /// The rest of the current line is dropped and the next line joins this one (no end of line).
    private mutating func joinNextLine() {
        guard let top = frames.indices.last, frames[top].inLine else { return }
        frames[top].position = frames[top].lineEnd
        frames[top].inLine = false
    }

    private var isFirstByteOfFile: Bool {
        guard pushedBack == nil, let top = frames.last else { return false }
        return top.position == 1 && top.line == 1
    }

    // MARK: classes (C locale, as Bacula's B_IS* macros)

    private static func isSpace(_ c: Char) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
    private static func isAlpha(_ c: Char) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
    private static func isDigit(_ c: Char) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func char(_ scalar: Unicode.Scalar) -> Char { Int(scalar.value) }

    // MARK: tokens

    private enum State { case none, comment, number, string, identifier, quoted, include, includeQuoted }

    /// Bacula's lex_get_token. `skipEndOfLine` is its T_SKIP_EOL expectation: ends of lines (and `;`) are
    /// passed over instead of returned.
    mutating func next(skipEndOfLine: Bool = false) throws(BaculaConfigError) -> Token {
        var state = State.none
        var text: [UInt8] = []
        var escaped = false
        var includePlace = lastPlace

        func tooLong() -> BaculaConfigError {
            BaculaConfigError(file: tokenStart.file, line: tokenStart.line,
                              message: "token longer than \(Self.maxTokenLength) bytes")
        }
        func begin(_ c: Char?) {
            text = []
            if let c { text.append(UInt8(c)) }
            tokenStart = lastPlace
        }
        func token(_ kind: Token.Kind) throws(BaculaConfigError) -> Token {
            if text.count > Self.maxTokenLength { throw tooLong() }
            guard let string = String(validating: text, as: UTF8.self) else {
                throw BaculaConfigError(file: tokenStart.file, line: tokenStart.line,
                                        message: "text that is not UTF-8")
            }
            return Token(kind: kind, text: string, place: tokenStart)
        }
        func simple(_ kind: Token.Kind, _ shown: String) -> Token {
            Token(kind: kind, text: shown, place: lastPlace)
        }

        while true {
            let c = get()
            if text.count > Self.maxTokenLength { throw tooLong() }
            switch state {
            case .none:
                if Self.isSpace(c) { continue }
                if Self.isAlpha(c) { state = .identifier; begin(c); continue }
                if Self.isDigit(c) { state = .number; begin(c); continue }
                switch c {
                case Self.endOfFile:
                    tokenStart = lastPlace
                    return simple(.endOfFile, "")
                case Self.char("\\"):
                    let n = get()
                    if n == Self.char(" ") || n == 0x0A || n == 0x0D || n == Self.endOfLine { joinNextLine() }
                case Self.char("#"):
                    state = .comment
                case Self.char("{"):
                    tokenStart = lastPlace; return simple(.beginBlock, "{")
                case Self.char("}"):
                    tokenStart = lastPlace; return simple(.endBlock, "}")
                case Self.char("\""):
                    state = .quoted; begin(nil)
                case Self.char("="):
                    tokenStart = lastPlace; return simple(.equals, "=")
                case Self.char(","):
                    tokenStart = lastPlace; return simple(.comma, ",")
                case Self.char(";"), Self.endOfLine:
                    if !skipEndOfLine { tokenStart = lastPlace; return simple(.endOfLine, "") }
                case Self.char("@"):
                    state = .include; begin(nil); includePlace = lastPlace
                case 0xEF, 0xFF, 0xFE:
                    if isFirstByteOfFile {
                        let place = lastPlace
                        if c == 0xEF && get() == 0xBB && get() == 0xBF { continue }
                        throw BaculaConfigError(file: place.file, line: place.line,
                                                message: c == 0xEF ? "broken UTF-8 byte order mark"
                                                                   : "UTF-16 text: save the file as UTF-8")
                    }
                    state = .string; begin(c)
                default:
                    state = .string; begin(c)
                }
            case .comment:
                if c == Self.endOfFile { tokenStart = lastPlace; return simple(.endOfFile, "") }   // lines end first
                if c == Self.endOfLine {
                    state = .none
                    if !skipEndOfLine { tokenStart = lastPlace; return simple(.endOfLine, "") }
                }
            case .number:
                if Self.isDigit(c) { text.append(UInt8(c)); continue }
                if Self.isSpace(c) || c == Self.endOfLine || c == Self.char(",") || c == Self.char(";")
                    || c == Self.endOfFile {
                    unget(); return try token(.number)
                }
                state = .string; unget()
            case .string:
                if c == Self.endOfFile || c == Self.endOfLine || Self.isSpace(c) || Self.endsString(c) {
                    unget(); return try token(.unquotedString)
                }
                text.append(UInt8(c))
            case .identifier:
                if Self.isAlpha(c) { text.append(UInt8(c)); continue }
                if Self.isSpace(c) { continue }
                if c == Self.endOfFile || c == Self.endOfLine || Self.endsString(c) || c == Self.char("\"") {
                    unget(); return try token(.identifier)
                }
                state = .string; text.append(UInt8(c))
            case .quoted:
                if c == Self.endOfFile {
                    throw BaculaConfigError(file: tokenStart.file, line: tokenStart.line,
                                            message: "quoted string not closed: end of file reached before its closing '\"'")
                }
                if c == Self.endOfLine { escaped = false; continue }
                if escaped { text.append(UInt8(c)); escaped = false; continue }
                if c == Self.char("\\") { escaped = true; continue }
                if c == Self.char("\"") {
                    _ = get(); unget()     // Bacula looks at the character after the quote (a comma?)
                    return try token(.quotedString)
                }
                text.append(UInt8(c))
            case .include:
                if c == Self.char("\"") { state = .includeQuoted; continue }
                if c == Self.endOfFile || c == Self.endOfLine || Self.isSpace(c) || c == Self.char("{")
                    || c == Self.char("}") || c == Self.char(";") || c == Self.char(",") || c == Self.char("#") {
                    try include(text, at: includePlace, resume: (c, lastPlace))
                    state = .none
                    continue
                }
                text.append(UInt8(c))
            case .includeQuoted:
                if c == Self.endOfFile || c == Self.endOfLine {
                    throw BaculaConfigError(file: includePlace.file, line: includePlace.line,
                                            message: "include path not closed by '\"' on its line")
                }
                if escaped { text.append(UInt8(c)); escaped = false; continue }
                if c == Self.char("\\") { escaped = true; continue }
                if c == Self.char("\"") {
                    let after = get()
                    try include(text, at: includePlace, resume: (after, lastPlace))
                    state = .none
                    continue
                }
                text.append(UInt8(c))
            }
        }
    }

    /// `=`, `{`, `}`, `;`, `,`, `#`, line feed, carriage return: what ends an unquoted string.
    private static func endsString(_ c: Char) -> Bool {
        c == 0x0A || c == 0x0D || c == char("=") || c == char("{") || c == char("}") || c == char(";")
            || c == char(",") || c == char("#")
    }

    private mutating func include(_ path: [UInt8], at place: Place, resume: (Char, Place)) throws(BaculaConfigError) {
        guard let name = String(validating: path, as: UTF8.self) else {
            throw BaculaConfigError(file: place.file, line: place.line, message: "include path that is not UTF-8")
        }
        try open(name: name, at: place, resume: resume)
    }
}
