import PRCore
import Testing
@testable import SgPersist

/// The typed face of the option parser: what the tutorials' command lines parse to, and the typed errors.
@Suite("sg_persist options")
struct PersistOptionsTests {
    static func options(_ line: String) -> PersistOptions? {
        if case .run(let options) = PersistOptions.parse(line.split(separator: " ").map(String.init)).outcome { return options }
        return nil
    }

    static func error(_ line: String) -> PersistSyntaxError? {
        if case .failed(let error) = PersistOptions.parse(line.split(separator: " ").map(String.init)).outcome { return error }
        return nil
    }

    @Test("the admin habits of the sg_persist tutorials")
    func tutorialForms() throws {
        let register = try #require(Self.options("-o -G -S 123abc /dev/sg0"))
        #expect(!register.isReserveIn)
        #expect(register.outServiceAction == .register)
        #expect(register.serviceActionReservationKey == ReservationKey(rawValue: 0x123ABC))
        #expect(register.device == "/dev/sg0")

        let long = try #require(Self.options("--out --register --param-sark=abc123 /dev/sg0"))
        #expect(long.outServiceAction == .register)
        #expect(long.serviceActionReservationKey == ReservationKey(rawValue: 0xABC123))

        let reserve = try #require(Self.options("-o -R -K 123abc -T 3 /dev/sg0"))
        #expect(reserve.outServiceAction == .reserve)
        #expect(reserve.reservationKey == ReservationKey(rawValue: 0x123ABC))
        #expect(reserve.reservationType == .exclusiveAccess)

        #expect(Self.options("-o -L -K 123abc -T 3 /dev/sg0")?.outServiceAction == .release)
        #expect(Self.options("-o -C -K 123abc /dev/sg0")?.outServiceAction == .clear)
        #expect(Self.options("-i -k /dev/sg0")?.inServiceAction == .readKeys)
        #expect(Self.options("-i -r /dev/sg0")?.inServiceAction == .readReservation)
        #expect(Self.options("-ik /dev/sg0")?.inServiceAction == .readKeys)
        #expect(Self.options("-is /dev/sg0")?.inServiceAction == .readFullStatus)
        #expect(Self.options("--read-status /dev/sg0")?.inServiceAction == .readFullStatus)
        #expect(Self.options("-c -n -HH /dev/sg0")?.hex == 2)
        #expect(Self.options("/dev/sg0 -o -P -K a -S b -T 5")?.outServiceAction == .preempt)
        #expect(Self.options("-d /dev/sg0 -k")?.device == "/dev/sg0")
        #expect(Self.options("-k -l 100 /dev/sg0")?.allocationLength == 0x100)
        #expect(Self.options("-k -m 1k /dev/sg0")?.allocationLength == 1024)

        let move = try #require(Self.options("-o -M -K 1 -S 2 -T 3 -Q 2 -U -Z -X sas,5000c50000000002 /dev/sg0"))
        #expect(move.outServiceAction == .registerAndMove)
        #expect(move.relativeTargetPortIdentifier == 2)
        #expect(move.unregister && move.activatePersistThroughPowerLoss)
        #expect(move.transportIDCount == 1)
        #expect(move.transportIDParameterData == TransportID.sas(address: 0x5000_C500_0000_0002).bytes)

        let iscsi = try #require(Self.options("-o -G -S 1 -X iqn.1994-05.com.redhat:a,i,0x400001370000 /dev/sg0"))
        #expect(iscsi.transportIDParameterData == TransportID.iscsi(name: "iqn.1994-05.com.redhat:a", isid: 0x4000_0137_0000).bytes)
    }

    @Test("typed errors with sg_persist's messages and exit statuses")
    func typedErrors() {
        #expect(Self.error("-K zz /dev/sg0") == .badArgument(option: "param-rk"))
        #expect(Self.error("-K zz /dev/sg0")?.exitCode == 1)
        #expect(Self.error("-l 2001 /dev/sg0") == .allocationLengthTooLarge(option: "alloc-length"))
        #expect(Self.error("-o /dev/sg0") == .outNeedsOneServiceAction)
        #expect(Self.error("-o /dev/sg0")?.exitCode == 31)
        #expect(Self.error("-i -o /dev/sg0") == .inAndOut)
        #expect(Self.error("-G /dev/sg0") == .serviceActionNeedsOut)
        #expect(Self.error("-k -r /dev/sg0") == .tooManyServiceActions)
        #expect(Self.error("-o -G -U /dev/sg0") == .registerMoveOptionWithoutRegisterMove)
        #expect(Self.error("-o -M /dev/sg0") == .registerMoveNeedsOneTransportID)
        #expect(Self.error("-k") == .noDevice)
        #expect(Self.error("a b c") == .unexpectedArguments(["b", "c"]))
        #expect(Self.error("-q /dev/sg0") == .getopt("sg_persist: invalid option -- 'q'\n"))
        #expect(Self.error("-q /dev/sg0")?.exitCode == 0)
        #expect(Self.error("-Q 10000 /dev/sg0") == .relativeTargetPortOutOfRange)
        let parse = PersistOptions.parse(["-V"])
        #expect(parse.exitCode == 0)
        #expect(parse.stderr == "version: 0.67 20190913\n")
        let help = PersistOptions.parse(["-hh"])
        if case .help(let level) = help.outcome { #expect(level == 2) } else { Issue.record("not help") }
        #expect(help.stderr.hasPrefix("Usage: sg_persist [OPTIONS] [DEVICE]\n  where the other OPTIONS are:\n"))
    }

    @Test("the getopt diagnostic names the program as invoked")
    func programName() {
        let parse = PersistOptions.parse(["--foo", "x"], programName: "/usr/local/bin/sg_persist")
        #expect(parse.stderr.hasPrefix("/usr/local/bin/sg_persist: unrecognized option '--foo'\nUsage: sg_persist"))
    }
}
