// Bacula's configuration grammar, one rule at a time, on in-memory files. Each fact about bacula-sd 9.6.7
// marked "(bacula-sd)" was checked with `bacula-sd -t -d 900` on the same text (its resource dump shows a
// Device's Media Type and Archive Device, which is where the probes put the values).
import Testing
@testable import BaculaConfig

/// Parses `text` as /etc/bacula/sd.conf (named "sd.conf", relative paths resolved against /etc/bacula),
/// with `others` (absolute path -> text) beside it.
func parse(_ text: String, _ others: [String: String] = [:]) throws(BaculaConfigError) -> [Resource] {
    var files = others
    files["/etc/bacula/sd.conf"] = text
    return try BaculaConfig.parse(path: "sd.conf", reader: InMemoryConfigFiles(files), directory: "/etc/bacula")
}

/// The values of the directives of the first resource, as `key=value` (lists joined by `|`).
func directivesOfFirst(_ text: String, _ others: [String: String] = [:]) throws(BaculaConfigError) -> [String] {
    guard let first = try parse(text, others).first else { return [] }
    return first.directives.map { "\($0.key)=\($0.values.joined(separator: "|"))" }
}

/// The error line of parsing `text`, or nil.
func errorOf(_ text: String, _ others: [String: String] = [:]) -> String? {
    parseError { () throws(BaculaConfigError) in _ = try parse(text, others) }
}

struct GrammarTests {
    @Test func directiveNamesIgnoreCaseAndSpaces() throws {
        let device = try #require(try parse("Device { Name = d\n Control Device = /a\n CONTROLDEVICE = /b\n control \t device = /c\n}").first)
        #expect(device.directives.map(\.key) == ["name", "controldevice", "controldevice", "controldevice"])
        #expect(device.directives.map(\.name) == ["Name", "ControlDevice", "CONTROLDEVICE", "controldevice"])
        #expect(device.directive(named: "control device")?.value == "/a")
        #expect(device.directives(named: "Control Device").map(\.line) == [2, 3, 4])
        #expect(BaculaConfig.directiveKey("Control Device") == "controldevice")
    }

    @Test func resourceTypesIgnoreCaseAndSpaces() throws {
        let resources = try parse("auto changer { Name = c }\nDEVICE { Name = d }\n")
        #expect(resources.map(\.type) == ["Autochanger", "Device"])
        #expect(resources.map(\.line) == [1, 2])
    }

    @Test func unknownResourceTypeIsRefused() {
        #expect(errorOf("Job { Name = j }") == #"sd.conf:1: unknown resource type "Job" (bacula-sd knows Director, Storage, Device, Messages, Autochanger, Cloud, Statistics)"#)
    }

