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
        listing.commands = Set(Verbs.all.map { $0.name } + DevicelessCommands.all.map { $0.name })
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
        #expect(code.commands.count == 19 && code.options.count == 23, "the code's own lists: \(code)")
        for (name, listing) in [("--help", Self.help()), ("README.md", try Self.readme()), ("docs/storage-ctl.1", try Self.manPage())] {
            let problems = [
                Self.difference("commands", name, listing.commands, code.commands, of: "the code: Verbs.all + DevicelessCommands.all"),
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
}
