// The reader's limits, each a clear `file:line` error: 4 MiB a file, 16 MiB in all, 4999-byte tokens
// (Bacula's buffer), binary data, text that is not UTF-8; and the disk reader's refusals.
import Foundation
import Testing
@testable import BaculaConfig

struct LimitTests {
    /// A file of exactly `size` bytes: a Device resource, then comment lines.
    static func file(ofSize size: Int) -> [UInt8] {
        let head = Array("Device { Name = d }\n".utf8)
        let comment = [UInt8(ascii: "#")] + [UInt8](repeating: UInt8(ascii: "x"), count: size - head.count - 2) + [0x0A]
        return head + comment
    }

    static func parseBytes(_ files: [String: [UInt8]]) throws(BaculaConfigError) -> [Resource] {
        try BaculaConfig.parse(path: "sd.conf", reader: InMemoryConfigFiles(bytes: files), directory: "/etc/bacula")
    }

    @Test func aFileOfFourMebibytesIsReadOneByteMoreIsNot() throws {
        #expect(BaculaConfig.maxFileSize == 4_194_304)
        #expect(try Self.parseBytes(["/etc/bacula/sd.conf": Self.file(ofSize: 4_194_304)]).map(\.name) == ["d"])
        #expect(parseError { () throws(BaculaConfigError) in
            _ = try Self.parseBytes(["/etc/bacula/sd.conf": Self.file(ofSize: 4_194_305)])
        } == "sd.conf: file larger than the limit of 4194304 bytes")
    }

    @Test func tenMegabytesAreRefused() {
        let big = Array("Device { Name = big; Lock Command = \"".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 10_485_760) + Array("\" }\n".utf8)
        #expect(parseError { () throws(BaculaConfigError) in _ = try Self.parseBytes(["/etc/bacula/sd.conf": big]) }
                == "sd.conf: file larger than the limit of 4194304 bytes")
        #expect(parseError { () throws(BaculaConfigError) in
            _ = try Self.parseBytes(["/etc/bacula/sd.conf": Array("# big\n@/big.conf\n".utf8), "/big.conf": big])
        } == "/big.conf: file larger than the limit of 4194304 bytes")
    }

    /// Each file includes the next on its first line, so all are opened before their filler is scanned.
    @Test func sixteenMebibytesInAll() {
        var files: [String: [UInt8]] = ["/etc/bacula/sd.conf": Array("@/1.conf\n".utf8)]
        for index in 1...5 {
            files["/\(index).conf"] = Array("@/\(index + 1).conf\n".utf8) + Self.file(ofSize: 3_500_000)
        }
        files["/6.conf"] = []
        #expect(parseError { () throws(BaculaConfigError) in _ = try Self.parseBytes(files) }
                == "/4.conf:1: the configuration and its includes exceed 16777216 bytes")
    }

    @Test func tokensOfAtMost4999Bytes() {
        #expect(errorOf("Device { Name = d; Lock Command = \"\(String(repeating: "x", count: 4999))\" }") == nil)
        #expect(errorOf("Device { Name = d\n Lock Command = \"\(String(repeating: "x", count: 5000))\" }") == "sd.conf:2: token longer than 4999 bytes")
        #expect(errorOf("Device { Name = d\n Archive Device = /\(String(repeating: "x", count: 6000)) }") == "sd.conf:2: token longer than 4999 bytes")
    }

    @Test func binaryDataIsRefusedWithItsLine() {
        #expect(parseError { () throws(BaculaConfigError) in
            _ = try Self.parseBytes(["/etc/bacula/sd.conf": Array("Storage {\n# fine\n Name = a".utf8) + [0x00] + Array("b }\n".utf8)])
        } == "sd.conf:3: binary data (byte 0x00): not a configuration file")
        #expect(parseError { () throws(BaculaConfigError) in
            _ = try Self.parseBytes(["/etc/bacula/sd.conf": [0x1F, 0x8B, 0x08, 0x00]])   // gzip
        } == "sd.conf:1: binary data (byte 0x1F): not a configuration file")
    }

    /// Latin-1 in a comment is left alone (Bacula ignores it); in a value it is refused, not mangled.
    @Test func textThatIsNotUTF8() throws {
        let comment = Array("# r".utf8) + [0xE9] + Array("serv\u{E9}\nDevice { Name = d }\n".utf8)
        #expect(try Self.parseBytes(["/etc/bacula/sd.conf": comment]).map(\.name) == ["d"])
        let value = Array("Device {\n Name = lecteur-".utf8) + [0xE9] + Array(" }\n".utf8)
        #expect(parseError { () throws(BaculaConfigError) in _ = try Self.parseBytes(["/etc/bacula/sd.conf": value]) }
                == "sd.conf:2: text that is not UTF-8")
    }

    @Test func aMissingMainFile() {
        #expect(parseError { () throws(BaculaConfigError) in
            _ = try BaculaConfig.parse(path: "/etc/bacula/none.conf", reader: InMemoryConfigFiles([:]), directory: "/")
        } == "/etc/bacula/none.conf: cannot read: No such file or directory")
    }

    @Test func theDiskReaderReadsRegularFilesOnly() throws {
        let directory = NSTemporaryDirectory() + "baculaconfig-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "Device { Name = on-disk; Control Device = /dev/sg3 }\n@inc.conf\n".write(toFile: directory + "/sd.conf", atomically: true, encoding: .utf8)
        try "Storage { Name = s }\n".write(toFile: directory + "/inc.conf", atomically: true, encoding: .utf8)
        #expect(try BaculaConfig.parse(path: "sd.conf", directory: directory).map(\.name) == ["on-disk", "s"])
        #expect(try BaculaConfig.parse(path: directory + "/sd.conf", directory: directory).first?.file == directory + "/sd.conf")

        #expect(parseError { () throws(BaculaConfigError) in _ = try BaculaConfig.parse(path: directory, directory: "/") }
                == "\(directory): cannot read: Is a directory")
        #expect(mkfifo(directory + "/fifo", 0o600) == 0)
        #expect(parseError { () throws(BaculaConfigError) in _ = try BaculaConfig.parse(path: "fifo", directory: directory) }
                == "fifo: cannot read: not a regular file")
        #expect(parseError { () throws(BaculaConfigError) in _ = try BaculaConfig.parse(path: "nothing.conf", directory: directory) }
                == "nothing.conf: cannot read: No such file or directory")
    }
}
