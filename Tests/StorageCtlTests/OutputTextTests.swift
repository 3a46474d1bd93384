import Testing
@testable import StorageCtl

/// The one escaping function: what it keeps, what it writes as escapes, and the cap on echoed text.
@Suite struct OutputTextTests {
    @Test func escapesControlsInvalidUTF8AndBackslashes() {
        #expect(OutputText.escaped("plain /dev/sg0 caf\u{E9}") == "plain /dev/sg0 caf\u{E9}")
        #expect(OutputText.escaped("a\nb\u{1B}[31m\\") == "a\\x0ab\\x1b[31m\\\\")
        #expect(OutputText.escaped("x\u{2028}y\u{200F}") == "x\\u{2028}y\\u{200f}")
        #expect(OutputText.escaped(bytes: Array("lu".utf8) + [0xFF]) == "lu\\xff")
        #expect(OutputText.escaped(bytes: [0x6C, 0xEF, 0xBF, 0xBD]) == "l\u{FFFD}")
        #expect(OutputText.escaped(bytes: [0xC3]) == "\\xc3")
    }

    @Test func capsEchoedText() {
        let long = String(repeating: "a", count: 1000)
        let shown = OutputText.argument(long)
        #expect(shown == String(repeating: "a", count: OutputText.echoLimit) + "...(\(1000 - OutputText.echoLimit) more bytes)")
        // An escape is never cut in half.
        let escapes = String(repeating: "\n", count: 100)
        let cut = OutputText.escaped(escapes, limit: 10)
        #expect(cut == "\\x0a\\x0a...(98 more bytes)")
        #expect(OutputText.argument("short") == "short")
    }

    @Test func oneLineLeavesCleanTextAlone() {
        #expect(OutputText.oneLine("dev: done \\x0a") == "dev: done \\x0a")
        #expect(OutputText.oneLine("two\nlines") == "two\\x0alines")
    }

    @Test func commandTimeoutNeverRoundsToZero() {
        #expect(SCSIReservationDevice.commandTimeout(seconds: 0.0001) == .milliseconds(1))
        #expect(SCSIReservationDevice.commandTimeout(seconds: 0.0004) == .milliseconds(1))
        #expect(SCSIReservationDevice.commandTimeout(seconds: 0.0015) == .milliseconds(2))
        #expect(SCSIReservationDevice.commandTimeout(seconds: 60) == .seconds(60))
    }
}
