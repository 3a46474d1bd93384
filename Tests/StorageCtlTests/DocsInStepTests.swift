import Foundation
import Testing
@testable import StorageCtl

/// `--help`, the README and the man page list the same commands, options and exit codes (issues
/// 10 and 11): the commands come from `Verbs.all` and `DevicelessCommands.all`, the options from
/// `Invocation.Option`, so a verb or option added to the code and not to a document fails here,
/// and so does a document that lists something the binary does not have.
@Suite("Documents in step with the binary")
struct DocsInStepTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// What one document lists.
    struct Listing {
        var commands: Set<String> = []
        var options: Set<String> = []   // every spelling: "-c", "--config", "--json", ...
        var exitCodes: Set<Int> = []
    }

    /// What the code declares.
    static var code: Listing {
        var listing = Listing()
        listing.commands = Set(Verbs.all.map { $0.name } + DevicelessCommands.all.map { $0.name } + ["persist"])
        for option in Invocation.Option.allCases where !option.help.isEmpty {
            listing.options.insert("--" + option.long)
            if let short = option.short { listing.options.insert("-\(short)") }
        }
        return listing
    }

    /// `-c, --config FILE` -> ["-c", "--config"]
    static func spellings(_ text: Substring) -> [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init).filter {
            $0.hasPrefix("-") && $0.dropFirst().first?.isLetter == true || $0.hasPrefix("--")
        }
    }

    // MARK: README

    /// The rows of the Markdown table whose header row is `header`, as cells.
    static func table(_ text: String, header: String) -> [[Substring]] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix(header) }) else { return [] }
        var rows: [[Substring]] = []
        for line in lines[(start + 2)...] {
            guard line.hasPrefix("|") else { break }
            rows.append(line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().map { $0.trimmingCharacters(in: .whitespaces)[...] })
        }
        return rows
    }

    /// Backquoted spans of a cell: "`reserve`, `release`" -> ["reserve", "release"].
    static func quoted(_ cell: Substring) -> [Substring] {
        cell.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { $0.element }
    }

    static func readme() throws -> Listing {
        let text = try read("README.md")
        let usage = text.range(of: "\n## Usage\n").map { String(text[$0.upperBound...]) } ?? ""
        var listing = Listing()
        for row in table(usage, header: "| command | what it does |") {
            for span in quoted(row[0]) { listing.commands.insert(String(span.split(separator: " ")[0])) }
        }
        for row in table(usage, header: "| option | meaning |") {
            for span in quoted(row[0]) { listing.options.formUnion(spellings(span)) }
        }
        let exitStatus = usage.range(of: "### Exit status").map { String(usage[$0.upperBound...]) } ?? ""
        for row in table(exitStatus, header: "| code | meaning |") {
            if let code = Int(row[0]) { listing.exitCodes.insert(code) }
        }
        return listing
    }

    // MARK: man page

    /// troff to plain text: `.BI "\-c, \-\-config " FILE` -> `-c, --config  FILE`.
    static func plain(_ line: Substring) -> String {
        var text = String(line)
        if text.hasPrefix(".") { text = String(text.drop { $0 != " " }) }
        for code in ["\\fB", "\\fI", "\\fR", "\\fP", "\""] { text = text.replacingOccurrences(of: code, with: "") }
        return text.replacingOccurrences(of: "\\-", with: "-").trimmingCharacters(in: .whitespaces)
    }

    /// The headings (the line after each `.TP`) of man page section `name`.
    static func manHeadings(_ text: String, section name: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(of: ".SH \(name)") else { return [] }
        var headings: [String] = []
        var i = start + 1
        while i < lines.count, !lines[i].hasPrefix(".SH ") {
            if lines[i] == ".TP", i + 1 < lines.count { headings.append(plain(lines[i + 1])) }
            i += 1
        }
        return headings
    }

    static func manPage() throws -> Listing {
        let text = try read("docs/storage-ctl.1")
        var listing = Listing()
        for heading in manHeadings(text, section: "COMMANDS") {
            // "reserve , release", "preempt  KEY  [--abort]"
            for part in heading.split(separator: ",") {
                if let word = part.split(separator: " ").first { listing.commands.insert(String(word)) }
            }
        }
        for heading in manHeadings(text, section: "OPTIONS") { listing.options.formUnion(spellings(heading[...])) }
        for heading in manHeadings(text, section: "EXIT STATUS") {
            if let code = Int(heading) { listing.exitCodes.insert(code) }
        }
        return listing
    }

    // MARK: --help

    /// The lines of `--help` between `title` and the next blank line.
    static func helpBlock(_ help: String, _ title: String) -> [Substring] {
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(of: title[...]) else { return [] }
        var block: [Substring] = []
        for line in lines[(start + 1)...] {
            if line.isEmpty { if block.isEmpty { continue } else { break } }
            block.append(line)
        }
        return block
    }

    static func help() -> Listing {
        let text = StorageCtlMain.help()
        var listing = Listing()
        for line in helpBlock(text, "Commands:") {
            if let word = line.split(separator: " ").first { listing.commands.insert(String(word)) }
        }
        for line in helpBlock(text, "Options:") {
            let item = line.drop { $0 == " " }
            guard item.hasPrefix("-") else { continue }   // a continuation line
            let usage = item.range(of: "  ").map { item[..<$0.lowerBound] } ?? item
            listing.options.formUnion(spellings(usage))
        }
        for line in helpBlock(text, "Exit status:") {
            let item = line.drop { $0 == " " }
            if let number = item.split(separator: " ").first, let code = Int(number) { listing.exitCodes.insert(code) }
        }
        return listing
    }

    // MARK: the checks

    static func difference<T: Comparable>(_ what: String, _ document: String, _ listed: Set<T>, _ expected: Set<T>, of reference: String) -> String? {
        let missing = expected.subtracting(listed).sorted(), extra = listed.subtracting(expected).sorted()
        if missing.isEmpty && extra.isEmpty { return nil }
        var text = "\(document) \(what):"
        if !missing.isEmpty { text += " lacks \(missing.map { "\($0)" }.joined(separator: ", ")) (in \(reference))" }
        if !missing.isEmpty && !extra.isEmpty { text += ";" }
        if !extra.isEmpty { text += " lists \(extra.map { "\($0)" }.joined(separator: ", ")), which \(reference) does not have" }
        return text
    }

    @Test("--help, README.md and docs/storage-ctl.1 list the commands and options the code has")
    func commandsAndOptions() throws {
        let code = Self.code
        #expect(code.commands.count == 20 && code.options.count == 23, "the code's own lists: \(code)")
        for (name, listing) in [("--help", Self.help()), ("README.md", try Self.readme()), ("docs/storage-ctl.1", try Self.manPage())] {
            let problems = [
                Self.difference("commands", name, listing.commands, code.commands, of: "the code: Verbs.all + DevicelessCommands.all + persist"),
                Self.difference("options", name, listing.options, code.options, of: "the code: Invocation.Option"),
            ].compactMap { $0 }
            #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        }
    }

    @Test("--help, README.md and docs/storage-ctl.1 list the same exit codes, every ExitCode among them")
    func exitCodes() throws {
        let help = Self.help().exitCodes
        #expect(help == Set(0...7), "--help's exit codes: \(help.sorted())")
        #expect(Set(ExitCode.allCases.map { Int($0.rawValue) }).isSubset(of: help), "ExitCode has codes --help lacks")
        for (name, listing) in [("README.md", try Self.readme()), ("docs/storage-ctl.1", try Self.manPage())] {
            let problem = Self.difference("exit codes", name, listing.exitCodes, help, of: "--help")
            #expect(problem == nil, "\(problem ?? "")")
        }
    }

    @Test("the parsers of this test see through the formats: a missing command or option is reported by name")
    func parsersNoticeDifferences() throws {
        let readme = try Self.readme()
        #expect(readme.commands.contains("preempt") && readme.commands.contains("release") && readme.options.contains("--initiator"))
        let man = try Self.manPage()
        #expect(man.commands.contains("preempt") && man.commands.contains("release") && man.options.contains("-V"))
        var trimmed = readme
        trimmed.commands.remove("audit")
        trimmed.options.insert("--frobnicate")
        #expect(Self.difference("commands", "README.md", trimmed.commands, Self.code.commands, of: "the code") ==
                "README.md commands: lacks audit (in the code)")
        #expect(Self.difference("options", "README.md", trimmed.options, Self.code.options, of: "the code") ==
                "README.md options: lists --frobnicate, which the code does not have")
    }

    // MARK: meanings, fields, variables: one place each, the documents held to it

    /// Text as it reads: backquotes, troff fonts and escapes gone, spaces collapsed, a sentence's capital
    /// and full stop dropped (the man page writes sentences, README and --help fragments).
    static func normalized(_ text: String) -> String {
        var t = text.replacingOccurrences(of: "`", with: "")
        for code in ["\\fB", "\\fI", "\\fR", "\\fP"] { t = t.replacingOccurrences(of: code, with: "") }
        t = t.replacingOccurrences(of: "\\-", with: "-").split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        if t.hasSuffix(".") { t.removeLast() }
        return t.prefix(1).lowercased() + t.dropFirst()
    }

    /// The paragraphs of man page section `name`: heading (the line after `.TP`) -> the text after it.
    static func manParagraphs(_ text: String, section name: String) -> [String: String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(of: ".SH \(name)") else { return [:] }
        var result: [String: String] = [:]
        var i = start + 1
        while i < lines.count, !lines[i].hasPrefix(".SH ") {
            if lines[i] == ".TP", i + 1 < lines.count {
                let heading = plain(lines[i + 1])
                var body: [Substring] = []
                i += 2
                while i < lines.count, lines[i] != ".TP", !lines[i].hasPrefix(".SH "), !lines[i].hasPrefix(".PP") {
                    body.append(lines[i]); i += 1
                }
                result[heading] = body.joined(separator: " ")
                continue
            }
            i += 1
        }
        return result
    }

    @Test("every exit code means the same in --help, README.md and docs/storage-ctl.1: ExitCode.meaning, word for word")
    func exitCodeMeanings() throws {
        let help = StorageCtlMain.help()
        let readme = Dictionary(Self.table(try Self.read("README.md"), header: "| code | meaning |").compactMap { row in
            Int(row[0]).map { ($0, Self.normalized(String(row[1]))) }
        }, uniquingKeysWith: { a, _ in a })
        let man = Self.manParagraphs(try Self.read("docs/storage-ctl.1"), section: "EXIT STATUS")
        for code in ExitCode.allCases {
            let meaning = code.meaning, n = Int(code.rawValue)
            #expect(help.contains(StorageCtlMain.wrap(meaning, first: "  \(n)  ", rest: "     ")), "--help on exit \(n)")
            #expect(readme[n] == meaning, "README.md on exit \(n): \(readme[n] ?? "none")\nExitCode: \(meaning)")
            #expect(man["\(n)"].map(Self.normalized) == meaning, "docs/storage-ctl.1 on exit \(n): \(man["\(n)"] ?? "none")\nExitCode: \(meaning)")
        }
    }

    @Test("status: --help, README.md and docs/storage-ctl.1 name every field the line can have (StatusVerb.Field)")
    func statusFields() throws {
        let help = StorageCtlMain.help().split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," }).map(String.init)
        let readme = try Self.table(Self.read("README.md"), header: "| command | what it does |").first { $0[0] == "`status`" }.map { String($0[1]) } ?? ""
        let man = Self.normalized(Self.manParagraphs(try Self.read("docs/storage-ctl.1"), section: "COMMANDS")["status"] ?? "")
        for field in StatusVerb.Field.allCases.map({ $0.rawValue + "=" }) {
            #expect(help.contains(field), "--help lacks status's \(field)")
            #expect(readme.split(whereSeparator: { " `(;".contains($0) }).contains { $0.hasPrefix(field) }, "README.md's status row lacks \(field)")
            #expect(man.contains(field), "docs/storage-ctl.1's status lacks \(field)")
        }
    }

    /// The top-level names of a README JSON cell: `{"device", "keys": [key], ...}` -> device, keys.
    static func topLevelNames(_ cell: Substring) -> Set<String> {
        var names: Set<String> = [], depth = 0, previous: Character = " ", i = cell.startIndex
        while i < cell.endIndex {
            let c = cell[i]
            if c == "{" || c == "[" { depth += 1 } else if c == "}" || c == "]" { depth -= 1 }
            if c == "\"", let end = cell[cell.index(after: i)...].firstIndex(of: "\"") {
                if depth == 1 && (previous == "{" || previous == ",") { names.insert(String(cell[cell.index(after: i)..<end])) }
                previous = "\""
                i = cell.index(after: end)
                continue
            }
            if c != " " { previous = c }
            i = cell.index(after: i)
        }
        return names
    }

    @Test("--json: README.md's table names every top-level field each document has, and no other")
    func jsonFields() throws {
        let bed = try DriveBed()
        // whole lines: a cell's `\|` is no column separator
        let readme = try Self.read("README.md").split(separator: "\n")
        let runs: [(String, [String])] = ["query", "regkeys", "wholocked", "status", "caps", "audit"].map {
            ($0, ["-c", bed.path("cibou.conf"), bed.path("drive1"), $0, "--json"])
        } + [("drives", ["-c", bed.path("cibou.conf"), "-C", bed.path("sd-ok.conf"), "drives", "--json"])]
        for (command, arguments) in runs {
            let (_, out, _) = bed.run(arguments)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "\(command): \(out)")
            let row = try #require(readme.first { $0.hasPrefix("| `\(command)` | `{") }, "README.md has no row for \(command)")
            let listed = Self.topLevelNames(row.dropFirst("| `\(command)` | `".count))
            #expect(listed == Set(document.keys), "\(command) --json: README.md lists \(listed.sorted()), the binary prints \(document.keys.sorted())")
        }
    }

    @Test("environment: the variables the sources read are EnvironmentVariables.all, and --help, README.md and the man page list them")
    func environmentVariables() throws {
        var read: Set<String> = []
        for target in ["StorageCtl", "SgPersist"] {   // with every folder inside
            let dir = Self.root.appendingPathComponent("Sources/\(target)")
            for file in try FileManager.default.subpathsOfDirectory(atPath: dir.path) where file.hasSuffix(".swift") {
                let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
                for piece in text.split(separator: "\"") where piece.hasPrefix("STORAGE_CTL_") || piece == "XDG_RUNTIME_DIR" {
                    if piece.allSatisfy({ $0.isUppercase || $0 == "_" }) { read.insert(String(piece)) }
                }
            }
        }
        let declared = Set(EnvironmentVariables.all.map(\.name))
        #expect(read == declared, "the sources read \(read.sorted()); EnvironmentVariables.all has \(declared.sorted())")
        let help = Set(Self.helpBlock(StorageCtlMain.help(), "Environment:").filter { !$0.hasPrefix("    ") }.map { $0.trimmingCharacters(in: .whitespaces) })
        let readme = Set(Self.table(try Self.read("README.md"), header: "| variable | meaning |").flatMap { Self.quoted($0[0]).map(String.init) })
        let man = Set(Self.manHeadings(try Self.read("docs/storage-ctl.1"), section: "ENVIRONMENT"))
        for (name, listed) in [("--help", help), ("README.md", readme), ("docs/storage-ctl.1", man)] {
            let problem = Self.difference("environment variables", name, listed, declared, of: "EnvironmentVariables.all")
            #expect(problem == nil, "\(problem ?? "")")
        }
    }
}
