// `@path` and `@"path"` includes: the file's text inserted at that point, relative paths resolved against the
// working directory as bacula-sd's fopen does, a depth limit, loop detection, and no commands run.
import Testing
@testable import BaculaConfig

struct IncludeTests {
    @Test func absoluteIncludeInsertsTheFile() throws {
        let resources = try parse("Storage { Name = s }\n@/etc/bacula/conf.d/devices.conf\nMessages { Name = m }",
                                  ["/etc/bacula/conf.d/devices.conf": "# devices\nDevice { Name = d\n  Control Device = /dev/sg0\n}\n"])
        #expect(resources.map { "\($0.type) \($0.name) \($0.file):\($0.line)" }
                == ["Storage s sd.conf:1", "Device d /etc/bacula/conf.d/devices.conf:2", "Messages m sd.conf:3"])
        #expect(resources[1].directives.map { "\($0.key) \($0.file):\($0.line)" }
                == ["name /etc/bacula/conf.d/devices.conf:2", "controldevice /etc/bacula/conf.d/devices.conf:3"])
    }

    /// Bacula hands the path to fopen: relative to the working directory, not to the including file.
    @Test func relativePathsResolveAgainstTheWorkingDirectory() throws {
        let files = ["/etc/bacula/sd.conf": "@conf.d/a.conf\n",
                     "/etc/bacula/conf.d/a.conf": "@b.conf\n",          // /work/b.conf, not /etc/bacula/conf.d/b.conf
                     "/work/conf.d/a.conf": "@b.conf\n",
                     "/work/b.conf": "Device { Name = from-work }\n",
                     "/etc/bacula/conf.d/b.conf": "Device { Name = from-etc }\n"]
        let resources = try BaculaConfig.parse(path: "/etc/bacula/sd.conf", reader: InMemoryConfigFiles(files), directory: "/work")
        #expect(resources.map { "\($0.name) \($0.file)" } == ["from-work b.conf"])
    }

    /// The included text goes where the `@path` was, even in the place of a value (bacula-sd).
    @Test func includeInThePlaceOfAValue() throws {
        #expect(try directivesOfFirst("Device { Name = d\n Archive Device = @/v.conf\n}", ["/v.conf": "/dev/nst9\n"])
                == ["name=d", "archivedevice=/dev/nst9"])
    }

    /// The character that ended the path comes after the included text: here the `}` closes the resource
    /// after the included directive, which had no line end of its own.
    @Test func theCharacterAfterThePathComesAfterTheIncludedText() throws {
        let resources = try parse("Device { Name = d; @/more.conf}\nStorage { Name = s }", ["/more.conf": "Control Device = /dev/sg9"])
        #expect(resources.map(\.name) == ["d", "s"])
        #expect(try BaculaConfig.drives(in: resources).map(\.controlDevice) == ["/dev/sg9"])
    }

    @Test func quotedIncludePathWithSpacesAndEscapes() throws {
        #expect(try parse(#"@"/etc/with space/a\"b.conf""#, [#"/etc/with space/a"b.conf"#: "Device { Name = q }"]).map(\.name) == ["q"])
        #expect(errorOf("@\"/etc/unclosed.conf\nDevice { Name = d }") == #"sd.conf:1: include path not closed by '"' on its line"#)
    }

    @Test func includesNestSixteenDeepAndNoDeeper() throws {
        var chain: [String: String] = [:]
        for level in 1...16 { chain["/c/\(level).conf"] = "@/c/\(level + 1).conf\n" }
        chain["/c/16.conf"] = "Device { Name = deepest }\n"
        #expect(try parse("@/c/1.conf\n", chain).map(\.name) == ["deepest"])
        chain["/c/16.conf"] = "@/c/17.conf\n"
        chain["/c/17.conf"] = "Device { Name = too-deep }\n"
        #expect(errorOf("@/c/1.conf\n", chain) == #"/c/16.conf:1: includes nested more than 16 deep at "/c/17.conf""#)
    }

    @Test func loopsAreRefusedWhateverTheSpelling() {
        #expect(errorOf("Storage { Name = s }\n@sd.conf\n") == "sd.conf:2: include loop: sd.conf -> sd.conf")
        #expect(errorOf("@/a.conf", ["/a.conf": "# a\n@/etc/bacula/../bacula/./sd.conf"])
                == "/a.conf:2: include loop: sd.conf -> /a.conf -> /etc/bacula/../bacula/./sd.conf")
        // The same file twice, one after the other, is no loop.
        #expect((try? parse("@/d.conf\n@/s.conf\n", ["/d.conf": "Device { Name = d }\n", "/s.conf": "Storage { Name = d }\n"]))?.count == 2)
    }

    @Test func commandIncludesAreNotRun() {
        #expect(errorOf("@|/bin/cat /etc/bacula/devices.conf\n")
                == #"sd.conf:1: "@|/bin/cat" would run a command: storage-ctl does not run commands named in bacula-sd.conf"#)
    }

    @Test func missingIncludedFile() {
        #expect(errorOf("Storage { Name = s }\n  @/etc/bacula/none.conf") == #"sd.conf:2: cannot read included file "/etc/bacula/none.conf": No such file or directory"#)
    }

    @Test func errorsInsideAnIncludedFileNameThatFile() {
        #expect(errorOf("@/inc.conf", ["/inc.conf": "# one\n# two\nDevice {\n  Lock Command = \"/x %l\n"])
                == "/inc.conf:4: quoted string not closed: end of file reached before its closing '\"'")
    }
}