    /// An unquoted value ends at a space, end of line, `=`, `{`, `}`, `;`, `,` or `#` (bacula-sd).
    @Test func unquotedValueEndsWhereTheScannerEndsIt() throws {
        #expect(try directivesOfFirst("Device { Name = d\n Archive Device = /dev/nst0#c\n Media Type = a=b\n X = /p/q;Y = /r\n}")
                == ["name=d", "archivedevice=/dev/nst0", "mediatype=a", "x=/p/q", "y=/r"])
    }

    /// The rest of a directive's line is ignored, as Bacula's handlers skip it (bacula-sd).
    @Test func restOfTheLineIsIgnored() throws {
        #expect(try directivesOfFirst("Device { Name = d\n Lock Command = /usr/bin/storage-ctl %l %o\n Archive Device = /dev/nst0 junk = 1, 2\n}")
                == ["name=d", "lockcommand=/usr/bin/storage-ctl", "archivedevice=/dev/nst0"])
    }

    /// An identifier skips the spaces between its letters: `LTO Tape` is `LTOTape`, `LTO 9 x` is `LTO9` (bacula-sd).
    @Test func unquotedLettersAndSpacesAreOneWord() throws {
        #expect(try directivesOfFirst("Device { Name = d; Media Type = LTO Tape Drive; Archive Device = LTO 9 x }")
                == ["name=d", "mediatype=LTOTapeDrive", "archivedevice=LTO9"])
    }

    /// Backslash keeps the next character; a line end inside adds nothing, the newline character does (bacula-sd).
    @Test func quotedStringsWithEscapesAndLineBreaks() throws {
        #expect(try directivesOfFirst(#"Device { Name = "d"; Media Type = "a\tb\\c\"d"; Archive Device = "a # b" }"#)
                == ["name=d", #"mediatype=atb\c"d"#, "archivedevice=a # b"])
        #expect(try directivesOfFirst("Device { Name = d; Media Type = \"multi\nline\" }") == ["name=d", "mediatype=multi\nline"])
    }

    @Test func numbersAndNumbersFollowedByLetters() throws {
        #expect(try directivesOfFirst("Device { Name = d; Drive Index = 12; Media Type = 12abc }")
                == ["name=d", "driveindex=12", "mediatype=12abc"])
    }

    @Test func severalDirectivesOnTheLinesOfTheBraces() throws {
        let resources = try parse("Device { Name = d; A = 1 ; B = 2 }  Device { Name = e\n}")
        #expect(resources.map(\.name) == ["d", "e"])
        #expect(resources[0].directives.map(\.key) == ["name", "a", "b"])
    }

    @Test func commaListsNeedTheCommaRightAfterAValue() throws {
        #expect(try directivesOfFirst(#"Messages { Name = m; X = a,b, "c d",e f; Y = alpha ,beta; Z = a1 ,b1 }"#)
                == ["name=m", "x=a|b|c d|ef", "y=alpha|beta", "z=a1"])
    }

    /// `=` may come on a later line (Bacula reads it skipping line ends); the value may not.
    @Test func equalsOnTheNextLineButNotTheValue() throws {
        #expect(try directivesOfFirst("Device { Name = d\n Media Type\n   = LTO-9\n}") == ["name=d", "mediatype=LTO-9"])
        #expect(errorOf("Device { Name = d\n Media Type =\n LTO-9\n}") == #"sd.conf:2: expected a value after "MediaType =", got: end of line"#)
        #expect(errorOf("Device { Name = d\n Media Type \"LTO-9\"\n}") == #"sd.conf:2: expected '=' after "MediaType", got: "LTO-9""#)
        // Without '=', the scanner runs the name into the value: one string "MediaTypeLTO-9" (bacula-sd:
        // "unexpected token 105 T_UNQUOTED_STRING in resource definition").
        #expect(errorOf("Device { Name = d\n Media Type LTO-9\n}") == "sd.conf:2: unexpected MediaTypeLTO-9 in the Device resource")
    }

    /// Outside tokens a backslash before the end of the line joins the next line; before anything else it is
    /// dropped with that character (bacula-sd).
    @Test func backslashJoinsLines() throws {
        #expect(try directivesOfFirst("Messages { Name = m\n X = a, \\\n   b\n Y = \\q c\n}") == ["name=m", "x=a|b", "y=c"])
    }

    @Test func onlyHashStartsAComment() throws {
        #expect(try directivesOfFirst("# c\nDevice { # c\n Name = d # c\n} # c") == ["name=d"])
        #expect(errorOf("// c\nDevice { Name = d }") == "sd.conf:1: expected a resource type (Director, Storage, Device, Messages, Autochanger, Cloud, Statistics), got: //")
        #expect(errorOf("/* c */\nDevice { Name = d }") == "sd.conf:1: expected a resource type (Director, Storage, Device, Messages, Autochanger, Cloud, Statistics), got: /*")
    }

    @Test func byteOrderMarks() throws {
        #expect(try parse("\u{FEFF}Device { Name = d }").map(\.name) == ["d"])
        let utf16: [UInt8] = [0xFF, 0xFE] + Array("Device".utf8).flatMap { [$0, 0] }
        let reader = InMemoryConfigFiles(bytes: ["/etc/bacula/sd.conf": utf16])
        #expect(parseError { () throws(BaculaConfigError) in
            _ = try BaculaConfig.parse(path: "sd.conf", reader: reader, directory: "/etc/bacula")
        } == "sd.conf:1: UTF-16 text: save the file as UTF-8")
    }

    @Test func aDirectiveBeforeTheBraceOrInNestedBraces() {
        #expect(errorOf("Device\nName = d\n{ }") == #"sd.conf:2: "Name" before the '{' of the Device resource"#)
        #expect(errorOf("Device {\n Name = d\n {\n Media Type = x\n }\n}") == #"sd.conf:4: "MediaType" inside nested braces: Device resources have no inner blocks"#)
        #expect(errorOf("Device { Name = d; = x }") == "sd.conf:1: unexpected '=' in the Device resource")
        #expect(errorOf("Device { Name = d\n \"quoted\" }") == #"sd.conf:2: unexpected "quoted" in the Device resource"#)
        #expect(errorOf("Device { Name = d }\n}") == "sd.conf:2: expected a resource type (Director, Storage, Device, Messages, Autochanger, Cloud, Statistics), got: }")
    }

    @Test func missingClosingBraces() {
        #expect(errorOf("Device {\n Name = d\nDevice {\n Name = e\n}") == "sd.conf:3: Device resource inside the Device resource that begins at sd.conf:1: is that one's '}' missing?")
        #expect(errorOf("Storage { Name = s }\nDevice {\n Name = d\n") == "sd.conf:2: Device resource not closed: end of file reached before its '}'")
    }

    @Test func namesAsBaculaRequiresThem() {
        #expect(errorOf("Device { Media Type = x\n}") == "sd.conf:2: Device resource without a Name")
        #expect(errorOf("Device { Name = d\n Name = e }") == #"sd.conf:2: second Name in the Device resource (the first, "d", is at sd.conf:1)"#)
        #expect(errorOf("Device { Name = 123 }") == #"sd.conf:1: expected a name after "Name =", got the number 123"#)
        #expect(errorOf("Device { Name = d }\nDevice {\n Name = d }") == #"sd.conf:3: second Device resource named "d" (the first is at sd.conf:1)"#)
        #expect(errorOf("Device { Name = \(String(repeating: "n", count: 128)) }") == "sd.conf:1: Name longer than 127 characters")
        #expect(errorOf("Device { Name = \(String(repeating: "n", count: 127)) }") == nil)
        #expect(errorOf("Device { Name = d }\nAutochanger { Name = d }") == nil)
        // is_name_valid (bacula-sd): letters, digits, ":.-_ "; not empty.
        #expect(errorOf("Device { Name = \"a:b.c-d_e f9\" }") == nil)
        #expect(errorOf("Device { Name = a/b }") == #"sd.conf:1: character "/" not allowed in the Name "a/b" (bacula-sd allows letters, digits, ':', '.', '-', '_' and space)"#)
        #expect(errorOf("Device { Name = \"lecteur-\u{E9}\" }") == #"sd.conf:1: character "\#u{E9}" not allowed in the Name "lecteur-\#u{E9}" (bacula-sd allows letters, digits, ':', '.', '-', '_' and space)"#)
        #expect(errorOf("Device {\n Name = \"\" }") == "sd.conf:2: empty Name")
    }

    @Test func unterminatedQuoteIsReportedWhereItOpens() {
        #expect(errorOf("Device {\n Name = d\n Lock Command = \"/x %l %o\n}\n# more\n") == "sd.conf:3: quoted string not closed: end of file reached before its closing '\"'")
    }

    /// SDAddresses is the one directive whose value is a block.
    @Test func addressBlocks() throws {
        #expect(try directivesOfFirst("Storage { Name = s\n SDAddresses = {\n  ip = { addr = 127.0.0.1; port = 9103 }\n  ipv6 = { addr = \"::1\" }\n }\n Pid Directory = /tmp\n}")
                == [#"name=s"#, #"sdaddresses={ ip = { addr = 127.0.0.1 port = 9103 } ipv6 = { addr = "::1" } }"#, "piddirectory=/tmp"])
        #expect(errorOf("Device { Name = d; Media Type = { x } }") == #"sd.conf:1: expected a value after "MediaType =", got: '{'"#)
        #expect(errorOf("Storage { Name = s; SDAddresses = { ip = { addr = 1.2.3.4 }\n") == "sd.conf:1: '{' of an address block not closed")
    }

    @Test func autochangerDeviceListsEndTheirLine() throws {
        let changer = try #require(try parse("Autochanger { Name = c\n Device = a,b\n Device = \"c\"   # more\n}").first)
        #expect(changer.directives(named: "Device").map(\.values) == [["a", "b"], ["c"]])
        #expect(errorOf("Autochanger { Name = c\n Device = a1 , b1\n}") == "sd.conf:2: unexpected ',' after the Device list of Autochanger: bacula-sd wants the list to end its line, with a comma right after each name but the last")
        #expect(errorOf("Autochanger { Name = c; Device = a }") == "sd.conf:1: unexpected '}' after the Device list of Autochanger: bacula-sd wants the list to end its line, with a comma right after each name but the last")
        #expect(errorOf("Autochanger { Name = c\n Device = a, 2\n}") == #"sd.conf:2: expected a name after ",", got the number 2"#)
    }
}
