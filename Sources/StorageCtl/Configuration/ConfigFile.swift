/// The shell-compatible `NAME=VALUE` file the original storage-ctl sourced (README.md
/// "Configuration"). Only the part of shell syntax such files use is accepted: optional
/// `export `, a name, `=`, a value that is bare, 'single-quoted' or "double-quoted" (with
/// `\"`, `\\`, `\$` and `` \` `` escapes), then optional white space and a `#` comment.
/// Anything else is a malformed line, reported with file and line number: a line the shell would
/// run as a command must never be silently skipped.
public struct ConfigFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var value: String
        public var line: Int
    }
    public var path: String
    public var entries: [Entry]

    public struct MalformedLine: Error, Sendable, Equatable {
        public var line: Int
        public var reason: String
    }

    /// Parses `text`; `path` only labels the entries.
    public static func parse(_ text: String, path: String) throws(MalformedLine) -> ConfigFile {
        var entries: [Entry] = []
        var lineNumber = 0
        // Split on the scalar, not the Character: in Swift "\r\n" is one Character, so splitting on "\n"
        // would keep a CRLF file in one piece.
        for rawLine in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = rawLine
            if line.last == "\r" { line.removeLast() }
            if let entry = try parseLine(String(Substring(line)), number: lineNumber) {
                entries.append(entry)
            }
        }
        return ConfigFile(path: path, entries: entries)
    }

    private static func isBlank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" }

    /// The scalars as a String, one `append` at a time: `String.UnicodeScalarView(_:)` from a slice is
    /// a generic initialiser the optimiser leaves unspecialised, and its first call instantiates
    /// metadata at run time, ~125K instructions of every start-up (callgrind).
    private static func text(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        for c in scalars { view.append(c) }
        return String(view)
    }

    private static func parseLine(_ line: String, number: Int) throws(MalformedLine) -> Entry? {
        let s = Array(line.unicodeScalars)
        var i = 0
        func malformed(_ reason: String) -> MalformedLine { MalformedLine(line: number, reason: reason) }
        while i < s.count, isBlank(s[i]) { i += 1 }
        if i == s.count || s[i] == "#" { return nil }
        // optional "export "
        if s.count - i > 7, text(s[i..<i + 6]) == "export", isBlank(s[i + 6]) {
            i += 7
            while i < s.count, isBlank(s[i]) { i += 1 }
        }
        let nameStart = i
        while i < s.count, s[i] == "_" || (s[i].isASCII && (s[i].properties.isAlphabetic || ("0"..."9").contains(s[i]))) {
            i += 1
        }
        if i == nameStart || ("0"..."9").contains(s[nameStart]) {
            throw malformed("expected NAME=VALUE")
        }
        let name = text(s[nameStart..<i])
        // `key = bac001`: what was meant is clear, and the shell would run `key` as a command
        var j = i
        while j < s.count, isBlank(s[j]) { j += 1 }
        if j > i, j < s.count, s[j] == "=" {
            throw malformed(spacesAroundEquals(name, s[(j + 1)...]))
        }
        guard i < s.count, s[i] == "=" else {
            throw malformed("expected NAME=VALUE")
        }
        i += 1
        // `key= bac001`: the shell would set key to nothing and run bac001
        if i < s.count, isBlank(s[i]) {
            var k = i
            while k < s.count, isBlank(s[k]) { k += 1 }
            if k < s.count, s[k] != "#" { throw malformed(spacesAroundEquals(name, s[i...])) }
        }
        var value = String.UnicodeScalarView()
        // A value is a sequence of bare, single-quoted and double-quoted pieces up to white space.
        while i < s.count, !isBlank(s[i]) {
            let c = s[i]
            switch c {
            case "'":
                i += 1
                while i < s.count, s[i] != "'" { value.append(s[i]); i += 1 }
                guard i < s.count else { throw malformed("unterminated single quote") }
                i += 1
            case "\"":
                i += 1
                var closed = false
                while i < s.count {
                    if s[i] == "\"" { closed = true; i += 1; break }
                    if s[i] == "\\", i + 1 < s.count, ["\"", "\\", "$", "`"].contains(s[i + 1]) {
                        value.append(s[i + 1]); i += 2; continue
                    }
                    if s[i] == "$" || s[i] == "`" { throw malformed("shell expansion ('\(s[i])') is not supported") }
                    value.append(s[i]); i += 1
                }
                guard closed else { throw malformed("unterminated double quote") }
            case "\\":
                guard i + 1 < s.count else { throw malformed("trailing backslash") }
                value.append(s[i + 1]); i += 2
            case "$", "`", ";", "&", "|", "<", ">", "(", ")":
                throw malformed("shell syntax ('\(c)') is not supported; the file is read, not run: write the value itself, in single quotes if it holds such characters")
            default:
                value.append(c); i += 1
            }
        }
        while i < s.count, isBlank(s[i]) { i += 1 }
        if i < s.count, s[i] != "#" {
            throw malformed("unexpected text after the value; quote values that contain spaces")
        }
        return Entry(name: name, value: String(value), line: number)
    }

    /// The message for `key = bac001`: what the line should have been (`key=bac001`), the value
    /// as written, without the blanks around it or a trailing comment.
    private static func spacesAroundEquals(_ name: String, _ rest: ArraySlice<Unicode.Scalar>) -> String {
        var value = String.UnicodeScalarView()
        var quote: Unicode.Scalar? = nil
        for c in rest.drop(while: { isBlank($0) }) {
            if quote == nil, c == "#", let last = value.last, isBlank(last) { break }
            if c == "'" || c == "\"" { quote = quote == nil ? c : (quote == c ? nil : quote) }
            value.append(c)
        }
        while let last = value.last, isBlank(last) { value.removeLast() }
        // the value is the file's text: escaped (it may hold control characters) and kept short
        var meant = OutputText.escaped(String(value))
        if meant.count > 64 { meant = String(meant.prefix(60)) + "..." }
        return "spaces around '=' are not allowed (shell syntax); write \(name)=\(meant)"
    }
}
